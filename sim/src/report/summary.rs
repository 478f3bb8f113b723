//! One run in numbers: [`RunSummary`], its one-sentence headline and
//! `summary.md`.
//!
//! A summary is small (a few hundred bytes plus one line per failed check),
//! so a Monte-Carlo batch keeps every run's summary in memory and
//! aggregates them afterwards. Times are seconds since the start, so JSON
//! consumers need no duration parser.
//!
//! `summary.md` reads top to bottom:
//!
//! ```text
//!   # scenario: canary, seed
//!   **headline: verdict, after how long, why, how many users were hurt**
//!   | key numbers |            verdict, phase, times, requests, blast radius
//!   | metrics |                bounds, checks, failures, worst and mean readings
//!   | failed checks |          when, which, why
//!   files                      timeline.png/svg, events.log, summary.json
//! ```

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use weir_api::CanaryPhase;

use super::format;
use crate::record::{Reading, RunRecord, Verdict};

/// One run, summarised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub scenario: String,
    pub seed: u64,
    /// `<name>.<namespace>` of the Canary.
    pub canary: String,
    pub verdict: Verdict,
    pub final_phase: CanaryPhase,
    /// Why the engine rolled back, in words.
    pub rollback_reason: Option<String>,
    /// Seconds from the start to the release of the revision finally judged.
    pub released_at: Option<f64>,
    /// Seconds from the start to the promotion or rollback.
    pub decided_at: Option<f64>,
    /// Seconds from the release to the decision.
    pub time_to_decision: Option<f64>,
    /// Seconds the simulation ran.
    pub duration: f64,
    /// The canary's weight after the last tick, and the highest it reached.
    pub final_canary_weight: i32,
    pub max_canary_weight: i32,
    /// User requests the canary answered.
    pub canary_requests: u64,
    /// Failed user requests the canary answered: the users a bad release hurt.
    pub blast_radius: u64,
    /// User requests the primary answered, and how many failed.
    pub primary_requests: u64,
    pub primary_failures: u64,
    pub mirrored_requests: u64,
    /// Synthetic load-test requests sent to the canary.
    pub test_requests: u64,
    pub failed_checks: Vec<FailedCheckSummary>,
    /// One per metric, in the Canary's order.
    pub metrics: Vec<MetricSummary>,
}

/// A failed check: when, which metric or webhook, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedCheckSummary {
    /// Seconds since the start.
    pub at: f64,
    pub check: String,
    pub reason: String,
}

/// What one metric read over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSummary {
    pub name: String,
    pub unit: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Analysed intervals that queried the metric, and how many failed.
    pub checks: u32,
    pub failed: u32,
    /// Canary readings that had no data or a provider error.
    pub no_data: u32,
    pub errors: u32,
    /// The canary reading closest to (or furthest beyond) a bound; `None`
    /// without bounds or values.
    pub worst_canary: Option<f64>,
    pub mean_canary: Option<f64>,
    /// The primary's reading by the same rule, for comparison.
    pub worst_primary: Option<f64>,
    pub mean_primary: Option<f64>,
}

impl From<&RunRecord> for RunSummary {
    fn from(record: &RunRecord) -> RunSummary {
        RunSummary::from_record(record)
    }
}

