//! `weir tune`'s guarantees, end to end on a small sweep of the example
//! tuning suite: the same bytes whatever the threads or shards, an
//! interrupted sweep that keeps its finished units and resumes, and
//! budgets that tell a good config from a bad one.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use weir_sim::scenario::{load_canary, load_with};
use weir_sim::tune::{Results, ResultsError, Shard, Sweep, budgets, report, space};

mod common;
use common::files;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Two healthy and two bad scenarios, with `canary` released in each.
fn sweep(canary: &str, space_text: &str, runs: u32) -> Sweep {
    let canary_path = repository().join(canary);
    let canary = load_canary(&canary_path).expect("the Canary loads");
    let space = space::parse("space.yaml", space_text, &canary).expect("the space is valid");
    let scenarios = [
        "01-steady",
        "05-warmup-errors",
        "09-error-regression",
        "14-intermittent-errors",
    ]
    .iter()
    .map(|name| {
        let path = repository().join(format!("scenarios/tuning/suite/{name}.yaml"));
        load_with(&path, Some(&canary_path)).expect("the scenario loads")
    })
    .collect();
    Sweep::new(canary, space, scenarios, runs).expect("the sweep is valid")
}

const SPACE: &str = "threshold: [1, 5]\nmetrics:\n  request-success-rate: {min: [99, 99.9]}\n";

fn threads(count: usize) -> NonZeroUsize {
    NonZeroUsize::new(count).expect("positive")
}

fn run(sweep: &Sweep, shard: Option<Shard>, count: usize) -> Results {
    sweep.run(
        shard,
        None,
        threads(count),
        &AtomicBool::new(false),
        &|_| {},
    )
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("weir-tune-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

#[test]
fn sharded_runs_merged_write_the_same_bytes_as_one_machine_whatever_the_threads() {
    let sweep = sweep("scenarios/canaries/podinfo.yaml", SPACE, 6);
    let whole = run(&sweep, None, 2);
    assert_eq!(whole, run(&sweep, None, 1), "threads changed the results");
    assert!(whole.missing().is_empty());

    let shards: Vec<(String, Results)> = (0..3)
        .map(|index| {
            let shard = Shard { index, count: 3 };
            let results = run(&sweep, Some(shard), 1 + index as usize % 2);
            // Through the file format, as a Job's pods would hand them over.
            let text = results.to_json();
            let path = scratch(&format!("shard-{index}.json"));
            std::fs::write(&path, text).expect("writable");
            let read = Results::read(&path).expect("readable");
            let _ = std::fs::remove_file(&path);
            (format!("shard {index}"), read)
        })
        .collect();
    assert!(shards.iter().all(|(_, shard)| shard.missing().is_empty()));
    let merged = Results::merge(shards).expect("shards of one sweep merge");

    let (single, combined) = (scratch("single"), scratch("merged"));
    report::write(&whole, None, &single).expect("report");
    report::write(&merged, None, &combined).expect("report");
    let (single_files, merged_files) = (files(&single), files(&combined));
    assert!(
        single_files.len() >= 10,
        "{:?}",
        single_files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(
        single_files.iter().map(|f| &f.0).collect::<Vec<_>>(),
        merged_files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, single), (_, merged)) in single_files.iter().zip(&merged_files) {
        assert!(
            single == merged,
            "{name} differs between the single and the merged run"
        );
    }
    let _ = std::fs::remove_dir_all(&single);
    let _ = std::fs::remove_dir_all(&combined);
}

#[test]
fn an_interrupted_sweep_keeps_its_finished_units_says_what_is_missing_and_resumes() {
    let sweep = sweep("scenarios/canaries/podinfo.yaml", SPACE, 4);
    let stop = AtomicBool::new(false);
    let finished = AtomicUsize::new(0);
    // Ctrl-C after three units: the threads finish what they hold and stop.
    let partial = sweep.run(None, None, threads(1), &stop, &|_| {
        if finished.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
            stop.store(true, Ordering::SeqCst);
        }
    });
    assert_eq!(partial.units.len(), 3);
    assert_eq!(partial.missing().len(), sweep.units(None).len() - 3);

    let directory = scratch("partial");
    let findings = report::write(&partial, None, &directory).expect("report");
    assert!(
        findings.ranked.is_empty(),
        "a config missing scenarios was ranked"
    );
    let markdown = std::fs::read_to_string(directory.join("tune.md")).expect("tune.md");
    assert!(
        markdown.contains("## Incomplete: 13 of 16 units did not run"),
        "{markdown}"
    );
    assert!(markdown.contains("--resume"));
    let _ = std::fs::remove_dir_all(&directory);

    let resumed = sweep.run(
        None,
        Some(&partial),
        threads(2),
        &AtomicBool::new(false),
        &|_| {},
    );
    assert_eq!(resumed, run(&sweep, None, 2));
}

#[test]
fn shards_of_different_sweeps_refuse_to_merge() {
    let few = run(&sweep("scenarios/canaries/podinfo.yaml", SPACE, 2), None, 2);
    let more = run(&sweep("scenarios/canaries/podinfo.yaml", SPACE, 3), None, 2);
    let error = Results::merge(vec![
        ("a.json".to_owned(), few.clone()),
        ("b.json".to_owned(), more),
    ])
    .expect_err("different run counts");
    assert!(
        matches!(
            error,
            ResultsError::Mismatch {
                what: "number of runs",
                ..
            }
        ),
        "{error}"
    );
    let other_canary = run(
        &sweep(
            "scenarios/tuning/canaries/lax.yaml",
            "threshold: [1, 5]\n",
            2,
        ),
        None,
        2,
    );
    let error = Results::merge(vec![
        ("a.json".to_owned(), few),
        ("c.json".to_owned(), other_canary),
    ])
    .expect_err("different Canaries");
    assert!(
        error
            .to_string()
            .contains("c.json comes from a different sweep: its Canary differs"),
        "{error}"
    );
}

#[test]
fn budgets_pass_the_podinfo_config_and_fail_a_trigger_happy_one() {
    let budgets = budgets::parse(
        "budgets.yaml",
        "maxFalseRollbackRate: 0.05\nmaxMissRate: 0.6\nmaxTimeToPromote: 30m\n",
    )
    .expect("valid budgets");
    let verdicts = |canary: &str, space: &str| {
        let sweep = sweep(canary, space, 20);
        let results = run(&sweep, None, 2);
        let scores = weir_sim::tune::score(&results, Some(&budgets));
        scores[0].budgets.clone()
    };
    let good = verdicts("scenarios/canaries/podinfo.yaml", "threshold: [5]\n");
    assert!(good.iter().all(|verdict| verdict.passed), "{good:#?}");
    // Its own threshold of 1 rolls back every warm-up.
    let bad = verdicts(
        "scenarios/tuning/canaries/trigger-happy.yaml",
        "threshold: [1]\n",
    );
    let false_rollbacks = &bad[0];
    assert_eq!(false_rollbacks.budget, "false rollback rate");
    assert!(!false_rollbacks.passed, "{bad:#?}");
}
