//! Gateway API: an HTTPRoute `<apex>` attached to `spec.service.gatewayRefs`
//! (semantics §9.2), in `gateway.networking.k8s.io/v1` or `v1beta1`.
//!
//! ```text
//!   rules[] (the most specific matching entry wins)
//!   ┌─────────────────────────────────────────────────────────────────────────┐
//!   │ canary / progressive   [ weighted: service matches → primary p, canary c ]│
//!   │   blue/green mirror      + RequestMirror(canary) when mirrored and        │
//!   │                            iterations > 0                                 │
//!   │ session affinity, c>0  [ canary cookie → canary 100,                      │
//!   │                          primary cookie → primary 100 (v1),               │
//!   │                          weighted, backends set their cookie ]            │
//!   │ session affinity, c=0  [ previous cookie → expire it, weighted ]          │
//!   │ A/B testing            rules[0].matches = analysis × service matches,     │
//!   │                        + [ service matches → primary 100 ]                │
//!   └─────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! `spec.service.match` is written in Istio's vocabulary and mapped: uri
//! `exact`/`prefix`/`regex` to `Exact`/`PathPrefix`/`RegularExpression`,
//! method `exact`, headers and query parameters `exact`/`regex`. Service
//! matches default to `PathPrefix /`. Common filters come from
//! `spec.service`: header modifiers (sorted by name), URL rewrite, static
//! mirrors and (v1) CORS. `v1beta1` has no timeouts, no CORS, no primary
//! cookie and no parent readiness check.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Unmappable matches are errors, in `analysis.match` too.** Flagger
//!   ignores mapping errors of `analysis.match`, which leaves the A/B rule
//!   matching every request, so all users reach the canary; and it silently
//!   drops `service.match` conditions Gateway API has no field for, which
//!   widens the route. weir reports either as a [`RouterError`] naming the
//!   field. A match entry's `name` is ignored, as it only labels the entry.
//! * **Timeouts appear only when set.** Flagger writes `timeouts: {request:
//!   ""}` on the A/B primary rule when no timeout is configured, which the
//!   API server rejects.
//! * **Reconcile keeps the traffic split** (as for Istio): Flagger writes
//!   100/0 when anything else changed.
//! * **Cookies are read, never made**, and the primary cookie comes from
//!   `status.primarySessionAffinityCookie` (Flagger's Gateway API router
//!   draws a new one on every `SetRoutes`, so primary users never stick).
//!   Expired cookies name their Domain and Path.

mod types;

pub use types::{
    FilterType, HttpBackendRef, HttpCorsFilter, HttpHeader, HttpHeaderFilter, HttpHeaderMatch,
    HttpPathMatch, HttpPathModifier, HttpRequestMirrorFilter, HttpRoute, HttpRouteFilter,
    HttpRouteMatch, HttpRouteRule, HttpRouteSpec, HttpRouteStatus, HttpRouteTimeouts,
    HttpUrlRewriteFilter, PathMatchType, PathModifierType, RouteCondition, RouteParentStatus,
    ValueMatchType,
};

use std::collections::BTreeMap;

use weir_api::analysis::AnalysisMatch;
use weir_api::duration::parse_go_duration;
use weir_api::service::{BackendObjectReference, HeaderOperations, HttpMatchRequest, StringMatch};
use weir_api::{Canary, CanaryPhase, Provider};
use weir_engine::ports::Routes;

use crate::error::RouterError;
use crate::metadata::ObjectMetadata;
use crate::session::{self, Affinity, COOKIE_HEADER, SET_COOKIE_HEADER};

/// The API versions Flagger's two Gateway API routers write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `gatewayapi:v1`.
    V1,
    /// `gatewayapi:v1beta1`: no timeouts, CORS, primary cookie or readiness check.
    V1beta1,
}

impl Version {
    /// The router version for a provider, if it is a Gateway API one.
    pub fn of(provider: Provider) -> Option<Version> {
        match provider {
            Provider::GatewayApiV1 => Some(Version::V1),
            Provider::GatewayApiV1beta1 => Some(Version::V1beta1),
            _ => None,
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Version::V1 => "gateway.networking.k8s.io/v1",
            Version::V1beta1 => "gateway.networking.k8s.io/v1beta1",
        }
    }
}

/// The condition type a Gateway sets when it attaches a route.
const ACCEPTED: &str = "Accepted";

