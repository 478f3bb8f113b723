//! Failed checks, rollback webhooks, stuck workloads: every way a run fails.

mod common;

use common::{canary, started};
use weir_api::CanaryPhase::*;
use weir_engine::ports::{DeploymentState, MetricOutcome, Routes, RunOutcome, WorkloadState};
use weir_engine::{Decision, RollbackReason};

/// The seed document's "Rollback Configuration": interval 1m, threshold 5,
/// 10 iterations (blue/green), success rate ≥ 99% and p99 ≤ 500ms.
fn seed_rollback_configuration() -> weir_api::Canary {
    canary(
        r#"  analysis:
    threshold: 5
    interval: 1m
    iterations: 10
    metrics:
    - name: request-success-rate
      thresholdRange:
        min: 99
      interval: 1m
    - name: request-duration
      thresholdRange:
        max: 500
      interval: 1m
"#,
    )
}

fn values(rates: &[f64]) -> Vec<MetricOutcome> {
    rates
        .iter()
        .map(|rate| MetricOutcome::Value(*rate))
        .collect()
}

#[test]
fn seed_scenario_one_rolls_back_at_the_fifth_failed_check() {
    let mut h = started(seed_rollback_configuration());
    // Rows T1..T6 of the seed's "Metric Threshold Exceeded" table.
    h.world.metrics.script(
        "request-success-rate",
        values(&[99.5, 98.0, 97.5, 96.0, 95.0, 94.0]),
    );
    h.world.metrics.script(
        "request-duration",
        values(&[450.0, 480.0, 490.0, 510.0, 530.0, 550.0]),
    );
    assert_eq!(h.tick().decision, Decision::Started);
    assert_eq!(
        h.tick().decision,
        Decision::Iterated,
        "first interval: pre-rollout only"
    );

    let readings: Vec<_> = (1..=6).map(|_| h.tick()).collect();
    let failed: Vec<i32> = readings.iter().map(|record| record.failed_checks).collect();
    let decisions: Vec<Decision> = readings.iter().map(|record| record.decision).collect();
    assert_eq!(
        decisions,
        [
            Decision::Iterated,
            Decision::CheckFailed,
            Decision::CheckFailed,
            Decision::CheckFailed,
            Decision::CheckFailed,
            Decision::RolledBack(RollbackReason::FailedChecks),
        ]
    );
    // The Failed canary keeps its count, unlike Flagger which resets it to 0.
    assert_eq!(failed, [0, 1, 2, 3, 4, 5]);
    let rollback = readings.last().expect("T6");
    assert_eq!(rollback.phase, Failed);
    assert_eq!(
        rollback.events,
        [
            "Halt podinfo.test advancement success rate 94.00% < 99%",
            "Halt podinfo.test advancement request duration 550ms > 500ms",
            "Rolling back podinfo.test failed checks threshold reached 5",
            "Canary failed! Scaling down podinfo.test",
        ]
    );
    assert_eq!(rollback.alerts, ["Failed checks threshold reached 5"]);
    assert_eq!(h.world.router.routes, Routes::ALL_PRIMARY);
    assert_eq!(h.world.cluster.target.replicas, 0);
    assert_eq!(
        h.world.cluster.primary.spec_hash, "v1",
        "the primary was never touched"
    );
    assert_eq!(
        h.world.telemetry.outcomes.last(),
        Some(&(weir_api::Strategy::BlueGreen, RunOutcome::Failed))
    );
}

