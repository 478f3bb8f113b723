//! NGINX: a canary Ingress `<ingressRef>-canary`, a copy of the Ingress named
//! by `spec.ingressRef` with its `<apex>` backends pointed at `<apex>-canary`
//! (semantics §9.3). ingress-nginx sends a share of the original Ingress's
//! traffic to the copy, steered by the copy's annotations:
//!
//! ```text
//!   Ingress <ingressRef>            ──▶ <apex> ──▶ primary pods
//!   Ingress <ingressRef>-canary     ──▶ <apex>-canary
//!     <prefix>/canary: "true"
//!     canary / progressive:  <prefix>/canary-weight: "<c>"
//!     A/B testing (c > 0):   <prefix>/canary-weight: "0"
//!                            <prefix>/canary-by-header: <name>
//!                            <prefix>/canary-by-header-value: <exact>     or
//!                            <prefix>/canary-by-header-pattern: <regex>
//!                            <prefix>/canary-by-cookie: <cookie name>
//!     c = 0:                 <prefix>/canary-weight: "0" and nothing else
//! ```
//!
//! `<prefix>` is the controller flag `-ingress-annotations-prefix`
//! ([`DEFAULT_ANNOTATIONS_PREFIX`]). The copy keeps the original's labels and
//! annotations, except kubectl's last-applied configuration and the original's
//! own `<prefix>/canary*` annotations, and gets the Flux annotations every
//! router object carries. ingress-nginx sends a request to the canary when
//! its header has the value (or matches the pattern), or when the named
//! cookie is `always`; `routes` reads an A/B Ingress as 0/100 and otherwise
//! the weight annotation. NGINX cannot mirror.
//!
//! Where weir differs from Flagger, on purpose (semantics §18 #21):
//!
//! * **Stale annotations are removed.** Flagger filters the existing
//!   annotations by *value* when it writes the A/B ones, so a `canary-by-*`
//!   annotation of an earlier configuration stays forever. weir removes every
//!   `<prefix>/canary*` key before it writes the current ones.
//! * **Conditions NGINX cannot express are errors, not guesses.** ingress-nginx
//!   has one header and one cookie annotation. Flagger walks all match
//!   entries and keeps the last header it sees (in Go's random map order
//!   within an entry), so with two headers the one that works changes from
//!   run to run; it also drops regex cookies, query parameters and source
//!   labels, and treats a `prefix`/`suffix` header as a bare
//!   `canary-by-header` (matching only the value `always`). weir accepts each
//!   entry with one header or one cookie, at most one distinct header and one
//!   cookie in all (they are alternatives, as match entries are), maps
//!   `prefix`/`suffix` to an anchored `canary-by-header-pattern`, and reports
//!   anything else as an error naming the field. The `cookie` header is
//!   recognised in any case, as header names are case-insensitive.
//! * **Every `<apex>` path is rewritten**, and an Ingress rule without an
//!   `http` block is skipped rather than dereferenced.
//! * **Reconcile follows the original's labels and annotations**, keeping the
//!   copy's `<prefix>/canary*` annotations (the split); Flagger copies them
//!   once, at creation.
//! * **The copy carries the Flux annotations** every other router object
//!   carries, so Flux never reverts a weight change; Flagger's Ingress router
//!   writes none.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use weir_api::Canary;
use weir_api::service::HeaderMatch;
use weir_engine::ports::Routes;

use crate::metadata::{
    FLUX_DISABLED, HELM_DRIFT_DETECTION, KUBECTL_LAST_APPLIED, KUSTOMIZE_RECONCILE,
};

/// The default of the controller flag `-ingress-annotations-prefix`.
pub const DEFAULT_ANNOTATIONS_PREFIX: &str = "nginx.ingress.kubernetes.io";

/// Every annotation weir manages starts with `<prefix>/canary`.
const CANARY: &str = "canary";
const CANARY_WEIGHT: &str = "canary-weight";
const CANARY_BY_HEADER: &str = "canary-by-header";
const CANARY_BY_HEADER_VALUE: &str = "canary-by-header-value";
const CANARY_BY_HEADER_PATTERN: &str = "canary-by-header-pattern";
const CANARY_BY_COOKIE: &str = "canary-by-cookie";
/// The `analysis.match` header that means a cookie condition.
const COOKIE_HEADER: &str = "cookie";

