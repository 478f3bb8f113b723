//! Many runs of one scenario in numbers: [`Aggregate`], `runs.json` and
//! `runs.md`.
//!
//! Rates come with Wilson score intervals: with 1,000 runs a 2% rollback
//! rate could be 1.3% or 3.1%, and a budget like "rollbackRate ≤ 0.05"
//! should be read against that. Quantiles interpolate linearly between
//! order statistics (numpy's default, R's type 7), so the median of
//! `[1, 2, 3, 4]` is 2.5.
//!
//! `runs.md` reads top to bottom:
//!
//! ```text
//!   # scenario: N runs
//!   **headline: the most common outcome, its rate and interval**
//!   | outcomes |            promoted / rolled back / undecided, rate, Wilson 95%
//!   | time to decision |    median, p95, max; all decided runs, then by verdict
//!   | blast radius |        median, p95, max, mean failed canary requests
//!   | rollback causes |     which check failed most, per rolled-back run
//!   | worst runs |          seeds with the largest blast radius, to replay
//! ```

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::format;
use super::summary::{RunSummary, verdict_words};
use crate::record::Verdict;

/// `z` for a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval for `successes` out of `trials` at `z`
/// (`(0, 1)` without trials). Unlike the normal approximation it stays
/// inside `[0, 1]` and is honest at 0 or all successes: 0 of 10 gives
/// `(0, 0.278)`, not `(0, 0)`.
pub fn wilson_interval(successes: u64, trials: u64, z: f64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half_width = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    // At 0 or all successes one bound is exactly 0 or 1; rounding would
    // leave it a hair off.
    let lower = if successes == 0 {
        0.0
    } else {
        (centre - half_width).clamp(0.0, 1.0)
    };
    let upper = if successes >= trials {
        1.0
    } else {
        (centre + half_width).clamp(0.0, 1.0)
    };
    (lower, upper)
}

/// The `q` quantile (0 ≤ q ≤ 1) of `sorted`, which must be in ascending
/// order, interpolating linearly between neighbours; `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    // `position` is within `0..=last`, so both casts are exact.
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// How often an outcome happened, with its Wilson 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rate {
    pub count: u64,
    /// `count / runs`, 0 without runs.
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

impl Rate {
    pub fn new(count: u64, runs: u64) -> Rate {
        let (lower, upper) = wilson_interval(count, runs, Z_95);
        Rate {
            count,
            value: if runs == 0 {
                0.0
            } else {
                count as f64 / runs as f64
            },
            lower,
            upper,
        }
    }
}

/// The spread of a quantity over runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quantiles {
    /// Runs that had the quantity.
    pub count: u64,
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
}

impl Quantiles {
    /// The quantiles of `values` (any order; non-finite values are
    /// dropped), or `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Quantiles> {
        let mut sorted: Vec<f64> = values
            .into_iter()
            .filter(|value| value.is_finite())
            .collect();
        sorted.sort_by(f64::total_cmp);
        Some(Quantiles {
            count: sorted.len() as u64,
            min: *sorted.first()?,
            median: quantile(&sorted, 0.5)?,
            p95: quantile(&sorted, 0.95)?,
            max: *sorted.last()?,
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        })
    }
}

/// Many runs of one scenario, in numbers. Times are seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aggregate {
    pub runs: u64,
    pub promote_rate: Rate,
    pub rollback_rate: Rate,
    pub undecided_rate: Rate,
    /// From release to decision, over the runs that decided.
    pub time_to_decision: Option<Quantiles>,
    pub time_to_promotion: Option<Quantiles>,
    pub time_to_rollback: Option<Quantiles>,
    /// Failed user requests the canary answered, over every run.
    pub blast_radius: Option<Quantiles>,
    /// Failed checks per run, over every run.
    pub failed_checks: Option<Quantiles>,
}

