//! AWS App Mesh: VirtualNodes for the primary and canary pods and, in front
//! of them, a weighted route for the apex service and an all-canary route
//! for the canary service (semantics §9.3). Flagger has two routers:
//! [`v1beta1`] (`appmesh`) and [`v1beta2`] (`appmesh:v1beta2`).
//!
//! ```text
//!   v1beta1                                   v1beta2
//!   VirtualNode <apex>          (→ primary)   VirtualNode <apex>-primary  podSelector <label>: <target>-primary
//!   VirtualNode <apex>-primary                VirtualNode <apex>-canary   podSelector <label>: <target>
//!   VirtualNode <apex>-canary                 VirtualRouter <apex>         routes ─┐
//!   VirtualService <apex>.<ns>         ─┐     VirtualRouter <apex>-canary  routes  │
//!     virtualRouter <apex>, routes      │     VirtualService <apex>        → router <apex>
//!   VirtualService <apex>-canary.<ns>   │     VirtualService <apex>-canary → router <apex>-canary
//!     virtualRouter <apex>-canary       │
//!                                       ▼
//!   routes of the apex router                 routes of the canary router
//!   canary / blue-green:                      <apex>-canary: canary 100, primary 0
//!     <apex>: canary c, primary p
//!   A/B testing:
//!     <apex>-a (priority 10): headers → canary c, primary p
//!     <apex>-b (priority 20):         → primary 100
//! ```
//!
//! Every route matches the prefix of `service.match[0].uri.prefix` (or `/`),
//! carries the retry policy of `service.retries` (one retry on
//! `gateway-error` after 250 ms unless set otherwise) and, in v1beta2, the
//! request timeout of `service.timeout`. The apex VirtualService gets the App
//! Mesh gateway annotations when `service.hosts` is set; the VirtualNodes log
//! requests to stdout when the Canary is annotated
//! `appmesh.flagger.app/accesslog: enabled`. `GetRoutes` reads the first route
//! of the apex router; `SetRoutes` rewrites its targets.
//!
//! A/B conditions come from the headers of `analysis.match`. App Mesh cannot
//! express alternatives within a route, so, as in Flagger, the headers of
//! all entries must hold together.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Reconcile keeps the traffic split and follows the Canary.** Flagger
//!   keeps the first route's targets too, but creates the v1beta2
//!   VirtualServices only together with their routers and never updates
//!   them, so changed hosts never reach the gateway annotations; weir
//!   reconciles every object on its own. Gateway annotations that no longer
//!   apply are removed, annotations of other controllers kept.
//! * **Conditions App Mesh cannot check are errors**: an `analysis.match`
//!   entry with query parameters or source labels, or A/B testing without
//!   any header condition, would otherwise route every request to the
//!   canary. Unparsable `service.timeout` or `retries.perTryTimeout` values
//!   are errors too (Flagger drops the timeout, or falls back to 250 ms).
//!   Retry events are trimmed of spaces (`"gateway-error, client-error"`).
//! * **Every generated object carries the Flux opt-out annotations.**
//! * **An unreadable router is an error**, where Flagger dereferences missing
//!   routes and panics.

pub mod v1beta1;
pub mod v1beta2;

use std::collections::BTreeMap;

use weir_api::Canary;
use weir_api::duration::parse_go_duration;

use crate::metadata::{FLUX_DISABLED, HELM_DRIFT_DETECTION, KUSTOMIZE_RECONCILE};

/// The Canary annotation that turns on Envoy access logs (value `enabled`).
pub const ACCESS_LOG_ANNOTATION: &str = "appmesh.flagger.app/accesslog";
/// Where the access logs go.
pub const ACCESS_LOG_PATH: &str = "/dev/stdout";
/// The prefix of the App Mesh gateway's annotations.
pub const GATEWAY_ANNOTATION_PREFIX: &str = "gateway.appmesh.k8s.aws/";
/// Priority of the A/B route with the header conditions (lower wins).
pub const AB_ROUTE_PRIORITY: i64 = 10;
/// Priority of the A/B route for everyone else.
pub const DEFAULT_ROUTE_PRIORITY: i64 = 20;
/// Flagger's retry timeout when `retries.perTryTimeout` is not set.
const DEFAULT_PER_TRY_TIMEOUT_MILLIS: i64 = 250;
/// Flagger retries once by default.
const DEFAULT_RETRY_ATTEMPTS: i64 = 1;
/// Flagger retries on gateway errors by default.
const DEFAULT_RETRY_EVENT: &str = "gateway-error";
/// Weights are percentages.
const TOTAL_WEIGHT: i64 = 100;

