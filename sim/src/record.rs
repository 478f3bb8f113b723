//! What one simulated run recorded: the input of every report.
//!
//! ```text
//!   RunRecord
//!   ├─ ticks    one per engine tick: decision, phase, weights, counters
//!   ├─ checks   one per metric per analysed interval: canary and primary values vs bounds
//!   ├─ traffic  one per scrape slot: user requests and failures per version, mirrored, test load
//!   ├─ log      Kubernetes events (Flagger's messages), webhooks, alerts, scheduled events
//!   └─ outcome  promoted / rolled back / undecided, time to decision, blast radius
//! ```
//!
//! Everything is plain data in virtual time, so two runs with the same seed
//! produce equal records and byte-identical reports.

use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use weir_api::CanaryPhase;
use weir_engine::Decision;

use crate::time::SimTime;

/// Everything one run produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// The scenario's name.
    pub scenario: String,
    pub seed: u64,
    /// `<name>.<namespace>` of the Canary.
    pub canary: String,
    /// The analysis interval.
    #[serde(serialize_with = "seconds")]
    pub interval: Duration,
    /// How long the simulation ran.
    pub end: SimTime,
    pub ticks: Vec<TickSample>,
    pub checks: Vec<MetricCheck>,
    /// Metric names in the Canary's order, with their bounds.
    pub metrics: Vec<MetricInfo>,
    pub traffic: Vec<TrafficSample>,
    pub log: Vec<LogEntry>,
    pub outcome: Outcome,
}

/// The state after one engine tick.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickSample {
    pub at: SimTime,
    #[serde(serialize_with = "decision")]
    pub decision: Decision,
    pub phase: CanaryPhase,
    /// Weights in the routing objects after the tick.
    pub primary_weight: i32,
    pub canary_weight: i32,
    pub mirrored: bool,
    pub failed_checks: i32,
    pub iterations: i32,
}

/// A metric of the Canary's analysis and its bounds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricInfo {
    pub name: String,
    /// Display unit (`%`, `ms`, or empty for template metrics).
    pub unit: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One metric query of one analysed interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricCheck {
    pub at: SimTime,
    pub metric: String,
    /// What the engine saw for the canary.
    pub canary: Reading,
    /// The same query against the primary, for comparison in charts (the
    /// engine never sees it; Flagger's builtin metrics judge the canary alone).
    pub primary: Reading,
    pub passed: bool,
}

/// A metric reading: a value, no data, or a provider error.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Reading {
    Value { value: f64 },
    NoData { message: String },
    Error { message: String },
}

impl Reading {
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value { value } => Some(*value),
            _ => None,
        }
    }
}

/// Requests in one scrape slot `[start, end)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSample {
    pub start: SimTime,
    pub end: SimTime,
    /// User requests answered by the primary, and how many of them failed.
    pub primary_requests: u64,
    pub primary_failures: u64,
    /// User requests answered by the canary, and how many failed (the blast radius).
    pub canary_requests: u64,
    pub canary_failures: u64,
    /// Copies of user requests mirrored to the canary (their answers are discarded).
    pub mirrored_requests: u64,
    /// Synthetic load sent straight to the canary (load-test webhooks).
    pub test_requests: u64,
    /// User requests no route matched (404 from the mesh).
    pub unrouted_requests: u64,
}

/// Where a log entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LogSource {
    /// A Kubernetes event the engine recorded (Flagger's message).
    Event,
    /// A message the engine only logs.
    Log,
    /// A webhook call and its result.
    Webhook,
    /// An alert sent to an AlertProvider or the global notifier.
    Alert,
    /// Something the scenario scheduled (a new revision, an approval, a restart).
    Scenario,
    /// The simulated cluster (pods becoming ready, crashing).
    Cluster,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub at: SimTime,
    pub source: LogSource,
    /// `Normal` or `Warning` for events; empty otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub level: String,
    pub message: String,
}

/// How the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Promoted,
    RolledBack,
    /// The simulation ended before the engine decided.
    Undecided,
}

/// A failed check, explained.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedCheck {
    pub at: SimTime,
    /// The metric or webhook name.
    pub check: String,
    /// Why it failed, in words (value and bound, no data, provider error).
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub verdict: Verdict,
    pub final_phase: CanaryPhase,
    /// Why the engine rolled back, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_reason: Option<String>,
    /// When the revision that was finally judged was deployed.
    pub released_at: Option<SimTime>,
    /// When the engine promoted (Succeeded) or rolled back (Failed).
    pub decided_at: Option<SimTime>,
    /// `decided_at - released_at`.
    #[serde(serialize_with = "optional_seconds")]
    pub time_to_decision: Option<Duration>,
    /// User requests the canary answered.
    pub canary_requests: u64,
    /// Failed user requests the canary answered: the users a bad release hurt.
    pub blast_radius: u64,
    /// Failed user requests the primary answered, for comparison.
    pub primary_failures: u64,
    pub mirrored_requests: u64,
    pub failed_checks: Vec<FailedCheck>,
}

/// Decisions as short labels (`advanced`, `rolled back: failed checks`).
pub fn decision_label(decision: Decision) -> String {
    use weir_engine::RollbackReason;
    match decision {
        Decision::RolledBack(reason) => format!(
            "rolled back: {}",
            match reason {
                RollbackReason::FailedChecks => "failed checks",
                RollbackReason::Webhook => "rollback webhook",
                RollbackReason::CanaryStuck => "canary not ready before the deadline",
                RollbackReason::PrimaryStuck => "primary not ready before the deadline",
            }
        ),
        Decision::WaitingForWorkload(role) => {
            format!("waiting for the {role:?} workload").to_lowercase()
        }
        other => {
            // `WaitingForPromotion` → `waiting for promotion`.
            let name = format!("{other:?}");
            let mut label = String::new();
            for (index, character) in name.chars().enumerate() {
                if character.is_uppercase() && index > 0 {
                    label.push(' ');
                }
                label.extend(character.to_lowercase());
            }
            label
        }
    }
}

fn decision<S: Serializer>(decision: &Decision, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&decision_label(*decision))
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

fn optional_seconds<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_some(&duration.as_secs_f64()),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_engine::RollbackReason;

    #[test]
    fn decisions_read_as_words() {
        assert_eq!(
            decision_label(Decision::WaitingForPromotion),
            "waiting for promotion"
        );
        assert_eq!(
            decision_label(Decision::RolledBack(RollbackReason::FailedChecks)),
            "rolled back: failed checks"
        );
    }
}
