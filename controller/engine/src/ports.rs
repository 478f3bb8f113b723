//! The engine's ports: small traits through which it reads and changes the
//! world. The live controller implements them with kube-rs and HTTP clients,
//! the simulator with a simulated cluster, and tests with `weir-fakes`.
//!
//! Ports are synchronous on purpose: the engine makes a handful of calls per
//! tick and never waits on time itself, so the simulator can run thousands of
//! rollouts per second without an async runtime, and the live controller runs
//! each tick on a blocking thread.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use weir_api::analysis::CrossNamespaceRef;
use weir_api::{
    AlertSeverity, AnalysisRecord, Canary, CanaryMetric, CanaryPhase, CanaryWebhook, Strategy,
};

/// A failed port call. The engine only reports these (in events and logs),
/// so a message is all it needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);

impl PortError {
    pub fn new(message: impl Into<String>) -> PortError {
        PortError(message.into())
    }
}

impl From<String> for PortError {
    fn from(message: String) -> Self {
        PortError(message)
    }
}

impl From<&str> for PortError {
    fn from(message: &str) -> Self {
        PortError(message.to_owned())
    }
}

/// Which of the Canary's two workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// `<target>-primary`, serving stable traffic.
    Primary,
    /// The target itself, running the new revision.
    Canary,
}

/// What identifies the revision under test: the hash of the target's pod
/// template (Flagger's `lastAppliedSpec`) and the checksums of the ConfigMaps
/// and Secrets it references (`trackedConfigs`, keys `configmap/<name>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revision {
    pub spec_hash: String,
    /// `None` when the target kind does not track configs (Service targets).
    pub tracked_configs: Option<BTreeMap<String, String>>,
}

/// The observable rollout state of a Deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentState {
    pub name: String,
    pub generation: i64,
    pub observed_generation: i64,
    /// `spec.replicas`; `None` when unset.
    pub desired_replicas: Option<i32>,
    /// `status.replicas`, old and new pods together.
    pub replicas: i32,
    pub updated_replicas: i32,
    pub available_replicas: i32,
    /// The `Progressing` condition has reason `ProgressDeadlineExceeded`.
    pub progress_deadline_exceeded: bool,
    /// Whether a `Progressing` condition exists at all.
    pub has_progressing_condition: bool,
    /// `lastUpdateTime` of an `Available=False` condition with reason
    /// `MinimumReplicasUnavailable`, if there is one.
    pub unavailable_since: Option<Timestamp>,
}

/// The observable rollout state of a DaemonSet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonSetState {
    pub name: String,
    pub desired_number_scheduled: i32,
    pub updated_number_scheduled: i32,
    pub number_available: i32,
}

/// What the engine needs to judge a workload's readiness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkloadState {
    Deployment(DeploymentState),
    DaemonSet(DaemonSetState),
    /// Targets that are always ready (plain Service targets).
    AlwaysReady,
    /// Targets that report readiness only as a flag (Knative revisions).
    Flag {
        name: String,
        ready: bool,
    },
}