/// Why an App Mesh object could not be generated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppMeshError {
    /// v1beta1 objects name their mesh.
    #[error("spec.service.meshName: mesh name cannot be empty")]
    MissingMeshName,
    /// A duration in the Canary is not a Go duration.
    #[error("{field}: {value:?} is not a duration: {reason}")]
    InvalidDuration {
        field: String,
        value: String,
        reason: String,
    },
    /// An A/B condition App Mesh cannot check.
    #[error("spec.analysis.match: {reason}")]
    UnsupportedMatch { reason: String },
    /// The apex router has no first route with two weighted targets.
    #[error("{kind} routes {name} not found")]
    RoutesNotFound { kind: String, name: String },
    /// The first route of the apex router routes to neither primary nor canary.
    #[error("{kind} {name} does not contain routes for {primary} and {canary}")]
    NoRoutes {
        kind: String,
        name: String,
        primary: String,
        canary: String,
    },
}

/// The v1beta1 VirtualNodes; v1beta2 has no apex node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VirtualNodeRole {
    /// `<apex>`, resolving to the primary Service (v1beta1 only).
    Apex,
    /// `<apex>-primary`.
    Primary,
    /// `<apex>-canary`.
    Canary,
}

/// The two routers (v1beta1: VirtualServices with an embedded router).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouterRole {
    /// `<apex>`: splits traffic between primary and canary.
    Apex,
    /// `<apex>-canary`: sends everything to the canary, for tests and load.
    Canary,
}

impl VirtualNodeRole {
    /// The node's name, which is also the Service it resolves to (but `Apex`).
    pub fn name(self, canary: &Canary) -> String {
        let names = canary.spec.service_names();
        match self {
            VirtualNodeRole::Apex => names.apex,
            VirtualNodeRole::Primary => names.primary,
            VirtualNodeRole::Canary => names.canary,
        }
    }
}

impl RouterRole {
    /// `<apex>` or `<apex>-canary`: the router's (and its route's) name.
    pub fn name(self, canary: &Canary) -> String {
        let names = canary.spec.service_names();
        match self {
            RouterRole::Apex => names.apex,
            RouterRole::Canary => names.canary,
        }
    }

    /// The split the router starts with.
    fn initial_weights(self) -> Weights {
        match self {
            RouterRole::Apex => Weights {
                primary: TOTAL_WEIGHT,
                canary: 0,
            },
            RouterRole::Canary => Weights {
                primary: 0,
                canary: TOTAL_WEIGHT,
            },
        }
    }
}

/// Weights as App Mesh stores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Weights {
    primary: i64,
    canary: i64,
}

/// A retry policy in App Mesh's terms, before it takes a version's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Retry {
    per_try_timeout_millis: i64,
    attempts: i64,
    events: Vec<String>,
}

/// One header condition in App Mesh's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct HeaderCondition {
    name: String,
    exact: Option<String>,
    prefix: Option<String>,
    regex: Option<String>,
    suffix: Option<String>,
}

/// `grpc` when the port name says so, else `http`.
fn protocol(canary: &Canary) -> &'static str {
    if canary
        .spec
        .service
        .port_name
        .as_deref()
        .is_some_and(|name| name.contains("grpc"))
    {
        "grpc"
    } else {
        "http"
    }
}

/// App Mesh matches a path prefix only: `service.match[0].uri.prefix` or `/`.
fn route_prefix(canary: &Canary) -> String {
    canary
        .spec
        .service
        .r#match
        .first()
        .and_then(|condition| condition.uri.as_ref())
        .and_then(|uri| uri.prefix.clone())
        .filter(|prefix| !prefix.is_empty())
        .unwrap_or_else(|| "/".to_owned())
}

fn access_log_enabled(canary: &Canary) -> bool {
    canary
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(ACCESS_LOG_ANNOTATION))
        .is_some_and(|value| value == "enabled")
}

