//! Why an object could not be derived.

use crate::configs::ConfigKind;

/// A workload failure. Messages follow Flagger's where Flagger has one, so
/// events and logs read the same; the rest name the object and field to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// `-selector-labels` named no label (the flag was empty).
    #[error("-selector-labels must name at least one label")]
    NoSelectorLabels,

    /// None of the selector labels is in the workload's `spec.selector.matchLabels`.
    /// The candidate list prints like Go's `%v` of a string slice, as Flagger's message does.
    #[error(
        "{kind} {name}.{namespace} spec.selector.matchLabels must contain one of [{}]",
        candidates.join(" ")
    )]
    MissingSelectorLabel {
        /// `deployment` or `daemonset`.
        kind: &'static str,
        name: String,
        namespace: String,
        candidates: Vec<String>,
    },

    /// The object has no `spec` (a Deployment or DaemonSet read without one).
    #[error("{kind} {name}.{namespace} has no spec")]
    MissingSpec {
        kind: &'static str,
        name: String,
        namespace: String,
    },

    /// A DaemonSet whose `updateStrategy` is not `RollingUpdate` would never
    /// roll the primary out.
    #[error("daemonset {name}.{namespace} must have RollingUpdate strategy but have {strategy}")]
    NotRollingUpdate {
        name: String,
        namespace: String,
        strategy: String,
    },

    /// A ConfigMap or Secret the pod template needs (not `optional: true`) does not exist.
    #[error("{} {name}.{namespace} get query error: not found", kind.as_str())]
    MissingConfig {
        kind: ConfigKind,
        name: String,
        namespace: String,
    },

    /// Owner references need the Canary's uid; a Canary read from the API
    /// server always has one.
    #[error("canary {name}.{namespace} has no metadata.uid to own generated objects")]
    MissingCanaryUid { name: String, namespace: String },

    /// `spec.autoscalerRef` is needed for the primary autoscaler.
    #[error("canary {name}.{namespace} has no spec.autoscalerRef")]
    MissingAutoscalerRef { name: String, namespace: String },

    /// The ScaledObject is not the JSON object KEDA defines.
    #[error("ScaledObject {name}.{namespace} is invalid: {reason}")]
    InvalidScaledObject {
        name: String,
        namespace: String,
        reason: String,
    },

    /// `kubectl.kubernetes.io/last-applied-configuration` is not a Service.
    #[error("router {name}.{namespace} failed to unMarshal annotation {annotation}: {reason}")]
    InvalidLastAppliedConfiguration {
        name: String,
        namespace: String,
        annotation: &'static str,
        reason: String,
    },

    /// An object could not be serialized for hashing.
    #[error("cannot serialize {what} for hashing: {reason}")]
    Serialization { what: &'static str, reason: String },
}
