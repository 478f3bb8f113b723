//! `Canary.status`: Flagger's fields, plus two weir extensions that keep the
//! controller's decisions reproducible from status alone.
//!
//! * `lastAnalysis` records what the most recent analysis interval measured and
//!   decided, so `kubectl get canary -o yaml` explains a rollback without logs.
//! * `workloadWait` anchors the progress deadline while the engine waits for a
//!   workload, so that a restarted controller resumes the same deadline and an
//!   unrelated status write does not reset it (Flagger measures DaemonSet
//!   deadlines from `lastTransitionTime`, semantics §18 #20).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::number::{number_schema, whole};

/// Analysis phase of a canary.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum CanaryPhase {
    /// Never reconciled.
    #[default]
    #[serde(rename = "")]
    Unset,
    Initializing,
    Initialized,
    Waiting,
    Progressing,
    WaitingPromotion,
    Promoting,
    Finalising,
    Succeeded,
    Failed,
    Terminating,
    Terminated,
}

impl CanaryPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            CanaryPhase::Unset => "",
            CanaryPhase::Initializing => "Initializing",
            CanaryPhase::Initialized => "Initialized",
            CanaryPhase::Waiting => "Waiting",
            CanaryPhase::Progressing => "Progressing",
            CanaryPhase::WaitingPromotion => "WaitingPromotion",
            CanaryPhase::Promoting => "Promoting",
            CanaryPhase::Finalising => "Finalising",
            CanaryPhase::Succeeded => "Succeeded",
            CanaryPhase::Failed => "Failed",
            CanaryPhase::Terminating => "Terminating",
            CanaryPhase::Terminated => "Terminated",
        }
    }

    /// `""` and `Initializing`: the primary does not exist or is not ready yet.
    pub fn is_initializing(self) -> bool {
        matches!(self, CanaryPhase::Unset | CanaryPhase::Initializing)
    }

    /// Phases in which an analysis run is under way.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            CanaryPhase::Progressing
                | CanaryPhase::Waiting
                | CanaryPhase::WaitingPromotion
                | CanaryPhase::Promoting
                | CanaryPhase::Finalising
        )
    }

    /// Flagger's `flagger_canary_status` gauge: 0 progressing, 2 failed, 1 otherwise.
    pub fn status_gauge(self) -> i64 {
        match self {
            CanaryPhase::Progressing => 0,
            CanaryPhase::Failed => 2,
            _ => 1,
        }
    }
}

impl std::fmt::Display for CanaryPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CanaryStatus defines the observed state of a canary.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// Analysis phase of this canary
    #[serde(default)]
    pub phase: CanaryPhase,
    /// Failed check count of the current canary analysis
    #[serde(default, deserialize_with = "whole")]
    #[schemars(schema_with = "number_schema")]
    pub failed_checks: i32,
    /// Traffic weight routed to canary
    #[serde(default, deserialize_with = "whole")]
    #[schemars(schema_with = "number_schema")]
    pub canary_weight: i32,
    /// Iteration count of the current canary analysis
    #[serde(default, deserialize_with = "whole")]
    #[schemars(schema_with = "number_schema")]
    pub iterations: i32,
    /// TrackedConfig of this canary
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracked_configs: Option<BTreeMap<String, String>>,
    /// LastAppliedSpec of this canary
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_applied_spec: String,
    /// LastPromotedSpec of this canary
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_promoted_spec: String,
    /// LastTransitionTime of this canary
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Session affinity cookie of the current canary run
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_affinity_cookie: String,
    /// Primary session affinity cookie of the current canary run
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub primary_session_affinity_cookie: String,
    /// Session affinity cookie of the previous canary run
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub previous_session_affinity_cookie: String,
    /// Status conditions of this canary
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<CanaryCondition>,
    /// What the most recent analysis interval measured and decided (weir).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_analysis: Option<AnalysisRecord>,
    /// The workload the controller is waiting for, and since when (weir).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_wait: Option<WorkloadWait>,
}

/// The single condition type Flagger maintains.
pub const PROMOTED_CONDITION: &str = "Promoted";

/// A status condition.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryCondition {
    /// Type of this condition
    #[serde(rename = "type")]
    pub r#type: String,
    /// Status of this condition
    pub status: ConditionStatus,
    /// LastUpdateTime of this condition
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// LastTransitionTime of this condition
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Reason for the current status of this condition
    pub reason: String,
    /// Message associated with this condition
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Kubernetes condition status.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(with = "String")]
pub enum ConditionStatus {
    True,
    False,
    #[default]
    Unknown,
}

/// The outcome of one check in an analysis interval.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum CheckResult {
    /// The value was within its threshold, or the webhook succeeded.
    Pass,
    /// The value was outside its threshold, or the webhook failed.
    Fail,
    /// The provider answered but had no value (usually: no traffic).
    NoData,
    /// The provider could not be queried, or the metric is misconfigured.
    Error,
    /// Not evaluated because an earlier check already failed the interval.
    Skipped,
}

impl CheckResult {
    /// Whether this result fails the interval. Flagger counts no data and
    /// provider errors as failed checks; so do we, by default.
    pub fn fails_interval(self) -> bool {
        matches!(
            self,
            CheckResult::Fail | CheckResult::NoData | CheckResult::Error
        )
    }
}

/// What kind of check produced a record.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum CheckKind {
    /// A `pre-rollout` or `rollout` webhook.
    Webhook,
    /// A builtin metric, inline query or metric template.
    Metric,
}

/// One check of an analysis interval, with everything needed to explain it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckRecord {
    pub name: String,
    pub kind: CheckKind,
    pub result: CheckResult,
    /// The measured value (request-duration in milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Lower bound the value had to meet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound the value had to meet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Why the check failed, or what it measured.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The record of one analysis interval.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRecord {
    pub time: Time,
    /// Canary traffic weight while the interval's data was collected.
    pub canary_weight: i32,
    /// Whether traffic was mirrored to the canary during the interval.
    #[serde(default)]
    pub mirrored: bool,
    /// The iteration counter when the interval was judged.
    pub iteration: i32,
    /// Whether every check passed.
    pub passed: bool,
    /// Failed checks so far in this run, including this interval.
    pub failed_checks: i32,
    pub checks: Vec<CheckRecord>,
}

/// A workload the engine is waiting on, and when it last made progress.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadWait {
    /// Name of the Deployment or DaemonSet.
    pub workload: String,
    /// When the engine started waiting, or last saw the rollout make progress.
    pub since: Time,
    /// Updated replicas when last observed; a change counts as progress.
    pub updated_replicas: i32,
    /// Available replicas when last observed; a change counts as progress.
    pub available_replicas: i32,
}
