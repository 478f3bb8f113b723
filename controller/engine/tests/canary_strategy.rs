//! The progressive canary strategy, tick by tick.

mod common;

use k8s_openapi::jiff::SignedDuration;
use weir_engine::ports::Clock;

use common::{canary, started, timeline};
use weir_api::CanaryPhase::{self, *};
use weir_engine::Decision;
use weir_engine::ports::{MetricOutcome, Routes};

#[test]
fn the_seed_timeline_promotes_about_twelve_minutes_after_a_new_revision() {
    // stepWeight 5, maxWeight 50, interval 1m (the seed document's example).
    let mut h = started(common::podinfo());
    let detected_at = h.world.clock.now();
    let records = h.run_to(Succeeded, 20);

    let weights: Vec<i32> = records.iter().map(|record| record.routes.canary).collect();
    assert_eq!(
        weights,
        [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 50, 0, 0]
    );
    let phases: Vec<CanaryPhase> = records.iter().map(|record| record.phase).collect();
    assert_eq!(&phases[..11], [Progressing; 11]);
    assert_eq!(&phases[11..], [Promoting, Finalising, Succeeded]);

    // Ten analysis intervals at 5%..50%, then the primary gets the new spec.
    let promoted = records
        .iter()
        .position(|record| record.phase == Promoting)
        .expect("promoted");
    assert_eq!(
        promoted, 11,
        "promotion starts 11 intervals after the revision was detected"
    );
    assert!(
        records[promoted]
            .events
            .contains(&"Copying podinfo.test template spec to podinfo-primary.test".to_owned())
    );
    let finished = h.world.clock.now().duration_since(detected_at);
    assert_eq!(
        finished,
        SignedDuration::from_mins(14),
        "14 ticks of 1m, the last one ends the run"
    );
    assert_eq!(h.world.cluster.primary.spec_hash, "v2");
    assert_eq!(
        h.world.cluster.target.replicas, 0,
        "the canary is scaled down"
    );
    assert_eq!(h.world.router.routes, Routes::ALL_PRIMARY);
    assert_eq!(h.status().last_promoted_spec, "v2");
    assert_eq!(
        records.last().expect("tick").alerts,
        ["Canary analysis completed successfully, promotion finished."]
    );
}

#[test]
fn the_first_interval_runs_only_pre_rollout_hooks_and_raises_the_weight() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
    webhooks:
    - {name: smoke, type: pre-rollout, url: "http://tester/"}
    - {name: load, type: rollout, url: "http://tester/"}
"#,
    ));
    assert_eq!(h.tick().decision, Decision::Started);
    let first = h.tick();
    assert_eq!(first.decision, Decision::Advanced);
    assert_eq!(first.webhooks, ["smoke"]);
    assert_eq!(
        first.events,
        [
            "Starting canary analysis for podinfo.test",
            "Pre-rollout check smoke passed",
            "Advance podinfo.test canary weight 10"
        ]
    );
    assert!(
        h.world.metrics.calls.is_empty(),
        "no traffic reached the canary yet"
    );

    let second = h.tick();
    assert_eq!(second.webhooks, ["load"]);
    assert_eq!(h.world.metrics.calls.len(), 1);
    assert_eq!(second.routes.canary, 20);
}

#[test]
fn the_last_linear_step_stops_at_max_weight_instead_of_overshooting() {
    let mut h = started(canary(
        "  analysis: {interval: 1m, threshold: 1, stepWeight: 20, maxWeight: 50}",
    ));
    let records = h.run_to(Promoting, 10);
    let weights: Vec<i32> = records.iter().map(|record| record.routes.canary).collect();
    // Flagger would route 60% to the canary on the third step.
    assert_eq!(weights, [0, 20, 40, 50, 50]);
}

#[test]
fn a_step_weights_ladder_is_followed_rung_by_rung() {
    let mut h = started(canary(
        "  analysis: {interval: 1m, threshold: 1, stepWeights: [1, 5, 25, 60]}",
    ));
    let records = h.run_to(Succeeded, 12);
    assert_eq!(
        timeline(&records),
        [
            (Progressing, 0, 0, 0),
            (Progressing, 1, 0, 0),
            (Progressing, 5, 0, 0),
            (Progressing, 25, 0, 0),
            (Progressing, 60, 0, 0),
            (Promoting, 60, 0, 0),
            (Finalising, 0, 0, 0),
            (Succeeded, 0, 0, 0),
        ]
    );
}

#[test]
fn step_weight_promotion_moves_traffic_back_to_the_primary_in_steps() {
    let mut h = started(canary(
        "  analysis: {interval: 1m, threshold: 1, stepWeight: 25, maxWeight: 50, stepWeightPromotion: 20}",
    ));
    let records = h.run_to(Succeeded, 12);
    let promotion: Vec<(CanaryPhase, i32, i32)> = records
        .iter()
        .skip_while(|record| record.phase != Promoting)
        .map(|record| (record.phase, record.routes.primary, record.canary_weight))
        .collect();
    assert_eq!(
        promotion,
        [
            (Promoting, 50, 50),
            (Promoting, 70, 30),
            (Promoting, 90, 10),
            (Finalising, 100, 0),
            (Succeeded, 100, 0),
        ]
    );
    assert!(
        records
            .iter()
            .any(|record| record.events == ["Advance podinfo.test primary weight 70"])
    );
}

