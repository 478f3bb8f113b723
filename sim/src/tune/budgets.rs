//! Budgets: what CI holds a Canary's analysis to, and their verdicts.
//!
//! ```yaml
//! maxFalseRollbackRate: 0.01   # healthy releases not promoted
//! maxMissRate: 0.05            # bad releases not rolled back
//! maxBlastRadius: 500          # p95 of failed requests a bad canary served
//! maxTimeToPromote: 30m        # p95, release to promotion of a healthy release
//! maxTimeToDetect: 10m         # p95, release to rollback of a bad release
//! decideOn: estimate           # or upperBound: the 95% interval's far end
//! ```
//!
//! A budget passes when the estimate is within it. With `decideOn:
//! upperBound` it passes only when the whole 95% interval is within it: a
//! stricter gate that needs more runs (0 false rollbacks in 100 runs has an
//! upper bound of 3.7%). Either way the table shows the interval, and flags
//! a pass whose interval reaches past the limit as not yet conclusive.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::score::{ConfigScore, Estimate};
use crate::input::{Checker, Format, InputError};
use crate::report::format::{count, percent, seconds};
use crate::time::Span;

/// The budgets file; see the module docs.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budgets {
    pub max_false_rollback_rate: Option<f64>,
    pub max_miss_rate: Option<f64>,
    pub max_blast_radius: Option<u64>,
    pub max_time_to_promote: Option<Span>,
    pub max_time_to_detect: Option<Span>,
    #[serde(default)]
    pub decide_on: DecideOn,
}

/// Which number a budget is judged on.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum DecideOn {
    #[default]
    Estimate,
    UpperBound,
}

/// One budget's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetResult {
    /// `false rollback rate`, `blast radius p95`, ...
    pub budget: String,
    pub limit: String,
    pub observed: String,
    /// The 95% interval, in words.
    pub interval: String,
    pub passed: bool,
    /// The interval reaches past the limit: more runs would tell.
    pub inconclusive: bool,
}

const FORMAT: Format = Format {
    kind: "Budgets",
    code: "budgets",
    reference: "the README's `weir check` section",
};

/// Reads and checks a budgets file.
pub fn load(path: &Path) -> Result<Budgets, InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        InputError::whole_file(
            &file,
            "budgets.file",
            format!("cannot read the budgets: {error}"),
            "check the path",
        )
    })?;
    parse(&file, &text)
}

/// Parses and checks budgets text.
pub fn parse(file: &str, text: &str) -> Result<Budgets, InputError> {
    let mut checker = Checker::new(file, FORMAT);
    let document = checker.read(text)?;
    let budgets: Budgets = checker.deserialize(&document)?;
    for (field, rate) in [
        ("maxFalseRollbackRate", budgets.max_false_rollback_rate),
        ("maxMissRate", budgets.max_miss_rate),
    ] {
        if let Some(rate) = rate
            && !(0.0..=1.0).contains(&rate)
        {
            checker.error(
                &document.index,
                field,
                format!("{rate} is not a rate"),
                "rates are between 0 and 1: write 0.05 for 5%",
            );
        }
    }
    if budgets.is_empty() {
        checker.error(
            &document.index,
            "",
            "no budget is set".to_owned(),
            "set at least one of maxFalseRollbackRate, maxMissRate, maxBlastRadius, maxTimeToPromote, maxTimeToDetect",
        );
    }
    if checker.has_errors() {
        return Err(checker.into_error(text));
    }
    Ok(budgets)
}

impl Budgets {
    pub fn is_empty(&self) -> bool {
        self.max_false_rollback_rate.is_none()
            && self.max_miss_rate.is_none()
            && self.max_blast_radius.is_none()
            && self.max_time_to_promote.is_none()
            && self.max_time_to_detect.is_none()
    }