/// Why the canary Ingress could not be generated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NginxError {
    /// The nginx provider needs `spec.ingressRef`.
    #[error("spec.ingressRef: ingress selector is empty; the nginx provider copies that Ingress")]
    MissingIngressRef,
    /// No path of the Ingress routes to the apex Service (Flagger's message).
    #[error("backend {backend} not found in ingress {ingress}")]
    BackendNotFound { backend: String, ingress: String },
    /// The weight annotation is not a percentage.
    #[error("Ingress {name}.{namespace} annotation {annotation}: {value:?} is not a percentage")]
    InvalidWeight {
        name: String,
        namespace: String,
        annotation: String,
        value: String,
    },
    /// An `analysis.match` condition NGINX cannot express.
    #[error("{field}: {reason}")]
    UnsupportedMatch {
        /// The Canary field, e.g. `spec.analysis.match[1].headers.x-user`.
        field: String,
        reason: String,
    },
}

/// `<ingressRef>-canary`.
pub fn canary_ingress_name(canary: &Canary) -> Result<String, NginxError> {
    let ingress_ref = canary
        .spec
        .ingress_ref
        .as_ref()
        .filter(|reference| !reference.name.is_empty())
        .ok_or(NginxError::MissingIngressRef)?;
    Ok(format!("{}-canary", ingress_ref.name))
}

/// Flagger's `Reconcile`: the canary Ingress for `ingress` (the one
/// `spec.ingressRef` names), created with no traffic, or `existing` updated
/// to follow `ingress` while keeping its split. Returns `existing` unchanged
/// when nothing differs. `prefix` is `-ingress-annotations-prefix`.
pub fn reconcile(
    existing: Option<&Ingress>,
    canary: &Canary,
    ingress: &Ingress,
    prefix: &str,
) -> Result<Ingress, NginxError> {
    let name = canary_ingress_name(canary)?;
    // Refuse A/B conditions NGINX cannot express before any traffic moves.
    header_routing(canary)?;
    let spec = canary_spec(canary, ingress)?;

    let mut annotations: BTreeMap<String, String> = ingress
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(key, _)| !is_managed(key, prefix) && key.as_str() != KUBECTL_LAST_APPLIED)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    annotations.insert(KUSTOMIZE_RECONCILE.to_owned(), FLUX_DISABLED.to_owned());
    annotations.insert(HELM_DRIFT_DETECTION.to_owned(), FLUX_DISABLED.to_owned());
    let current: BTreeMap<String, String> = existing
        .and_then(|existing| existing.metadata.annotations.as_ref())
        .into_iter()
        .flatten()
        .filter(|(key, _)| is_managed(key, prefix))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if current.is_empty() {
        annotations.extend(no_traffic(prefix));
    } else {
        annotations.extend(current);
    }
    let labels = ingress
        .metadata
        .labels
        .clone()
        .filter(|labels| !labels.is_empty());

    let Some(existing) = existing else {
        return Ok(Ingress {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(canary.namespace().to_owned()),
                labels,
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
            status: None,
        });
    };
    let existing_labels = existing
        .metadata
        .labels
        .clone()
        .filter(|labels| !labels.is_empty());
    if existing.spec.as_ref() == Some(&spec)
        && existing_labels == labels
        && existing.metadata.annotations.as_ref() == Some(&annotations)
    {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.spec = Some(spec);
    updated.metadata.labels = labels;
    updated.metadata.annotations = Some(annotations);
    Ok(updated)
}

/// Flagger's `SetRoutes`: the canary Ingress with its `<prefix>/canary*`
/// annotations rewritten for `routes` (only the canary's weight matters).
pub fn set_routes(
    existing: &Ingress,
    canary: &Canary,
    routes: Routes,
    prefix: &str,
) -> Result<Ingress, NginxError> {
    let routing = header_routing(canary)?;
    let mut updated = existing.clone();
    let annotations = updated
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    annotations.retain(|key, _| !is_managed(key, prefix));
    annotations.extend(no_traffic(prefix));
    if routes.canary > 0 {
        match routing {
            // A/B testing: only matching requests, however high the weight.
            Some(routing) => annotations.extend(routing.annotations(prefix)),
            None => {
                annotations.insert(annotation(prefix, CANARY_WEIGHT), routes.canary.to_string());
            }
        }
    }
    Ok(updated)
}