/// The target, primary and their ConfigMaps/Secrets (Flagger's `canary.Controller`).
pub trait Workloads {
    /// Creates the primary workload (and primary configs) if missing.
    fn ensure_primary(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// Reads the state of the primary or canary workload.
    fn state(&mut self, canary: &Canary, role: Role) -> Result<WorkloadState, PortError>;
    /// The target's current revision.
    fn revision(&mut self, canary: &Canary) -> Result<Revision, PortError>;
    /// Copies the target's template and configs to the primary.
    fn promote(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// Scales the target (canary) to zero.
    fn scale_to_zero(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// Scales the target (canary) back up for an analysis.
    fn scale_from_zero(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// `revertOnDeletion`: gives the target the primary's replicas again.
    fn revert(&mut self, canary: &Canary) -> Result<(), PortError>;
}

/// The primary's HPA or ScaledObject, when `autoscalerRef` is set.
///
/// Pausing an HPA target is a no-op, as in Flagger (§18 #28): an HPA does not
/// scale a Deployment that has zero replicas. KEDA ScaledObjects are paused
/// with their `paused-replicas` annotation.
pub trait Scalers {
    fn reconcile_primary(&mut self, canary: &Canary, initializing: bool) -> Result<(), PortError>;
    fn pause_target(&mut self, canary: &Canary) -> Result<(), PortError>;
    fn resume_target(&mut self, canary: &Canary) -> Result<(), PortError>;
}

/// Traffic split between primary and canary, in percent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Routes {
    pub primary: i32,
    pub canary: i32,
    /// Requests are also copied to the canary; its responses are discarded.
    pub mirrored: bool,
}

impl Routes {
    pub const ALL_PRIMARY: Routes = Routes {
        primary: 100,
        canary: 0,
        mirrored: false,
    };
    pub const ALL_CANARY: Routes = Routes {
        primary: 0,
        canary: 100,
        mirrored: false,
    };
}

/// Services and the mesh or ingress objects that split traffic (Flagger's routers).
///
/// The router derives everything else (A/B matches, session-affinity cookies
/// from the Canary's status, mirror percentage) from the Canary it is given.
pub trait Routing {
    /// The `<apex>-primary` and `<apex>-canary` Services.
    fn reconcile_services(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// The apex Service, pointed at the primary pods.
    fn reconcile_apex(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// The provider's routing objects (VirtualService, HTTPRoute, ...).
    fn reconcile_mesh(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// The split currently in the routing objects.
    fn routes(&mut self, canary: &Canary) -> Result<Routes, PortError>;
    fn set_routes(&mut self, canary: &Canary, routes: Routes) -> Result<(), PortError>;
    /// `revertOnDeletion`: restores Services and routing objects.
    fn finalize(&mut self, canary: &Canary) -> Result<(), PortError>;
}

/// The result of one metric query.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricOutcome {
    /// The value (request-duration in milliseconds).
    Value(f64),
    /// The provider answered without a value, usually for lack of traffic.
    NoData(String),
    /// The provider could not be reached or the query failed.
    Error(String),
}

/// Metric providers: builtin metrics, inline queries and MetricTemplates.
///
/// No data and errors are distinct outcomes, never a made-up value: a query
/// that cannot be rendered (Flagger sends it half-rendered, §18 #9) is an
/// `Error`, and an empty or NaN result is `NoData` (§18 #10). The engine
/// counts both as failed checks, as Flagger does, and records which it was.
pub trait Metrics {
    /// Evaluates `metric` over `interval` (a Go duration, already defaulted).
    fn evaluate(&mut self, canary: &Canary, metric: &CanaryMetric, interval: &str)
    -> MetricOutcome;
    /// Checks that the providers the Canary uses answer (initialization only).
    fn check_providers(&mut self, _canary: &Canary) -> Result<(), PortError> {
        Ok(())
    }
}

/// The JSON body Flagger POSTs to webhooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookPayload {
    pub name: String,
    pub namespace: String,
    pub phase: CanaryPhase,
    pub checksum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Webhook calls. `call` honours the hook's timeout and retries, and succeeds
/// only for a final status of 202 or less: Flagger's rule (§18 #13), kept
/// because gates in the wild answer 202 and treat 203–299 as "not yet".
pub trait Webhooks {
    fn call(&mut self, hook: &CanaryWebhook, payload: &WebhookPayload) -> Result<(), PortError>;
    /// An event notification to an `event` hook, or to the global
    /// `-event-webhook` (as a hook named `events` without timeout or
    /// retries). Failures are only logged.
    fn call_event(
        &mut self,
        hook: &CanaryWebhook,
        payload: &WebhookPayload,
    ) -> Result<(), PortError>;
}

/// An alert, before it is rendered for Slack, Teams, ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub canary_name: String,
    pub namespace: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
    pub severity: AlertSeverity,
}

/// Alert delivery.
pub trait Alerts {
    /// Sends through an AlertProvider (namespace already defaulted).
    fn send(
        &mut self,
        provider: &CrossNamespaceRef,
        notification: &Notification,
    ) -> Result<(), PortError>;
    /// Sends through the controller's global notifier, if it has one.
    fn send_global(&mut self, notification: &Notification) -> Result<(), PortError>;
}

/// Kubernetes event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// A Kubernetes event about the Canary (reason `Synced`, component `flagger`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub event_type: EventType,
    pub message: String,
    /// The phase the object had when the event was recorded.
    pub phase: CanaryPhase,
}

/// Kubernetes events.
pub trait Events {
    fn record(&mut self, canary: &Canary, event: &Event);
}

/// The current time. The simulator's clock is virtual.
pub trait Clock {
    fn now(&self) -> Timestamp;
}

/// Persistence of the Canary's status (the source of truth) and finalizer.
pub trait StatusStore {
    /// Writes `canary.status`, retrying on conflicts.
    fn write_status(&mut self, canary: &Canary) -> Result<(), PortError>;
    /// Removes weir's (Flagger's) finalizer once `revertOnDeletion` is done.
    fn remove_finalizer(&mut self, canary: &Canary) -> Result<(), PortError>;
}

/// Randomness, injected so that the simulator is reproducible.
pub trait Entropy {
    /// `count` random ASCII letters (session-affinity cookie values).
    fn letters(&mut self, count: usize) -> String;
}

/// How a run ended, for `flagger_canary_{successes,failures}_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    Succeeded { analysis_skipped: bool },
    Failed,
}

/// Log levels for [`Telemetry::log`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Metrics, logs and analysis records. Every method has a no-op default.
pub trait Telemetry {
    /// `flagger_canary_status`.
    fn set_status(&mut self, _canary: &Canary, _phase: CanaryPhase) {}
    /// `flagger_canary_weight`.
    fn set_weight(&mut self, _canary: &Canary, _routes: Routes) {}
    /// `flagger_canary_metric_analysis` (request-duration in seconds, like Flagger).
    fn metric_value(&mut self, _canary: &Canary, _metric: &str, _value: f64) {}
    /// `flagger_canary_{successes,failures}_total`.
    fn run_finished(&mut self, _canary: &Canary, _strategy: Strategy, _outcome: RunOutcome) {}
    /// One analysis interval, for reports.
    fn interval(&mut self, _canary: &Canary, _record: &AnalysisRecord) {}
    /// Messages that are logged, not recorded as events (Flagger logs them).
    fn log(&mut self, _canary: &Canary, _level: Level, _message: &str) {}
}

/// Telemetry that discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {}

/// All ports for one tick.
pub struct Ports<'a> {
    pub workloads: &'a mut dyn Workloads,
    pub scalers: &'a mut dyn Scalers,
    pub routing: &'a mut dyn Routing,
    pub metrics: &'a mut dyn Metrics,
    pub webhooks: &'a mut dyn Webhooks,
    pub alerts: &'a mut dyn Alerts,
    pub events: &'a mut dyn Events,
    pub clock: &'a dyn Clock,
    pub status: &'a mut dyn StatusStore,
    pub entropy: &'a mut dyn Entropy,
    pub telemetry: &'a mut dyn Telemetry,
}

impl fmt::Debug for Ports<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}
