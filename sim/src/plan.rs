//! A plan: what the engine does with a Canary on an ideal cluster.
//!
//! Workloads are ready at once, webhooks answer 200, and every metric reads
//! a value well inside its range, except in the analysis intervals the caller
//! marks as failing, where every metric reads just outside it. The result is
//! the exact tick-by-tick timeline the real engine produces for the Canary:
//! weights, phases, failed checks and events, in virtual time.
//!
//! It answers "how long will this rollout take?" and "after which failures
//! does it roll back?" before any cluster is involved. The full simulator
//! (traffic, stochastic metrics, faults) builds on the same engine.

use std::collections::BTreeSet;
use std::time::Duration;

use weir_api::{Canary, CanaryMetric, CanaryPhase};
use weir_engine::ports::{MetricOutcome, Routes};
use weir_engine::{Decision, EngineConfig};
use weir_fakes::Harness;

/// What to plan for.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Analysis intervals (1-based, counting the intervals whose metrics are
    /// evaluated) in which every metric fails its threshold.
    pub failing_intervals: BTreeSet<u32>,
    /// Ticks after which the plan gives up (a rollout that never ends).
    pub max_ticks: usize,
    pub config: EngineConfig,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            failing_intervals: BTreeSet::new(),
            // A day of one-minute intervals: longer than any sane rollout.
            max_ticks: 1440,
            config: EngineConfig::default(),
        }
    }
}

/// One tick of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Time since the new revision was detected.
    pub elapsed: Duration,
    pub decision: Decision,
    pub phase: CanaryPhase,
    pub routes: Routes,
    pub failed_checks: i32,
    pub iterations: i32,
    /// Kubernetes events the engine recorded during the tick.
    pub events: Vec<String>,
}

/// The timeline of one rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// `<name>.<namespace>`.
    pub canary: String,
    pub interval: Duration,
    pub steps: Vec<Step>,
}

impl Plan {
    /// The phase the rollout ended in.
    pub fn outcome(&self) -> CanaryPhase {
        self.steps.last().map(|step| step.phase).unwrap_or_default()
    }

    /// Time from the new revision to the end of the rollout.
    pub fn duration(&self) -> Duration {
        self.steps
            .last()
            .map(|step| step.elapsed)
            .unwrap_or_default()
    }
}

/// Why there is no plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the canary does not initialize: {0}")]
    NotInitialized(String),
    #[error("the rollout has not finished after {ticks} ticks ({phase})")]
    Unfinished { ticks: usize, phase: CanaryPhase },
}

/// Replays `canary` through the engine: initialization, then a new revision
/// analysed until it succeeds or fails.
pub fn plan(canary: &Canary, options: &PlanOptions) -> Result<Plan, PlanError> {
    let mut harness = Harness::new(canary.clone());
    harness.config = options.config.clone();
    for _ in 0..10 {
        let record = harness.tick();
        match record.decision {
            Decision::Initialized => break,
            Decision::Invalid => {
                return Err(PlanError::NotInitialized(record.events.join("; ")));
            }
            _ => {}
        }
    }
    if harness.phase() != CanaryPhase::Initialized {
        return Err(PlanError::NotInitialized(format!(
            "phase {}",
            harness.phase()
        )));
    }
    script_metrics(&mut harness, &options.failing_intervals);
    harness.world.cluster.deploy("new-revision");

    let interval = canary.spec.analysis().interval_or_default();
    let mut steps = Vec::new();
    for tick in 0..options.max_ticks {
        let record = harness.tick();
        let step = Step {
            elapsed: interval * u32::try_from(tick).unwrap_or(u32::MAX),
            decision: record.decision,
            phase: record.phase,
            routes: record.routes,
            failed_checks: record.failed_checks,
            iterations: record.iterations,
            events: record.events,
        };
        let finished = matches!(step.phase, CanaryPhase::Succeeded | CanaryPhase::Failed);
        steps.push(step);
        if finished {
            return Ok(Plan {
                canary: format!("{}.{}", canary.name(), canary.namespace()),
                interval,
                steps,
            });
        }
    }
    Err(PlanError::Unfinished {
        ticks: options.max_ticks,
        phase: harness.phase(),
    })
}

/// Every metric passes, except in the failing intervals.
fn script_metrics(harness: &mut Harness, failing: &BTreeSet<u32>) {
    let metrics = harness.canary().spec.analysis().metrics.clone();
    let last = failing.iter().max().copied().unwrap_or(0);
    for metric in &metrics {
        let (pass, fail) = (passing_value(metric), failing_value(metric));
        let outcomes = (1..=last + 1).map(|interval| {
            MetricOutcome::Value(if failing.contains(&interval) {
                fail
            } else {
                pass
            })
        });
        harness.world.metrics.script(&metric.name, outcomes);
    }
}

/// A value comfortably inside the metric's range.
fn passing_value(metric: &CanaryMetric) -> f64 {
    match (metric.bounds().min, metric.bounds().max) {
        (Some(min), Some(max)) => (min + max) / 2.0,
        (Some(min), None) => min + 1.0,
        (None, Some(max)) if max > 0.0 => max / 2.0,
        (None, Some(max)) => max - 1.0,
        (None, None) => 0.0,
    }
}

/// A value just outside the metric's range.
fn failing_value(metric: &CanaryMetric) -> f64 {
    match (metric.bounds().min, metric.bounds().max) {
        (Some(min), _) => min - 1.0,
        (None, Some(max)) => max + 1.0,
        // Nothing can fail a metric without bounds.
        (None, None) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn podinfo(analysis: &str) -> Canary {
        serde_saphyr::from_str(&format!(
            r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  service: {{port: 9898}}
  analysis:
{analysis}
"#
        ))
        .expect("valid canary")
    }

    const SEED: &str = "    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 5
    metrics:
    - {name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}
    - {name: request-duration, thresholdRange: {max: 500}, interval: 1m}";

    #[test]
    fn a_healthy_rollout_is_planned_to_the_minute() {
        let plan = plan(&podinfo(SEED), &PlanOptions::default()).expect("plan");
        assert_eq!(plan.outcome(), CanaryPhase::Succeeded);
        assert_eq!(plan.duration(), Duration::from_secs(13 * 60));
        let weights: Vec<i32> = plan.steps.iter().map(|step| step.routes.canary).collect();
        assert_eq!(
            weights,
            [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 50, 0, 0]
        );
    }

    #[test]
    fn failing_intervals_roll_back_at_the_threshold() {
        let options = PlanOptions {
            failing_intervals: (2..=6).collect(),
            ..PlanOptions::default()
        };
        let plan = plan(&podinfo(SEED), &options).expect("plan");
        assert_eq!(plan.outcome(), CanaryPhase::Failed);
        let last = plan.steps.last().expect("steps");
        assert_eq!(last.failed_checks, 5);
        assert_eq!(
            last.decision,
            Decision::RolledBack(weir_engine::RollbackReason::FailedChecks)
        );
        // Pre-rollout interval, then intervals 1..6 of which 2..6 fail.
        assert_eq!(plan.steps.len(), 8);
    }

    #[test]
    fn an_invalid_canary_has_no_plan() {
        let error = plan(
            &podinfo("    interval: 1m\n    threshold: 5"),
            &PlanOptions::default(),
        )
        .expect_err("no strategy");
        assert!(
            matches!(error, PlanError::NotInitialized(message) if message.contains("stepWeight"))
        );
    }
}
