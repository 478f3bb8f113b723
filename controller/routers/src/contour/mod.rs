//! Contour: an HTTPProxy `<apex>` whose routes split between the primary and
//! canary Services (semantics §9.3). A root HTTPProxy of the user's includes
//! it.
//!
//! ```text
//!   routes[] (Contour tries longer prefixes, then more header conditions first)
//!   ┌─────────────────────────────────────────────────────────────────────────┐
//!   │ canary / progressive  [ prefix → primary p, canary c ]                  │
//!   │ A/B testing           [ prefix + headers of analysis.match[0] → p, c,   │
//!   │                         prefix + headers of analysis.match[1] → p, c,   │
//!   │                         ...,                                            │
//!   │                         prefix → primary 100, canary 0 ]                │
//!   └─────────────────────────────────────────────────────────────────────────┘
//!   prefix: spec.service.match[0].uri.prefix, else "/".
//! ```
//!
//! Every route carries `timeoutPolicy` (`response: spec.service.timeout`,
//! `idle: 5m`) when a timeout is set and `retryPolicy` (`count`,
//! `perTryTimeout`, `retryOn` split at commas) when retries are set. Every
//! service sets the request header `l5d-dst-override:
//! <service>.<namespace>.svc.cluster.local:<port>`, so that a Linkerd sidecar
//! in Envoy's pod routes to the Service Contour chose rather than re-balancing.
//! `spec.ingressClassName` is the controller flag `-ingress-class`, left out
//! when empty; `set_routes` writes it too, since it rebuilds the whole spec. Header conditions map `exact` to `exact` and, as in Flagger,
//! `prefix` and `suffix` to `contains` (which matches more requests).
//!
//! `routes` reads the primary's weight in the first route and gives the
//! canary the rest of 100; `set_routes` refuses 0/0, which Contour would
//! split evenly.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Each `analysis.match` entry is a route of its own**, so the entries
//!   are alternatives as in every other router. Flagger puts the header
//!   conditions of all entries into one route, where Contour requires all of
//!   them, and repeats the prefix in each, which Contour rejects as soon as
//!   there are two ("more than one prefix is not allowed in a condition
//!   block"). With one header condition the route is Flagger's.
//! * **Conditions Contour cannot express are errors** naming the field:
//!   regular expressions (Flagger writes a header condition with no value),
//!   query parameters and source labels (Flagger drops them, widening the
//!   A/B route).
//! * **Reconcile keeps the traffic split.** Flagger writes 100/0 back when
//!   anything else changed, in the middle of an analysis.
//! * **Reconcile keeps annotations other controllers add.** Flagger replaces
//!   the annotations with the apex ones, which is how it lost its own
//!   `projectcontour.io/ingress.class` annotation (fluxcd/flagger#1848).
//! * **No status is written.** Flagger sets `status.currentStatus: valid` on
//!   create, which the API server discards for a status subresource anyway.

mod types;

pub use types::{
    API_VERSION, HeaderMatchCondition, HeaderValue, HeadersPolicy, HttpProxy, HttpProxySpec,
    MatchCondition, RetryPolicy, Route, Service, TimeoutPolicy,
};

use weir_api::Canary;
use weir_api::analysis::AnalysisMatch;
use weir_engine::ports::Routes;

use crate::metadata::ObjectMetadata;

/// The request header Linkerd routes by when it is set (Flagger's choice).
pub const LINKERD_DESTINATION_HEADER: &str = "l5d-dst-override";
/// Flagger's idle timeout for routes with a response timeout.
const IDLE_TIMEOUT: &str = "5m";
/// The path prefix when `spec.service.match` names none.
const DEFAULT_PREFIX: &str = "/";