impl RunSummary {
    /// Summarises `record`.
    pub fn from_record(record: &RunRecord) -> RunSummary {
        let outcome = &record.outcome;
        let traffic = &record.traffic;
        RunSummary {
            scenario: record.scenario.clone(),
            seed: record.seed,
            canary: record.canary.clone(),
            verdict: outcome.verdict,
            final_phase: outcome.final_phase,
            rollback_reason: outcome.rollback_reason.clone(),
            released_at: outcome.released_at.map(|at| at.as_secs_f64()),
            decided_at: outcome.decided_at.map(|at| at.as_secs_f64()),
            time_to_decision: outcome.time_to_decision.map(|span| span.as_secs_f64()),
            duration: record.end.as_secs_f64(),
            final_canary_weight: record.ticks.last().map_or(0, |tick| tick.canary_weight),
            max_canary_weight: record
                .ticks
                .iter()
                .map(|tick| tick.canary_weight)
                .max()
                .unwrap_or(0),
            canary_requests: outcome.canary_requests,
            blast_radius: outcome.blast_radius,
            primary_requests: traffic.iter().map(|slot| slot.primary_requests).sum(),
            primary_failures: outcome.primary_failures,
            mirrored_requests: outcome.mirrored_requests,
            test_requests: traffic.iter().map(|slot| slot.test_requests).sum(),
            failed_checks: outcome
                .failed_checks
                .iter()
                .map(|failed| FailedCheckSummary {
                    at: failed.at.as_secs_f64(),
                    check: failed.check.clone(),
                    reason: failed.reason.clone(),
                })
                .collect(),
            metrics: metric_summaries(record),
        }
    }

    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|metric| metric.name == name)
    }

    /// One sentence: the verdict, how long it took, why, and who was hurt.
    /// "Rolled back after 6m: request-success-rate 97.8% < 99% in 5 of 6
    /// intervals; 312 user requests got errors from the canary."
    pub fn headline(&self) -> String {
        let after = |seconds: Option<f64>| {
            seconds.map_or(String::new(), |seconds| {
                format!(" after {}", format::seconds(seconds))
            })
        };
        match self.verdict {
            Verdict::RolledBack => {
                let cause = self
                    .main_cause()
                    .or_else(|| self.rollback_reason.clone())
                    .unwrap_or_else(|| "no reason recorded".to_owned());
                format!(
                    "Rolled back{}: {cause}; {}.",
                    after(self.time_to_decision),
                    self.harm()
                )
            }
            Verdict::Promoted => {
                let checks = match self.main_cause() {
                    None => "with no failed checks".to_owned(),
                    Some(cause) => format!(
                        "despite {} ({cause})",
                        plural(self.failed_checks.len() as u64, "failed check")
                    ),
                };
                format!(
                    "Promoted{} {checks}; {} of {} canary requests failed.",
                    after(self.time_to_decision),
                    format::count(self.blast_radius),
                    format::count(self.canary_requests)
                )
            }
            Verdict::Undecided => {
                let checks = match self.failed_checks.len() {
                    0 => String::new(),
                    failed => format!(", {}", plural(failed as u64, "failed check")),
                };
                format!(
                    "Undecided after {}: the run ended in {} at {}% canary weight{checks}.",
                    format::seconds(self.duration),
                    phase_name(self.final_phase),
                    self.final_canary_weight
                )
            }
        }
    }

    /// The check that failed most, in words; metrics win ties, in the
    /// Canary's order.
    fn main_cause(&self) -> Option<String> {
        let mut metric: Option<&MetricSummary> = None;
        for candidate in &self.metrics {
            if candidate.failed > metric.map_or(0, |best| best.failed) {
                metric = Some(candidate);
            }
        }
        // Checks that are not metrics (webhooks), in first-seen order.
        let mut others: Vec<(&str, u32, &str)> = Vec::new();
        for failed in &self.failed_checks {
            if self.metric(&failed.check).is_some() {
                continue;
            }
            match others.iter_mut().find(|(name, _, _)| *name == failed.check) {
                Some((_, count, _)) => *count += 1,
                None => others.push((&failed.check, 1, &failed.reason)),
            }
        }
        let mut other: Option<(&str, u32, &str)> = None;
        for candidate in others {
            if candidate.1 > other.map_or(0, |best| best.1) {
                other = Some(candidate);
            }
        }
        match (metric, other) {
            (Some(metric), Some((_, count, _))) if metric.failed >= count => Some(metric.cause()),
            (_, Some((name, count, reason))) => Some(format!(
                "{name} failed {} ({reason})",
                plural(u64::from(count), "time")
            )),
            (Some(metric), None) => Some(metric.cause()),
            (None, None) => None,
        }
    }

    fn harm(&self) -> String {
        match self.blast_radius {
            0 => "no user request got an error from the canary".to_owned(),
            1 => "1 user request got an error from the canary".to_owned(),
            count => format!(
                "{} user requests got errors from the canary",
                format::count(count)
            ),
        }
    }
}

impl MetricSummary {
    /// Why the metric failed, in words: `request-success-rate 97.8% < 99%
    /// in 5 of 6 intervals`, `request-duration had no data in 2 of 6
    /// intervals`.
    fn cause(&self) -> String {
        let value_failures = self.failed.saturating_sub(self.no_data + self.errors);
        let of = |count: u32| format!("in {count} of {} intervals", self.checks);
        let mut parts = Vec::new();
        if value_failures > 0 {
            let bound = self.worst_canary.and_then(|worst| {
                let unit = &self.unit;
                match (self.min, self.max) {
                    (Some(min), _) if worst < min => Some(format!(
                        "{} < {}",
                        format::with_unit(worst, unit),
                        format::with_unit(min, unit)
                    )),
                    (_, Some(max)) if worst > max => Some(format!(
                        "{} > {}",
                        format::with_unit(worst, unit),
                        format::with_unit(max, unit)
                    )),
                    _ => None,
                }
            });
            parts.push(match bound {
                Some(bound) => format!("{bound} {}", of(value_failures)),
                None => format!("failed {}", of(value_failures)),
            });
        }
        if self.no_data > 0 {
            parts.push(format!("had no data {}", of(self.no_data)));
        }
        if self.errors > 0 {
            parts.push(format!("could not be queried {}", of(self.errors)));
        }
        format!("{} {}", self.name, parts.join(", "))
    }

