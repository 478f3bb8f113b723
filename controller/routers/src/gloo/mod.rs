//! Gloo Edge: Upstreams `<ns>-<apex>-primaryupstream-<port>` and
//! `<ns>-<apex>-canaryupstream-<port>`, and a RouteTable `<apex>` that the
//! user's Gloo VirtualService delegates to (semantics §9.3).
//!
//! ```text
//!   VirtualService (user's)  ──delegateAction──▶  RouteTable <apex>
//!   routes (tried in order, paths inherited from the delegating route)
//!   ┌──────────────────────────────────────────────────────────────────────┐
//!   │ canary / blue-green  [ no matchers       → primary p, canary c ]      │
//!   │ A/B testing          [ analysis.match    → primary p, canary c ,      │
//!   │                        no matchers       → primary 100 ]              │
//!   └──────────────────────────────────────────────────────────────────────┘
//!   destinations are Upstreams, one per generated Service:
//!   <ns>-<apex>-primaryupstream-<port>  kube: <apex>-primary:<port>
//!   <ns>-<apex>-canaryupstream-<port>   kube: <apex>-canary:<port>
//!   + connection settings copied from the Upstream named by spec.upstreamRef
//! ```
//!
//! `GetRoutes` reads the primary's weight from the first route and gives the
//! canary the rest of 100; `SetRoutes` refuses a split with no traffic at all.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Requests that do not match the A/B conditions reach the primary.**
//!   Flagger's table has only the route with the A/B matchers, so Gloo
//!   answers every other request with 404 for as long as the Canary exists.
//!   weir adds a second route that sends them to the primary.
//! * **`analysis.match` entries are alternatives.** Flagger puts the headers
//!   of all entries into one matcher, so a request needs every header of
//!   every entry; weir writes one matcher per entry, as the entries mean
//!   elsewhere. Header `prefix`/`suffix` conditions become anchored regular
//!   expressions (Flagger matched any value), and query parameters become
//!   Gloo query parameter matchers (Flagger dropped them). An entry with no
//!   condition Gloo can check (only `sourceLabels`, which mean nothing at an
//!   ingress) is an error rather than a route that matches everything.
//!   `method` conditions are not read: the Canary CRD prunes them.
//! * **Reconcile keeps the traffic split.** Flagger rewrites the table with
//!   100/0 when anything else changed, in the middle of an analysis.
//!   Annotations other controllers add are kept.
//! * **Upstreams are updated.** Flagger only creates them, so a changed
//!   `upstreamRef` configuration or Service selector never reaches Gloo.
//!   The copied settings are passed through as written; Flagger decodes them
//!   into its own structs, which drops the fields it does not know.
//! * **Every generated object carries the Flux opt-out annotations**, the
//!   Upstreams included.
//! * **An unreadable table is an error.** Flagger reports 0/0 without an
//!   error when the primary Upstream is not among the destinations, and
//!   panics on a table without routes.

mod types;

pub use types::{
    Destination, HeaderMatcher, KubeUpstream, Matcher, MultiDestination, QueryParameterMatcher,
    ROUTE_TABLE_API_VERSION, ResourceRef, Route, RouteAction, RouteTable, RouteTableSpec,
    UPSTREAM_API_VERSION, Upstream, UpstreamSpec, WeightedDestination,
};

use std::collections::BTreeMap;

use weir_api::Canary;
use weir_api::service::{HeaderMatch, StringMatch};
use weir_engine::ports::Routes;

use crate::metadata::{FLUX_DISABLED, HELM_DRIFT_DETECTION, KUSTOMIZE_RECONCILE, ObjectMetadata};

/// Labels whose key contains this belong to Flux and are never copied.
const FLUX_MARKER: &str = "toolkit.fluxcd.io";
/// Weights are percentages: the canary gets what the primary does not.
const TOTAL_WEIGHT: i32 = 100;

