//! Apache APISIX: an ApisixRoute `<routeRef>-<apex>-canary`, a copy of the
//! user's route named by `spec.routeRef` that splits the apex backend
//! between primary and canary at a higher priority (semantics §9.3).
//!
//! ```text
//!   ApisixRoute <routeRef> (user's, untouched)   ApisixRoute <routeRef>-<apex>-canary
//!   http:                                        http:
//!   - name: web                       ─copy─▶    - name: web
//!     match: {paths: [/*], hosts: …}               priority: 10000
//!     backends:                                    match: {paths: [/*], hosts: …}
//!     - serviceName: <apex>                        backends:
//!   - name: other (not copied)                     - serviceName: <apex>-primary  weight: p
//!                                                  - serviceName: <apex>-canary   weight: c
//! ```
//!
//! Only the first HTTP route whose backend is the apex Service is copied;
//! it must have that single backend. Priority 10000 makes APISIX prefer the
//! copy over the user's route for the same requests. `GetRoutes` reads the
//! primary's weight and gives the canary the rest of 100; `SetRoutes`
//! refuses a split with no traffic. With A/B testing (weir only, see below)
//! each `analysis.match` entry adds its conditions to a copy of the route:
//!
//! ```text
//!   - name: web,   exprs: [Header x-canary Equal insider]       → p / c
//!   - name: web-1, exprs: [Header cookie RegexMatch …canary…]   → p / c
//!   requests matching neither fall through to the user's route (primary)
//! ```
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **A/B testing routes only the matching requests.** Flagger ignores
//!   `analysis.match`, so an A/B analysis sends every request to the canary.
//!   weir adds the conditions as `exprs` (header and query parameter
//!   conditions; `exact` → `Equal`, `regex` → `RegexMatch`, `prefix` and
//!   `suffix` → anchored `RegexMatch`, no value → present). An entry with no
//!   condition APISIX can check (only `sourceLabels`) is an error.
//! * **Reconcile keeps the traffic split.** Flagger rewrites the route with
//!   100/0 when the spec changed, in the middle of an analysis; weir also
//!   follows changed labels and annotations of the user's route.
//! * **The copy has no stream routes.** Flagger copies the user's stream
//!   routes too, duplicating them for no benefit.
//! * **Metadata**: the user's labels and annotations, except
//!   `kubectl.kubernetes.io/last-applied-configuration` (it describes the
//!   user's route), plus the Flux opt-out annotations.
//! * **A backend without a weight reads as 100**, the ingress controller's
//!   default (Flagger dereferences it and panics).

mod types;

pub use types::{
    API_VERSION, ApisixRoute, ApisixRouteHttp, ApisixRouteHttpBackend, ApisixRouteHttpMatch,
    ApisixRouteHttpMatchExpr, ApisixRouteHttpMatchExprSubject, ApisixRoutePlugin, ApisixRouteSpec,
};

use weir_api::Canary;
use weir_api::analysis::AnalysisMatch;
use weir_api::service::{HeaderMatch, StringMatch};
use weir_engine::ports::Routes;

use crate::gloo::escape_regex;
use crate::metadata::{
    FLUX_DISABLED, HELM_DRIFT_DETECTION, KUBECTL_LAST_APPLIED, KUSTOMIZE_RECONCILE, ObjectMetadata,
};

/// Flagger's `maxPriority`: the copy wins over the user's route.
pub const CANARY_PRIORITY: i64 = 10000;
/// The weight APISIX's ingress controller gives a backend without one.
const DEFAULT_WEIGHT: i32 = 100;
/// Weights are percentages: the canary gets what the primary does not.
const TOTAL_WEIGHT: i32 = 100;

/// Why the canary ApisixRoute could not be generated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApisixError {
    /// `spec.routeRef` is missing or has no name.
    #[error("spec.routeRef: apisix route selector is empty")]
    MissingRouteRef,
    /// The user's route has no HTTP routes.
    #[error("APISIX route {name}.{namespace}'s spec.http is empty")]
    EmptyHttp { name: String, namespace: String },
    /// No HTTP route has the Service as a backend.
    #[error("Can not find {backend} backend on apisix route {name}.{namespace}")]
    BackendNotFound {
        backend: String,
        name: String,
        namespace: String,
    },
    /// The HTTP route to the apex Service has other backends too.
    #[error(
        "APISIX route {name}.{namespace}'s http route {route} only one http backend is supported"
    )]
    SeveralBackends {
        name: String,
        namespace: String,
        route: String,
    },
    /// `set_routes` was asked for a split that routes nothing, or a negative weight.
    #[error(
        "ApisixRoute {name}.{namespace} update failed: no valid weights (primary {primary}, canary {canary})"
    )]
    InvalidWeights {
        name: String,
        namespace: String,
        primary: i32,
        canary: i32,
    },
    /// An `analysis.match` entry has no condition APISIX can check.
    #[error(
        "spec.analysis.match[{index}]: APISIX matches headers and query parameters only; this entry would match every request"
    )]
    UnsupportedMatch { index: usize },
}

