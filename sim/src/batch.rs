//! Many runs of a scenario, on all cores, and their expectations.
//!
//! Run `i` uses seed `scenario seed + i`; results are collected by index, so
//! the outcome list is the same whatever the number of threads.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use weir_api::CanaryPhase;

use crate::record::Verdict;
use crate::report::format::{percent, seconds};
use crate::report::{ExpectationResult, RunSummary, wilson_interval};
use crate::run::{RunOptions, run};
use crate::scenario::{Expectations, RateBounds, Scenario};

/// The seed of run `index` of a scenario.
pub fn run_seed(scenario_seed: u64, index: u32) -> u64 {
    scenario_seed.wrapping_add(u64::from(index))
}

/// Runs `runs` seeds of `scenario` without detail (summaries only), on `threads` threads,
/// calling `progress` after each run.
pub fn outcomes(
    scenario: &Scenario,
    seed: u64,
    runs: u32,
    threads: NonZeroUsize,
    progress: &(dyn Fn() + Sync),
) -> Vec<RunSummary> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RunSummary>>> = Mutex::new(vec![None; runs as usize]);
    let options = RunOptions { detail: false };
    std::thread::scope(|scope| {
        for _ in 0..threads.get().min(runs.max(1) as usize) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= runs as usize {
                        break;
                    }
                    let record = run(scenario, run_seed(seed, index as u32), options);
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(RunSummary::from_record(&record));
                    }
                    progress();
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// The threads to use: all cores.
pub fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Checks the scenario's expectations against the outcomes of its runs.
pub fn check(expect: &Expectations, outcomes: &[RunSummary]) -> Vec<ExpectationResult> {
    let mut results = Vec::new();
    let runs = outcomes.len();
    let count = |verdict: Verdict| {
        outcomes
            .iter()
            .filter(|outcome| outcome.verdict == verdict)
            .count()
    };
    if let Some(expected) = expect.outcome {
        let matching = outcomes
            .iter()
            .filter(|outcome| {
                outcome.final_phase == expected && outcome.verdict != Verdict::Undecided
            })
            .count();
        let observed = if runs == 1 {
            let outcome = &outcomes[0];
            match outcome.verdict {
                Verdict::Undecided => {
                    format!("undecided ({})", CanaryPhase::as_str(outcome.final_phase))
                }
                _ => CanaryPhase::as_str(outcome.final_phase).to_owned(),
            }
        } else {
            format!("{matching} of {runs} runs")
        };
        results.push(ExpectationResult {
            expectation: format!("outcome is {}", CanaryPhase::as_str(expected)),
            passed: runs > 0 && matching == runs,
            observed,
        });
    }
    if let Some(within) = expect.within {
        let slowest = outcomes
            .iter()
            .map(|outcome| outcome.time_to_decision)
            .max_by(|a, b| {
                a.unwrap_or(f64::INFINITY)
                    .total_cmp(&b.unwrap_or(f64::INFINITY))
            });
        let passed = outcomes.iter().all(|outcome| {
            outcome
                .time_to_decision
                .is_some_and(|time| time <= within.0.as_secs_f64())
        });
        results.push(ExpectationResult {
            expectation: format!("decided within {within}"),
            passed: runs > 0 && passed,
            observed: match slowest.flatten() {
                Some(time) if passed => format!("slowest decision after {}", seconds(time)),
                Some(time) => format!("a decision took {}", seconds(time)),
                None => "a run never decided".to_owned(),
            },
        });
    }
    if let Some(limit) = expect.max_blast_radius {
        let worst = outcomes
            .iter()
            .map(|outcome| outcome.blast_radius)
            .max()
            .unwrap_or(0);
        results.push(ExpectationResult {
            expectation: format!("at most {limit} failed user requests served by the canary"),
            passed: worst <= limit,
            observed: format!("worst run: {worst}"),
        });
    }
    for (name, verdict, bounds) in [
        ("rollback rate", Verdict::RolledBack, expect.rollback_rate),
        ("promotion rate", Verdict::Promoted, expect.promote_rate),
    ] {
        if let Some(bounds) = bounds {
            results.push(rate_expectation(name, count(verdict), runs, bounds));
        }
    }
    results
}

/// A rate bound holds when the observed rate is within it. The Wilson
/// interval is shown so that a reader can tell noise from a real miss.
fn rate_expectation(name: &str, hits: usize, runs: usize, bounds: RateBounds) -> ExpectationResult {
    let rate = if runs == 0 {
        0.0
    } else {
        hits as f64 / runs as f64
    };
    let (low, high) = wilson_interval(hits as u64, runs as u64, 1.96);
    let passed = runs > 0
        && bounds.min.is_none_or(|min| rate >= min)
        && bounds.max.is_none_or(|max| rate <= max);
    let expectation = match (bounds.min, bounds.max) {
        (Some(min), Some(max)) => format!("{name} between {} and {}", percent(min), percent(max)),
        (Some(min), None) => format!("{name} at least {}", percent(min)),
        (None, Some(max)) => format!("{name} at most {}", percent(max)),
        (None, None) => format!("{name} (no bound)"),
    };
    ExpectationResult {
        expectation,
        passed,
        observed: format!(
            "{} ({hits} of {runs} runs; 95% CI {}–{})",
            percent(rate),
            percent(low),
            percent(high)
        ),
    }
}
