//! From runs to judgements: each config's error rates, times and blast
//! radius with their intervals, the Pareto front, and the ranking.
//!
//! ```text
//!   healthy scenario runs ──▶ false rollback rate  (not promoted: rolled back or undecided)
//!                        └──▶ time to promote      (promoted runs: release → promotion)
//!   bad scenario runs ──────▶ miss rate            (not rolled back: promoted or undecided)
//!                        ├──▶ time to detect       (rolled-back runs: release → rollback)
//!                        └──▶ blast radius         (every run: failed requests the canary served)
//! ```
//!
//! A healthy release that never finishes did not ship, so an undecided
//! healthy run counts against the config like a rollback; an undecided bad
//! run was not caught, so it counts as a miss.
//!
//! The Pareto front minimises four things at once: false rollbacks, misses,
//! p95 blast radius and median time to promote. The issue's three (false
//! rollbacks, blast radius, speed) are not enough alone: the blast radius
//! of a bad release stops counting when it is promoted, so a config that
//! promotes everything quickly would look harmless.

use serde::Serialize;

use super::budgets::{BudgetResult, Budgets};
use super::results::{Results, RunOutcome};
use super::space::Config;
use crate::record::Verdict;
use crate::report::{Quantiles, Rate, Z_95, quantile};
use crate::scenario::GroundTruth;

/// A number estimated from runs, with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
    /// Runs that counted (for a rate: that had the outcome).
    pub count: u64,
    /// Runs it is estimated from.
    pub runs: u64,
}

impl Estimate {
    /// A rate with its Wilson interval.
    fn rate(count: u64, runs: u64) -> Option<Estimate> {
        (runs > 0).then(|| {
            let rate = Rate::new(count, runs);
            Estimate {
                value: rate.value,
                lower: rate.lower,
                upper: rate.upper,
                count,
                runs,
            }
        })
    }

    /// The p95 of `sorted` with a distribution-free interval: the order
    /// statistics whose ranks bound the 95th percentile's rank by the
    /// binomial's normal approximation, `n·p ± z·√(n·p·(1−p))`.
    fn p95(sorted: &[f64]) -> Option<Estimate> {
        let value = quantile(sorted, 0.95)?;
        let n = sorted.len() as f64;
        let spread = Z_95 * (n * 0.95 * 0.05).sqrt();
        let rank = |position: f64| {
            // Ranks are 1-based; clamped into the sample.
            (position.clamp(1.0, n) as usize).saturating_sub(1)
        };
        Some(Estimate {
            value,
            lower: sorted[rank((n * 0.95 - spread).floor())].min(value),
            upper: sorted[rank((n * 0.95 + spread).ceil())].max(value),
            count: sorted.len() as u64,
            runs: sorted.len() as u64,
        })
    }
}

/// How one config did on one scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioOutcomes {
    pub promoted: u64,
    pub rolled_back: u64,
    pub undecided: u64,
}

impl ScenarioOutcomes {
    fn runs(&self) -> u64 {
        self.promoted + self.rolled_back + self.undecided
    }

    /// Runs the analysis got wrong, given the truth.
    pub fn wrong(&self, truth: GroundTruth) -> u64 {
        match truth {
            GroundTruth::Healthy => self.rolled_back + self.undecided,
            GroundTruth::Bad => self.promoted + self.undecided,
        }
    }
}

/// One config, judged over the whole suite.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigScore {
    /// The config's index in the space.
    pub config: usize,
    /// `None` without healthy (or bad) scenarios.
    pub false_rollback: Option<Estimate>,
    /// Healthy runs still undecided at the end (in `false_rollback`).
    pub stalled: u64,
    pub miss: Option<Estimate>,
    pub time_to_promote: Option<Quantiles>,
    pub time_to_promote_p95: Option<Estimate>,
    pub time_to_detect: Option<Quantiles>,
    pub time_to_detect_p95: Option<Estimate>,
    pub blast_radius: Option<Quantiles>,
    pub blast_radius_p95: Option<Estimate>,
    /// Per scenario, in the suite's order.
    pub scenarios: Vec<ScenarioOutcomes>,
    pub pareto: bool,
    /// How many swept parameters differ from the Canary's own analysis:
    /// among equals, the smallest change is recommended.
    pub changes: usize,
    /// 1 is the recommended config.
    pub rank: usize,
    /// Verdicts of the budgets, if any were given.
    pub budgets: Vec<BudgetResult>,
}