/// Flagger's `GetRoutes`: 0/100 for A/B testing once the header or cookie
/// annotation is there, otherwise the weight annotation (missing is 0) and
/// the rest of 100 for the primary; never mirrored.
pub fn routes(
    canary_ingress: &Ingress,
    canary: &Canary,
    prefix: &str,
) -> Result<Routes, NginxError> {
    let empty = BTreeMap::new();
    let annotations = canary_ingress
        .metadata
        .annotations
        .as_ref()
        .unwrap_or(&empty);
    let ab_testing = !canary.spec.analysis().r#match.is_empty();
    if ab_testing
        && (annotations.contains_key(&annotation(prefix, CANARY_BY_COOKIE))
            || annotations.contains_key(&annotation(prefix, CANARY_BY_HEADER)))
    {
        return Ok(Routes::ALL_CANARY);
    }
    let key = annotation(prefix, CANARY_WEIGHT);
    let weight = match annotations.get(&key) {
        None => 0,
        Some(value) => value
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|weight| (0..=100).contains(weight))
            .ok_or_else(|| NginxError::InvalidWeight {
                name: canary_ingress.metadata.name.clone().unwrap_or_default(),
                namespace: canary_ingress
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_default(),
                annotation: key.clone(),
                value: value.clone(),
            })?,
    };
    Ok(Routes {
        primary: 100 - weight,
        canary: weight,
        mirrored: false,
    })
}

/// `<prefix>/<name>`.
fn annotation(prefix: &str, name: &str) -> String {
    format!("{prefix}/{name}")
}

/// Whether weir owns the annotation on the canary Ingress.
fn is_managed(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| name.starts_with(CANARY))
}

/// A canary Ingress that takes no traffic. It stays a canary: without
/// `canary: "true"` ingress-nginx would see two Ingresses for the same host
/// and path, and its admission webhook rejects that.
fn no_traffic(prefix: &str) -> [(String, String); 2] {
    [
        (annotation(prefix, CANARY), "true".to_owned()),
        (annotation(prefix, CANARY_WEIGHT), "0".to_owned()),
    ]
}

/// The original's spec with every `<apex>` backend pointed at the canary.
fn canary_spec(
    canary: &Canary,
    ingress: &Ingress,
) -> Result<k8s_openapi::api::networking::v1::IngressSpec, NginxError> {
    let names = canary.spec.service_names();
    let mut spec = ingress.spec.clone().unwrap_or_default();
    let mut found = false;
    let backends = spec
        .rules
        .iter_mut()
        .flatten()
        .filter_map(|rule| rule.http.as_mut())
        .flat_map(|http| &mut http.paths)
        .filter_map(|path| path.backend.service.as_mut());
    for service in backends {
        if service.name == names.apex {
            service.name.clone_from(&names.canary);
            found = true;
        }
    }
    if !found {
        return Err(NginxError::BackendNotFound {
            backend: names.apex,
            ingress: ingress.metadata.name.clone().unwrap_or_default(),
        });
    }
    Ok(spec)
}

/// What the A/B annotations say: at most one header and one cookie.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct HeaderRouting {
    header: Option<(String, HeaderValue)>,
    cookie: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HeaderValue {
    Exact(String),
    Pattern(String),
}

impl HeaderRouting {
    fn annotations(&self, prefix: &str) -> Vec<(String, String)> {
        let mut annotations = Vec::new();
        if let Some((name, value)) = &self.header {
            annotations.push((annotation(prefix, CANARY_BY_HEADER), name.clone()));
            annotations.push(match value {
                HeaderValue::Exact(exact) => {
                    (annotation(prefix, CANARY_BY_HEADER_VALUE), exact.clone())
                }
                HeaderValue::Pattern(pattern) => (
                    annotation(prefix, CANARY_BY_HEADER_PATTERN),
                    pattern.clone(),
                ),
            });
        }
        if let Some(cookie) = &self.cookie {
            annotations.push((annotation(prefix, CANARY_BY_COOKIE), cookie.clone()));
        }
        annotations
    }
}

