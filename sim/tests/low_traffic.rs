//! The low-traffic scenario against the exact calculation.
//!
//! A healthy canary with a 0.5% error rate is judged by Flagger's builtin
//! success rate (min 99%) on about 100 load-test requests per check. With
//! `N ~ Poisson(100)` requests and `K ~ Binomial(N, 0.005)` failures, a check
//! fails when `(N − K)/N < 0.99`, i.e. `K > N/100`, or when `N = 0` (no data
//! is a failed check in Flagger). With threshold 1, a healthy release
//! survives only if every check passes: five blue/green iterations judged on
//! load-test traffic alone, then (as in Flagger) one more check after all
//! users were switched to the canary, on ~1,300 requests, which almost never
//! fails.

use std::path::PathBuf;

use statrs::distribution::{Binomial, Discrete, DiscreteCDF, Poisson};
use weir_sim::record::Verdict;
use weir_sim::{RunOptions, load, run};

/// P(a check fails) for Poisson(`mean`) requests with failure probability `p`.
fn exact_check_failure(mean: f64, p: f64) -> f64 {
    let requests = Poisson::new(mean).expect("poisson");
    let mut failure = requests.pmf(0);
    for n in 1..=(mean * 4.0) as u64 {
        // Fails when more than n/100 requests failed.
        let allowed = n / 100;
        let failures = Binomial::new(p, n).expect("binomial");
        failure += requests.pmf(n) * (1.0 - failures.cdf(allowed));
    }
    failure
}

fn scenario() -> weir_sim::Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/05-low-traffic.yaml");
    load(&path).unwrap_or_else(|error| panic!("{}", error.render(false)))
}

#[test]
fn a_check_on_about_100_requests_fails_as_often_as_the_binomial_calculation_says() {
    let scenario = scenario();
    let per_minute = 1.6667 * 60.0;
    let exact_check = exact_check_failure(per_minute, 0.005);
    // 20 rps of users plus the load test, for the minute after the switch.
    let switched_check = exact_check_failure(20.0 * 60.0 + per_minute, 0.005);
    let exact_rollback = 1.0 - (1.0 - exact_check).powi(5) * (1.0 - switched_check);
    // The figures: about 23% per check, about 70% of releases.
    assert!(
        (0.21..0.25).contains(&exact_check),
        "exact per check: {exact_check}"
    );
    assert!(
        (0.68..0.76).contains(&exact_rollback),
        "exact rollback: {exact_rollback}"
    );

    let runs = 2_000;
    let (mut checks, mut failed_checks, mut rollbacks) = (0_u32, 0_u32, 0_u32);
    for seed in 0..runs {
        let record = run(&scenario, seed, RunOptions { detail: false });
        // The five iterations' checks; the sixth follows the switch.
        for check in record.checks.iter().take(5) {
            checks += 1;
            failed_checks += u32::from(!check.passed);
        }
        rollbacks += u32::from(record.outcome.verdict == Verdict::RolledBack);
    }
    let simulated_check = f64::from(failed_checks) / f64::from(checks);
    let simulated_rollback = f64::from(rollbacks) / runs as f64;
    // Four standard errors: a false alarm about once in 15,000 runs of this test.
    let check_error = 4.0 * (exact_check * (1.0 - exact_check) / f64::from(checks)).sqrt();
    let rollback_error = 4.0 * (exact_rollback * (1.0 - exact_rollback) / runs as f64).sqrt();
    println!(
        "per check: exact {exact_check:.4}, simulated {simulated_check:.4} ({checks} checks)\n\
         rollback:  exact {exact_rollback:.4}, simulated {simulated_rollback:.4} ({runs} runs)"
    );
    assert!(
        (simulated_check - exact_check).abs() < check_error,
        "per check: exact {exact_check:.4}, simulated {simulated_check:.4} ± {check_error:.4}"
    );
    assert!(
        (simulated_rollback - exact_rollback).abs() < rollback_error,
        "rollback: exact {exact_rollback:.4}, simulated {simulated_rollback:.4} ± {rollback_error:.4}"
    );
}
