//! Running a sweep: every config on every scenario, many seeds each, on
//! all cores, stoppable at any time.
//!
//! ```text
//!   configs × scenarios ──▶ units 0 1 2 3 4 5 …   (config-major)
//!   --shard 1/3          ──▶ units   1     4 …     (u % 3 == 1)
//!   threads take the next unit from a counter; each unit runs seeds
//!   seed … seed+runs−1 of its scenario with its config applied, and
//!   its results go to the unit's slot, so the file is the same whatever
//!   the number of threads.
//! ```
//!
//! Every config of a scenario uses the same seeds (common random numbers):
//! the traffic and the pods are the same draws for each config, so the
//! differences between configs are mostly the configs' own, not noise.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use weir_api::Canary;

use super::results::{FORMAT, Header, Results, RunOutcome, ScenarioHeader, Shard, UnitResult};
use super::space::{Config, Space, longest_interval};
use crate::batch::run_seed;
use crate::input::InputError;
use crate::report::format::duration;
use crate::run::{RunOptions, run};
use crate::scenario::{GroundTruth, Scenario};

/// A sweep ready to run: the suite with the Canary under test, and the
/// configs to try on it.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub header: Header,
    configs: Vec<Config>,
    scenarios: Vec<Scenario>,
}

impl Sweep {
    /// Checks that the suite can judge the space: it is not empty, and
    /// every scenario releases after the Canary is initialized under every
    /// interval of the space. Scenarios without a `duration` run as long as
    /// the longest interval needs, the same for every config.
    pub fn new(
        canary: Canary,
        space: Space,
        mut scenarios: Vec<Scenario>,
        runs: u32,
    ) -> Result<Sweep, InputError> {
        if scenarios.is_empty() {
            return Err(InputError::whole_file(
                "suite",
                "suite.empty",
                "the suite holds no scenario".to_owned(),
                "point --suite at a directory of scenario files (*.yaml), each with a groundTruth",
            ));
        }
        if runs == 0 {
            return Err(InputError::whole_file(
                "--runs",
                "suite.runs",
                "a sweep needs at least one run per scenario".to_owned(),
                "pass --runs 1 or more (100 gives rates to a few percent)",
            ));
        }
        let interval = longest_interval(&space, &canary);
        let mut problems = Vec::new();
        for scenario in &mut scenarios {
            let file = scenario
                .path
                .as_ref()
                .map_or_else(|| scenario.name.clone(), |path| path.display().to_string());
            if scenario.release.at.0 < interval * 2 {
                problems.push(InputError::whole_file(
                    &file,
                    "suite.release",
                    format!(
                        "the release at {} comes before a Canary with a {} interval is initialized (two intervals)",
                        duration(scenario.release.at.0),
                        duration(interval)
                    ),
                    &format!(
                        "release at {} or later in this scenario, or sweep shorter intervals",
                        duration(interval * 2)
                    ),
                ));
            }
            if !scenario.duration_explicit {
                scenario.duration = Scenario::default_duration(scenario.release.at.0, interval);
            }
        }
        if !problems.is_empty() {
            return Err(InputError::combine(problems));
        }
        let header = Header {
            format: FORMAT.to_owned(),
            weir_version: env!("CARGO_PKG_VERSION").to_owned(),
            canary: serde_json::to_value(&canary).unwrap_or_default(),
            scenarios: scenarios.iter().map(scenario_header).collect(),
            runs,
            space,
        };
        Ok(Sweep {
            configs: header.space.configs(),
            header,
            scenarios,
        })
    }

    pub fn configs(&self) -> &[Config] {
        &self.configs
    }

    /// The units of `shard` (all without one), in unit order.
    pub fn units(&self, shard: Option<Shard>) -> Vec<usize> {
        (0..self.configs.len() * self.scenarios.len())
            .filter(|unit| shard.is_none_or(|shard| shard.holds(*unit)))
            .collect()
    }

