//! Session-affinity cookies as both routers write them (§9.1, §9.2).
//!
//! A cookie in `canary.status` is `"<name>=<value>"`. Responses from a
//! destination carry it in a `Set-Cookie` header with `Max-Age` and the
//! attributes of `spec.analysis.sessionAffinity`; requests are matched by a
//! regular expression on their `Cookie` header.

use weir_api::Canary;
use weir_api::analysis::{DEFAULT_COOKIE_MAX_AGE, SameSite, SessionAffinity};

/// The request header session cookies are matched on (Flagger's spelling).
pub(crate) const COOKIE_HEADER: &str = "Cookie";
/// The response header that sets or expires a cookie.
pub(crate) const SET_COOKIE_HEADER: &str = "Set-Cookie";

/// The cookies one `set_routes` call works with, read from the Canary.
#[derive(Clone, Debug)]
pub(crate) enum Affinity<'a> {
    /// A run is shifting traffic: stick canary users (and primary users, if
    /// `primaryCookieName` is set and its cookie is in status) to their side.
    Sticky {
        affinity: &'a SessionAffinity,
        canary_cookie: &'a str,
        primary_cookie: Option<&'a str>,
    },
    /// No traffic on the canary: expire the cookie of the last run, if any.
    Cleanup {
        affinity: &'a SessionAffinity,
        previous_cookie: Option<&'a str>,
    },
    /// No session affinity configured, or no cookie to work with.
    None,
}

impl<'a> Affinity<'a> {
    /// What `set_routes` does for `canary_weight`, given the cookies in status.
    ///
    /// The engine moves the canary cookie to `previousSessionAffinityCookie`
    /// before it routes 0% to the canary; a cookie still in
    /// `sessionAffinityCookie` at weight 0 is treated as the previous one, as
    /// Flagger does. Without a canary cookie in status there is nothing to
    /// stick to, so only the weighted rule is written.
    pub(crate) fn of(canary: &'a Canary, canary_weight: i32, primary_cookies: bool) -> Self {
        let Some(affinity) = canary.spec.analysis().session_affinity.as_ref() else {
            return Affinity::None;
        };
        let Some(status) = canary.status.as_ref() else {
            return if canary_weight == 0 {
                Affinity::Cleanup {
                    affinity,
                    previous_cookie: None,
                }
            } else {
                Affinity::None
            };
        };
        let non_empty = |cookie: &'a String| Some(cookie.as_str()).filter(|text| !text.is_empty());
        if canary_weight != 0 {
            let Some(canary_cookie) = non_empty(&status.session_affinity_cookie) else {
                return Affinity::None;
            };
            let primary_named = affinity
                .primary_cookie_name
                .as_deref()
                .is_some_and(|name| !name.is_empty());
            let primary_cookie = (primary_cookies && primary_named)
                .then(|| non_empty(&status.primary_session_affinity_cookie))
                .flatten();
            Affinity::Sticky {
                affinity,
                canary_cookie,
                primary_cookie,
            }
        } else {
            Affinity::Cleanup {
                affinity,
                previous_cookie: non_empty(&status.session_affinity_cookie)
                    .or_else(|| non_empty(&status.previous_session_affinity_cookie)),
            }
        }
    }
}

/// `.*<name>.*<value>.*`: matches a `Cookie` header that carries the cookie.
///
/// Like Flagger, name and value are not escaped: values are random letters,
/// and a `.` in a cookie name still matches itself.
pub(crate) fn cookie_regex(cookie: &str) -> String {
    // Flagger splits on every `=` and uses the first two parts.
    let mut parts = cookie.split('=');
    let name = parts.next().unwrap_or_default();
    let value = parts.next().unwrap_or_default();
    format!(".*{name}.*{value}.*")
}

/// The `Set-Cookie` value for the canary cookie: `Max-Age` is
/// `sessionAffinity.maxAge` (0 means Flagger's default of one day).
pub(crate) fn canary_set_cookie(cookie: &str, affinity: &SessionAffinity) -> String {
    let max_age = if affinity.max_age == 0 {
        DEFAULT_COOKIE_MAX_AGE
    } else {
        affinity.max_age
    };
    with_attributes(format!("{cookie}; Max-Age={max_age}"), affinity)
}

/// The `Set-Cookie` value for the primary cookie: it lives one analysis
/// interval, so a primary user is re-balanced at the next weight step.
pub(crate) fn primary_set_cookie(
    cookie: &str,
    affinity: &SessionAffinity,
    canary: &Canary,
) -> String {
    let seconds = canary.spec.analysis().interval_or_default().as_secs();
    with_attributes(format!("{cookie}; Max-Age={seconds}"), affinity)
}

/// The `Set-Cookie` value that expires the previous run's canary cookie.
///
/// Browsers only delete a cookie whose `Domain` and `Path` match the ones it
/// was set with, so those two are repeated here. §9.1 describes Flagger's
/// value as just `<cookie>; Max-Age=-1`, which leaves a cookie set with a
/// `Path` or `Domain` in place; weir expires it.
pub(crate) fn expired_set_cookie(cookie: &str, affinity: &SessionAffinity) -> String {
    let mut value = format!("{cookie}; Max-Age=-1");
    if let Some(domain) = affinity.domain.as_deref().filter(|text| !text.is_empty()) {
        value.push_str(&format!("; Domain={domain}"));
    }
    if let Some(path) = affinity.path.as_deref().filter(|text| !text.is_empty()) {
        value.push_str(&format!("; Path={path}"));
    }
    value
}

/// Appends the optional attributes in the order §9.1 lists them.
fn with_attributes(mut value: String, affinity: &SessionAffinity) -> String {
    if let Some(domain) = affinity.domain.as_deref().filter(|text| !text.is_empty()) {
        value.push_str(&format!("; Domain={domain}"));
    }
    if affinity.http_only {
        value.push_str("; HttpOnly");
    }
    if affinity.partitioned {
        value.push_str("; Partitioned");
    }
    if let Some(path) = affinity.path.as_deref().filter(|text| !text.is_empty()) {
        value.push_str(&format!("; Path={path}"));
    }
    if let Some(same_site) = affinity.same_site {
        value.push_str(match same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        });
    }
    if affinity.secure {
        value.push_str("; Secure");
    }
    value
}