impl Aggregate {
    /// The names [`Aggregate::value`] knows, for error messages.
    pub const VALUE_NAMES: &'static [&'static str] = &[
        "runs",
        "promoted",
        "rolledBack",
        "undecided",
        "promoteRate",
        "rollbackRate",
        "undecidedRate",
        "promoteRate.lower",
        "promoteRate.upper",
        "rollbackRate.lower",
        "rollbackRate.upper",
        "undecidedRate.lower",
        "undecidedRate.upper",
        "timeToDecision.<statistic>",
        "timeToPromotion.<statistic>",
        "timeToRollback.<statistic>",
        "blastRadius.<statistic>",
        "failedChecks.<statistic>",
    ];

    pub fn from_summaries(summaries: &[RunSummary]) -> Aggregate {
        let runs = summaries.len() as u64;
        let count = |verdict: Verdict| {
            summaries
                .iter()
                .filter(|summary| summary.verdict == verdict)
                .count() as u64
        };
        let times = |verdict: Option<Verdict>| {
            Quantiles::of(
                summaries
                    .iter()
                    .filter(|summary| match verdict {
                        Some(verdict) => summary.verdict == verdict,
                        None => summary.verdict != Verdict::Undecided,
                    })
                    .filter_map(|summary| summary.time_to_decision),
            )
        };
        Aggregate {
            runs,
            promote_rate: Rate::new(count(Verdict::Promoted), runs),
            rollback_rate: Rate::new(count(Verdict::RolledBack), runs),
            undecided_rate: Rate::new(count(Verdict::Undecided), runs),
            time_to_decision: times(None),
            time_to_promotion: times(Some(Verdict::Promoted)),
            time_to_rollback: times(Some(Verdict::RolledBack)),
            blast_radius: Quantiles::of(
                summaries.iter().map(|summary| summary.blast_radius as f64),
            ),
            failed_checks: Quantiles::of(
                summaries
                    .iter()
                    .map(|summary| summary.failed_checks.len() as f64),
            ),
        }
    }

    /// A number by its JSON name, for budgets like `rollbackRate ≤ 0.1`:
    /// `rollbackRate`, `rollbackRate.upper`, `timeToDecision.p95`,
    /// `blastRadius.max`, ... (see [`Aggregate::VALUE_NAMES`]; statistics
    /// are `count`, `min`, `median`, `p95`, `max`, `mean`). `None` for an
    /// unknown name or a quantity no run had.
    pub fn value(&self, name: &str) -> Option<f64> {
        let (head, statistic) = match name.split_once('.') {
            Some((head, statistic)) => (head, Some(statistic)),
            None => (name, None),
        };
        let rate = |rate: &Rate| match statistic {
            None => Some(rate.value),
            Some("lower") => Some(rate.lower),
            Some("upper") => Some(rate.upper),
            Some("count") => Some(rate.count as f64),
            Some(_) => None,
        };
        let spread = |quantiles: &Option<Quantiles>| {
            let quantiles = quantiles.as_ref()?;
            match statistic? {
                "count" => Some(quantiles.count as f64),
                "min" => Some(quantiles.min),
                "median" => Some(quantiles.median),
                "p95" => Some(quantiles.p95),
                "max" => Some(quantiles.max),
                "mean" => Some(quantiles.mean),
                _ => None,
            }
        };
        match (head, statistic) {
            ("runs", None) => Some(self.runs as f64),
            ("promoted", None) => Some(self.promote_rate.count as f64),
            ("rolledBack", None) => Some(self.rollback_rate.count as f64),
            ("undecided", None) => Some(self.undecided_rate.count as f64),
            ("promoteRate", _) => rate(&self.promote_rate),
            ("rollbackRate", _) => rate(&self.rollback_rate),
            ("undecidedRate", _) => rate(&self.undecided_rate),
            ("timeToDecision", _) => spread(&self.time_to_decision),
            ("timeToPromotion", _) => spread(&self.time_to_promotion),
            ("timeToRollback", _) => spread(&self.time_to_rollback),
            ("blastRadius", _) => spread(&self.blast_radius),
            ("failedChecks", _) => spread(&self.failed_checks),
            _ => None,
        }
    }

    /// The rates in a fixed order, with their verdicts.
    pub(super) fn outcomes(&self) -> [(Verdict, Rate); 3] {
        [
            (Verdict::Promoted, self.promote_rate),
            (Verdict::RolledBack, self.rollback_rate),
            (Verdict::Undecided, self.undecided_rate),
        ]
    }
}

