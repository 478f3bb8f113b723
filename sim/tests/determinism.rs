//! Same scenario, same seed: byte-identical outputs. Different seeds: different runs.

use std::path::PathBuf;

use weir_sim::report::{RunSummary, write_run, write_runs};
use weir_sim::{RunOptions, load, run};

mod common;
use common::files;

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("weir-determinism-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

#[test]
fn the_same_seed_writes_byte_identical_reports() {
    // Session affinity exercises the most randomness: cookies, classes, spikes.
    let scenario = load(&scenarios().join("10-session-affinity.yaml"))
        .unwrap_or_else(|error| panic!("{}", error.render(false)));
    let (first, second) = (scratch("first"), scratch("second"));
    for directory in [&first, &second] {
        let record = run(&scenario, 42, RunOptions { detail: true });
        write_run(&record, directory).expect("reports");
        let summaries: Vec<RunSummary> = (0..5)
            .map(|seed| {
                RunSummary::from_record(&run(&scenario, seed, RunOptions { detail: false }))
            })
            .collect();
        write_runs(&scenario.name, &summaries, directory).expect("run reports");
    }
    let (first_files, second_files) = (files(&first), files(&second));
    let names: Vec<&str> = first_files.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "timeline.png",
        "timeline.svg",
        "events.log",
        "summary.json",
        "summary.md",
        "runs.json",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    for ((name, a), (_, b)) in first_files.iter().zip(&second_files) {
        assert!(a == b, "{name} differs between two runs with seed 42");
    }
    let _ = std::fs::remove_dir_all(first);
    let _ = std::fs::remove_dir_all(second);
}

#[test]
fn different_seeds_give_different_traffic() {
    let scenario = load(&scenarios().join("01-healthy-canary.yaml"))
        .unwrap_or_else(|error| panic!("{}", error.render(false)));
    let a = run(&scenario, 1, RunOptions { detail: true });
    let b = run(&scenario, 2, RunOptions { detail: true });
    assert_ne!(a.traffic, b.traffic);
    assert_eq!(a.outcome.verdict, b.outcome.verdict);
}

#[test]
fn every_scenario_in_the_library_loads() {
    let mut count = 0;
    for entry in std::fs::read_dir(scenarios()).expect("scenarios") {
        let path = entry.expect("entry").path();
        if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            load(&path).unwrap_or_else(|error| panic!("{}", error.render(false)));
            count += 1;
        }
    }
    assert!(count >= 15, "only {count} scenarios");
}
