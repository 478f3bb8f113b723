//! Initialization, suspension, skipped analysis, invalid specs, controller
//! restarts, deletion, and how status is written.

mod common;

use common::{canary, started};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use weir_api::CanaryPhase::*;
use weir_api::status::ConditionStatus;
use weir_engine::ports::{Clock, DaemonSetState, DeploymentState, Role, RunOutcome, WorkloadState};
use weir_engine::{Decision, RollbackReason};
use weir_fakes::{Harness, World};

#[test]
fn initialization_creates_the_primary_routes_to_it_and_scales_the_target_down() {
    let mut h = Harness::new(common::podinfo());
    let record = h.tick();
    assert_eq!(
        (record.decision, record.phase),
        (Decision::Initialized, Initialized)
    );
    assert_eq!(
        h.world.router.calls,
        ["reconcile_services", "reconcile_apex", "reconcile_mesh"]
    );
    assert_eq!(
        h.world.cluster.calls,
        [
            "ensure_primary",
            "state_primary",
            "scale_to_zero",
            "revision"
        ]
    );
    assert_eq!(h.world.cluster.target.replicas, 0);
    assert_eq!(
        record.events,
        [
            "all the metrics providers are available!",
            "Initialization done! podinfo.test"
        ]
    );
    let alert = &h.world.alerts.sent[0].notification;
    assert_eq!(
        alert.message,
        "New Deployment detected, initialization completed."
    );
    assert_eq!(
        alert.fields,
        [
            ("Target".to_owned(), "Deployment/podinfo.test".to_owned()),
            ("Failed checks threshold".to_owned(), "5".to_owned()),
            ("Progress deadline".to_owned(), "600s".to_owned()),
            (
                "Traffic routing".to_owned(),
                "Weight step: 5 max: 50".to_owned()
            ),
        ]
    );
    let status = h.status();
    assert_eq!(
        (
            status.last_applied_spec.as_str(),
            status.last_promoted_spec.as_str()
        ),
        ("v1", "v1")
    );
    assert_eq!(status.conditions[0].status, ConditionStatus::True);
    assert_eq!(
        status.conditions[0].message,
        "Deployment initialization completed."
    );
    assert_eq!(
        status.last_transition_time,
        Some(Time(
            h.world.clock.now() - std::time::Duration::from_secs(60)
        ))
    );
}

#[test]
fn app_mesh_routes_are_reconciled_before_the_primary_exists() {
    let mut h = Harness::new(canary(
        "  provider: appmesh\n  analysis: {interval: 1m, threshold: 1, stepWeight: 10}",
    ));
    h.tick();
    assert_eq!(
        h.world.router.calls,
        ["reconcile_services", "reconcile_mesh", "reconcile_apex"]
    );
}

#[test]
fn initialization_waits_for_the_primary_to_roll_out() {
    let mut h = Harness::new(common::podinfo());
    let rolling = WorkloadState::Deployment(DeploymentState {
        name: "podinfo-primary".into(),
        generation: 1,
        observed_generation: 1,
        desired_replicas: Some(2),
        replicas: 2,
        updated_replicas: 2,
        available_replicas: 1,
        has_progressing_condition: true,
        ..DeploymentState::default()
    });
    h.world.cluster.primary.state = rolling.clone();
    h.world.cluster.primary.script = [rolling, weir_fakes::deployment("podinfo-primary", 2)].into();
    let waiting = h.tick();
    assert_eq!(
        (waiting.decision, waiting.phase),
        (Decision::WaitingForWorkload(Role::Primary), Initializing)
    );
    assert_eq!(
        waiting.events[1],
        "podinfo-primary.test not ready: waiting for rollout to finish: 1 of 2 (readyThreshold 100%) updated replicas are available"
    );
    assert_eq!(
        h.world.cluster.target.replicas, 1,
        "the target keeps serving until the primary is ready"
    );
    assert_eq!(
        h.status().conditions[0].message,
        "New Deployment detected, starting initialization."
    );
    assert_eq!(h.tick().phase, Initializing);
    assert_eq!(h.tick().decision, Decision::Initialized);
}