/// `runs.json`: the scenario, the aggregate and every run's summary.
#[derive(Debug, Serialize)]
pub(super) struct RunsDocument<'a> {
    pub(super) scenario: &'a str,
    pub(super) aggregate: &'a Aggregate,
    pub(super) runs: &'a [RunSummary],
}

/// How many of the worst runs `runs.md` lists.
const WORST_RUNS: usize = 10;

/// `runs.md`: outcome rates with intervals, times, blast radius, what made
/// runs roll back and the seeds of the worst runs.
pub fn runs_markdown(scenario: &str, summaries: &[RunSummary], aggregate: &Aggregate) -> String {
    let runs = aggregate.runs;
    let mut markdown = format!("# {scenario}: {} runs\n\n", format::count(runs));
    if runs == 0 {
        markdown.push_str("No runs.\n");
        return markdown;
    }

    // The headline names the most common outcome (the first one on ties).
    let mut common = aggregate.outcomes()[0];
    for outcome in aggregate.outcomes() {
        if outcome.1.count > common.1.count {
            common = outcome;
        }
    }
    let (verdict, rate) = common;
    let _ = write!(
        markdown,
        "**{} in {} of {} runs ({}, 95% interval {}–{})",
        capitalised(verdict_words(verdict)),
        format::count(rate.count),
        format::count(runs),
        format::percent(rate.value),
        format::percent(rate.lower),
        format::percent(rate.upper),
    );
    if let Some(times) = &aggregate.time_to_decision {
        let _ = write!(
            markdown,
            "; median time to decision {}",
            format::seconds(times.median)
        );
    }
    markdown.push_str(".**\n\n");

    markdown.push_str(
        "## Outcomes\n\n| Outcome | Runs | Rate | 95% interval (Wilson) |\n|---|--:|--:|--:|\n",
    );
    for (verdict, rate) in aggregate.outcomes() {
        let _ = writeln!(
            markdown,
            "| {} | {} | {} | {} – {} |",
            verdict_words(verdict),
            format::count(rate.count),
            format::percent(rate.value),
            format::percent(rate.lower),
            format::percent(rate.upper),
        );
    }

    markdown.push_str(
        "\n## Time to decision\n\nFrom the release to the promotion or rollback.\n\n| Runs | Count | Median | p95 | Max |\n|---|--:|--:|--:|--:|\n",
    );
    for (label, times) in [
        ("decided", &aggregate.time_to_decision),
        ("promoted", &aggregate.time_to_promotion),
        ("rolled back", &aggregate.time_to_rollback),
    ] {
        let _ = match times {
            Some(times) => writeln!(
                markdown,
                "| {label} | {} | {} | {} | {} |",
                format::count(times.count),
                format::seconds(times.median),
                format::seconds(times.p95),
                format::seconds(times.max),
            ),
            None => writeln!(markdown, "| {label} | 0 | — | — | — |"),
        };
    }

    markdown.push_str(
        "\n## Blast radius\n\nFailed user requests the canary answered, per run.\n\n| Median | p95 | Max | Mean |\n|--:|--:|--:|--:|\n",
    );
    if let Some(blast) = &aggregate.blast_radius {
        let _ = writeln!(
            markdown,
            "| {} | {} | {} | {} |",
            format::number(blast.median),
            format::number(blast.p95),
            format::number(blast.max),
            format::number(blast.mean),
        );
    }

    let causes = rollback_causes(summaries);
    if !causes.is_empty() {
        markdown.push_str(
            "\n## Rollback causes\n\nThe check that failed most in each rolled-back run.\n\n| Check | Runs |\n|---|--:|\n",
        );
        for (cause, count) in causes {
            let _ = writeln!(
                markdown,
                "| {} | {} |",
                format::markdown_cell(&cause),
                format::count(count)
            );
        }
    }

    let mut worst: Vec<&RunSummary> = summaries.iter().collect();
    // Largest blast radius first; seeds break ties so the order is stable.
    worst.sort_by(|left, right| {
        right
            .blast_radius
            .cmp(&left.blast_radius)
            .then(left.seed.cmp(&right.seed))
    });
    markdown.push_str(
        "\n## Runs with the largest blast radius\n\nReplay one with its seed.\n\n| Seed | Verdict | Blast radius | What happened |\n|--:|---|--:|---|\n",
    );
    for summary in worst.into_iter().take(WORST_RUNS) {
        let _ = writeln!(
            markdown,
            "| {} | {} | {} | {} |",
            summary.seed,
            verdict_words(summary.verdict),
            format::count(summary.blast_radius),
            format::markdown_cell(&summary.headline()),
        );
    }

    markdown.push_str(
        "\n## Files\n\n\
         - [distribution.png](distribution.png) ([SVG](distribution.svg)): outcomes, time to decision, blast radius\n\
         - [runs.json](runs.json): every run's summary and these numbers\n\n\
         ![Distribution of outcomes](distribution.png)\n",
    );
    markdown
}