/// Why a Gloo object could not be generated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlooError {
    /// `set_routes` was asked for a split that routes nothing, or a negative weight.
    #[error(
        "RouteTable {name}.{namespace} update failed: no valid weights (primary {primary}, canary {canary})"
    )]
    InvalidWeights {
        name: String,
        namespace: String,
        primary: i32,
        canary: i32,
    },
    /// The first route of the table has fewer than two destinations.
    #[error("RouteTable {name}.{namespace} destinations not found")]
    DestinationsNotFound { name: String, namespace: String },
    /// The first route of the table does not send anything to the primary Upstream.
    #[error("RouteTable {name}.{namespace} does not route to Upstream {upstream}")]
    PrimaryNotFound {
        name: String,
        namespace: String,
        upstream: String,
    },
    /// An `analysis.match` entry has no condition Gloo can check.
    #[error(
        "spec.analysis.match[{index}]: Gloo matches headers and query parameters only; this entry would match every request"
    )]
    UnsupportedMatch { index: usize },
}

/// Which generated Service an Upstream points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `<apex>-primary`.
    Primary,
    /// `<apex>-canary`.
    Canary,
}

/// What an Upstream is built from besides the Canary.
#[derive(Clone, Copy, Debug)]
pub struct UpstreamInputs<'a> {
    /// `spec.selector` of the Service the Upstream points at.
    pub service_selector: &'a BTreeMap<String, String>,
    /// The Upstream named by `spec.upstreamRef`, whose connection settings
    /// are copied; `None` without an `upstreamRef`.
    pub config: Option<&'a Upstream>,
    /// Flagger's `-include-label-prefix`: which of the configuration's
    /// `spec.labels` also become the Upstream's labels (`*` for all).
    pub include_label_prefixes: &'a [String],
}

/// `<ns>-<apex>-primaryupstream-<port>` or `<ns>-<apex>-canaryupstream-<port>`.
pub fn upstream_name(canary: &Canary, backend: Backend) -> String {
    let role = match backend {
        Backend::Primary => "primary",
        Backend::Canary => "canary",
    };
    format!(
        "{}-{}-{role}upstream-{}",
        canary.namespace(),
        canary.spec.service_names().apex,
        canary.spec.service.port
    )
}

/// The Upstream for one generated Service: a `kube` upstream to its port,
/// with the connection settings of the configuration Upstream.
pub fn upstream(canary: &Canary, backend: Backend, inputs: &UpstreamInputs<'_>) -> Upstream {
    let names = canary.spec.service_names();
    let service_name = match backend {
        Backend::Primary => names.primary,
        Backend::Canary => names.canary,
    };
    let mut spec = inputs
        .config
        .map(|config| config.spec.clone())
        .unwrap_or_default();
    spec.kube = Some(KubeUpstream {
        service_name,
        service_namespace: canary.namespace().to_owned(),
        service_port: canary.spec.service.port,
        selector: inputs.service_selector.clone(),
    });
    let mut metadata = generated_metadata(&upstream_name(canary, backend), canary);
    metadata.labels = labels_with_prefixes(&spec.labels, inputs.include_label_prefixes);
    Upstream {
        api_version: UPSTREAM_API_VERSION.to_owned(),
        kind: "Upstream".to_owned(),
        metadata,
        spec,
    }
}

/// Creates the Upstream, or updates an existing one whose spec, labels or
/// annotations differ; returns `existing` unchanged when nothing differs.
pub fn reconcile_upstream(
    existing: Option<&Upstream>,
    canary: &Canary,
    backend: Backend,
    inputs: &UpstreamInputs<'_>,
) -> Upstream {
    let desired = upstream(canary, backend, inputs);
    let Some(existing) = existing else {
        return desired;
    };
    let annotations = merged_annotations(&existing.metadata, &desired.metadata);
    if existing.spec == desired.spec
        && existing.metadata.labels == desired.metadata.labels
        && existing.metadata.annotations == annotations
    {
        return existing.clone();
    }
    let mut updated = existing.clone();
    updated.spec = desired.spec;
    updated.metadata.labels = desired.metadata.labels;
    updated.metadata.annotations = annotations;
    updated
}

/// The RouteTable `set_routes` writes for `routes`, built from scratch.
pub fn route_table(canary: &Canary, routes: Routes) -> Result<RouteTable, GlooError> {
    check_weights(canary, routes)?;
    Ok(RouteTable {
        api_version: ROUTE_TABLE_API_VERSION.to_owned(),
        kind: "RouteTable".to_owned(),
        metadata: ObjectMetadata::apex(canary),
        spec: spec(canary, routes)?,
    })
}