    /// The bounds as text: `≥ 99%`, `≤ 500ms`, `1–5`, or `none`.
    fn bounds_text(&self) -> String {
        match (self.min, self.max) {
            (Some(min), Some(max)) => format!(
                "{} to {}",
                format::with_unit(min, &self.unit),
                format::with_unit(max, &self.unit)
            ),
            (Some(min), None) => format!("≥ {}", format::with_unit(min, &self.unit)),
            (None, Some(max)) => format!("≤ {}", format::with_unit(max, &self.unit)),
            (None, None) => "none".to_owned(),
        }
    }
}

/// Statistics per metric, in the Canary's order, then any metric the checks
/// name that the Canary's list lacks.
fn metric_summaries(record: &RunRecord) -> Vec<MetricSummary> {
    let mut summaries: Vec<MetricSummary> = record
        .metrics
        .iter()
        .map(|info| MetricSummary {
            name: info.name.clone(),
            unit: info.unit.clone(),
            min: info.min,
            max: info.max,
            checks: 0,
            failed: 0,
            no_data: 0,
            errors: 0,
            worst_canary: None,
            mean_canary: None,
            worst_primary: None,
            mean_primary: None,
        })
        .collect();
    for check in &record.checks {
        if !summaries.iter().any(|summary| summary.name == check.metric) {
            summaries.push(MetricSummary {
                name: check.metric.clone(),
                unit: String::new(),
                min: None,
                max: None,
                checks: 0,
                failed: 0,
                no_data: 0,
                errors: 0,
                worst_canary: None,
                mean_canary: None,
                worst_primary: None,
                mean_primary: None,
            });
        }
    }
    for summary in &mut summaries {
        let checks: Vec<_> = record
            .checks
            .iter()
            .filter(|check| check.metric == summary.name)
            .collect();
        summary.checks = saturating_u32(checks.len());
        summary.failed = saturating_u32(checks.iter().filter(|check| !check.passed).count());
        summary.no_data = saturating_u32(
            checks
                .iter()
                .filter(|check| matches!(check.canary, Reading::NoData { .. }))
                .count(),
        );
        summary.errors = saturating_u32(
            checks
                .iter()
                .filter(|check| matches!(check.canary, Reading::Error { .. }))
                .count(),
        );
        let canary = finite_values(checks.iter().map(|check| &check.canary));
        let primary = finite_values(checks.iter().map(|check| &check.primary));
        summary.worst_canary = worst(&canary, summary.min, summary.max);
        summary.mean_canary = mean(&canary);
        summary.worst_primary = worst(&primary, summary.min, summary.max);
        summary.mean_primary = mean(&primary);
    }
    summaries
}

fn finite_values<'a>(readings: impl Iterator<Item = &'a Reading>) -> Vec<f64> {
    readings
        .filter_map(Reading::value)
        .filter(|value| value.is_finite())
        .collect()
}

/// The value with the smallest margin to a bound (negative beyond it); the
/// first one on ties. `None` without bounds: nothing is worse than anything.
pub(super) fn worst(values: &[f64], min: Option<f64>, max: Option<f64>) -> Option<f64> {
    let margin = |value: f64| match (min, max) {
        (Some(min), Some(max)) => Some((value - min).min(max - value)),
        (Some(min), None) => Some(value - min),
        (None, Some(max)) => Some(max - value),
        (None, None) => None,
    };
    let mut worst: Option<(f64, f64)> = None;
    for &value in values {
        let margin = margin(value)?;
        if worst.is_none_or(|(_, best)| margin < best) {
            worst = Some((value, margin));
        }
    }
    worst.map(|(value, _)| value)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn saturating_u32(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// `1 failed check`, `2 failed checks`.
fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", format::count(count))
    }
}

/// The verdict as words: `promoted`, `rolled back`, `undecided`.
pub(super) fn verdict_words(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Promoted => "promoted",
        Verdict::RolledBack => "rolled back",
        Verdict::Undecided => "undecided",
    }
}

/// The phase's name, or `not reconciled` for the empty phase.
pub(super) fn phase_name(phase: CanaryPhase) -> &'static str {
    match phase {
        CanaryPhase::Unset => "not reconciled",
        other => other.as_str(),
    }
}