    /// Each budget's verdict for `score`, in the file's documented order.
    /// A budget on something the suite cannot measure (a miss rate without
    /// bad scenarios) fails: a gate that cannot look must not pass.
    pub fn evaluate(&self, score: &ConfigScore) -> Vec<BudgetResult> {
        let mut results = Vec::new();
        let strict = self.decide_on == DecideOn::UpperBound;
        let rate = |name: &str, limit: f64, estimate: Option<&Estimate>| match estimate {
            Some(estimate) => {
                let judged = if strict {
                    estimate.upper
                } else {
                    estimate.value
                };
                BudgetResult {
                    budget: name.to_owned(),
                    limit: percent(limit),
                    observed: format!(
                        "{} ({} of {})",
                        percent(estimate.value),
                        estimate.count,
                        estimate.runs
                    ),
                    interval: format!("{}–{}", percent(estimate.lower), percent(estimate.upper)),
                    passed: judged <= limit,
                    inconclusive: judged <= limit && estimate.upper > limit,
                }
            }
            None => unmeasured(name, percent(limit)),
        };
        if let Some(limit) = self.max_false_rollback_rate {
            results.push(rate(
                "false rollback rate",
                limit,
                score.false_rollback.as_ref(),
            ));
        }
        if let Some(limit) = self.max_miss_rate {
            results.push(rate("missed regression rate", limit, score.miss.as_ref()));
        }
        let quantile = |name: &str,
                        limit: f64,
                        shown: &dyn Fn(f64) -> String,
                        estimate: Option<&Estimate>| {
            match estimate {
                Some(estimate) => {
                    let judged = if strict {
                        estimate.upper
                    } else {
                        estimate.value
                    };
                    BudgetResult {
                        budget: name.to_owned(),
                        limit: shown(limit),
                        observed: format!(
                            "{} (over {} runs)",
                            shown(estimate.value),
                            estimate.runs
                        ),
                        interval: format!("{}–{}", shown(estimate.lower), shown(estimate.upper)),
                        passed: judged <= limit,
                        inconclusive: judged <= limit && estimate.upper > limit,
                    }
                }
                None => unmeasured(name, shown(limit)),
            }
        };
        let whole = |value: f64| count(value.round() as u64);
        if let Some(limit) = self.max_blast_radius {
            results.push(quantile(
                "blast radius p95",
                limit as f64,
                &whole,
                score.blast_radius_p95.as_ref(),
            ));
        }
        if let Some(limit) = self.max_time_to_promote {
            results.push(quantile(
                "time to promote p95",
                limit.as_secs_f64(),
                &seconds,
                score.time_to_promote_p95.as_ref(),
            ));
        }
        if let Some(limit) = self.max_time_to_detect {
            results.push(quantile(
                "time to detect p95",
                limit.as_secs_f64(),
                &seconds,
                score.time_to_detect_p95.as_ref(),
            ));
        }
        results
    }
}

impl BudgetResult {
    /// `pass`, `FAIL`, or a pass whose interval still reaches past the limit.
    pub fn verdict(&self) -> &'static str {
        match (self.passed, self.inconclusive) {
            (true, false) => "pass",
            (true, true) => "pass (interval reaches past the limit: more runs would tell)",
            (false, _) => "FAIL",
        }
    }
}

fn unmeasured(name: &str, limit: String) -> BudgetResult {
    BudgetResult {
        budget: name.to_owned(),
        limit,
        observed: "not measured".to_owned(),
        interval: "the suite has no run that measures it".to_owned(),
        passed: false,
        inconclusive: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(false_rollbacks: u64, runs: u64) -> ConfigScore {
        let rate = crate::report::Rate::new(false_rollbacks, runs);
        ConfigScore {
            config: 0,
            false_rollback: Some(Estimate {
                value: rate.value,
                lower: rate.lower,
                upper: rate.upper,
                count: false_rollbacks,
                runs,
            }),
            stalled: 0,
            miss: None,
            time_to_promote: None,
            time_to_promote_p95: None,
            time_to_detect: None,
            time_to_detect_p95: None,
            blast_radius: None,
            blast_radius_p95: None,
            scenarios: Vec::new(),
            pareto: true,
            changes: 0,
            rank: 1,
            budgets: Vec::new(),
        }
    }

    #[test]
    fn an_estimate_within_the_budget_passes_and_says_when_the_interval_is_not_conclusive() {
        let budgets = parse("budgets.yaml", "maxFalseRollbackRate: 0.02\n").expect("valid");
        let verdict = &budgets.evaluate(&score(1, 100))[0];
        assert!(verdict.passed);
        assert!(
            verdict.inconclusive,
            "1 of 100 reaches past 2%: {verdict:?}"
        );
        let verdict = &budgets.evaluate(&score(10, 10_000))[0];
        assert!(verdict.passed && !verdict.inconclusive, "{verdict:?}");
        assert!(!budgets.evaluate(&score(3, 100))[0].passed);
    }

    #[test]
    fn deciding_on_the_upper_bound_needs_enough_runs_to_be_sure() {
        let budgets = parse(
            "budgets.yaml",
            "maxFalseRollbackRate: 0.02\ndecideOn: upperBound\n",
        )
        .expect("valid");
        assert!(!budgets.evaluate(&score(1, 100))[0].passed);
        assert!(budgets.evaluate(&score(10, 10_000))[0].passed);
    }

    #[test]
    fn a_budget_the_suite_cannot_measure_fails() {
        let budgets =
            parse("budgets.yaml", "maxMissRate: 0.1\nmaxTimeToDetect: 10m\n").expect("valid");
        let verdicts = budgets.evaluate(&score(0, 100));
        assert_eq!(verdicts.len(), 2);
        assert!(
            verdicts
                .iter()
                .all(|verdict| !verdict.passed && verdict.observed == "not measured")
        );
    }
}