/// Flagger's `Reconcile` for the RouteTable: creates it with all traffic on
/// the primary, or updates what differs from the Canary while keeping the
/// existing split. Returns `existing` unchanged when nothing differs.
pub fn reconcile(existing: Option<&RouteTable>, canary: &Canary) -> Result<RouteTable, GlooError> {
    let desired = route_table(canary, Routes::ALL_PRIMARY)?;
    let Some(existing) = existing else {
        return Ok(desired);
    };
    // Not a table weir wrote, or one it cannot read: start from the primary.
    let current = routes(existing, canary).unwrap_or(Routes::ALL_PRIMARY);
    let spec = spec(canary, current)?;
    let annotations = merged_annotations(&existing.metadata, &desired.metadata);
    if existing.spec == spec
        && existing.metadata.labels == desired.metadata.labels
        && existing.metadata.annotations == annotations
    {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.spec = spec;
    updated.metadata.labels = desired.metadata.labels;
    updated.metadata.annotations = annotations;
    Ok(updated)
}

/// Flagger's `SetRoutes`: the existing RouteTable with its routes rebuilt
/// for `routes`; metadata stays. Refuses a split with no traffic.
pub fn set_routes(
    existing: &RouteTable,
    canary: &Canary,
    routes: Routes,
) -> Result<RouteTable, GlooError> {
    let generated = route_table(canary, routes)?;
    let mut updated = existing.clone();
    updated.spec = generated.spec;
    Ok(updated)
}

/// Flagger's `GetRoutes`: the primary's weight in the first route, the
/// canary's is the rest of 100. Gloo cannot mirror.
pub fn routes(table: &RouteTable, canary: &Canary) -> Result<Routes, GlooError> {
    let name = canary.spec.service_names().apex;
    let destinations = table
        .spec
        .routes
        .first()
        .map(|route| route.route_action.multi.destinations.as_slice())
        .unwrap_or_default();
    if destinations.len() < 2 {
        return Err(GlooError::DestinationsNotFound {
            name,
            namespace: canary.namespace().to_owned(),
        });
    }
    let primary_upstream = upstream_name(canary, Backend::Primary);
    let Some(primary) = destinations
        .iter()
        .find(|destination| destination.destination.upstream.name == primary_upstream)
    else {
        return Err(GlooError::PrimaryNotFound {
            name,
            namespace: canary.namespace().to_owned(),
            upstream: primary_upstream,
        });
    };
    // Weights are percentages here; a larger relative weight reads as all traffic.
    let primary = i32::try_from(primary.weight)
        .unwrap_or(TOTAL_WEIGHT)
        .min(TOTAL_WEIGHT);
    Ok(Routes {
        primary,
        canary: TOTAL_WEIGHT - primary,
        mirrored: false,
    })
}

fn check_weights(canary: &Canary, routes: Routes) -> Result<(), GlooError> {
    if (routes.primary == 0 && routes.canary == 0) || routes.primary < 0 || routes.canary < 0 {
        return Err(GlooError::InvalidWeights {
            name: canary.spec.service_names().apex,
            namespace: canary.namespace().to_owned(),
            primary: routes.primary,
            canary: routes.canary,
        });
    }
    Ok(())
}

/// The routes for `routes`: the weighted route, and with A/B testing a
/// route that sends everything else to the primary.
fn spec(canary: &Canary, routes: Routes) -> Result<RouteTableSpec, GlooError> {
    let weight = |value: i32| u32::try_from(value).unwrap_or_default();
    let mut table = vec![Route {
        matchers: matchers(canary)?,
        route_action: action(vec![
            destination(canary, Backend::Primary, weight(routes.primary)),
            destination(canary, Backend::Canary, weight(routes.canary)),
        ]),
        inheritable_path_matchers: true,
    }];
    if !canary.spec.analysis().r#match.is_empty() {
        table.push(Route {
            matchers: Vec::new(),
            route_action: action(vec![destination(
                canary,
                Backend::Primary,
                weight(TOTAL_WEIGHT),
            )]),
            inheritable_path_matchers: true,
        });
    }
    Ok(RouteTableSpec { routes: table })
}

fn action(destinations: Vec<WeightedDestination>) -> RouteAction {
    RouteAction {
        multi: MultiDestination { destinations },
    }
}

fn destination(canary: &Canary, backend: Backend, weight: u32) -> WeightedDestination {
    WeightedDestination {
        destination: Destination {
            upstream: ResourceRef {
                name: upstream_name(canary, backend),
                namespace: canary.namespace().to_owned(),
            },
        },
        weight,
    }
}