#[test]
fn seed_scenario_two_promotes_despite_an_intermittent_failure() {
    let mut h = started(seed_rollback_configuration());
    // Rows T1..T10 of the seed's "Intermittent Failures" table: one bad interval.
    h.world.metrics.script(
        "request-success-rate",
        values(&[
            99.5, 98.0, 99.2, 99.8, 99.6, 99.4, 99.9, 99.3, 99.7, 99.5, 99.5, 99.5,
        ]),
    );
    h.world.metrics.set("request-duration", 450.0);
    let records = h.run_to(Succeeded, 20);
    assert!(
        records
            .iter()
            .all(|record| !matches!(record.decision, Decision::RolledBack(_)))
    );
    let failed: Vec<i32> = records.iter().map(|record| record.failed_checks).collect();
    assert_eq!(
        failed.iter().max(),
        Some(&1),
        "one failed check, never reset: {failed:?}"
    );
    let check_failures = records
        .iter()
        .filter(|record| record.decision == Decision::CheckFailed)
        .count();
    assert_eq!(check_failures, 1);
    // 10 iterations + 1 with all traffic on the canary; the failed interval adds one.
    let promoting = records
        .iter()
        .position(|record| record.phase == Promoting)
        .expect("promoted");
    assert_eq!(promoting, 13);
    assert_eq!(h.world.cluster.primary.spec_hash, "v2");
}

#[test]
fn no_data_is_a_failed_check_with_flaggers_message() {
    let mut h = started(common::podinfo());
    h.tick();
    h.tick();
    h.world.metrics.script(
        "request-success-rate",
        [MetricOutcome::NoData("no values found".into())],
    );
    let record = h.tick();
    assert_eq!(
        (record.decision, record.failed_checks),
        (Decision::CheckFailed, 1)
    );
    assert_eq!(
        record.events,
        [
            "Halt advancement no values found for istio metric request-success-rate probably podinfo.test is not receiving traffic: no values found"
        ]
    );
    assert_eq!(record.routes.canary, 5, "the weight holds");
}

#[test]
fn provider_errors_are_failed_checks_reported_per_metric_source() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 10
    stepWeight: 10
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
    - name: errors
      query: sum(rate(errors[1m]))
      thresholdRange: {max: 1}
    - name: latency
      templateRef: {name: latency}
      thresholdRange: {max: 1}
"#,
    ));
    h.tick();
    h.tick();
    for metric in ["request-success-rate", "errors", "latency"] {
        h.world
            .metrics
            .script(metric, [MetricOutcome::Error("connection refused".into())]);
    }
    let record = h.tick();
    assert_eq!(
        record.events,
        [
            "Prometheus query failed: connection refused",
            "Prometheus query failed for errors: connection refused",
            "Metric query failed for latency: connection refused",
        ]
    );
    assert_eq!(record.failed_checks, 1);
}

#[test]
fn a_failing_rollout_webhook_fails_the_interval_and_skips_the_metrics() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 2
    stepWeight: 10
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
    webhooks:
    - {name: load-test, url: "http://tester/"}
    - {name: conformance, type: rollout, url: "http://tester/"}
"#,
    ));
    h.tick();
    h.tick();
    h.world
        .webhooks
        .script("load-test", [Err("500 Internal Server Error".into())]);
    let record = h.tick();
    assert_eq!(
        record.webhooks,
        ["load-test"],
        "the first failure stops the loop"
    );
    assert_eq!(
        record.events,
        ["Halt podinfo.test advancement external check load-test failed 500 Internal Server Error"]
    );
    assert!(
        h.world.metrics.calls.is_empty(),
        "metrics are not queried without the load"
    );
    let record = h.status().last_analysis.expect("recorded");
    let results: Vec<_> = record
        .checks
        .iter()
        .map(|check| (check.name.as_str(), check.result))
        .collect();
    assert_eq!(
        results,
        [
            ("load-test", weir_api::CheckResult::Fail),
            ("conformance", weir_api::CheckResult::Skipped),
            ("request-success-rate", weir_api::CheckResult::Skipped),
        ]
    );
    assert_eq!(
        h.tick().decision,
        Decision::RolledBack(RollbackReason::FailedChecks)
    );
}

#[test]
fn a_failing_pre_rollout_webhook_fails_the_first_interval_until_it_passes() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 3
    stepWeight: 10
    webhooks:
    - {name: smoke, type: pre-rollout, url: "http://tester/"}