#[test]
fn a_primary_that_never_becomes_ready_fails_the_initialization() {
    let mut h = Harness::new(common::podinfo());
    h.world.cluster.primary.state = WorkloadState::Deployment(DeploymentState {
        name: "podinfo-primary".into(),
        progress_deadline_exceeded: true,
        has_progressing_condition: true,
        ..DeploymentState::default()
    });
    let record = h.tick();
    assert_eq!(
        record.decision,
        Decision::RolledBack(RollbackReason::PrimaryStuck)
    );
    assert_eq!(record.phase, Failed);
}

#[test]
fn a_suspended_canary_does_nothing_but_say_so() {
    let mut h = started(common::podinfo());
    h.tick();
    h.tick();
    h.canary_mut().spec.suspend = true;
    let before = (
        h.world.router.calls.len(),
        h.world.cluster.calls.len(),
        h.world.api.status_writes,
    );
    for _ in 0..3 {
        let record = h.tick();
        assert_eq!(record.decision, Decision::Suspended);
        assert_eq!(
            record.events,
            ["skipping canary run as object is suspended"]
        );
    }
    assert_eq!(
        (
            h.world.router.calls.len(),
            h.world.cluster.calls.len(),
            h.world.api.status_writes
        ),
        before
    );
    h.canary_mut().spec.suspend = false;
    assert_eq!(h.tick().decision, Decision::Advanced);
}

#[test]
fn skip_analysis_promotes_as_soon_as_the_canary_is_ready() {
    let mut h = started(canary(
        r#"  skipAnalysis: true
  analysis:
    interval: 1m
    threshold: 1
    stepWeight: 10
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
"#,
    ));
    assert_eq!(h.tick().decision, Decision::Started);
    let record = h.tick();
    assert_eq!(
        (record.decision, record.phase),
        (Decision::Succeeded, Succeeded)
    );
    assert_eq!(
        record.events,
        [
            "Copying podinfo.test template spec to podinfo-primary.test",
            "Promotion completed! Canary analysis was skipped for podinfo.test"
        ]
    );
    assert_eq!(
        record.alerts,
        ["Canary analysis was skipped, promotion finished."]
    );
    assert!(h.world.metrics.calls.is_empty());
    assert_eq!(h.world.cluster.primary.spec_hash, "v2");
    assert_eq!(
        h.world.telemetry.outcomes,
        [(
            weir_api::Strategy::Canary,
            RunOutcome::Succeeded {
                analysis_skipped: true
            }
        )]
    );
}

#[test]
fn a_canary_with_blocking_problems_is_left_alone_with_an_explanation() {
    let mut h = Harness::new(canary(
        r#"  analysis:
    interval: 1m
    threshold: 1
    stepWeight: 10
    sessionAffinity:
      cookieName: session
      primaryCookieName: session
"#,
    ));
    let record = h.tick();
    assert_eq!(record.decision, Decision::Invalid);
    assert_eq!(
        record.events,
        [
            "Canary podinfo.test is invalid and will not progress: spec.analysis.sessionAffinity.primaryCookieName: is the same as cookieName (`session`), so users could not be told apart (give the primary cookie a different name, e.g. `primary-session`)"
        ]
    );
    assert!(h.world.router.calls.is_empty() && h.world.cluster.calls.is_empty());
    assert_eq!(h.world.api.status_writes, 0);
}

#[test]
fn a_restarted_controller_resumes_from_the_stored_status() {
    let reference: Vec<_> = {
        let mut h = started(common::podinfo());
        h.run_to(Succeeded, 20)
            .into_iter()
            .map(|record| (record.phase, record.routes.canary))
            .collect()
    };
    let mut h = started(common::podinfo());
    let mut resumed: Vec<_> = (0..5)
        .map(|_| h.tick())
        .map(|record| (record.phase, record.routes.canary))
        .collect();
    // The controller process dies: everything it held in memory is gone. The
    // API server (Canary and status), the workloads and the routes remain.
    let survivors = std::mem::replace(&mut h.world, Harness::new(common::podinfo()).world);
    h.world = World {
        api: survivors.api,
        cluster: survivors.cluster,
        router: survivors.router,
        ..h.world
    };
    h.world.clock.set(survivors.clock.now());
    resumed.extend(
        h.run_to(Succeeded, 20)
            .into_iter()
            .map(|record| (record.phase, record.routes.canary)),
    );
    assert_eq!(resumed, reference);
}