/// The HTTPRoute `set_routes` writes for `routes`, built from scratch.
pub fn http_route(
    canary: &Canary,
    routes: Routes,
    version: Version,
) -> Result<HttpRoute, RouterError> {
    build(canary, routes, version, true)
}

/// Flagger's `SetRoutes`: the existing HTTPRoute with a new spec (Flagger
/// rebuilds all of it); metadata and status stay.
pub fn set_routes(
    existing: &HttpRoute,
    canary: &Canary,
    routes: Routes,
    version: Version,
) -> Result<HttpRoute, RouterError> {
    let generated = http_route(canary, routes, version)?;
    let mut updated = existing.clone();
    updated.spec = generated.spec;
    Ok(updated)
}

/// Flagger's `Reconcile`: creates the HTTPRoute with all traffic on the
/// primary, or updates what differs from the Canary while keeping the
/// existing split. Returns `existing` unchanged when nothing differs.
pub fn reconcile(
    existing: Option<&HttpRoute>,
    canary: &Canary,
    version: Version,
) -> Result<HttpRoute, RouterError> {
    let initial = build(canary, Routes::ALL_PRIMARY, version, false)?;
    let Some(existing) = existing else {
        return Ok(initial);
    };
    // Annotations other controllers add (AWS's Gateway controller does) stay.
    let mut annotations = initial.metadata.annotations.clone();
    for (key, value) in &existing.metadata.annotations {
        annotations
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
    let spec_differs = comparable(&existing.spec, canary) != comparable(&initial.spec, canary);
    if !spec_differs
        && existing.metadata.labels == initial.metadata.labels
        && existing.metadata.annotations == annotations
    {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.metadata.labels = initial.metadata.labels;
    updated.metadata.annotations = annotations;
    if spec_differs {
        let current = weights(existing, canary);
        updated.spec = if current.primary == 0 && current.canary == 0 {
            // Not an HTTPRoute weir wrote: start from the primary.
            initial.spec
        } else {
            build(canary, current, version, true)?.spec
        };
    }
    Ok(updated)
}

/// Flagger's `GetRoutes`: the split of the last rule with exactly two
/// backends (with session affinity, of the rule whose backends set cookies),
/// and whether any rule mirrors to the canary. For `v1`, an error while a
/// parent Gateway has not accepted the current generation.
pub fn routes(route: &HttpRoute, canary: &Canary, version: Version) -> Result<Routes, RouterError> {
    if version == Version::V1 {
        check_parents(route, canary)?;
    }
    Ok(weights(route, canary))
}

fn check_parents(route: &HttpRoute, canary: &Canary) -> Result<(), RouterError> {
    let Some(status) = &route.status else {
        return Ok(());
    };
    let generation = route.metadata.generation.unwrap_or_default();
    for parent in &route.spec.parent_refs {
        let conditions = status
            .parents
            .iter()
            .filter(|parent_status| parent_status.parent_ref == *parent)
            .flat_map(|parent_status| &parent_status.conditions);
        for condition in conditions {
            if condition.r#type == ACCEPTED
                && (condition.status != "True" || condition.observed_generation < generation)
            {
                return Err(RouterError::ParentNotReady {
                    name: canary.spec.service_names().apex,
                    namespace: canary.namespace().to_owned(),
                    parent: parent.name.clone(),
                    status: condition.status.clone(),
                    observed_generation: condition.observed_generation,
                    current_generation: generation,
                });
            }
        }
    }
    Ok(())
}

/// The weights and mirror, without the readiness check.
fn weights(route: &HttpRoute, canary: &Canary) -> Routes {
    let names = canary.spec.service_names();
    let session_affinity = canary.spec.analysis().session_affinity.is_some();
    let mut routes = Routes {
        primary: 0,
        canary: 0,
        mirrored: false,
    };
    let assign = |rule: &HttpRouteRule, routes: &mut Routes| {
        for backend in &rule.backend_refs {
            // Gateway API's default weight is 1.
            let weight = backend.weight.unwrap_or(1);
            if backend.name == names.primary {
                routes.primary = weight;
            }
            if backend.name == names.canary {
                routes.canary = weight;
            }
        }
    };
    let mut weighted = None;
    for rule in &route.spec.rules {
        if session_affinity
            && rule
                .backend_refs
                .iter()
                .any(|backend| !backend.filters.is_empty())
        {
            weighted = Some(rule);
        }
        // A/B testing: the primary-only rule has one backend.
        if rule.backend_refs.len() == 2 {
            assign(rule, &mut routes);
        }
        routes.mirrored |= rule.filters.iter().any(|filter| {
            filter.r#type == FilterType::RequestMirror
                && filter
                    .request_mirror
                    .as_ref()
                    .is_some_and(|mirror| mirror.backend_ref.name == names.canary)
        });
    }
    if let Some(rule) = weighted {
        assign(rule, &mut routes);
    }
    routes
}

/// The HTTPRoute for `routes`; `with_set_routes` adds what only `SetRoutes`
/// writes (blue/green mirror and session-affinity rules).
fn build(
    canary: &Canary,
    routes: Routes,
    version: Version,
    with_set_routes: bool,
) -> Result<HttpRoute, RouterError> {
    let service = &canary.spec.service;
    if service.gateway_refs.is_empty() {
        return Err(RouterError::MissingGatewayRefs);
    }
    let names = canary.spec.service_names();
    let analysis = canary.spec.analysis();
    let port = service.port;
    let service_matches = service_matches(canary)?;
    let matches = if service_matches.is_empty() {
        vec![HttpRouteMatch {
            path: Some(HttpPathMatch {
                r#type: PathMatchType::PathPrefix,
                value: "/".to_owned(),
            }),
            ..HttpRouteMatch::default()
        }]
    } else {
        service_matches.clone()
    };
    let filters = service_filters(canary, version);
    let timeouts = timeouts(canary, version);

    let mut weighted = HttpRouteRule {
        matches: matches.clone(),
        filters: filters.clone(),
        backend_refs: vec![
            backend(&names.primary, routes.primary, port),
            backend(&names.canary, routes.canary, port),
        ],
        timeouts: timeouts.clone(),
    };
    if with_set_routes && routes.mirrored && analysis.iterations > 0 {
        let mut mirror = HttpRouteFilter::of_type(FilterType::RequestMirror);
        mirror.request_mirror = Some(HttpRequestMirrorFilter {
            backend_ref: BackendObjectReference {
                group: String::new(),
                kind: "Service".to_owned(),
                name: names.canary.clone(),
                namespace: None,
                port: Some(port),
            },
        });
        weighted.filters.push(mirror);
    }

    let affinity = if with_set_routes {
        Affinity::of(canary, routes.canary, version == Version::V1)
    } else {
        Affinity::None
    };
    let mut rules = match affinity {
        Affinity::None => vec![weighted],
        Affinity::Sticky {
            affinity,
            canary_cookie,
            primary_cookie,
        } => {
            let sticky = |cookie: &str, primary_weight: i32, canary_weight: i32| HttpRouteRule {
                matches: merge_matches(&[cookie_match(cookie)], &service_matches),
                backend_refs: vec![
                    backend(&names.primary, primary_weight, port),
                    backend(&names.canary, canary_weight, port),
                ],
                ..weighted.clone()
            };
            let mut rules = vec![sticky(canary_cookie, 0, 100)];
            let mut weighted = weighted.clone();
            add_backend_cookie(
                &mut weighted,
                &names.canary,
                session::canary_set_cookie(canary_cookie, affinity),
            );
            if let Some(primary_cookie) = primary_cookie {
                rules.push(sticky(primary_cookie, 100, 0));
                add_backend_cookie(
                    &mut weighted,
                    &names.primary,
                    session::primary_set_cookie(primary_cookie, affinity, canary),
                );
            }
            rules.push(weighted);
            rules
        }
        Affinity::Cleanup {
            affinity,
            previous_cookie,
        } => {
            let mut sticky = weighted.clone();
            if let Some(previous) = previous_cookie {
                sticky.matches = merge_matches(&[cookie_match(previous)], &service_matches);
                sticky
                    .filters
                    .push(set_cookie_filter(session::expired_set_cookie(
                        previous, affinity,
                    )));
            }
            vec![sticky, weighted]
        }
    };

    if !analysis.r#match.is_empty() {
        let analysis_matches = analysis_matches(canary)?;
        if let Some(first) = rules.first_mut() {
            first.matches = merge_matches(&analysis_matches, &matches);
        }
        rules.push(HttpRouteRule {
            matches,
            filters,
            backend_refs: vec![backend(&names.primary, 100, port)],
            timeouts,
        });
    }

    Ok(HttpRoute {
        api_version: version.api_version().to_owned(),
        kind: "HTTPRoute".to_owned(),
        metadata: ObjectMetadata::apex(canary),
        spec: HttpRouteSpec {
            parent_refs: service.gateway_refs.clone(),
            hostnames: service.hosts.clone(),
            rules,
        },
        status: None,
    })
}

fn backend(name: &str, weight: i32, port: i32) -> HttpBackendRef {
    HttpBackendRef {
        group: Some(String::new()),
        kind: Some("Service".to_owned()),
        name: name.to_owned(),
        namespace: None,
        port: Some(port),
        weight: Some(weight),
        filters: Vec::new(),
    }
}

/// `timeouts` of every rule (v1, and only when a timeout is set).
fn timeouts(canary: &Canary, version: Version) -> Option<HttpRouteTimeouts> {
    let service = &canary.spec.service;
    let non_empty = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
    let timeouts = HttpRouteTimeouts {
        request: non_empty(&service.timeout),
        backend_request: non_empty(&service.backend_timeout),
    };
    (version == Version::V1 && timeouts != HttpRouteTimeouts::default()).then_some(timeouts)
}

/// Flagger's `makeFilters`: request and response header modifiers, URL
/// rewrite, static mirrors and (v1) CORS, in that order.
fn service_filters(canary: &Canary, version: Version) -> Vec<HttpRouteFilter> {
    let service = &canary.spec.service;
    let mut filters = Vec::new();
    if let Some(headers) = &service.headers {
        if let Some(request) = &headers.request {
            let mut filter = HttpRouteFilter::of_type(FilterType::RequestHeaderModifier);
            filter.request_header_modifier = Some(header_filter(request));
            filters.push(filter);
        }
        if let Some(response) = &headers.response {
            let mut filter = HttpRouteFilter::of_type(FilterType::ResponseHeaderModifier);
            filter.response_header_modifier = Some(header_filter(response));
            filters.push(filter);
        }
    }
    if let Some(rewrite) = &service.rewrite {
        let path = rewrite
            .uri
            .as_ref()
            .filter(|uri| !uri.is_empty())
            .map(|uri| {
                if rewrite.r#type.as_deref() == Some("ReplacePrefixMatch") {
                    HttpPathModifier {
                        r#type: PathModifierType::ReplacePrefixMatch,
                        replace_full_path: None,
                        replace_prefix_match: Some(uri.clone()),
                    }
                } else {
                    HttpPathModifier {
                        r#type: PathModifierType::ReplaceFullPath,
                        replace_full_path: Some(uri.clone()),
                        replace_prefix_match: None,
                    }
                }
            });
        let mut filter = HttpRouteFilter::of_type(FilterType::UrlRewrite);
        filter.url_rewrite = Some(HttpUrlRewriteFilter {
            hostname: rewrite
                .authority
                .clone()
                .filter(|authority| !authority.is_empty()),
            path,
        });
        filters.push(filter);
    }
    for mirror in &service.mirror {
        let mut filter = HttpRouteFilter::of_type(FilterType::RequestMirror);
        filter.request_mirror = Some(HttpRequestMirrorFilter {
            backend_ref: mirror.backend_ref.clone(),
        });
        filters.push(filter);
    }
    if version == Version::V1
        && let Some(cors) = &service.cors_policy
    {
        // Istio's `allowOrigins` patterns have no Gateway API equivalent;
        // Flagger logs an error and leaves them out, and so does weir.
        let mut filter = HttpRouteFilter::of_type(FilterType::Cors);
        filter.cors = Some(HttpCorsFilter {
            allow_origins: cors.allow_origin.clone(),
            allow_credentials: cors.allow_credentials,
            allow_methods: cors.allow_methods.clone(),
            allow_headers: cors.allow_headers.clone(),
            expose_headers: cors.expose_headers.clone(),
            max_age: cors
                .max_age
                .as_deref()
                .and_then(|max_age| parse_go_duration(max_age).ok())
                .map(|max_age| max_age.as_secs()),
        });
        filters.push(filter);
    }
    filters
}