"#,
    ));
    h.world
        .webhooks
        .script("smoke", [Err("403".into()), Ok(())]);
    h.tick();
    let failed = h.tick();
    assert_eq!(
        (failed.decision, failed.routes.canary, failed.failed_checks),
        (Decision::CheckFailed, 0, 1)
    );
    assert_eq!(
        failed.events[1],
        "Halt podinfo.test advancement pre-rollout check smoke failed 403"
    );
    let retried = h.tick();
    assert_eq!(
        retried.webhooks,
        ["smoke"],
        "still the first interval: pre-rollout runs again"
    );
    assert_eq!(
        (retried.decision, retried.routes.canary),
        (Decision::Advanced, 10)
    );
}

#[test]
fn a_rollback_webhook_rolls_back_during_the_analysis() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    webhooks:
    - {name: rollback-gate, type: rollback, url: "http://tester/rollback/check"}
"#,
    ));
    h.world.webhooks.close("rollback-gate");
    h.tick();
    let quiet = h.tick();
    assert_eq!(
        quiet.events[0],
        "Rollback hook rollback-gate not signaling a rollback"
    );
    h.world.webhooks.open("rollback-gate");
    let record = h.tick();
    assert_eq!(
        record.decision,
        Decision::RolledBack(RollbackReason::Webhook)
    );
    assert_eq!(
        record.events,
        [
            "Rollback check rollback-gate passed",
            "Rolling back podinfo.test manual webhook invoked",
            "Canary failed! Scaling down podinfo.test",
        ]
    );
    assert_eq!(record.alerts, ["Rolling back manual webhook invoked"]);
    let payload = &h.world.webhooks.calls.last().expect("called").payload;
    assert_eq!(
        payload.phase, Progressing,
        "rollback hooks get the current phase"
    );
}

fn rolling(name: &str, updated: i32, available: i32) -> WorkloadState {
    WorkloadState::Deployment(DeploymentState {
        name: name.to_owned(),
        generation: 2,
        observed_generation: 2,
        desired_replicas: Some(2),
        replicas: 2,
        updated_replicas: updated,
        available_replicas: available,
        has_progressing_condition: true,
        ..DeploymentState::default()
    })
}

#[test]
fn waiting_for_the_canary_never_counts_as_a_failed_check() {
    let mut h = started(common::podinfo());
    h.world.cluster.target.state = rolling("podinfo", 1, 0);
    h.tick();
    for _ in 0..5 {
        let record = h.tick();
        assert_eq!(
            record.decision,
            Decision::WaitingForWorkload(weir_engine::ports::Role::Canary)
        );
        assert_eq!(record.failed_checks, 0);
        assert_eq!(
            record.events,
            [
                "canary deployment podinfo.test not ready: waiting for rollout to finish: 1 out of 2 new replicas have been updated"
            ]
        );
    }
}

#[test]
fn a_canary_that_makes_no_progress_rolls_back_with_the_progress_deadline_alert() {
    let mut h = started(with_deadline(common::podinfo(), 180));
    h.world.cluster.target.state = rolling("podinfo", 1, 0);
    h.tick();
    let records = h.run_until(10, |record| {
        matches!(record.decision, Decision::RolledBack(_))
    });
    let last = records.last().expect("rolled back");
    assert_eq!(
        last.decision,
        Decision::RolledBack(RollbackReason::CanaryStuck)
    );
    // Waiting started at the first check; 180s without progress passes on the fourth minute.
    assert_eq!(records.len(), 5);
    assert!(last.events[0].starts_with("Rolling back podinfo.test progress deadline exceeded canary deployment podinfo.test not ready"));
    assert!(
        last.events[0].ends_with("no progress for 240s (progressDeadlineSeconds 180)"),
        "{}",
        last.events[0]
    );
    assert_eq!(last.alerts.len(), 1);
    assert!(last.alerts[0].starts_with("Progress deadline exceeded"));
    assert_eq!(last.phase, Failed);
}