#[test]
fn a_failed_status_write_is_repaired_by_the_next_tick() {
    let mut h = started(common::podinfo());
    h.tick();
    h.world.api.fail_writes = Some("the object has been modified".into());
    let record = h.tick();
    assert_eq!(record.routes.canary, 5, "the router moved");
    assert_eq!(h.status().canary_weight, 0, "the status did not");
    assert!(
        record
            .events
            .last()
            .expect("event")
            .starts_with("failed to update status of podinfo.test")
    );
    h.world.api.fail_writes = None;
    let repaired = h.tick();
    assert_eq!((repaired.routes.canary, repaired.canary_weight), (10, 10));
}

#[test]
fn status_is_written_once_per_tick_and_only_when_it_changes() {
    let mut h = Harness::new(common::podinfo());
    h.tick();
    assert_eq!(h.world.api.status_writes, 1);
    h.tick();
    h.tick();
    assert_eq!(h.world.api.status_writes, 1, "idle ticks write nothing");
    h.world.cluster.deploy("v2");
    h.tick();
    h.tick();
    assert_eq!(h.world.api.status_writes, 3);
}

#[test]
fn a_daemon_set_deadline_is_not_reset_by_other_status_writes() {
    let mut h = started(with_deadline(common::podinfo(), 150));
    h.world.cluster.target.state = WorkloadState::DaemonSet(DaemonSetState {
        name: "podinfo".into(),
        desired_number_scheduled: 3,
        updated_number_scheduled: 3,
        number_available: 1,
    });
    h.tick();
    let mut decisions = Vec::new();
    for _ in 0..4 {
        // Another writer touches the status every minute, as Flagger's own
        // writes do; Flagger would measure the deadline from this time.
        let now = h.world.clock.now();
        h.canary_mut()
            .status
            .as_mut()
            .expect("status")
            .last_transition_time = Some(Time(now));
        decisions.push(h.tick().decision);
    }
    assert_eq!(
        decisions,
        [
            Decision::WaitingForWorkload(Role::Canary),
            Decision::WaitingForWorkload(Role::Canary),
            Decision::WaitingForWorkload(Role::Canary),
            Decision::RolledBack(RollbackReason::CanaryStuck),
        ]
    );
}

#[test]
fn revert_on_deletion_gives_the_target_its_traffic_back_then_lets_go() {
    let mut h = started(canary(
        "  revertOnDeletion: true\n  analysis: {interval: 1m, threshold: 1, stepWeight: 50}",
    ));
    h.run_to(Succeeded, 10);
    let now = h.world.clock.now();
    let canary = h.canary_mut();
    canary.metadata.deletion_timestamp = Some(Time(now));
    canary.metadata.finalizers = Some(vec!["finalizer.flagger.app".into()]);
    h.world.cluster.target.state = WorkloadState::Deployment(DeploymentState {
        name: "podinfo".into(),
        generation: 5,
        observed_generation: 4,
        ..DeploymentState::default()
    });
    let waiting = h.tick();
    assert_eq!(
        (waiting.decision, waiting.phase),
        (Decision::Terminating, Terminating)
    );
    assert_eq!(waiting.events[0], "Terminating canary podinfo.test");
    assert_eq!(
        h.world.cluster.target.replicas, 1,
        "the target got the primary's replicas"
    );
    assert!(
        !h.world.router.calls.contains(&"finalize"),
        "routes stay until the target is ready"
    );

    h.world.cluster.target.state = weir_fakes::deployment("podinfo", 1);
    let done = h.tick();
    assert_eq!(
        (done.decision, done.phase),
        (Decision::Terminated, Terminated)
    );
    assert_eq!(done.events, ["Terminated canary podinfo.test"]);
    assert!(h.world.router.calls.contains(&"finalize"));
    assert!(h.world.api.finalizer_removed);
}

fn with_deadline(mut canary: weir_api::Canary, seconds: i32) -> weir_api::Canary {
    canary.spec.progress_deadline_seconds = Some(seconds);
    canary
}