fn millis(field: &str, value: &str) -> Result<i64, AppMeshError> {
    parse_go_duration(value)
        .map(|duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
        .map_err(|error| AppMeshError::InvalidDuration {
            field: field.to_owned(),
            value: value.to_owned(),
            reason: error.to_string(),
        })
}

/// `service.timeout` in milliseconds, if set.
fn timeout_millis(canary: &Canary) -> Result<Option<i64>, AppMeshError> {
    canary
        .spec
        .service
        .timeout
        .as_deref()
        .filter(|timeout| !timeout.is_empty())
        .map(|timeout| millis("spec.service.timeout", timeout))
        .transpose()
}

/// Flagger's `makeRetryPolicy`, if `service.retries` is set.
fn retry(canary: &Canary) -> Result<Option<Retry>, AppMeshError> {
    let Some(retries) = &canary.spec.service.retries else {
        return Ok(None);
    };
    let per_try_timeout_millis = match retries
        .per_try_timeout
        .as_deref()
        .filter(|timeout| !timeout.is_empty())
    {
        Some(timeout) => millis("spec.service.retries.perTryTimeout", timeout)?,
        None => DEFAULT_PER_TRY_TIMEOUT_MILLIS,
    };
    let attempts = retries
        .attempts
        .filter(|attempts| *attempts > 0)
        .map_or(DEFAULT_RETRY_ATTEMPTS, i64::from);
    let events = match retries.retry_on.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => text
            .split(',')
            .map(str::trim)
            .filter(|event| !event.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![DEFAULT_RETRY_EVENT.to_owned()],
    };
    Ok(Some(Retry {
        per_try_timeout_millis,
        attempts,
        events,
    }))
}

/// The header conditions of all `analysis.match` entries.
fn header_conditions(canary: &Canary) -> Result<Vec<HeaderCondition>, AppMeshError> {
    let mut conditions = Vec::new();
    for (index, entry) in canary.spec.analysis().r#match.iter().enumerate() {
        if !entry.query_params.is_empty() || !entry.source_labels.is_empty() {
            return Err(AppMeshError::UnsupportedMatch {
                reason: format!(
                    "entry {index}: App Mesh routes match headers only, not query parameters or source labels"
                ),
            });
        }
        let non_empty = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
        conditions.extend(
            entry
                .headers
                .iter()
                .map(|(name, condition)| HeaderCondition {
                    name: name.clone(),
                    exact: non_empty(&condition.exact),
                    prefix: non_empty(&condition.prefix),
                    regex: non_empty(&condition.regex),
                    suffix: non_empty(&condition.suffix),
                }),
        );
    }
    if conditions.is_empty() {
        return Err(AppMeshError::UnsupportedMatch {
            reason: "A/B testing needs at least one header condition".to_owned(),
        });
    }
    Ok(conditions)
}

/// Flagger's `gatewayAnnotations`: expose the apex service on the App Mesh
/// gateway for `service.hosts` (a comma-terminated list, as Flagger writes
/// it), with the timeout and retries of the Canary.
fn gateway_annotations(canary: &Canary) -> BTreeMap<String, String> {
    let service = &canary.spec.service;
    let mut annotations = BTreeMap::new();
    if service.hosts.is_empty() {
        return annotations;
    }
    let domains: String = service
        .hosts
        .iter()
        .map(|host| format!("{host},"))
        .collect();
    let key = |name: &str| format!("{GATEWAY_ANNOTATION_PREFIX}{name}");
    annotations.insert(key("expose"), "true".to_owned());
    annotations.insert(key("domain"), domains);
    if let Some(timeout) = service.timeout.as_deref().filter(|text| !text.is_empty()) {
        annotations.insert(key("timeout"), timeout.to_owned());
    }
    if let Some(attempts) = service
        .retries
        .as_ref()
        .and_then(|retries| retries.attempts)
        .filter(|attempts| *attempts > 0)
    {
        annotations.insert(key("retries"), attempts.to_string());
    }
    annotations
}

/// The annotations an object of this router gets.
fn annotations(canary: &Canary, gateway: bool) -> BTreeMap<String, String> {
    let mut annotations = if gateway {
        gateway_annotations(canary)
    } else {
        BTreeMap::new()
    };
    for key in [KUSTOMIZE_RECONCILE, HELM_DRIFT_DETECTION] {
        annotations.insert(key.to_owned(), FLUX_DISABLED.to_owned());
    }
    annotations
}

/// The existing annotations without stale gateway ones, with `desired` on top.
fn merged_annotations(
    existing: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut merged: BTreeMap<String, String> = existing
        .iter()
        .filter(|(key, _)| !key.starts_with(GATEWAY_ANNOTATION_PREFIX))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    merged.extend(desired.clone());
    merged
}