/// Header operations as a Gateway API filter; maps are already sorted by name.
fn header_filter(operations: &HeaderOperations) -> HttpHeaderFilter {
    let headers = |map: &BTreeMap<String, String>| {
        map.iter()
            .map(|(name, value)| HttpHeader {
                name: name.clone(),
                value: value.clone(),
            })
            .collect()
    };
    HttpHeaderFilter {
        set: headers(&operations.set),
        add: headers(&operations.add),
        remove: operations.remove.clone(),
    }
}

fn set_cookie_filter(value: String) -> HttpRouteFilter {
    let mut filter = HttpRouteFilter::of_type(FilterType::ResponseHeaderModifier);
    filter.response_header_modifier = Some(HttpHeaderFilter {
        add: vec![HttpHeader {
            name: SET_COOKIE_HEADER.to_owned(),
            value,
        }],
        ..HttpHeaderFilter::default()
    });
    filter
}

/// Adds a `Set-Cookie` filter to the backend called `name` in `rule`.
fn add_backend_cookie(rule: &mut HttpRouteRule, name: &str, value: String) {
    for backend in &mut rule.backend_refs {
        if backend.name == name {
            backend.filters.push(set_cookie_filter(value.clone()));
        }
    }
}

fn cookie_match(cookie: &str) -> HttpRouteMatch {
    HttpRouteMatch {
        headers: vec![HttpHeaderMatch {
            r#type: ValueMatchType::RegularExpression,
            name: COOKIE_HEADER.to_owned(),
            value: session::cookie_regex(cookie),
        }],
        ..HttpRouteMatch::default()
    }
}