    /// Runs the units of `shard` not already in `done` (results of an
    /// earlier, interrupted run of the same sweep) on `threads` threads.
    /// `progress` is told of every finished unit's runs. Once `stop` is
    /// set, no new unit starts; the results hold the finished ones.
    pub fn run(
        &self,
        shard: Option<Shard>,
        done: Option<&Results>,
        threads: NonZeroUsize,
        stop: &AtomicBool,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Results {
        let scenarios = self.scenarios.len();
        let units = self.units(shard);
        let mut slots: Vec<Option<UnitResult>> = vec![None; units.len()];
        if let Some(done) = done.filter(|done| done.header == self.header) {
            let mut previous = done.units.iter().peekable();
            for (slot, unit) in slots.iter_mut().zip(&units) {
                while previous
                    .next_if(|result| result.config * scenarios + result.scenario < *unit)
                    .is_some()
                {}
                *slot = previous
                    .next_if(|result| result.config * scenarios + result.scenario == *unit)
                    .cloned();
            }
        }
        let todo: Vec<usize> = (0..units.len())
            .filter(|slot| slots[*slot].is_none())
            .collect();
        let next = AtomicUsize::new(0);
        let slots = Mutex::new(slots);
        std::thread::scope(|scope| {
            for _ in 0..threads.get().min(todo.len().max(1)) {
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let Some(&slot) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        let unit = units[slot];
                        let Some(result) = self.run_unit(unit / scenarios, unit % scenarios, stop)
                        else {
                            break;
                        };
                        let count = result.runs.len() as u64;
                        if let Ok(mut slots) = slots.lock() {
                            slots[slot] = Some(result);
                        }
                        progress(count);
                    }
                });
            }
        });
        Results {
            header: self.header.clone(),
            shard,
            units: slots
                .into_inner()
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect(),
        }
    }

    /// One config on one scenario, every seed; `None` when `stop` is set
    /// before the last run (a unit is kept whole or not at all, so Ctrl-C
    /// answers within one run, not one unit).
    fn run_unit(&self, config: usize, scenario: usize, stop: &AtomicBool) -> Option<UnitResult> {
        let mut tuned = self.scenarios[scenario].clone();
        tuned.canary = self.configs[config].apply(&tuned.canary);
        let seed = tuned.seed;
        let mut runs = Vec::with_capacity(self.header.runs as usize);
        for index in 0..self.header.runs {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let record = run(&tuned, run_seed(seed, index), RunOptions { detail: false });
            runs.push(RunOutcome {
                verdict: record.outcome.verdict,
                time_to_decision: record
                    .outcome
                    .time_to_decision
                    .map(|span| span.as_secs_f64()),
                blast_radius: record.outcome.blast_radius,
            });
        }
        Some(UnitResult {
            config,
            scenario,
            runs,
        })
    }

    /// Runs in the units of `shard`.
    pub fn total_runs(&self, shard: Option<Shard>) -> u64 {
        self.units(shard).len() as u64 * u64::from(self.header.runs)
    }

    /// How many scenarios of each truth the suite has.
    pub fn truths(&self) -> (usize, usize) {
        let healthy = self
            .scenarios
            .iter()
            .filter(|scenario| scenario.ground_truth == GroundTruth::Healthy)
            .count();
        (healthy, self.scenarios.len() - healthy)
    }
}

/// The scenario as the results file records it. The digest covers the
/// scenario as loaded (not the file's bytes), so comments and formatting
/// do not matter but every value does.
fn scenario_header(scenario: &Scenario) -> ScenarioHeader {
    let mut anonymous = scenario.clone();
    anonymous.path = None;
    let digest = Sha256::digest(format!("{anonymous:?}").as_bytes());
    ScenarioHeader {
        name: scenario.name.clone(),
        ground_truth: scenario.ground_truth,
        seed: scenario.seed,
        digest: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}