/// Why an HTTPProxy could not be generated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContourError {
    /// `set_routes` with 0/0: Contour would split evenly.
    #[error("HTTPProxy {name}.{namespace} update failed: no valid weights")]
    NoValidWeights { name: String, namespace: String },
    /// The first route does not list the primary and the canary.
    #[error("HTTPProxy {name}.{namespace} services not found")]
    ServicesNotFound { name: String, namespace: String },
    /// The primary's weight is not between 0 and 100.
    #[error("HTTPProxy {name}.{namespace} primary weight {weight} is not a percentage")]
    InvalidWeight {
        name: String,
        namespace: String,
        weight: i32,
    },
    /// An `analysis.match` condition Contour cannot express.
    #[error("{field}: {reason}")]
    UnsupportedMatch {
        /// The Canary field, e.g. `spec.analysis.match[0].headers.x-user`.
        field: String,
        reason: String,
    },
}

/// The HTTPProxy `set_routes` writes for `routes`, built from scratch;
/// `ingress_class` is the controller flag `-ingress-class`.
pub fn http_proxy(
    canary: &Canary,
    routes: Routes,
    ingress_class: &str,
) -> Result<HttpProxy, ContourError> {
    let names = canary.spec.service_names();
    let prefix = path_prefix(canary);
    let route = |conditions: Vec<MatchCondition>, primary: i32, canary_weight: i32| Route {
        conditions,
        services: vec![
            service(canary, &names.primary, primary),
            service(canary, &names.canary, canary_weight),
        ],
        timeout_policy: timeout_policy(canary),
        retry_policy: retry_policy(canary),
    };
    let prefix_only = || {
        vec![MatchCondition {
            prefix: prefix.clone(),
            header: None,
        }]
    };
    let analysis = canary.spec.analysis();
    let routes = if analysis.r#match.is_empty() {
        vec![route(prefix_only(), routes.primary, routes.canary)]
    } else {
        let mut ab_routes = Vec::with_capacity(analysis.r#match.len() + 1);
        for (index, condition) in analysis.r#match.iter().enumerate() {
            let conditions = header_conditions(index, condition, &prefix)?;
            ab_routes.push(route(conditions, routes.primary, routes.canary));
        }
        // Everyone else stays on the primary.
        ab_routes.push(route(prefix_only(), 100, 0));
        ab_routes
    };
    Ok(HttpProxy {
        api_version: API_VERSION.to_owned(),
        kind: "HTTPProxy".to_owned(),
        metadata: ObjectMetadata::apex(canary),
        spec: HttpProxySpec {
            routes,
            ingress_class_name: ingress_class.to_owned(),
        },
    })
}

/// Flagger's `SetRoutes`: the existing HTTPProxy with a new spec (Flagger
/// rebuilds all of it); metadata stays. An error for 0/0.
pub fn set_routes(
    existing: &HttpProxy,
    canary: &Canary,
    routes: Routes,
    ingress_class: &str,
) -> Result<HttpProxy, ContourError> {
    if routes.primary == 0 && routes.canary == 0 {
        return Err(ContourError::NoValidWeights {
            name: canary.spec.service_names().apex,
            namespace: canary.namespace().to_owned(),
        });
    }
    let generated = http_proxy(canary, routes, ingress_class)?;
    let mut updated = existing.clone();
    updated.spec = generated.spec;
    Ok(updated)
}

/// Flagger's `Reconcile`: creates the HTTPProxy with all traffic on the
/// primary, or updates what differs from the Canary while keeping the
/// existing split. Returns `existing` unchanged when nothing differs.
pub fn reconcile(
    existing: Option<&HttpProxy>,
    canary: &Canary,
    ingress_class: &str,
) -> Result<HttpProxy, ContourError> {
    let initial = http_proxy(canary, Routes::ALL_PRIMARY, ingress_class)?;
    let Some(existing) = existing else {
        return Ok(initial);
    };
    let mut annotations = initial.metadata.annotations.clone();
    for (key, value) in &existing.metadata.annotations {
        annotations
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
    let spec_differs = without_weights(&existing.spec) != without_weights(&initial.spec);
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
        // Not an HTTPProxy weir wrote: start from the primary.
        let current = routes(existing, canary).unwrap_or(Routes::ALL_PRIMARY);
        updated.spec = http_proxy(canary, current, ingress_class)?.spec;
    }
    Ok(updated)
}