/// Per rolled-back run, the check that failed most (the first on ties;
/// the rollback reason when no check failed); most common first.
fn rollback_causes(summaries: &[RunSummary]) -> Vec<(String, u64)> {
    let mut causes: Vec<(String, u64)> = Vec::new();
    for summary in summaries
        .iter()
        .filter(|summary| summary.verdict == Verdict::RolledBack)
    {
        let cause = main_failing_check(summary)
            .or_else(|| summary.rollback_reason.clone())
            .unwrap_or_else(|| "no reason recorded".to_owned());
        match causes.iter_mut().find(|(name, _)| *name == cause) {
            Some((_, count)) => *count += 1,
            None => causes.push((cause, 1)),
        }
    }
    // A stable sort keeps first-seen order among equal counts.
    causes.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    causes
}

fn main_failing_check(summary: &RunSummary) -> Option<String> {
    let mut counts: Vec<(&str, u64)> = Vec::new();
    for failed in &summary.failed_checks {
        match counts.iter_mut().find(|(name, _)| *name == failed.check) {
            Some((_, count)) => *count += 1,
            None => counts.push((&failed.check, 1)),
        }
    }
    let mut best: Option<(&str, u64)> = None;
    for candidate in counts {
        if candidate.1 > best.map_or(0, |best| best.1) {
            best = Some(candidate);
        }
    }
    best.map(|(name, _)| name.to_owned())
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 0.0005
    }

    #[test]
    fn wilson_intervals_match_published_values() {
        let (lower, upper) = wilson_interval(0, 10, Z_95);
        assert_eq!(lower, 0.0);
        assert!(close(upper, 0.2775), "{upper}");
        let (lower, upper) = wilson_interval(5, 10, Z_95);
        assert!(
            close(lower, 0.2366) && close(upper, 0.7634),
            "{lower} {upper}"
        );
        let (lower, upper) = wilson_interval(10, 10, Z_95);
        assert!(close(lower, 0.7225) && upper == 1.0, "{lower} {upper}");
        assert_eq!(wilson_interval(0, 0, Z_95), (0.0, 1.0));
    }

    #[test]
    fn quantiles_interpolate_between_neighbours() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[7.0], 0.95), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
        let spread = Quantiles::of((1..=100).map(f64::from)).expect("values");
        assert!(close(spread.p95, 95.05), "{}", spread.p95);
        assert_eq!((spread.min, spread.max, spread.median), (1.0, 100.0, 50.5));
    }
}