/// The header and cookie of `analysis.match`, `None` without A/B testing.
fn header_routing(canary: &Canary) -> Result<Option<HeaderRouting>, NginxError> {
    let matches = &canary.spec.analysis().r#match;
    if matches.is_empty() {
        return Ok(None);
    }
    let unsupported =
        |field: String, reason: String| NginxError::UnsupportedMatch { field, reason };
    let mut routing = HeaderRouting::default();
    for (index, entry) in matches.iter().enumerate() {
        let field = format!("spec.analysis.match[{index}]");
        if !entry.query_params.is_empty() {
            return Err(unsupported(
                format!("{field}.queryParams"),
                "NGINX routes to the canary by one header or one cookie only".to_owned(),
            ));
        }
        if !entry.source_labels.is_empty() {
            return Err(unsupported(
                format!("{field}.sourceLabels"),
                "requests reaching NGINX carry no source labels".to_owned(),
            ));
        }
        let mut headers = entry.headers.iter();
        let (Some((name, condition)), None) = (headers.next(), headers.next()) else {
            return Err(unsupported(
                format!("{field}.headers"),
                "NGINX needs exactly one header or cookie per match entry; put each condition in an entry of its own".to_owned(),
            ));
        };
        let field = format!("{field}.headers.{name}");
        if name.eq_ignore_ascii_case(COOKIE_HEADER) {
            let Some(cookie) = condition.exact.clone().filter(|exact| !exact.is_empty()) else {
                return Err(unsupported(
                    field,
                    "NGINX routes by cookie name: use `exact: <cookie name>`, and requests whose cookie is `always` reach the canary".to_owned(),
                ));
            };
            match &routing.cookie {
                Some(other) if *other != cookie => {
                    return Err(unsupported(
                        field,
                        format!(
                            "NGINX routes by one cookie only, and cookie {other} is already used"
                        ),
                    ));
                }
                _ => routing.cookie = Some(cookie),
            }
        } else {
            let value = header_value(condition).ok_or_else(|| {
                unsupported(
                    field.clone(),
                    "a header condition needs exact, prefix, suffix or regex".to_owned(),
                )
            })?;
            let header = (name.clone(), value);
            match &routing.header {
                Some(other) if *other != header => {
                    return Err(unsupported(
                        field,
                        format!(
                            "NGINX routes by one header condition only, and one on header {} is already used",
                            other.0
                        ),
                    ));
                }
                _ => routing.header = Some(header),
            }
        }
    }
    Ok(Some(routing))
}

/// `exact` as the value, the others as a regular expression.
fn header_value(condition: &HeaderMatch) -> Option<HeaderValue> {
    let non_empty = |text: &Option<String>| text.clone().filter(|text| !text.is_empty());
    if let Some(exact) = non_empty(&condition.exact) {
        return Some(HeaderValue::Exact(exact));
    }
    if let Some(regex) = non_empty(&condition.regex) {
        return Some(HeaderValue::Pattern(regex));
    }
    if let Some(prefix) = non_empty(&condition.prefix) {
        return Some(HeaderValue::Pattern(format!("^{}", escape_regex(&prefix))));
    }
    non_empty(&condition.suffix)
        .map(|suffix| HeaderValue::Pattern(format!("{}$", escape_regex(&suffix))))
}