/// Every canary condition combined with every service condition; the canary
/// condition's headers and query parameters replace the service condition's.
fn merge_matches(
    canary_matches: &[HttpRouteMatch],
    service_matches: &[HttpRouteMatch],
) -> Vec<HttpRouteMatch> {
    if canary_matches.is_empty() {
        return service_matches.to_vec();
    }
    if service_matches.is_empty() {
        return canary_matches.to_vec();
    }
    canary_matches
        .iter()
        .flat_map(|canary_match| {
            service_matches.iter().map(move |service_match| {
                let mut merged = service_match.clone();
                if !canary_match.headers.is_empty() {
                    merged.headers.clone_from(&canary_match.headers);
                }
                if !canary_match.query_params.is_empty() {
                    merged.query_params.clone_from(&canary_match.query_params);
                }
                merged
            })
        })
        .collect()
}

/// `spec.service.match` in Gateway API terms; entries without conditions are
/// dropped, as Flagger does.
fn service_matches(canary: &Canary) -> Result<Vec<HttpRouteMatch>, RouterError> {
    let mut matches = Vec::new();
    for (index, request) in canary.spec.service.r#match.iter().enumerate() {
        let field = format!("spec.service.match[{index}]");
        let mapped = map_service_match(&field, request)?;
        if mapped != HttpRouteMatch::default() {
            matches.push(mapped);
        }
    }
    Ok(matches)
}