#[test]
fn a_canary_that_keeps_progressing_is_not_stopped_by_the_deadline() {
    let mut h = started(with_deadline(common::podinfo(), 120));
    h.world.cluster.target.state = rolling("podinfo", 0, 0);
    h.world.cluster.target.script = [
        rolling("podinfo", 0, 0),
        rolling("podinfo", 1, 0),
        rolling("podinfo", 1, 1),
        rolling("podinfo", 2, 1),
        rolling("podinfo", 2, 2),
    ]
    .into();
    h.tick();
    let records = h.run_until(10, |record| record.decision == Decision::Advanced);
    assert!(
        records
            .iter()
            .all(|record| !matches!(record.decision, Decision::RolledBack(_)))
    );
    assert!(
        h.status().workload_wait.is_none(),
        "the anchor is cleared once ready"
    );
}

#[test]
fn kubernetes_progress_deadline_exceeded_fails_the_canary_at_once() {
    let mut h = started(common::podinfo());
    let WorkloadState::Deployment(mut stuck) = rolling("podinfo", 1, 0) else {
        unreachable!()
    };
    stuck.progress_deadline_exceeded = true;
    h.world.cluster.target.state = WorkloadState::Deployment(stuck);
    h.tick();
    assert_eq!(
        h.tick().decision,
        Decision::RolledBack(RollbackReason::CanaryStuck)
    );
}

#[test]
fn a_primary_that_fails_to_roll_out_the_promotion_leaves_the_canary_serving() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 1
    stepWeight: 50
    webhooks:
    - {name: notify, type: post-rollout, url: "http://tester/"}
"#,
    ));
    h.run_to(Promoting, 10);
    let WorkloadState::Deployment(mut stuck) = rolling("podinfo-primary", 1, 0) else {
        unreachable!()
    };
    stuck.progress_deadline_exceeded = true;
    h.world.cluster.primary.state = WorkloadState::Deployment(stuck);
    let record = h.tick();
    assert_eq!(record.decision, Decision::PromotionFailed);
    assert_eq!(record.phase, Failed);
    assert_eq!(record.routes, Routes::ALL_CANARY);
    assert_eq!(record.canary_weight, 100);
    assert!(record.events[0].starts_with(
        "Promotion of podinfo.test failed, primary not ready: podinfo-primary.test not ready"
    ));
    assert_eq!(record.webhooks, ["notify"]);
    assert_eq!(
        h.world
            .webhooks
            .calls
            .last()
            .expect("post-rollout")
            .payload
            .phase,
        Failed
    );
    assert_ne!(
        h.world.cluster.target.replicas, 0,
        "the canary keeps serving"
    );
}

#[test]
fn post_rollout_hooks_run_after_a_rollback_with_phase_failed() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 1
    stepWeight: 10
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
    webhooks:
    - {name: notify, type: post-rollout, url: "http://tester/"}
"#,
    ));
    h.world.metrics.set("request-success-rate", 10.0);
    h.tick();
    h.tick();
    let record = h.tick();
    assert_eq!(
        record.decision,
        Decision::RolledBack(RollbackReason::FailedChecks)
    );
    assert_eq!(record.webhooks, ["notify"]);
    let post = h.world.webhooks.calls.last().expect("called");
    assert_eq!(post.payload.phase, Failed);
}

#[test]
fn a_threshold_lowered_mid_run_rolls_back_at_the_start_of_the_next_tick() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
"#,
    ));
    h.world.metrics.script(
        "request-success-rate",
        [
            MetricOutcome::Value(10.0),
            MetricOutcome::Value(10.0),
            MetricOutcome::Value(100.0),
        ],
    );
    h.tick();
    h.tick();
    h.tick();
    assert_eq!(h.tick().failed_checks, 2);
    h.canary_mut()
        .spec
        .analysis
        .as_mut()
        .expect("analysis")
        .threshold = 2;
    let record = h.tick();
    assert_eq!(
        record.decision,
        Decision::RolledBack(RollbackReason::FailedChecks)
    );
    assert_eq!(
        h.world.metrics.calls.len(),
        2,
        "no metrics were queried on the rollback tick"
    );
}

fn with_deadline(mut canary: weir_api::Canary, seconds: i32) -> weir_api::Canary {
    canary.spec.progress_deadline_seconds = Some(seconds);
    canary
}
