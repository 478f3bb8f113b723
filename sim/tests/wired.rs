//! Wired runs reach the in-process run's outcome for the same seed: the
//! engine talking HTTP to the fake Prometheus, webhook receiver and alert
//! sink decides exactly as it does against the simulator's own ports.

use std::path::Path;

use weir_sim::record::RunRecord;
use weir_sim::{RunOptions, WiredOptions, run, run_wired};

fn scenario(name: &str) -> weir_sim::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name);
    weir_sim::load(&path).unwrap_or_else(|error| panic!("{name}: {}", error.render(false)))
}

/// The decisions a run made, tick by tick, and how it ended.
fn decisions(record: &RunRecord) -> Vec<String> {
    record
        .ticks
        .iter()
        .map(|tick| {
            format!(
                "{} {:?} {:?} weight {} failed {}",
                tick.at.0.as_secs(),
                tick.decision,
                tick.phase,
                tick.canary_weight,
                tick.failed_checks
            )
        })
        .collect()
}

fn assert_same_outcome(name: &str) -> weir_sim::WiredTraffic {
    let scenario = scenario(name);
    let options = RunOptions { detail: true };
    let in_process = run(&scenario, scenario.seed, options);
    let (wired, traffic) = run_wired(
        &scenario,
        scenario.seed,
        options,
        WiredOptions { speed: None },
    )
    .unwrap_or_else(|error| panic!("{name}: {error}"));
    assert_eq!(
        decisions(&wired),
        decisions(&in_process),
        "{name}: the wired run decided differently"
    );
    assert_eq!(wired.outcome.verdict, in_process.outcome.verdict, "{name}");
    assert_eq!(
        wired.outcome.decided_at, in_process.outcome.decided_at,
        "{name}"
    );
    traffic
}

#[test]
fn an_error_regression_is_rolled_back_over_the_wire_as_in_process() {
    let traffic = assert_same_outcome("02-error-regression.yaml");
    assert!(traffic.queries > 0, "{traffic:?}");
}

#[test]
fn a_latency_regression_is_judged_by_the_same_p99_over_the_wire() {
    assert_same_outcome("03-latency-regression.yaml");
}

#[test]
fn a_template_metric_is_answered_through_its_rendered_query() {
    assert_same_outcome("04-memory-leak.yaml");
}

#[test]
fn a_flaky_metrics_provider_fails_the_same_checks_over_the_wire() {
    assert_same_outcome("12-flaky-metrics-provider.yaml");
}

#[test]
fn a_manual_approval_gate_holds_the_canary_over_the_wire() {
    let traffic = assert_same_outcome("13-manual-approval.yaml");
    assert!(traffic.webhook_calls > 0, "{traffic:?}");
}

#[test]
fn every_scenario_of_the_library_decides_the_same_over_the_wire() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&directory)
        .expect("the scenario library")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        assert_same_outcome(&name);
    }
}