/// `<routeRef>-<apex>-canary`.
pub fn canary_route_name(canary: &Canary) -> Result<String, ApisixError> {
    Ok(format!(
        "{}-{}-canary",
        route_ref(canary)?,
        canary.spec.service_names().apex
    ))
}

/// The canary ApisixRoute `set_routes` writes for `routes`, built from the
/// user's route.
pub fn canary_route(
    route: &ApisixRoute,
    canary: &Canary,
    routes: Routes,
) -> Result<ApisixRoute, ApisixError> {
    check_weights(canary, routes)?;
    let name = canary_route_name(canary)?;
    let route_name = route_ref(canary)?;
    let names = canary.spec.service_names();
    let namespace = canary.namespace().to_owned();
    if route.spec.http.is_empty() {
        return Err(ApisixError::EmptyHttp {
            name: route_name.to_owned(),
            namespace,
        });
    }
    let target = route
        .spec
        .http
        .iter()
        .find(|http| {
            http.backends
                .iter()
                .any(|backend| backend.service_name == names.apex)
        })
        .ok_or_else(|| ApisixError::BackendNotFound {
            backend: names.apex.clone(),
            name: route_name.to_owned(),
            namespace: namespace.clone(),
        })?;
    let [apex_backend] = target.backends.as_slice() else {
        return Err(ApisixError::SeveralBackends {
            name: route_name.to_owned(),
            namespace,
            route: target.name.clone(),
        });
    };
    let mut weighted = target.clone();
    weighted.priority = CANARY_PRIORITY;
    weighted.backends = vec![
        ApisixRouteHttpBackend {
            service_name: names.primary,
            weight: Some(routes.primary),
            ..apex_backend.clone()
        },
        ApisixRouteHttpBackend {
            service_name: names.canary,
            weight: Some(routes.canary),
            ..apex_backend.clone()
        },
    ];
    let mut http = Vec::new();
    let analysis_matches = &canary.spec.analysis().r#match;
    if analysis_matches.is_empty() {
        http.push(weighted.clone());
    }
    for (index, entry) in analysis_matches.iter().enumerate() {
        let conditions = exprs(entry);
        if conditions.is_empty() {
            return Err(ApisixError::UnsupportedMatch { index });
        }
        let mut alternative = weighted.clone();
        if index > 0 {
            alternative.name = format!("{}-{index}", weighted.name);
        }
        alternative.r#match.exprs.extend(conditions);
        http.push(alternative);
    }

    let mut metadata = ObjectMetadata {
        name,
        namespace: canary.namespace().to_owned(),
        labels: route.metadata.labels.clone(),
        annotations: route.metadata.annotations.clone(),
        generation: None,
    };
    metadata.annotations.remove(KUBECTL_LAST_APPLIED);
    for key in [KUSTOMIZE_RECONCILE, HELM_DRIFT_DETECTION] {
        metadata
            .annotations
            .insert(key.to_owned(), FLUX_DISABLED.to_owned());
    }
    Ok(ApisixRoute {
        api_version: API_VERSION.to_owned(),
        kind: "ApisixRoute".to_owned(),
        metadata,
        spec: ApisixRouteSpec {
            http,
            stream: Vec::new(),
        },
    })
}