/// Flagger's `GetRoutes`: the primary's weight in the first route, and the
/// rest of 100 for the canary; never mirrored.
pub fn routes(proxy: &HttpProxy, canary: &Canary) -> Result<Routes, ContourError> {
    let names = canary.spec.service_names();
    let not_found = || ContourError::ServicesNotFound {
        name: names.apex.clone(),
        namespace: canary.namespace().to_owned(),
    };
    let first = proxy
        .spec
        .routes
        .first()
        .filter(|route| route.services.len() >= 2)
        .ok_or_else(not_found)?;
    let primary = first
        .services
        .iter()
        .find(|service| service.name == names.primary)
        .ok_or_else(not_found)?;
    if !(0..=100).contains(&primary.weight) {
        return Err(ContourError::InvalidWeight {
            name: names.apex.clone(),
            namespace: canary.namespace().to_owned(),
            weight: primary.weight,
        });
    }
    Ok(Routes {
        primary: primary.weight,
        canary: 100 - primary.weight,
        mirrored: false,
    })
}

/// `spec.service.match[0].uri.prefix`, or `/`.
fn path_prefix(canary: &Canary) -> String {
    canary
        .spec
        .service
        .r#match
        .first()
        .and_then(|condition| condition.uri.as_ref())
        .and_then(|uri| uri.prefix.clone())
        .filter(|prefix| !prefix.is_empty())
        .unwrap_or_else(|| DEFAULT_PREFIX.to_owned())
}

/// The conditions of the A/B route for `analysis.match[index]`: the prefix
/// (once, as Contour requires) and one condition per header.
fn header_conditions(
    index: usize,
    condition: &AnalysisMatch,
    prefix: &str,
) -> Result<Vec<MatchCondition>, ContourError> {
    let unsupported = |field: String, reason: &str| ContourError::UnsupportedMatch {
        field,
        reason: reason.to_owned(),
    };
    let field = format!("spec.analysis.match[{index}]");
    if !condition.query_params.is_empty() {
        return Err(unsupported(
            format!("{field}.queryParams"),
            "the Contour router matches headers only",
        ));
    }
    if !condition.source_labels.is_empty() {
        return Err(unsupported(
            format!("{field}.sourceLabels"),
            "requests reaching Contour carry no source labels",
        ));
    }
    if condition.headers.is_empty() {
        return Err(unsupported(
            format!("{field}.headers"),
            "the Contour router needs at least one header condition",
        ));
    }
    let mut conditions = Vec::with_capacity(condition.headers.len());
    for (name, value) in &condition.headers {
        let non_empty = |text: &Option<String>| text.clone().filter(|text| !text.is_empty());
        let header = if let Some(exact) = non_empty(&value.exact) {
            HeaderMatchCondition {
                name: name.clone(),
                exact,
                ..HeaderMatchCondition::default()
            }
        } else if let Some(contains) = non_empty(&value.prefix).or_else(|| non_empty(&value.suffix))
        {
            HeaderMatchCondition {
                name: name.clone(),
                contains,
                ..HeaderMatchCondition::default()
            }
        } else if value.regex.is_some() {
            return Err(unsupported(
                format!("{field}.headers.{name}"),
                "Contour header conditions cannot match a regular expression; use exact, prefix or suffix",
            ));
        } else {
            return Err(unsupported(
                format!("{field}.headers.{name}"),
                "a header condition needs exact, prefix or suffix",
            ));
        };
        conditions.push(MatchCondition {
            // Contour allows one prefix per route.
            prefix: if conditions.is_empty() {
                prefix.to_owned()
            } else {
                String::new()
            },
            header: Some(header),
        });
    }
    Ok(conditions)
}