/// One matcher per `analysis.match` entry; none without A/B testing.
fn matchers(canary: &Canary) -> Result<Vec<Matcher>, GlooError> {
    let mut matchers = Vec::new();
    for (index, entry) in canary.spec.analysis().r#match.iter().enumerate() {
        let matcher = Matcher {
            headers: entry
                .headers
                .iter()
                .map(|(name, condition)| header_matcher(name, condition))
                .collect(),
            query_parameters: entry
                .query_params
                .iter()
                .map(|(name, condition)| query_parameter_matcher(name, condition))
                .collect(),
            methods: Vec::new(),
        };
        if matcher == Matcher::default() {
            return Err(GlooError::UnsupportedMatch { index });
        }
        matchers.push(matcher);
    }
    Ok(matchers)
}

/// A header condition in Gloo's terms; without any value it only requires
/// the header to be present.
fn header_matcher(name: &str, condition: &HeaderMatch) -> HeaderMatcher {
    let (value, regex) = value_condition(
        condition.exact.as_deref(),
        condition.prefix.as_deref(),
        condition.suffix.as_deref(),
        condition.regex.as_deref(),
    );
    HeaderMatcher {
        name: name.to_owned(),
        value,
        regex,
        invert_match: false,
    }
}

fn query_parameter_matcher(name: &str, condition: &StringMatch) -> QueryParameterMatcher {
    let (value, regex) = value_condition(
        condition.exact.as_deref(),
        condition.prefix.as_deref(),
        None,
        condition.regex.as_deref(),
    );
    QueryParameterMatcher {
        name: name.to_owned(),
        value,
        regex,
    }
}

/// `(value, is_regex)`: a regular expression wins, then an exact value;
/// prefixes and suffixes become anchored expressions (Envoy matches the
/// whole value).
fn value_condition(
    exact: Option<&str>,
    prefix: Option<&str>,
    suffix: Option<&str>,
    regex: Option<&str>,
) -> (String, bool) {
    fn non_empty(value: Option<&str>) -> Option<&str> {
        value.filter(|text| !text.is_empty())
    }
    if let Some(regex) = non_empty(regex) {
        (regex.to_owned(), true)
    } else if let Some(exact) = non_empty(exact) {
        (exact.to_owned(), false)
    } else if let Some(prefix) = non_empty(prefix) {
        (format!("{}.*", escape_regex(prefix)), true)
    } else if let Some(suffix) = non_empty(suffix) {
        (format!(".*{}", escape_regex(suffix)), true)
    } else {
        (String::new(), false)
    }
}