/// Flagger's `Reconcile`: creates the canary route with all traffic on the
/// primary, or updates what differs from the user's route while keeping the
/// existing split. Returns `existing` unchanged when nothing differs.
pub fn reconcile(
    existing: Option<&ApisixRoute>,
    route: &ApisixRoute,
    canary: &Canary,
) -> Result<ApisixRoute, ApisixError> {
    let Some(existing) = existing else {
        return canary_route(route, canary, Routes::ALL_PRIMARY);
    };
    // Not a route weir wrote: start from the primary.
    let current = routes(existing, canary).unwrap_or(Routes::ALL_PRIMARY);
    let desired = canary_route(route, canary, current)?;
    if existing.spec == desired.spec
        && existing.metadata.labels == desired.metadata.labels
        && existing.metadata.annotations == desired.metadata.annotations
    {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.spec = desired.spec;
    updated.metadata.labels = desired.metadata.labels;
    updated.metadata.annotations = desired.metadata.annotations;
    Ok(updated)
}

/// Flagger's `SetRoutes`: the primary and canary weights of every HTTP route
/// that has the primary as a backend. Refuses a split with no traffic.
pub fn set_routes(
    existing: &ApisixRoute,
    canary: &Canary,
    routes: Routes,
) -> Result<ApisixRoute, ApisixError> {
    check_weights(canary, routes)?;
    let names = canary.spec.service_names();
    let mut updated = existing.clone();
    let mut found = false;
    for http in &mut updated.spec.http {
        if !http
            .backends
            .iter()
            .any(|backend| backend.service_name == names.primary)
        {
            continue;
        }
        found = true;
        for backend in &mut http.backends {
            if backend.service_name == names.primary {
                backend.weight = Some(routes.primary);
            } else if backend.service_name == names.canary {
                backend.weight = Some(routes.canary);
            }
        }
    }
    if !found {
        return Err(not_found(existing, canary, names.primary));
    }
    Ok(updated)
}

/// Flagger's `GetRoutes`: the primary's weight in the first HTTP route that
/// has the primary as a backend; the canary gets the rest of 100. APISIX
/// cannot mirror.
pub fn routes(route: &ApisixRoute, canary: &Canary) -> Result<Routes, ApisixError> {
    let names = canary.spec.service_names();
    let primary = route
        .spec
        .http
        .iter()
        .flat_map(|http| &http.backends)
        .find(|backend| backend.service_name == names.primary)
        .ok_or_else(|| not_found(route, canary, names.primary.clone()))?;
    let primary = primary
        .weight
        .unwrap_or(DEFAULT_WEIGHT)
        .clamp(0, TOTAL_WEIGHT);
    Ok(Routes {
        primary,
        canary: TOTAL_WEIGHT - primary,
        mirrored: false,
    })
}

fn route_ref(canary: &Canary) -> Result<&str, ApisixError> {
    canary
        .spec
        .route_ref
        .as_ref()
        .map(|reference| reference.name.as_str())
        .filter(|name| !name.is_empty())
        .ok_or(ApisixError::MissingRouteRef)
}

fn not_found(route: &ApisixRoute, canary: &Canary, backend: String) -> ApisixError {
    ApisixError::BackendNotFound {
        backend,
        name: route.metadata.name.clone(),
        namespace: canary.namespace().to_owned(),
    }
}

fn check_weights(canary: &Canary, routes: Routes) -> Result<(), ApisixError> {
    if (routes.primary == 0 && routes.canary == 0) || routes.primary < 0 || routes.canary < 0 {
        return Err(ApisixError::InvalidWeights {
            name: canary
                .spec
                .route_ref
                .as_ref()
                .map(|reference| reference.name.clone())
                .unwrap_or_default(),
            namespace: canary.namespace().to_owned(),
            primary: routes.primary,
            canary: routes.canary,
        });
    }
    Ok(())
}

/// The conditions of one `analysis.match` entry as APISIX expressions.
fn exprs(entry: &AnalysisMatch) -> Vec<ApisixRouteHttpMatchExpr> {
    let headers = entry
        .headers
        .iter()
        .map(|(name, condition)| expr("Header", name, header_condition(condition)));
    let query = entry
        .query_params
        .iter()
        .map(|(name, condition)| expr("Query", name, query_condition(condition)));
    headers.chain(query).collect()
}

fn expr(scope: &str, name: &str, (op, value): (&str, String)) -> ApisixRouteHttpMatchExpr {
    ApisixRouteHttpMatchExpr {
        subject: ApisixRouteHttpMatchExprSubject {
            scope: scope.to_owned(),
            name: name.to_owned(),
        },
        op: op.to_owned(),
        set: Vec::new(),
        value: Some(value),
    }
}

fn header_condition(condition: &HeaderMatch) -> (&'static str, String) {
    value_condition(
        condition.exact.as_deref(),
        condition.prefix.as_deref(),
        condition.suffix.as_deref(),
        condition.regex.as_deref(),
    )
}

fn query_condition(condition: &StringMatch) -> (&'static str, String) {
    value_condition(
        condition.exact.as_deref(),
        condition.prefix.as_deref(),
        None,
        condition.regex.as_deref(),
    )
}

/// `(operator, operand)`: a regular expression wins, then an exact value,
/// then a prefix or suffix; without any the value only has to be present.
fn value_condition(
    exact: Option<&str>,
    prefix: Option<&str>,
    suffix: Option<&str>,
    regex: Option<&str>,
) -> (&'static str, String) {
    fn non_empty(value: Option<&str>) -> Option<&str> {
        value.filter(|text| !text.is_empty())
    }
    if let Some(regex) = non_empty(regex) {
        ("RegexMatch", regex.to_owned())
    } else if let Some(exact) = non_empty(exact) {
        ("Equal", exact.to_owned())
    } else if let Some(prefix) = non_empty(prefix) {
        ("RegexMatch", format!("^{}", escape_regex(prefix)))
    } else if let Some(suffix) = non_empty(suffix) {
        ("RegexMatch", format!("{}$", escape_regex(suffix)))
    } else {
        ("RegexMatch", ".*".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    const APISIX: &str = "  provider: apisix
  routeRef:
    apiVersion: apisix.apache.org/v2
    kind: ApisixRoute
    name: podinfo
  service:
    port: 80
    targetPort: 9898
  analysis:
    interval: 10s
    threshold: 10
    stepWeight: 10
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    fn user_route() -> ApisixRoute {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apisix.apache.org/v2",
            "kind": "ApisixRoute",
            "metadata": {"name": "podinfo", "namespace": "test",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {
                "http": [
                    {"name": "other", "match": {"paths": ["/other"]},
                     "backends": [{"serviceName": "other", "servicePort": 80}]},
                    {"name": "method", "match": {"hosts": ["app.example.com"], "methods": ["GET"], "paths": ["/*"]},
                     "backends": [{"serviceName": "podinfo", "servicePort": 80, "resolveGranularity": "service"}],
                     "plugins": [{"name": "prometheus", "enable": true, "config": {"prefer_name": true}}]}
                ],
                "stream": [{"name": "tcp", "protocol": "TCP", "match": {"ingressPort": 9100},
                            "backend": {"serviceName": "podinfo", "servicePort": 9100}}]
            }
        }))
        .expect("route")
    }

    /// Scope, name, operator and value of an expression.
    type Condition = (String, String, String, Option<String>);

    fn weights(route: &ApisixRoute) -> Vec<Vec<(String, Option<i32>)>> {
        route
            .spec
            .http
            .iter()
            .map(|http| {
                http.backends
                    .iter()
                    .map(|backend| (backend.service_name.clone(), backend.weight))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reconcile_copies_the_apex_route_with_split_backends() {
        let canary = canary(APISIX, "  phase: Initializing\n");
        let created = reconcile(None, &user_route(), &canary).expect("reconcile");
        assert_eq!(created.metadata.name, "podinfo-podinfo-canary");
        assert!(created.spec.stream.is_empty());
        assert_eq!(created.spec.http.len(), 1);
        let http = &created.spec.http[0];
        assert_eq!(http.name, "method");
        assert_eq!(http.priority, CANARY_PRIORITY);
        assert_eq!(http.plugins.len(), 1);
        assert_eq!(
            weights(&created),
            [[
                ("podinfo-primary".to_owned(), Some(100)),
                ("podinfo-canary".to_owned(), Some(0))
            ]]
        );
        assert_eq!(http.backends[1].service_port, IntOrString::Int(80));
        assert_eq!(http.backends[1].resolve_granularity, "service");
        assert!(
            !created
                .metadata
                .annotations
                .contains_key(KUBECTL_LAST_APPLIED)
        );
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn reconcile_keeps_the_weights_of_an_existing_copy() {
        let canary = canary(APISIX, "  phase: Progressing\n");
        let user = user_route();
        let created = reconcile(None, &user, &canary).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(60, 40)).expect("set routes");
        assert_eq!(
            reconcile(Some(&shifted), &user, &canary),
            Ok(shifted.clone())
        );

        let mut changed = user.clone();
        changed.spec.http[1].r#match.paths = vec!["/api/*".to_owned()];
        let updated = reconcile(Some(&shifted), &changed, &canary).expect("reconcile");
        assert_eq!(updated.spec.http[0].r#match.paths, ["/api/*"]);
        assert_eq!(routes(&updated, &canary), Ok(split(60, 40)));
    }

    #[test]
    fn reconcile_needs_a_route_ref_and_a_single_apex_backend() {
        let without_ref = canary("  service:\n    port: 80\n", "  phase: Initializing\n");
        assert_eq!(
            reconcile(None, &user_route(), &without_ref),
            Err(ApisixError::MissingRouteRef)
        );
        let canary = canary(APISIX, "  phase: Initializing\n");
        let mut shared = user_route();
        let other = shared.spec.http[0].backends[0].clone();
        shared.spec.http[1].backends.push(other);
        assert_eq!(
            reconcile(None, &shared, &canary).map_err(|error| error.to_string()),
            Err(
                "APISIX route podinfo.test's http route method only one http backend is supported"
                    .to_owned()
            )
        );
        let mut elsewhere = user_route();
        elsewhere.spec.http.remove(1);
        assert_eq!(
            reconcile(None, &elsewhere, &canary).map_err(|error| error.to_string()),
            Err("Can not find podinfo backend on apisix route podinfo.test".to_owned())
        );
        elsewhere.spec.http.clear();
        assert!(matches!(
            reconcile(None, &elsewhere, &canary),
            Err(ApisixError::EmptyHttp { .. })
        ));
    }

    #[test]
    fn set_routes_refuses_a_split_without_traffic() {
        let canary = canary(APISIX, "  phase: Progressing\n");
        let created = reconcile(None, &user_route(), &canary).expect("reconcile");
        assert!(matches!(
            set_routes(&created, &canary, split(0, 0)),
            Err(ApisixError::InvalidWeights { .. })
        ));
    }

    #[test]
    fn routes_read_the_primary_weight_and_default_a_missing_one() {
        let canary = canary(APISIX, "  phase: Progressing\n");
        let mut created = reconcile(None, &user_route(), &canary).expect("reconcile");
        created.spec.http[0].backends[1].weight = Some(3);
        created.spec.http[0].backends[0].weight = Some(75);
        assert_eq!(routes(&created, &canary), Ok(split(75, 25)));
        created.spec.http[0].backends[0].weight = None;
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
        created.spec.http.clear();
        assert_eq!(
            routes(&created, &canary).map_err(|error| error.to_string()),
            Err(
                "Can not find podinfo-primary backend on apisix route podinfo-podinfo-canary.test"
                    .to_owned()
            )
        );
    }

    #[test]
    fn ab_testing_adds_one_conditional_route_per_match_entry() {
        let canary = canary(
            "  routeRef:
    apiVersion: apisix.apache.org/v2
    kind: ApisixRoute
    name: podinfo
  service:
    port: 80
  analysis:
    iterations: 10
    match:
    - headers:
        x-canary:
          exact: insider
    - headers:
        user-agent:
          prefix: Mozilla/5.0 (
      queryParams:
        beta:
          regex: \"^(1|true)$\"
",
            "  phase: Progressing\n",
        );
        let created = canary_route(&user_route(), &canary, Routes::ALL_CANARY).expect("route");
        let names: Vec<&str> = created
            .spec
            .http
            .iter()
            .map(|http| http.name.as_str())
            .collect();
        assert_eq!(names, ["method", "method-1"]);
        let summary: Vec<Vec<Condition>> = created
            .spec
            .http
            .iter()
            .map(|http| {
                http.r#match
                    .exprs
                    .iter()
                    .map(|expr| {
                        (
                            expr.subject.scope.clone(),
                            expr.subject.name.clone(),
                            expr.op.clone(),
                            expr.value.clone(),
                        )
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            summary,
            [
                vec![(
                    "Header".to_owned(),
                    "x-canary".to_owned(),
                    "Equal".to_owned(),
                    Some("insider".to_owned())
                )],
                vec![
                    (
                        "Header".to_owned(),
                        "user-agent".to_owned(),
                        "RegexMatch".to_owned(),
                        Some("^Mozilla/5\\.0 \\(".to_owned())
                    ),
                    (
                        "Query".to_owned(),
                        "beta".to_owned(),
                        "RegexMatch".to_owned(),
                        Some("^(1|true)$".to_owned())
                    ),
                ],
            ]
        );
        let shifted = set_routes(&created, &canary, split(100, 0)).expect("set routes");
        assert!(weights(&shifted).iter().all(|route| route
            == &[
                ("podinfo-primary".to_owned(), Some(100)),
                ("podinfo-canary".to_owned(), Some(0))
            ]));
    }

    #[test]
    fn an_ab_entry_apisix_cannot_check_is_an_error() {
        let canary = canary(
            "  routeRef:
    apiVersion: apisix.apache.org/v2
    kind: ApisixRoute
    name: podinfo
  service:
    port: 80
  analysis:
    iterations: 10
    match:
    - sourceLabels:
        app: frontend
",
            "  phase: Progressing\n",
        );
        assert_eq!(
            reconcile(None, &user_route(), &canary),
            Err(ApisixError::UnsupportedMatch { index: 0 })
        );
    }
}