fn service(canary: &Canary, name: &str, weight: i32) -> Service {
    let port = canary.spec.service.port;
    Service {
        name: name.to_owned(),
        port,
        weight,
        request_headers_policy: Some(HeadersPolicy {
            set: vec![HeaderValue {
                name: LINKERD_DESTINATION_HEADER.to_owned(),
                value: format!(
                    "{name}.{namespace}.svc.cluster.local:{port}",
                    namespace = canary.namespace()
                ),
            }],
            remove: Vec::new(),
        }),
    }
}

fn timeout_policy(canary: &Canary) -> Option<TimeoutPolicy> {
    let timeout = canary
        .spec
        .service
        .timeout
        .as_ref()
        .filter(|timeout| !timeout.is_empty())?;
    Some(TimeoutPolicy {
        response: timeout.clone(),
        idle: IDLE_TIMEOUT.to_owned(),
    })
}

fn retry_policy(canary: &Canary) -> Option<RetryPolicy> {
    let retries = canary.spec.service.retries.as_ref()?;
    Some(RetryPolicy {
        count: retries.attempts.unwrap_or_default().into(),
        per_try_timeout: retries.per_try_timeout.clone().unwrap_or_default(),
        // Istio's comma-separated list; Contour wants one condition per entry.
        retry_on: retries
            .retry_on
            .iter()
            .flat_map(|conditions| conditions.split(','))
            .map(str::trim)
            .filter(|condition| !condition.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// The spec as reconcile compares it.
fn without_weights(spec: &HttpProxySpec) -> HttpProxySpec {
    let mut spec = spec.clone();
    for route in &mut spec.routes {
        for service in &mut route.services {
            service.weight = 0;
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
    timeout: 15s
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
";

    const AB_TESTING: &str = "  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    iterations: 10
    match:
    - headers:
        x-canary:
          exact: insider
    - headers:
        user-agent:
          suffix: Firefox
        x-region:
          prefix: eu-
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    fn weights(proxy: &HttpProxy) -> Vec<Vec<(String, i32)>> {
        proxy
            .spec
            .routes
            .iter()
            .map(|route| {
                route
                    .services
                    .iter()
                    .map(|service| (service.name.clone(), service.weight))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reconcile_creates_the_proxy_with_all_traffic_on_the_primary() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let created = reconcile(None, &canary, "").expect("reconcile");
        assert_eq!(
            weights(&created),
            [[
                ("podinfo-primary".to_owned(), 100),
                ("podinfo-canary".to_owned(), 0)
            ]]
        );
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
        assert_eq!(created.spec.ingress_class_name, "");
    }

    #[test]
    fn routes_read_back_what_set_routes_wrote() {
        for spec in [PROGRESSIVE, AB_TESTING] {
            let canary = canary(spec, "  phase: Progressing\n");
            let created = reconcile(None, &canary, "contour").expect("reconcile");
            for weights in [split(90, 10), split(50, 50), Routes::ALL_CANARY] {
                let written = set_routes(&created, &canary, weights, "contour").expect("set");
                assert_eq!(routes(&written, &canary), Ok(weights), "{spec}");
                assert_eq!(written.spec.ingress_class_name, "contour");
            }
        }
    }

    #[test]
    fn set_routes_refuses_a_split_without_traffic() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary, "").expect("reconcile");
        let error = set_routes(&created, &canary, split(0, 0), "").expect_err("0/0");
        assert_eq!(
            error.to_string(),
            "HTTPProxy podinfo.test update failed: no valid weights"
        );
    }

    #[test]
    fn reconcile_keeps_the_weights_of_an_existing_proxy() {
        let mut canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary, "").expect("reconcile");
        let shifted = set_routes(&created, &canary, split(70, 30), "").expect("set");
        assert_eq!(reconcile(Some(&shifted), &canary, ""), Ok(shifted.clone()));

        canary.spec.service.timeout = Some("30s".to_owned());
        let updated = reconcile(Some(&shifted), &canary, "").expect("reconcile");
        assert_eq!(
            updated.spec.routes[0]
                .timeout_policy
                .as_ref()
                .map(|policy| policy.response.as_str()),
            Some("30s")
        );
        assert_eq!(routes(&updated, &canary), Ok(split(70, 30)));
    }

    #[test]
    fn each_ab_match_entry_is_a_route_of_its_own_with_one_prefix() {
        let canary = canary(AB_TESTING, "  phase: Progressing\n");
        let written = http_proxy(&canary, Routes::ALL_CANARY, "").expect("proxy");
        assert_eq!(
            weights(&written),
            [
                vec![
                    ("podinfo-primary".to_owned(), 0),
                    ("podinfo-canary".to_owned(), 100)
                ],
                vec![
                    ("podinfo-primary".to_owned(), 0),
                    ("podinfo-canary".to_owned(), 100)
                ],
                vec![
                    ("podinfo-primary".to_owned(), 100),
                    ("podinfo-canary".to_owned(), 0)
                ],
            ]
        );
        let second = &written.spec.routes[1].conditions;
        assert_eq!(
            second
                .iter()
                .map(|condition| condition.prefix.as_str())
                .collect::<Vec<_>>(),
            ["/", ""]
        );
        assert_eq!(
            second
                .iter()
                .filter_map(|condition| condition.header.as_ref())
                .map(|header| (header.name.as_str(), header.contains.as_str()))
                .collect::<Vec<_>>(),
            [("user-agent", "Firefox"), ("x-region", "eu-")]
        );
    }

    #[test]
    fn conditions_contour_cannot_express_are_errors_naming_the_field() {
        let cases = [
            (
                "    match:\n    - headers:\n        x-user:\n          regex: ^admin\n",
                "spec.analysis.match[0].headers.x-user",
            ),
            (
                "    match:\n    - headers:\n        x-a:\n          exact: a\n    - queryParams:\n        beta:\n          exact: \"true\"\n",
                "spec.analysis.match[1].queryParams",
            ),
            (
                "    match:\n    - sourceLabels:\n        app: frontend\n",
                "spec.analysis.match[0].sourceLabels",
            ),
        ];
        for (matches, field) in cases {
            let canary = canary(
                &format!(
                    "  service:\n    port: 9898\n  analysis:\n    interval: 1m\n    threshold: 5\n    iterations: 5\n{matches}"
                ),
                "  phase: Progressing\n",
            );
            match reconcile(None, &canary, "") {
                Err(ContourError::UnsupportedMatch { field: named, .. }) => {
                    assert_eq!(named, field);
                }
                other => panic!("expected an unsupported match at {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn routes_fail_when_the_first_route_lacks_the_services() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut written = reconcile(None, &canary, "").expect("reconcile");
        written.spec.routes[0].services.truncate(1);
        let error = routes(&written, &canary).expect_err("one service");
        assert_eq!(
            error.to_string(),
            "HTTPProxy podinfo.test services not found"
        );
        written.spec.routes.clear();
        assert!(routes(&written, &canary).is_err());
    }

    #[test]
    fn retry_conditions_are_split_at_commas() {
        let canary = canary(
            "  service:
    port: 9898
    retries:
      attempts: 3
      perTryTimeout: 5s
      retryOn: \"gateway-error, connect-failure,refused-stream\"
",
            "  phase: Initializing\n",
        );
        let created = reconcile(None, &canary, "").expect("reconcile");
        assert_eq!(
            created.spec.routes[0].retry_policy,
            Some(RetryPolicy {
                count: 3,
                per_try_timeout: "5s".to_owned(),
                retry_on: vec![
                    "gateway-error".to_owned(),
                    "connect-failure".to_owned(),
                    "refused-stream".to_owned()
                ],
            })
        );
    }
}
