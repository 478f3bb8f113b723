//! Blue/green, A/B testing and the kubernetes provider's blue/green.

mod common;

use common::{canary, started, timeline};
use weir_api::CanaryPhase::*;
use weir_api::Strategy;
use weir_engine::Decision;
use weir_engine::ports::{Routes, RunOutcome};

#[test]
fn blue_green_runs_its_iterations_then_switches_all_traffic_then_promotes() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 2
    iterations: 3
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
"#,
    ));
    let records = h.run_to(Succeeded, 12);
    assert_eq!(
        timeline(&records),
        [
            (Progressing, 0, 0, 0),
            (Progressing, 0, 0, 1),
            (Progressing, 0, 0, 2),
            (Progressing, 0, 0, 3),
            (Progressing, 100, 0, 4),
            // Promoting keeps the counters, as Flagger's SetStatusPhase does.
            (Promoting, 100, 0, 4),
            (Finalising, 0, 0, 0),
            (Succeeded, 0, 0, 0),
        ]
    );
    let events: Vec<&str> = records
        .iter()
        .flat_map(|record| record.events.iter().map(String::as_str))
        .collect();
    assert!(events.contains(&"Advance podinfo.test canary iteration 3/3"));
    assert!(events.contains(&"Routing all traffic to canary"));
    assert_eq!(
        h.world.telemetry.outcomes,
        [(
            Strategy::BlueGreen,
            RunOutcome::Succeeded {
                analysis_skipped: false
            }
        )]
    );
    // The interval with all traffic on the canary was analysed before promotion.
    let last_interval = h.world.telemetry.intervals.last().expect("analysed");
    assert_eq!(last_interval.canary_weight, 100);
}

#[test]
fn blue_green_with_mirroring_mirrors_during_the_iterations() {
    let mut h = started(canary(
        "  provider: istio\n  analysis: {interval: 1m, threshold: 1, iterations: 2, mirror: true}",
    ));
    h.tick();
    let history_before = h.world.router.history.len();
    let records = h.run_to(Promoting, 10);
    assert_eq!(
        h.world.router.history[history_before..],
        [
            Routes {
                primary: 100,
                canary: 0,
                mirrored: true
            },
            Routes::ALL_CANARY
        ]
    );
    assert!(records.iter().any(|record| {
        record
            .events
            .contains(&"Stop traffic mirroring and route all traffic to canary".to_owned())
    }));
}

#[test]
fn confirm_promotion_is_asked_before_switching_traffic_and_again_before_promoting() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 1
    iterations: 1
    webhooks:
    - {name: promote, type: confirm-promotion, url: "http://tester/gate/check"}
"#,
    ));
    h.run_to(Promoting, 10);
    let asked = h
        .world
        .webhooks
        .names()
        .iter()
        .filter(|name| **name == "promote")
        .count();
    assert_eq!(asked, 2);
}

#[test]
fn ab_testing_routes_matching_requests_for_each_iteration_then_promotes() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 2
    iterations: 2
    match:
    - headers:
        x-canary: {exact: insider}
    - headers:
        cookie: {regex: "^(.*?;)?(canary=always)(;.*)?$"}
"#,
    ));
    let records = h.run_to(Succeeded, 10);
    assert_eq!(
        timeline(&records),
        [
            (Progressing, 0, 0, 0),
            (Progressing, 100, 0, 1),
            (Progressing, 100, 0, 2),
            (Promoting, 100, 0, 2),
            (Finalising, 0, 0, 0),
            (Succeeded, 0, 0, 0),
        ]
    );
    assert_eq!(
        records[1].events[1],
        "Advance podinfo.test canary iteration 1/2"
    );
    assert_eq!(h.world.telemetry.outcomes[0].0, Strategy::AbTesting);
}

#[test]
fn lowering_iterations_during_a_run_still_promotes() {
    let mut h = started(canary(
        "  analysis: {interval: 1m, threshold: 1, iterations: 5, match: [{headers: {x-canary: {exact: 'yes'}}}]}",
    ));
    h.tick();
    h.tick();
    h.tick();
    assert_eq!(h.status().iterations, 2);
    h.canary_mut()
        .spec
        .analysis
        .as_mut()
        .expect("analysis")
        .iterations = 1;
    assert_eq!(h.tick().decision, Decision::Promoting);
}

#[test]
fn the_kubernetes_provider_runs_a_progressive_canary_as_blue_green_with_ten_iterations() {
    let mut h = started(canary(
        "  provider: kubernetes\n  analysis: {interval: 1m, threshold: 1, stepWeight: 10}",
    ));
    let records = h.run_to(Succeeded, 20);
    let iterations: Vec<i32> = records.iter().map(|record| record.iterations).collect();
    assert_eq!(iterations, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 0, 0]);
    assert_eq!(
        records[1].events,
        [
            "Starting canary analysis for podinfo.test",
            "Progressive traffic is not supported when using the kubernetes provider",
            "Setting canaryAnalysis.iterations: 10",
            "Advance podinfo.test canary iteration 1/10",
        ]
    );
    assert!(
        h.world.router.history.is_empty(),
        "the kubernetes router never shifts weights"
    );
    assert_eq!(records[records.len() - 2].phase, Finalising);
    assert_eq!(h.world.cluster.primary.spec_hash, "v2");
}

#[test]
fn the_kubernetes_provider_ignores_ab_matches() {
    let mut h = started(canary(
        "  provider: kubernetes\n  analysis: {interval: 1m, threshold: 1, iterations: 2, match: [{headers: {x-canary: {exact: 'yes'}}}]}",
    ));
    h.tick();
    let first = h.tick();
    assert!(
        first.events.contains(
            &"A/B testing is not supported when using the kubernetes provider".to_owned()
        )
    );
    h.run_to(Succeeded, 10);
    assert_eq!(h.world.telemetry.outcomes[0].0, Strategy::BlueGreen);
}
