//! New revisions and tracked ConfigMap/Secret changes.

mod common;

use common::started;
use weir_api::CanaryPhase::*;
use weir_engine::Decision;
use weir_engine::ports::{DeploymentState, Routes, WorkloadState};

#[test]
fn an_unchanged_target_leaves_an_initialized_canary_idle() {
    let mut h = weir_fakes::Harness::new(common::podinfo());
    h.initialize();
    for _ in 0..3 {
        let record = h.tick();
        assert_eq!(
            (record.decision, record.phase),
            (Decision::Idle, Initialized)
        );
        assert!(record.events.is_empty());
    }
}

#[test]
fn a_new_revision_during_the_analysis_restarts_it_from_weight_zero() {
    let mut h = started(common::podinfo());
    h.tick();
    h.tick();
    h.tick();
    assert_eq!(h.world.router.routes.canary, 10);
    h.world.cluster.deploy("v3");
    let restart = h.tick();
    assert_eq!(restart.decision, Decision::Restarted);
    assert_eq!(
        restart.events,
        ["New revision detected! Restarting analysis for podinfo.test"]
    );
    assert_eq!(
        (restart.routes, restart.canary_weight, restart.failed_checks),
        (Routes::ALL_PRIMARY, 0, 0)
    );
    assert_eq!(h.status().last_applied_spec, "v3");
    let next = h.tick();
    assert_eq!(
        next.events[0], "Starting canary analysis for podinfo.test",
        "pre-rollout runs again"
    );
    h.run_to(Succeeded, 20);
    assert_eq!(h.world.cluster.primary.spec_hash, "v3");
}

#[test]
fn a_changed_configmap_starts_an_analysis_and_restarts_a_running_one() {
    let mut h = weir_fakes::Harness::new(common::podinfo());
    h.world
        .cluster
        .configs
        .insert("configmap/podinfo-config".into(), "aaaa".into());
    h.initialize();
    assert_eq!(h.tick().decision, Decision::Idle);
    h.world
        .cluster
        .configs
        .insert("configmap/podinfo-config".into(), "bbbb".into());
    assert_eq!(h.tick().decision, Decision::Started);
    h.tick();
    h.world
        .cluster
        .configs
        .insert("secret/podinfo-token".into(), "cccc".into());
    assert_eq!(h.tick().decision, Decision::Restarted);
    let tracked = h.status().tracked_configs.expect("tracked");
    assert_eq!(tracked.len(), 2);
}

#[test]
fn reverting_the_target_to_the_promoted_spec_does_not_start_an_analysis() {
    let mut h = started(common::podinfo());
    h.world.metrics.set("request-success-rate", 10.0);
    h.run_to(Failed, 20);
    h.world.cluster.deploy("v1"); // what the primary runs
    assert_eq!(h.tick().decision, Decision::Idle);
}

#[test]
fn a_new_revision_after_a_failure_is_analysed() {
    let mut h = started(common::podinfo());
    h.world.metrics.set("request-success-rate", 10.0);
    h.run_to(Failed, 20);
    h.world.metrics.set("request-success-rate", 100.0);
    h.world.cluster.deploy("v3");
    assert_eq!(h.tick().decision, Decision::Started);
    h.run_to(Succeeded, 20);
    assert_eq!(h.world.cluster.primary.spec_hash, "v3");
}

#[test]
fn a_new_revision_is_not_lost_when_the_tick_that_sees_it_stops_early() {
    // Flagger records the new spec before acting on it when Failed, so an
    // early return loses the trigger for good (§18 #31).
    let mut h = started(common::podinfo());
    h.world.metrics.set("request-success-rate", 10.0);
    h.run_to(Failed, 20);
    h.world.metrics.set("request-success-rate", 100.0);
    h.world.cluster.deploy("v3");
    h.world.cluster.primary.state = WorkloadState::Deployment(DeploymentState {
        name: "podinfo-primary".into(),
        generation: 3,
        observed_generation: 2,
        ..DeploymentState::default()
    });
    assert_eq!(
        h.tick().decision,
        Decision::WaitingForWorkload(weir_engine::ports::Role::Primary)
    );
    h.world.cluster.primary.state = weir_fakes::deployment("podinfo-primary", 1);
    assert_eq!(h.tick().decision, Decision::Started);
}

#[test]
fn succeeded_keeps_the_failed_checks_of_the_run() {
    let mut h = started(common::podinfo());
    h.world.metrics.script(
        "request-success-rate",
        [
            weir_engine::ports::MetricOutcome::Value(10.0),
            weir_engine::ports::MetricOutcome::Value(100.0),
        ],
    );
    let records = h.run_to(Succeeded, 20);
    assert_eq!(records.last().expect("done").failed_checks, 1);
}