#[test]
fn mirroring_runs_one_mirror_only_interval_before_shifting_weight() {
    let mut h = started(canary(
        "  provider: istio\n  analysis: {interval: 1m, threshold: 1, stepWeight: 10, maxWeight: 20, mirror: true}",
    ));
    h.tick(); // scale up
    let history_before = h.world.router.history.len();
    h.run_to(Promoting, 10);
    let routes = &h.world.router.history[history_before..];
    assert_eq!(
        routes,
        [
            Routes {
                primary: 100,
                canary: 0,
                mirrored: true
            },
            Routes {
                primary: 90,
                canary: 10,
                mirrored: false
            },
            Routes {
                primary: 80,
                canary: 20,
                mirrored: false
            },
        ]
    );
    // The mirrored interval is analysed: metrics ran with traffic on the canary.
    let analysed = &h.world.telemetry.intervals;
    assert!(
        analysed
            .iter()
            .any(|record| record.mirrored && record.canary_weight == 0)
    );
}

#[test]
fn a_provider_without_mirroring_skips_the_mirror_step_instead_of_looping() {
    let mut h = started(canary(
        "  provider: linkerd\n  analysis: {interval: 1m, threshold: 1, stepWeight: 10, maxWeight: 20, mirror: true}",
    ));
    h.tick();
    let first = h.tick();
    assert_eq!(
        first.routes,
        Routes {
            primary: 90,
            canary: 10,
            mirrored: false
        }
    );
    assert!(
        first.events.contains(
            &"Traffic mirroring of a progressive canary is not supported by the linkerd provider, skipping the mirror step"
                .to_owned()
        )
    );
    assert_eq!(
        h.run_to(Succeeded, 10).last().expect("tick").phase,
        Succeeded
    );
}

#[test]
fn gateway_api_skips_the_mirror_step_of_a_progressive_canary_because_it_mirrors_only_blue_green() {
    let mut h = started(canary(
        "    gatewayRefs: [{name: public, namespace: gateways}]\n  provider: gatewayapi:v1\n  analysis: {interval: 1m, threshold: 1, stepWeight: 10, maxWeight: 20, mirror: true}",
    ));
    h.tick();
    let first = h.tick();
    assert_eq!(first.routes.canary, 10, "{first:#?}");
    assert!(
        first
            .events
            .iter()
            .any(|event| event.contains("skipping the mirror step"))
    );
}

#[test]
fn every_interval_is_recorded_with_values_bounds_and_verdicts() {
    let mut h = started(common::podinfo());
    h.world.metrics.set("request-success-rate", 99.5);
    h.world.metrics.set("request-duration", 432.7);
    h.tick();
    h.tick();
    h.tick();
    let record = h.status().last_analysis.expect("recorded");
    assert_eq!(
        record.canary_weight, 5,
        "judged with 5% of traffic on the canary"
    );
    assert!(record.passed);
    type Check<'a> = (&'a str, Option<f64>, Option<f64>, Option<f64>);
    let checks: Vec<Check> = record
        .checks
        .iter()
        .map(|check| (check.name.as_str(), check.value, check.min, check.max))
        .collect();
    assert_eq!(
        checks,
        [
            ("request-success-rate", Some(99.5), Some(99.0), None),
            // Flagger compares whole milliseconds.
            ("request-duration", Some(432.0), None, Some(500.0)),
        ]
    );
    assert_eq!(
        h.world.telemetry.intervals.len(),
        2,
        "pre-rollout interval and one analysed interval"
    );
    // flagger_canary_metric_analysis exports request-duration in seconds.
    assert!(
        h.world
            .telemetry
            .metric_values
            .contains(&("request-duration".to_owned(), 0.4327))
    );
}

#[test]
fn template_metrics_default_to_a_one_minute_interval() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 30s
    threshold: 1
    stepWeight: 50
    metrics:
    - name: errors
      templateRef: {name: error-rate}
      thresholdRange: {max: 1}
    - name: latency
      templateRef: {name: latency}
      interval: 2m
      thresholdRange: {max: 1}
"#,
    ));
    h.run_to(Succeeded, 10);
    let intervals: Vec<(&str, &str)> = h
        .world
        .metrics
        .calls
        .iter()
        .map(|call| (call.metric.as_str(), call.interval.as_str()))
        .take(2)
        .collect();
    assert_eq!(intervals, [("errors", "1m"), ("latency", "2m")]);
}

#[test]
fn all_metrics_are_recorded_even_after_one_fails() {
    let mut h = started(common::podinfo());
    h.tick();
    h.tick();
    h.world.metrics.set("request-success-rate", 50.0);
    h.world.metrics.script(
        "request-duration",
        [MetricOutcome::NoData("no values".into())],
    );
    let record = h.tick();
    assert_eq!(record.decision, Decision::CheckFailed);
    assert_eq!(
        record.failed_checks, 1,
        "one failed interval, however many metrics failed"
    );
    assert_eq!(
        record.events,
        [
            "Halt podinfo.test advancement success rate 50.00% < 99%",
            "Halt advancement no values found for istio metric request-duration probably podinfo.test is not receiving traffic: no values",
        ]
    );
    let results: Vec<_> = h
        .status()
        .last_analysis
        .expect("recorded")
        .checks
        .iter()
        .map(|check| check.result)
        .collect();
    assert_eq!(
        results,
        [weir_api::CheckResult::Fail, weir_api::CheckResult::NoData]
    );
}