/// `spec.analysis.match` in Gateway API terms.
fn analysis_matches(canary: &Canary) -> Result<Vec<HttpRouteMatch>, RouterError> {
    let mut matches = Vec::new();
    for (index, request) in canary.spec.analysis().r#match.iter().enumerate() {
        let field = format!("spec.analysis.match[{index}]");
        let mapped = map_analysis_match(&field, request)?;
        if mapped != HttpRouteMatch::default() {
            matches.push(mapped);
        }
    }
    Ok(matches)
}

fn unsupported(field: String, reason: &str) -> RouterError {
    RouterError::UnsupportedMatch {
        field,
        reason: reason.to_owned(),
    }
}

fn map_service_match(
    field: &str,
    request: &HttpMatchRequest,
) -> Result<HttpRouteMatch, RouterError> {
    // Conditions Gateway API has no field for: dropping one would widen the
    // route, so each is an error.
    let unmappable = [
        ("authority", request.authority.is_some()),
        ("scheme", request.scheme.is_some()),
        ("port", request.port.is_some()),
        ("sourceLabels", !request.source_labels.is_empty()),
        ("gateways", !request.gateways.is_empty()),
        ("withoutHeaders", !request.without_headers.is_empty()),
        ("sourceNamespace", request.source_namespace.is_some()),
        ("ignoreUriCase", request.ignore_uri_case == Some(true)),
    ];
    if let Some((name, _)) = unmappable.iter().find(|(_, set)| *set) {
        return Err(unsupported(
            format!("{field}.{name}"),
            "Gateway API HTTPRoute matches have no such condition; use the Istio provider or remove it",
        ));
    }
    let mut mapped = HttpRouteMatch::default();
    if let Some(uri) = &request.uri {
        let non_empty = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
        let (r#type, value) = if let Some(regex) = non_empty(&uri.regex) {
            (PathMatchType::RegularExpression, regex)
        } else if let Some(exact) = non_empty(&uri.exact) {
            (PathMatchType::Exact, exact)
        } else if let Some(prefix) = non_empty(&uri.prefix) {
            (PathMatchType::PathPrefix, prefix)
        } else {
            return Err(unsupported(
                format!("{field}.uri"),
                "Gateway API matches a path by exact, prefix or regex only",
            ));
        };
        mapped.path = Some(HttpPathMatch { r#type, value });
    }
    if let Some(method) = &request.method {
        match method.exact.as_deref().filter(|text| !text.is_empty()) {
            Some(exact) => mapped.method = Some(exact.to_owned()),
            None => {
                return Err(unsupported(
                    format!("{field}.method"),
                    "Gateway API matches a method by exact value only",
                ));
            }
        }
    }
    mapped.headers = value_matches(&format!("{field}.headers"), &request.headers)?;
    mapped.query_params = value_matches(&format!("{field}.queryParams"), &request.query_params)?;
    Ok(mapped)
}

fn map_analysis_match(field: &str, request: &AnalysisMatch) -> Result<HttpRouteMatch, RouterError> {
    if !request.source_labels.is_empty() {
        return Err(unsupported(
            format!("{field}.sourceLabels"),
            "Gateway API HTTPRoute matches have no source labels; match on headers or query parameters",
        ));
    }
    let headers: BTreeMap<String, StringMatch> = request
        .headers
        .iter()
        .map(|(name, condition)| {
            if condition.suffix.is_some() || condition.prefix.is_some() {
                return Err(unsupported(
                    format!("{field}.headers.{name}"),
                    "Gateway API matches a header by exact or regex only",
                ));
            }
            Ok((
                name.clone(),
                StringMatch {
                    exact: condition.exact.clone(),
                    prefix: None,
                    regex: condition.regex.clone(),
                },
            ))
        })
        .collect::<Result<_, _>>()?;
    Ok(HttpRouteMatch {
        path: None,
        headers: value_matches(&format!("{field}.headers"), &headers)?,
        query_params: value_matches(&format!("{field}.queryParams"), &request.query_params)?,
        method: None,
    })
}

/// Header or query parameter conditions: `exact` or `regex`.
fn value_matches(
    field: &str,
    conditions: &BTreeMap<String, StringMatch>,
) -> Result<Vec<HttpHeaderMatch>, RouterError> {
    conditions
        .iter()
        .map(|(name, condition)| {
            let non_empty = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
            let (r#type, value) = if let Some(exact) = non_empty(&condition.exact) {
                (ValueMatchType::Exact, exact)
            } else if let Some(regex) = non_empty(&condition.regex) {
                (ValueMatchType::RegularExpression, regex)
            } else {
                return Err(unsupported(
                    format!("{field}.{name}"),
                    "Gateway API matches by exact or regex only",
                ));
            };
            Ok(HttpHeaderMatch {
                r#type,
                name: name.clone(),
                value,
            })
        })
        .collect()
}

/// The spec as Flagger's reconcile compares it: without backend weights;
/// with session affinity also without cookie rules and backend filters; and
/// while a mirrored run is in progress without rule filters.
fn comparable(spec: &HttpRouteSpec, canary: &Canary) -> HttpRouteSpec {
    let analysis = canary.spec.analysis();
    let mut spec = spec.clone();
    if let Some(affinity) = &analysis.session_affinity {
        let cookie_names: Vec<&str> = [
            Some(affinity.cookie_name.as_str()),
            affinity.primary_cookie_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|name| !name.is_empty())
        .collect();
        spec.rules.retain(|rule| {
            !rule
                .matches
                .iter()
                .flat_map(|entry| &entry.headers)
                .any(|header| {
                    header.r#type == ValueMatchType::RegularExpression
                        && header.name == COOKIE_HEADER
                        && cookie_names.iter().any(|name| header.value.contains(name))
                })
        });
    }
    let phase = canary.status.as_ref().map(|status| status.phase);
    let mirroring = analysis.mirror
        && matches!(
            phase,
            Some(CanaryPhase::Waiting | CanaryPhase::Progressing | CanaryPhase::WaitingPromotion)
        );
    for rule in &mut spec.rules {
        if mirroring {
            rule.filters.clear();
        }
        for backend in &mut rule.backend_refs {
            backend.weight = None;
            if analysis.session_affinity.is_some() {
                backend.filters.clear();
            }
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const PROGRESSIVE: &str = "  service:
    port: 9898
    gatewayRefs:
    - name: gateway
      namespace: ingress
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    #[test]
    fn reconcile_fails_without_gateway_refs() {
        let canary = canary("  service:\n    port: 9898\n", "  phase: Initializing\n");
        let error = reconcile(None, &canary, Version::V1).expect_err("no gatewayRefs");
        assert_eq!(error, RouterError::MissingGatewayRefs);
        assert!(
            error.to_string().starts_with("spec.service.gatewayRefs: "),
            "{error}"
        );
    }

    #[test]
    fn reconcile_creates_the_route_with_all_traffic_on_the_primary() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let created = reconcile(None, &canary, Version::V1).expect("reconcile");
        assert_eq!(created.api_version, "gateway.networking.k8s.io/v1");
        assert_eq!(
            routes(&created, &canary, Version::V1),
            Ok(Routes::ALL_PRIMARY)
        );
        let path = created.spec.rules[0].matches[0]
            .path
            .as_ref()
            .expect("default path");
        assert_eq!(
            (path.r#type, path.value.as_str()),
            (PathMatchType::PathPrefix, "/")
        );
    }

    #[test]
    fn reconcile_keeps_the_weights_of_an_existing_route() {
        let mut canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary, Version::V1).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(70, 30), Version::V1).expect("set");
        assert_eq!(
            reconcile(Some(&shifted), &canary, Version::V1),
            Ok(shifted.clone())
        );

        canary.spec.service.hosts = vec!["www.example.com".to_owned()];
        let updated = reconcile(Some(&shifted), &canary, Version::V1).expect("reconcile");
        assert_eq!(updated.spec.hostnames, ["www.example.com"]);
        assert_eq!(routes(&updated, &canary, Version::V1), Ok(split(70, 30)));
    }

    #[test]
    fn reconcile_keeps_annotations_other_controllers_added() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let mut created = reconcile(None, &canary, Version::V1).expect("reconcile");
        created.metadata.annotations.insert(
            "application-networking.k8s.aws/lattice".to_owned(),
            "arn".to_owned(),
        );
        assert_eq!(reconcile(Some(&created), &canary, Version::V1), Ok(created));
    }

    #[test]
    fn reconcile_keeps_the_blue_green_mirror_while_the_analysis_runs() {
        let canary = canary(
            "  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    mirror: true
",
            "  phase: Progressing\n",
        );
        let created = reconcile(None, &canary, Version::V1).expect("reconcile");
        let mirrored = Routes {
            mirrored: true,
            ..Routes::ALL_PRIMARY
        };
        let written = set_routes(&created, &canary, mirrored, Version::V1).expect("set");
        assert_eq!(routes(&written, &canary, Version::V1), Ok(mirrored));
        assert_eq!(reconcile(Some(&written), &canary, Version::V1), Ok(written));
    }

    #[test]
    fn mirroring_needs_blue_green_iterations() {
        let canary = canary(
            &format!("{PROGRESSIVE}    mirror: true\n"),
            "  phase: Progressing\n",
        );
        let mirrored = Routes {
            mirrored: true,
            ..Routes::ALL_PRIMARY
        };
        let written = http_route(&canary, mirrored, Version::V1).expect("route");
        assert!(written.spec.rules[0].filters.is_empty());
        assert_eq!(
            routes(&written, &canary, Version::V1),
            Ok(Routes::ALL_PRIMARY)
        );
    }

    #[test]
    fn routes_come_from_the_last_rule_with_two_backends() {
        let canary = canary(
            "  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: \"1\"
",
            "  phase: Progressing\n",
        );
        let written = http_route(&canary, Routes::ALL_CANARY, Version::V1).expect("route");
        assert_eq!(written.spec.rules.len(), 2);
        assert_eq!(written.spec.rules[1].backend_refs.len(), 1);
        assert_eq!(
            routes(&written, &canary, Version::V1),
            Ok(Routes::ALL_CANARY)
        );
    }

    #[test]
    fn routes_read_the_weighted_rule_under_session_affinity() {
        let canary = canary(
            &format!(
                "{PROGRESSIVE}    sessionAffinity:\n      cookieName: canary\n      primaryCookieName: primary\n"
            ),
            "  phase: Progressing
  sessionAffinityCookie: canary=abcdefghij
  primarySessionAffinityCookie: primary=klmnopqrst
",
        );
        for version in [Version::V1, Version::V1beta1] {
            let written = http_route(&canary, split(80, 20), version).expect("route");
            let expected_rules = if version == Version::V1 { 3 } else { 2 };
            assert_eq!(written.spec.rules.len(), expected_rules);
            assert_eq!(routes(&written, &canary, version), Ok(split(80, 20)));
            let cleaned = http_route(&canary, Routes::ALL_PRIMARY, version).expect("route");
            assert_eq!(routes(&cleaned, &canary, version), Ok(Routes::ALL_PRIMARY));
        }
    }

    #[test]
    fn routes_fail_while_a_parent_has_not_accepted_the_current_generation() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut route = reconcile(None, &canary, Version::V1).expect("reconcile");
        route.metadata.generation = Some(3);
        route.status = Some(HttpRouteStatus {
            parents: vec![RouteParentStatus {
                parent_ref: canary.spec.service.gateway_refs[0].clone(),
                controller_name: "istio.io/gateway-controller".to_owned(),
                conditions: vec![RouteCondition {
                    r#type: "Accepted".to_owned(),
                    status: "True".to_owned(),
                    observed_generation: 2,
                    ..RouteCondition::default()
                }],
            }],
        });
        let error = routes(&route, &canary, Version::V1).expect_err("stale parent");
        assert_eq!(
            error.to_string(),
            "HTTPRoute podinfo.test parent gateway is not ready (status: True, observed generation: 2, current generation: 3)"
        );
        // The v1beta1 router does not look at parents.
        assert_eq!(
            routes(&route, &canary, Version::V1beta1),
            Ok(Routes::ALL_PRIMARY)
        );
    }

    #[test]
    fn matches_gateway_api_cannot_express_are_errors_naming_the_field() {
        let cases = [
            (
                "  service:
    port: 9898
    gatewayRefs:
    - name: gateway
    match:
    - authority:
        exact: example.com
",
                "spec.service.match[0].authority",
            ),
            (
                "  service:
    port: 9898
    gatewayRefs:
    - name: gateway
    match:
    - headers:
        x-user:
          prefix: admin
",
                "spec.service.match[0].headers.x-user",
            ),
            (
                "  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    match:
    - headers:
        user-agent:
          suffix: Firefox
",
                "spec.analysis.match[0].headers.user-agent",
            ),
            (
                "  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    match:
    - sourceLabels:
        app: frontend
",
                "spec.analysis.match[0].sourceLabels",
            ),
        ];
        for (spec, field) in cases {
            let canary = canary(spec, "  phase: Progressing\n");
            match http_route(&canary, Routes::ALL_CANARY, Version::V1) {
                Err(RouterError::UnsupportedMatch { field: named, .. }) => {
                    assert_eq!(named, field);
                }
                other => panic!("expected an unsupported match at {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn v1beta1_has_no_timeouts_cors_or_primary_cookie() {
        let canary = canary(
            "  service:
    port: 9898
    timeout: 5s
    gatewayRefs:
    - name: gateway
    corsPolicy:
      allowOrigin:
      - https://example.com
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    sessionAffinity:
      cookieName: canary
      primaryCookieName: primary
",
            "  phase: Progressing
  sessionAffinityCookie: canary=abcdefghij
  primarySessionAffinityCookie: primary=klmnopqrst
",
        );
        let beta = http_route(&canary, split(90, 10), Version::V1beta1).expect("route");
        assert_eq!(beta.api_version, "gateway.networking.k8s.io/v1beta1");
        assert!(beta.spec.rules.iter().all(|rule| rule.timeouts.is_none()));
        assert!(
            beta.spec
                .rules
                .iter()
                .flat_map(|rule| &rule.filters)
                .all(|filter| filter.r#type != FilterType::Cors)
        );
        let stable = http_route(&canary, split(90, 10), Version::V1).expect("route");
        assert!(stable.spec.rules.iter().all(|rule| rule.timeouts.is_some()));
        assert_eq!(stable.spec.rules.len(), beta.spec.rules.len() + 1);
    }
}