/// Escapes the characters RE2 gives a meaning, so `text` matches itself.
pub(crate) fn escape_regex(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Flagger's `includeLabelsByPrefix`: the labels with a listed prefix (`*`
/// for any), never Flux's own.
fn labels_with_prefixes(
    labels: &BTreeMap<String, String>,
    prefixes: &[String],
) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(key, _)| !key.contains(FLUX_MARKER))
        .filter(|(key, _)| {
            prefixes
                .iter()
                .any(|prefix| prefix == "*" || (!prefix.is_empty() && key.starts_with(prefix)))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Name and namespace, with the annotations that keep Flux away.
fn generated_metadata(name: &str, canary: &Canary) -> ObjectMetadata {
    let mut metadata = ObjectMetadata::named(name, canary);
    for key in [KUSTOMIZE_RECONCILE, HELM_DRIFT_DETECTION] {
        metadata
            .annotations
            .insert(key.to_owned(), FLUX_DISABLED.to_owned());
    }
    metadata
}

/// The existing annotations with weir's on top: other controllers' stay.
fn merged_annotations(
    existing: &ObjectMetadata,
    desired: &ObjectMetadata,
) -> BTreeMap<String, String> {
    let mut annotations = existing.annotations.clone();
    annotations.extend(desired.annotations.clone());
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const PROGRESSIVE: &str = "  provider: gloo
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
";

    const AB_TESTING: &str = "  provider: gloo
  service:
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
        cookie:
          regex: \"^(.*?;)?(canary=always)(;.*)?$\"
      queryParams:
        beta:
          prefix: \"1\"
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    fn weights(table: &RouteTable) -> Vec<Vec<(String, u32)>> {
        table
            .spec
            .routes
            .iter()
            .map(|route| {
                route
                    .route_action
                    .multi
                    .destinations
                    .iter()
                    .map(|destination| {
                        (
                            destination.destination.upstream.name.clone(),
                            destination.weight,
                        )
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn upstream_names_carry_namespace_apex_role_and_port() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        assert_eq!(
            upstream_name(&canary, Backend::Primary),
            "test-podinfo-primaryupstream-9898"
        );
        assert_eq!(
            upstream_name(&canary, Backend::Canary),
            "test-podinfo-canaryupstream-9898"
        );
    }

    #[test]
    fn reconcile_creates_the_table_with_all_traffic_on_the_primary() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        assert_eq!(
            weights(&created),
            [[
                ("test-podinfo-primaryupstream-9898".to_owned(), 100),
                ("test-podinfo-canaryupstream-9898".to_owned(), 0)
            ]]
        );
        assert!(created.spec.routes[0].inheritable_path_matchers);
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn routes_give_the_canary_what_the_primary_does_not_get() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut table = route_table(&canary, split(70, 30)).expect("route table");
        table.spec.routes[0].route_action.multi.destinations[1].weight = 5;
        assert_eq!(routes(&table, &canary), Ok(split(70, 30)));
    }

    #[test]
    fn reconcile_keeps_the_weights_of_an_existing_table() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(60, 40)).expect("set routes");
        assert_eq!(reconcile(Some(&shifted), &canary), Ok(shifted.clone()));

        let ab = crate::test_support::canary(AB_TESTING, "  phase: Progressing\n");
        let updated = reconcile(Some(&shifted), &ab).expect("reconcile");
        assert_eq!(updated.spec.routes.len(), 2);
        assert_eq!(routes(&updated, &ab), Ok(split(60, 40)));
    }

    #[test]
    fn reconcile_keeps_annotations_other_controllers_added() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut created = reconcile(None, &canary).expect("reconcile");
        created
            .metadata
            .annotations
            .insert("gloo.solo.io/owner".to_owned(), "someone".to_owned());
        assert_eq!(reconcile(Some(&created), &canary), Ok(created.clone()));
    }

    #[test]
    fn set_routes_refuses_a_split_without_traffic() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        let error = set_routes(&created, &canary, split(0, 0)).expect_err("no traffic");
        assert_eq!(
            error.to_string(),
            "RouteTable podinfo.test update failed: no valid weights (primary 0, canary 0)"
        );
        assert!(set_routes(&created, &canary, split(-10, 110)).is_err());
    }

    #[test]
    fn routes_fail_on_a_table_without_two_destinations_or_the_primary() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut table = route_table(&canary, Routes::ALL_PRIMARY).expect("route table");
        let mut foreign = table.clone();
        table.spec.routes[0].route_action.multi.destinations.pop();
        assert_eq!(
            routes(&table, &canary).map_err(|error| error.to_string()),
            Err("RouteTable podinfo.test destinations not found".to_owned())
        );
        foreign.spec.routes[0].route_action.multi.destinations[0]
            .destination
            .upstream
            .name = "legacy".to_owned();
        assert!(matches!(
            routes(&foreign, &canary),
            Err(GlooError::PrimaryNotFound { .. })
        ));
        let empty = RouteTable {
            spec: RouteTableSpec::default(),
            ..foreign
        };
        assert!(routes(&empty, &canary).is_err());
    }

    #[test]
    fn ab_testing_writes_one_matcher_per_entry_and_a_route_for_everyone_else() {
        let canary = canary(AB_TESTING, "  phase: Progressing\n");
        let table = route_table(&canary, Routes::ALL_CANARY).expect("route table");
        let matchers = &table.spec.routes[0].matchers;
        assert_eq!(matchers.len(), 2);
        assert_eq!(matchers[0].headers[0].value, "insider");
        assert!(!matchers[0].headers[0].regex);
        assert!(matchers[1].headers[0].regex);
        assert_eq!(matchers[1].query_parameters[0].value, "1.*");
        assert_eq!(
            weights(&table)[1],
            [("test-podinfo-primaryupstream-9898".to_owned(), 100)]
        );
        assert_eq!(routes(&table, &canary), Ok(Routes::ALL_CANARY));
    }

    #[test]
    fn an_ab_entry_gloo_cannot_check_is_an_error() {
        let canary = canary(
            "  service:
    port: 9898
  analysis:
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: insider
    - sourceLabels:
        app: frontend
",
            "  phase: Progressing\n",
        );
        let error = reconcile(None, &canary).expect_err("source labels only");
        assert_eq!(error, GlooError::UnsupportedMatch { index: 1 });
        assert!(error.to_string().starts_with("spec.analysis.match[1]: "));
    }

    #[test]
    fn header_prefixes_and_suffixes_become_anchored_expressions() {
        let prefix = HeaderMatch {
            prefix: Some("a.b".to_owned()),
            ..HeaderMatch::default()
        };
        assert_eq!(
            header_matcher("x", &prefix),
            HeaderMatcher {
                name: "x".to_owned(),
                value: "a\\.b.*".to_owned(),
                regex: true,
                invert_match: false,
            }
        );
        let suffix = HeaderMatch {
            suffix: Some("(v2)".to_owned()),
            ..HeaderMatch::default()
        };
        assert_eq!(header_matcher("x", &suffix).value, ".*\\(v2\\)");
        let present = header_matcher("x", &HeaderMatch::default());
        assert_eq!((present.value.as_str(), present.regex), ("", false));
    }

    #[test]
    fn upstreams_copy_the_configuration_and_point_at_the_service() {
        let canary = canary(
            "  upstreamRef:
    apiVersion: gloo.solo.io/v1
    kind: Upstream
    name: config-upstream
    namespace: gloo-system
  service:
    port: 80
",
            "  phase: Initializing\n",
        );
        let config: Upstream = serde_json::from_value(serde_json::json!({
            "apiVersion": "gloo.solo.io/v1",
            "kind": "Upstream",
            "metadata": {"name": "config-upstream", "namespace": "gloo-system"},
            "spec": {
                "static": {"hosts": [{"addr": "example.com", "port": 80}]},
                "labels": {"team": "payments", "app.kubernetes.io/name": "podinfo",
                           "kustomize.toolkit.fluxcd.io/name": "apps"},
                "connectionConfig": {"maxRequestsPerConnection": 51, "connectTimeout": "2s"}
            }
        }))
        .expect("config upstream");
        let selector = BTreeMap::from([("app".to_owned(), "podinfo-primary".to_owned())]);
        let prefixes = ["app.kubernetes.io".to_owned()];
        let inputs = UpstreamInputs {
            service_selector: &selector,
            config: Some(&config),
            include_label_prefixes: &prefixes,
        };
        let created = reconcile_upstream(None, &canary, Backend::Primary, &inputs);
        assert_eq!(created.metadata.name, "test-podinfo-primaryupstream-80");
        assert_eq!(
            created.spec.kube,
            Some(KubeUpstream {
                service_name: "podinfo-primary".to_owned(),
                service_namespace: "test".to_owned(),
                service_port: 80,
                selector: selector.clone(),
            })
        );
        assert_eq!(
            created.spec.connection_config,
            Some(serde_json::json!({"maxRequestsPerConnection": 51, "connectTimeout": "2s"}))
        );
        assert_eq!(
            created.metadata.labels.keys().collect::<Vec<_>>(),
            ["app.kubernetes.io/name"]
        );
        assert_eq!(created.spec.labels.len(), 3);
        assert_eq!(
            reconcile_upstream(Some(&created), &canary, Backend::Primary, &inputs),
            created
        );

        let moved = BTreeMap::from([("name".to_owned(), "podinfo-primary".to_owned())]);
        let updated = reconcile_upstream(
            Some(&created),
            &canary,
            Backend::Primary,
            &UpstreamInputs {
                service_selector: &moved,
                ..inputs
            },
        );
        assert_eq!(
            updated.spec.kube.map(|kube| kube.selector),
            Some(moved.clone())
        );
    }

    #[test]
    fn labels_are_copied_by_prefix_and_never_from_flux() {
        let labels = BTreeMap::from([
            ("app".to_owned(), "podinfo".to_owned()),
            ("team".to_owned(), "a".to_owned()),
            (
                "kustomize.toolkit.fluxcd.io/name".to_owned(),
                "x".to_owned(),
            ),
        ]);
        let all = labels_with_prefixes(&labels, &["*".to_owned()]);
        assert_eq!(all.keys().collect::<Vec<_>>(), ["app", "team"]);
        assert!(labels_with_prefixes(&labels, &[String::new()]).is_empty());
        assert!(labels_with_prefixes(&labels, &[]).is_empty());
    }
}