fn weights_from(primary: i32, canary: i32) -> Weights {
    Weights {
        primary: i64::from(primary),
        canary: i64::from(canary),
    }
}

/// App Mesh weights (0–100) back into the engine's.
fn percent(weight: i64) -> i32 {
    i32::try_from(weight.clamp(0, TOTAL_WEIGHT)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    #[test]
    fn retries_default_to_one_attempt_on_gateway_errors_after_250_ms() {
        let canary = canary(
            "  service:\n    port: 9898\n    retries:\n      attempts: 0\n",
            "  phase: Initializing\n",
        );
        assert_eq!(
            retry(&canary),
            Ok(Some(Retry {
                per_try_timeout_millis: 250,
                attempts: 1,
                events: vec!["gateway-error".to_owned()],
            }))
        );
        let none =
            crate::test_support::canary("  service:\n    port: 9898\n", "  phase: Initializing\n");
        assert_eq!(retry(&none), Ok(None));
    }

    #[test]
    fn retry_events_are_split_and_trimmed() {
        let canary = canary(
            "  service:
    port: 9898
    retries:
      attempts: 3
      perTryTimeout: 1.5s
      retryOn: \"gateway-error, client-error,,stream-error\"
",
            "  phase: Initializing\n",
        );
        assert_eq!(
            retry(&canary),
            Ok(Some(Retry {
                per_try_timeout_millis: 1500,
                attempts: 3,
                events: vec![
                    "gateway-error".to_owned(),
                    "client-error".to_owned(),
                    "stream-error".to_owned()
                ],
            }))
        );
    }

    #[test]
    fn an_unparsable_duration_is_an_error() {
        let canary = canary(
            "  service:\n    port: 9898\n    timeout: soon\n",
            "  phase: Initializing\n",
        );
        let error = timeout_millis(&canary).expect_err("not a duration");
        assert!(
            error
                .to_string()
                .starts_with("spec.service.timeout: \"soon\" is not a duration"),
            "{error}"
        );
    }

    #[test]
    fn gateway_annotations_need_hosts() {
        let without = canary(
            "  service:\n    port: 9898\n    timeout: 15s\n",
            "  phase: Initializing\n",
        );
        assert!(gateway_annotations(&without).is_empty());
        let with = canary(
            "  service:
    port: 9898
    timeout: 15s
    hosts:
    - app.example.com
    - www.example.com
    retries:
      attempts: 3
",
            "  phase: Initializing\n",
        );
        assert_eq!(
            gateway_annotations(&with),
            BTreeMap::from([
                (
                    "gateway.appmesh.k8s.aws/domain".to_owned(),
                    "app.example.com,www.example.com,".to_owned()
                ),
                (
                    "gateway.appmesh.k8s.aws/expose".to_owned(),
                    "true".to_owned()
                ),
                ("gateway.appmesh.k8s.aws/retries".to_owned(), "3".to_owned()),
                (
                    "gateway.appmesh.k8s.aws/timeout".to_owned(),
                    "15s".to_owned()
                ),
            ])
        );
    }

    #[test]
    fn header_conditions_refuse_what_app_mesh_cannot_check() {
        let query = canary(
            "  service:
    port: 9898
  analysis:
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: insider
      queryParams:
        beta:
          exact: \"1\"
",
            "  phase: Progressing\n",
        );
        assert!(matches!(
            header_conditions(&query),
            Err(AppMeshError::UnsupportedMatch { .. })
        ));
        let nothing = canary(
            "  service:\n    port: 9898\n  analysis:\n    iterations: 5\n    match:\n    - {}\n",
            "  phase: Progressing\n",
        );
        assert_eq!(
            header_conditions(&nothing).map_err(|error| error.to_string()),
            Err("spec.analysis.match: A/B testing needs at least one header condition".to_owned())
        );
    }

    #[test]
    fn merged_annotations_drop_stale_gateway_keys_and_keep_others() {
        let existing = BTreeMap::from([
            (
                "gateway.appmesh.k8s.aws/expose".to_owned(),
                "true".to_owned(),
            ),
            ("team".to_owned(), "payments".to_owned()),
        ]);
        let desired = BTreeMap::from([(
            "kustomize.toolkit.fluxcd.io/reconcile".to_owned(),
            "disabled".to_owned(),
        )]);
        assert_eq!(
            merged_annotations(&existing, &desired)
                .keys()
                .collect::<Vec<_>>(),
            ["kustomize.toolkit.fluxcd.io/reconcile", "team"]
        );
    }
}