impl ConfigScore {
    /// The four objectives the front minimises.
    fn objectives(&self) -> [f64; 4] {
        [
            self.false_rollback.map_or(0.0, |rate| rate.value),
            self.miss.map_or(0.0, |rate| rate.value),
            self.blast_radius.map_or(0.0, |radius| radius.p95),
            self.time_to_promote
                .map_or(f64::INFINITY, |time| time.median),
        ]
    }

    /// Errors of both kinds, each weighed by its own runs.
    pub fn error_rate(&self) -> f64 {
        self.false_rollback.map_or(0.0, |rate| rate.value)
            + self.miss.map_or(0.0, |rate| rate.value)
    }

    pub fn budgets_missed(&self) -> usize {
        self.budgets.iter().filter(|result| !result.passed).count()
    }
}

/// Scores every config whose results are complete (every scenario ran),
/// marks the Pareto front and ranks them: with budgets, configs within
/// them first and the fastest of those on top, then the others by how
/// many budgets they miss; without, the most accurate on top (fewest
/// wrong decisions, then the smallest p95 blast radius), then the
/// fastest. Remaining ties go to the config closest to the Canary's own,
/// then the first.
pub fn score(results: &Results, budgets: Option<&Budgets>) -> Vec<ConfigScore> {
    let truths: Vec<GroundTruth> = results
        .header
        .scenarios
        .iter()
        .map(|scenario| scenario.ground_truth)
        .collect();
    let changes = changes_from_canary(results);
    let mut scores: Vec<ConfigScore> = results
        .complete_configs()
        .into_iter()
        .map(|(config, units)| ConfigScore {
            changes: changes[config],
            ..score_config(config, &truths, &units)
        })
        .collect();
    if let Some(budgets) = budgets {
        for score in &mut scores {
            score.budgets = budgets.evaluate(score);
        }
    }
    let objectives: Vec<[f64; 4]> = scores.iter().map(ConfigScore::objectives).collect();
    for (position, score) in scores.iter_mut().enumerate() {
        score.pareto = !objectives
            .iter()
            .any(|other| dominates(other, &objectives[position]));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    let by_budget = budgets.is_some();
    order.sort_by(|&a, &b| {
        let (a, b) = (&scores[a], &scores[b]);
        let accuracy = a
            .error_rate()
            .total_cmp(&b.error_rate())
            .then(a.objectives()[2].total_cmp(&b.objectives()[2]));
        let speed = a.objectives()[3].total_cmp(&b.objectives()[3]);
        let within = a.budgets_missed().cmp(&b.budgets_missed());
        // Within every budget, speed decides; missing some, the more
        // accurate config is closer to acceptable.
        let preference = if by_budget && a.budgets_missed() == 0 {
            within.then(speed).then(accuracy)
        } else {
            within.then(accuracy).then(speed)
        };
        preference
            .then(a.changes.cmp(&b.changes))
            .then(a.config.cmp(&b.config))
    });
    for (rank, position) in order.into_iter().enumerate() {
        scores[position].rank = rank + 1;
    }
    scores
}

/// For every config, how many of its settings differ from the Canary's
/// own analysis. Each value of each dimension is compared once.
fn changes_from_canary(results: &Results) -> Vec<usize> {
    let canary = results.header.canary();
    let own = &results.header.canary;
    let dimensions = &results.header.space.dimensions;
    let current: Vec<Vec<bool>> = dimensions
        .iter()
        .map(|values| {
            values
                .iter()
                .map(|setting| {
                    let single = Config {
                        index: 0,
                        settings: vec![setting.clone()],
                    };
                    serde_json::to_value(single.apply(&canary)).ok().as_ref() == Some(own)
                })
                .collect()
        })
        .collect();
    results
        .header
        .space
        .configs()
        .iter()
        .map(|config| {
            config
                .settings
                .iter()
                .zip(dimensions.iter().zip(&current))
                .filter(|(setting, (values, current))| {
                    let position = values.iter().position(|value| value == *setting);
                    !position.is_some_and(|position| current[position])
                })
                .count()
        })
        .collect()
}

/// `a` is no worse than `b` everywhere and better somewhere.
fn dominates(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a.iter().zip(b).all(|(a, b)| a <= b) && a.iter().zip(b).any(|(a, b)| a < b)
}

fn score_config(config: usize, truths: &[GroundTruth], units: &[&[RunOutcome]]) -> ConfigScore {
    let mut scenarios = Vec::with_capacity(units.len());
    let (mut healthy_runs, mut false_rollbacks, mut stalled) = (0, 0, 0);
    let (mut bad_runs, mut misses) = (0, 0);
    let mut promote_times = Vec::new();
    let mut detect_times = Vec::new();
    let mut blast_radii = Vec::new();
    for (runs, truth) in units.iter().zip(truths) {
        let mut outcomes = ScenarioOutcomes::default();
        for run in *runs {
            match run.verdict {
                Verdict::Promoted => outcomes.promoted += 1,
                Verdict::RolledBack => outcomes.rolled_back += 1,
                Verdict::Undecided => outcomes.undecided += 1,
            }
            match (truth, run.verdict, run.time_to_decision) {
                (GroundTruth::Healthy, Verdict::Promoted, Some(time)) => promote_times.push(time),
                (GroundTruth::Bad, Verdict::RolledBack, Some(time)) => detect_times.push(time),
                _ => {}
            }
            if *truth == GroundTruth::Bad {
                blast_radii.push(run.blast_radius as f64);
            }
        }
        match truth {
            GroundTruth::Healthy => {
                healthy_runs += outcomes.runs();
                false_rollbacks += outcomes.wrong(*truth);
                stalled += outcomes.undecided;
            }
            GroundTruth::Bad => {
                bad_runs += outcomes.runs();
                misses += outcomes.wrong(*truth);
            }
        }
        scenarios.push(outcomes);
    }
    for values in [&mut promote_times, &mut detect_times, &mut blast_radii] {
        values.sort_by(f64::total_cmp);
    }
    ConfigScore {
        config,
        false_rollback: Estimate::rate(false_rollbacks, healthy_runs),
        stalled,
        miss: Estimate::rate(misses, bad_runs),
        time_to_promote: Quantiles::of(promote_times.iter().copied()),
        time_to_promote_p95: Estimate::p95(&promote_times),
        time_to_detect: Quantiles::of(detect_times.iter().copied()),
        time_to_detect_p95: Estimate::p95(&detect_times),
        blast_radius: Quantiles::of(blast_radii.iter().copied()),
        blast_radius_p95: Estimate::p95(&blast_radii),
        scenarios,
        pareto: false,
        changes: 0,
        rank: 0,
        budgets: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_worse_somewhere_and_no_better_anywhere_is_dominated() {
        assert!(dominates(&[0.0, 0.1, 5.0, 60.0], &[0.0, 0.2, 5.0, 60.0]));
        assert!(!dominates(&[0.0, 0.1, 5.0, 60.0], &[0.0, 0.1, 5.0, 60.0]));
        assert!(!dominates(&[0.0, 0.1, 9.0, 60.0], &[0.1, 0.1, 5.0, 60.0]));
    }

    #[test]
    fn the_p95_interval_brackets_the_estimate_and_narrows_with_more_runs() {
        let small: Vec<f64> = (1..=20).map(f64::from).collect();
        let large: Vec<f64> = (1..=2000).map(|value| f64::from(value) / 100.0).collect();
        let small = Estimate::p95(&small).expect("values");
        let large = Estimate::p95(&large).expect("values");
        assert!(small.lower <= small.value && small.value <= small.upper);
        assert!(large.lower <= large.value && large.value <= large.upper);
        assert!(
            (large.upper - large.lower) / large.value < (small.upper - small.lower) / small.value
        );
        assert_eq!(Estimate::p95(&[]), None);
        let single = Estimate::p95(&[7.0]).expect("one value");
        assert_eq!((single.lower, single.value, single.upper), (7.0, 7.0, 7.0));
    }

    #[test]
    fn undecided_healthy_runs_count_as_false_rollbacks_and_undecided_bad_runs_as_misses() {
        let outcomes = ScenarioOutcomes {
            promoted: 7,
            rolled_back: 2,
            undecided: 1,
        };
        assert_eq!(outcomes.wrong(GroundTruth::Healthy), 3);
        assert_eq!(outcomes.wrong(GroundTruth::Bad), 8);
    }
}