/// `summary.md`: the headline, key numbers, metrics, failed checks and
/// links to the run's other files.
pub fn summary_markdown(summary: &RunSummary) -> String {
    let mut markdown = format!(
        "# {}: {}, seed {}\n\n**{}**\n\n",
        summary.scenario,
        summary.canary,
        summary.seed,
        summary.headline()
    );
    let optional_clock = |seconds: Option<f64>| seconds.map_or("—".to_owned(), format::clock);
    let blast_share = if summary.canary_requests == 0 {
        String::new()
    } else {
        format!(
            " ({} of canary requests)",
            format::percent(summary.blast_radius as f64 / summary.canary_requests as f64)
        )
    };
    let rows = [
        ("Verdict", verdict_words(summary.verdict).to_owned()),
        ("Final phase", phase_name(summary.final_phase).to_owned()),
        (
            "Rollback reason",
            summary
                .rollback_reason
                .clone()
                .unwrap_or_else(|| "—".to_owned()),
        ),
        ("Released at", optional_clock(summary.released_at)),
        ("Decided at", optional_clock(summary.decided_at)),
        (
            "Time to decision",
            summary
                .time_to_decision
                .map_or("—".to_owned(), format::seconds),
        ),
        ("Simulated", format::seconds(summary.duration)),
        (
            "Canary weight (final / max)",
            format!(
                "{}% / {}%",
                summary.final_canary_weight, summary.max_canary_weight
            ),
        ),
        ("Canary requests", format::count(summary.canary_requests)),
        (
            "Blast radius (failed canary requests)",
            format!("{}{blast_share}", format::count(summary.blast_radius)),
        ),
        (
            "Primary requests / failures",
            format!(
                "{} / {}",
                format::count(summary.primary_requests),
                format::count(summary.primary_failures)
            ),
        ),
        (
            "Mirrored requests",
            format::count(summary.mirrored_requests),
        ),
        ("Load-test requests", format::count(summary.test_requests)),
        (
            "Failed checks",
            format::count(summary.failed_checks.len() as u64),
        ),
    ];
    markdown.push_str("| | |\n|---|---|\n");
    for (key, value) in rows {
        let _ = writeln!(markdown, "| {key} | {} |", format::markdown_cell(&value));
    }

    if !summary.metrics.is_empty() {
        markdown.push_str(
            "\n## Metrics\n\n| Metric | Bounds | Checks | Failed | No data | Errors | Worst canary | Mean canary | Mean primary |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for metric in &summary.metrics {
            let value = |value: Option<f64>| {
                value.map_or("—".to_owned(), |value| {
                    format::with_unit(value, &metric.unit)
                })
            };
            let _ = writeln!(
                markdown,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                format::markdown_cell(&metric.name),
                format::markdown_cell(&metric.bounds_text()),
                metric.checks,
                metric.failed,
                metric.no_data,
                metric.errors,
                value(metric.worst_canary),
                value(metric.mean_canary),
                value(metric.mean_primary),
            );
        }
    }

    markdown.push_str("\n## Failed checks\n\n");
    if summary.failed_checks.is_empty() {
        markdown.push_str("None.\n");
    } else {
        markdown.push_str("| At | Check | Reason |\n|---|---|---|\n");
        for failed in &summary.failed_checks {
            let _ = writeln!(
                markdown,
                "| {} | {} | {} |",
                format::clock(failed.at),
                format::markdown_cell(&failed.check),
                format::markdown_cell(&failed.reason)
            );
        }
    }

    markdown.push_str(
        "\n## Files\n\n\
         - [timeline.png](timeline.png) ([SVG](timeline.svg)): weights, phases, metrics and traffic over time\n\
         - [events.log](events.log): every event, webhook, alert and scenario step\n\
         - [summary.json](summary.json): these numbers for tools\n\n\
         ![Timeline of the run](timeline.png)\n",
    );
    markdown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_reading_is_the_one_nearest_or_beyond_a_bound() {
        assert_eq!(worst(&[99.5, 97.8, 98.2], Some(99.0), None), Some(97.8));
        assert_eq!(
            worst(&[120.0, 640.0, 480.0], None, Some(500.0)),
            Some(640.0)
        );
        assert_eq!(worst(&[3.0, 9.5, 4.0], Some(1.0), Some(10.0)), Some(9.5));
        assert_eq!(worst(&[1.0, 2.0], None, None), None);
        assert_eq!(worst(&[], Some(1.0), None), None);
    }
}