/// Escapes the characters PCRE (ingress-nginx's `ngx.re`) treats specially.
fn escape_regex(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const PREFIX: &str = DEFAULT_ANNOTATIONS_PREFIX;

    /// Flagger's e2e Ingress (test/nginx/test-canary.sh).
    const INGRESS: &str = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo
  namespace: test
  labels:
    app: podinfo
  annotations:
    kubernetes.io/ingress.class: nginx
    kubectl.kubernetes.io/last-applied-configuration: '{}'
spec:
  rules:
  - host: app.example.com
    http:
      paths:
      - pathType: Prefix
        path: /
        backend:
          service:
            name: podinfo
            port:
              number: 80
";

    const PROGRESSIVE: &str = "  ingressRef:
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    name: podinfo
  service:
    port: 80
  analysis:
    interval: 15s
    threshold: 5
    stepWeight: 20
";

    fn ingress() -> Ingress {
        serde_saphyr::from_str(INGRESS).expect("ingress")
    }

    fn ab_canary(matches: &str) -> Canary {
        canary(
            &format!(
                "  ingressRef:\n    apiVersion: networking.k8s.io/v1\n    kind: Ingress\n    name: podinfo\n  service:\n    port: 80\n  analysis:\n    interval: 15s\n    threshold: 5\n    iterations: 3\n    match:\n{matches}"
            ),
            "  phase: Progressing\n",
        )
    }

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    fn managed(ingress: &Ingress) -> BTreeMap<String, String> {
        ingress
            .metadata
            .annotations
            .iter()
            .flatten()
            .filter(|(key, _)| is_managed(key, PREFIX))
            .map(|(key, value)| {
                (
                    key.trim_start_matches("nginx.ingress.kubernetes.io/")
                        .to_owned(),
                    value.clone(),
                )
            })
            .collect()
    }

    fn pairs(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn reconcile_copies_the_ingress_with_the_canary_backend_and_no_traffic() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let created = reconcile(None, &canary, &ingress(), PREFIX).expect("reconcile");
        assert_eq!(created.metadata.name.as_deref(), Some("podinfo-canary"));
        let backend = created
            .spec
            .as_ref()
            .and_then(|spec| spec.rules.as_ref())
            .and_then(|rules| rules[0].http.as_ref())
            .and_then(|http| http.paths[0].backend.service.as_ref())
            .map(|service| service.name.as_str());
        assert_eq!(backend, Some("podinfo-canary"));
        assert_eq!(
            managed(&created),
            pairs(&[("canary", "true"), ("canary-weight", "0")])
        );
        let annotations = created.metadata.annotations.clone().unwrap_or_default();
        assert!(!annotations.contains_key(KUBECTL_LAST_APPLIED));
        assert_eq!(
            annotations
                .get("kubernetes.io/ingress.class")
                .map(String::as_str),
            Some("nginx")
        );
        assert_eq!(routes(&created, &canary, PREFIX), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn reconcile_fails_when_no_path_routes_to_the_apex_service() {
        let canary = canary(
            &PROGRESSIVE.replace(
                "  service:\n    port: 80\n",
                "  service:\n    name: frontend\n    port: 80\n",
            ),
            "  phase: Initializing\n",
        );
        let error = reconcile(None, &canary, &ingress(), PREFIX).expect_err("no backend");
        assert_eq!(
            error.to_string(),
            "backend frontend not found in ingress podinfo"
        );
    }

    #[test]
    fn reconcile_fails_without_an_ingress_ref() {
        let canary = canary("  service:\n    port: 80\n", "  phase: Initializing\n");
        assert_eq!(
            reconcile(None, &canary, &ingress(), PREFIX),
            Err(NginxError::MissingIngressRef)
        );
    }

    #[test]
    fn routes_read_back_what_set_routes_wrote() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary, &ingress(), PREFIX).expect("reconcile");
        for weights in [
            split(80, 20),
            split(40, 60),
            Routes::ALL_CANARY,
            Routes::ALL_PRIMARY,
        ] {
            let written = set_routes(&created, &canary, weights, PREFIX).expect("set");
            assert_eq!(routes(&written, &canary, PREFIX), Ok(weights));
        }
    }

    #[test]
    fn reconcile_keeps_the_weight_and_follows_the_original() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary, &ingress(), PREFIX).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(60, 40), PREFIX).expect("set");
        assert_eq!(
            reconcile(Some(&shifted), &canary, &ingress(), PREFIX),
            Ok(shifted.clone())
        );

        let mut changed = ingress();
        if let Some(rules) = changed.spec.as_mut().and_then(|spec| spec.rules.as_mut()) {
            rules[0].host = Some("www.example.com".to_owned());
        }
        changed
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(
                "nginx.ingress.kubernetes.io/proxy-body-size".to_owned(),
                "8m".to_owned(),
            );
        let updated = reconcile(Some(&shifted), &canary, &changed, PREFIX).expect("reconcile");
        assert_eq!(
            updated
                .spec
                .as_ref()
                .and_then(|spec| spec.rules.as_ref())
                .and_then(|rules| rules[0].host.as_deref()),
            Some("www.example.com")
        );
        assert!(
            updated
                .metadata
                .annotations
                .iter()
                .flatten()
                .any(|(key, value)| key.ends_with("/proxy-body-size") && value == "8m")
        );
        assert_eq!(routes(&updated, &canary, PREFIX), Ok(split(60, 40)));
    }

    #[test]
    fn the_annotation_prefix_comes_from_the_controller_flag() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let prefix = "custom.ingress.kubernetes.io";
        let created = reconcile(None, &canary, &ingress(), prefix).expect("reconcile");
        let written = set_routes(&created, &canary, split(90, 10), prefix).expect("set");
        let annotations = written.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(
            annotations
                .get("custom.ingress.kubernetes.io/canary-weight")
                .map(String::as_str),
            Some("10")
        );
        assert_eq!(routes(&written, &canary, prefix), Ok(split(90, 10)));
    }

    #[test]
    fn ab_testing_writes_one_header_and_one_cookie_and_reads_as_all_canary() {
        let canary = ab_canary(
            "    - headers:\n        x-canary:\n          exact: insider\n    - headers:\n        Cookie:\n          exact: canary\n",
        );
        let created = reconcile(None, &canary, &ingress(), PREFIX).expect("reconcile");
        let testing = set_routes(&created, &canary, Routes::ALL_CANARY, PREFIX).expect("set");
        assert_eq!(
            managed(&testing),
            pairs(&[
                ("canary", "true"),
                ("canary-by-cookie", "canary"),
                ("canary-by-header", "x-canary"),
                ("canary-by-header-value", "insider"),
                ("canary-weight", "0"),
            ])
        );
        assert_eq!(routes(&testing, &canary, PREFIX), Ok(Routes::ALL_CANARY));

        let reset = set_routes(&testing, &canary, Routes::ALL_PRIMARY, PREFIX).expect("set");
        assert_eq!(
            managed(&reset),
            pairs(&[("canary", "true"), ("canary-weight", "0")])
        );
        assert_eq!(routes(&reset, &canary, PREFIX), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn prefix_and_suffix_headers_become_anchored_patterns() {
        for (condition, pattern) in [
            ("prefix: eu-west", "^eu\\-west"),
            ("suffix: (Firefox)", "\\(Firefox\\)$"),
            ("regex: ^(a|b)$", "^(a|b)$"),
        ] {
            let canary = ab_canary(&format!(
                "    - headers:\n        x-user:\n          {condition}\n"
            ));
            let created = reconcile(None, &canary, &ingress(), PREFIX).expect("reconcile");
            let testing = set_routes(&created, &canary, Routes::ALL_CANARY, PREFIX).expect("set");
            assert_eq!(
                managed(&testing)
                    .get("canary-by-header-pattern")
                    .map(String::as_str),
                Some(pattern),
                "{condition}"
            );
        }
    }

    #[test]
    fn switching_from_a_header_to_a_cookie_removes_the_stale_header() {
        let by_header = ab_canary("    - headers:\n        x-canary:\n          exact: insider\n");
        let by_cookie = ab_canary("    - headers:\n        cookie:\n          exact: canary\n");
        let created = reconcile(None, &by_header, &ingress(), PREFIX).expect("reconcile");
        let header = set_routes(&created, &by_header, Routes::ALL_CANARY, PREFIX).expect("set");
        let cookie = set_routes(&header, &by_cookie, Routes::ALL_CANARY, PREFIX).expect("set");
        assert_eq!(
            managed(&cookie),
            pairs(&[
                ("canary", "true"),
                ("canary-by-cookie", "canary"),
                ("canary-weight", "0")
            ])
        );
    }

    #[test]
    fn conditions_nginx_cannot_express_are_errors_naming_the_field() {
        let cases = [
            (
                "    - headers:\n        x-a:\n          exact: a\n    - headers:\n        x-b:\n          exact: b\n",
                "spec.analysis.match[1].headers.x-b",
            ),
            (
                "    - headers:\n        x-a:\n          exact: a\n        cookie:\n          exact: canary\n",
                "spec.analysis.match[0].headers",
            ),
            (
                "    - headers:\n        cookie:\n          regex: \"^(.*?;)?(canary=always)(;.*)?$\"\n",
                "spec.analysis.match[0].headers.cookie",
            ),
            (
                "    - headers:\n        cookie:\n          exact: one\n    - headers:\n        cookie:\n          exact: two\n",
                "spec.analysis.match[1].headers.cookie",
            ),
            (
                "    - queryParams:\n        beta:\n          exact: \"true\"\n",
                "spec.analysis.match[0].queryParams",
            ),
            (
                "    - sourceLabels:\n        app: frontend\n",
                "spec.analysis.match[0].sourceLabels",
            ),
        ];
        for (matches, field) in cases {
            let canary = ab_canary(matches);
            match reconcile(None, &canary, &ingress(), PREFIX) {
                Err(NginxError::UnsupportedMatch { field: named, .. }) => assert_eq!(named, field),
                other => panic!("expected an unsupported match at {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_same_header_in_several_entries_is_one_condition() {
        let canary = ab_canary(
            "    - headers:\n        x-canary:\n          exact: insider\n    - headers:\n        x-canary:\n          exact: insider\n",
        );
        assert!(reconcile(None, &canary, &ingress(), PREFIX).is_ok());
    }

    #[test]
    fn routes_fail_on_a_weight_that_is_not_a_percentage() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut created = reconcile(None, &canary, &ingress(), PREFIX).expect("reconcile");
        created
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(annotation(PREFIX, CANARY_WEIGHT), "ten".to_owned());
        let error = routes(&created, &canary, PREFIX).expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "Ingress podinfo-canary.test annotation nginx.ingress.kubernetes.io/canary-weight: \"ten\" is not a percentage"
        );
    }
}
