//! A sweep's raw results: what ran, and how every run ended.
//!
//! ```text
//!   results.json
//!   ├─ header   the Canary, the space, the suite (names, truths, seeds,
//!   │           digests), runs per unit, weir's version
//!   ├─ shard    which share of the units this file was meant to hold
//!   └─ units    (config, scenario) pairs in unit order, each with its
//!               runs: [verdict, seconds to decision, blast radius]
//! ```
//!
//! A unit is one config on one scenario, all its seeded runs. Unit `u` is
//! config `u / scenarios`, scenario `u % scenarios`; shard `I/N` holds the
//! units with `u % N == I`. Shards merge into the file an unsharded run
//! writes, byte for byte: the header is the same, the units are kept in
//! unit order, and the numbers are written by the same serializer.

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use weir_api::Canary;

use super::space::Space;
use crate::record::Verdict;
use crate::scenario::GroundTruth;

/// Identifies the file format; bumped when it changes.
pub const FORMAT: &str = "weir-tune-results/1";

/// Everything a unit's runs depend on. Shards merge only when their
/// headers are equal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub format: String,
    pub weir_version: String,
    /// The Canary under test, before any config is applied, as JSON (a
    /// Canary has no equality of its own; its JSON does).
    pub canary: serde_json::Value,
    pub space: Space,
    pub scenarios: Vec<ScenarioHeader>,
    /// Seeded runs per unit.
    pub runs: u32,
}

/// A scenario of the suite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioHeader {
    pub name: String,
    pub ground_truth: GroundTruth,
    /// Run `i` uses seed `seed + i`.
    pub seed: u64,
    /// SHA-256 of the scenario as loaded, so that shards built from
    /// different scenario files refuse to merge.
    pub digest: String,
}

/// Shard `index` of `count`, from `--shard I/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("`{text}` is not a shard: write I/N with 0 <= I < N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: u32 = index.trim().parse().map_err(|_| usage())?;
        let count: u32 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    pub fn holds(&self, unit: usize) -> bool {
        unit % self.count as usize == self.index as usize
    }
}

/// How one run ended, as much as the scores need.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunOutcome {
    pub verdict: Verdict,
    /// Seconds from the release to the decision.
    pub time_to_decision: Option<f64>,
    /// Failed user requests the canary served.
    pub blast_radius: u64,
}

// A run is a JSON triple, not an object: a 150,000-run sweep stays a few
// megabytes.
impl Serialize for RunOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.verdict, self.time_to_decision, self.blast_radius).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RunOutcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RunOutcome, D::Error> {
        let (verdict, time_to_decision, blast_radius) = Deserialize::deserialize(deserializer)?;
        Ok(RunOutcome {
            verdict,
            time_to_decision,
            blast_radius,
        })
    }
}

/// One config on one scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    pub config: usize,
    pub scenario: usize,
    pub runs: Vec<RunOutcome>,
}

/// A sweep's results, complete or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub header: Header,
    /// `None` for a whole sweep (or a merge of shards).
    pub shard: Option<Shard>,
    /// In unit order.
    pub units: Vec<UnitResult>,
}

/// Why results cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a weir tune results file ({problem}); results files are written by `weir tune`"
    )]
    Decode { path: String, problem: String },
    #[error(
        "{path} was written by {found}, this weir reads {FORMAT}; rerun that shard with this weir"
    )]
    Format { path: String, found: String },
    #[error(
        "{path} comes from a different sweep: its {what} differs from {first}'s; merge only shards of one `weir tune` command"
    )]
    Mismatch {
        path: String,
        first: String,
        what: &'static str,
    },
    #[error(
        "{path} and {other} disagree about config {config} on scenario {scenario}; they are not shards of one sweep"
    )]
    Conflict {
        path: String,
        other: String,
        config: usize,
        scenario: usize,
    },
    #[error("nothing to merge: name the shards' results files")]
    Nothing,
}

impl Header {
    /// The Canary under test. Checked when the results were read, so it
    /// decodes.
    pub fn canary(&self) -> Canary {
        serde_json::from_value(self.canary.clone())
            .unwrap_or_else(|_| Canary::new("", Default::default()))
    }
}

impl Results {
    /// Every unit of the sweep, whatever the shard.
    pub fn unit_count(&self) -> usize {
        self.header.space.len() * self.header.scenarios.len()
    }

    /// The units this file was meant to hold and does not: a sweep
    /// interrupted before it finished, or a shard missing from a merge.
    pub fn missing(&self) -> Vec<(usize, usize)> {
        let scenarios = self.header.scenarios.len();
        let mut present = self
            .units
            .iter()
            .map(|unit| unit.config * scenarios + unit.scenario)
            .peekable();
        let mut missing = Vec::new();
        for unit in 0..self.unit_count() {
            if self.shard.is_some_and(|shard| !shard.holds(unit)) {
                continue;
            }
            if present.next_if_eq(&unit).is_none() {
                missing.push((unit / scenarios, unit % scenarios));
            }
        }
        missing
    }

    /// The configs that ran on every scenario, each with its units' runs
    /// in scenario order.
    pub fn complete_configs(&self) -> Vec<(usize, Vec<&[RunOutcome]>)> {
        let scenarios = self.header.scenarios.len();
        let mut complete = Vec::new();
        let mut units = self.units.iter().peekable();
        for config in 0..self.header.space.len() {
            let mut runs = Vec::with_capacity(scenarios);
            while let Some(unit) = units.next_if(|unit| unit.config == config) {
                runs.push(unit.runs.as_slice());
            }
            if scenarios > 0 && runs.len() == scenarios {
                complete.push((config, runs));
            }
        }
        complete
    }

    /// The file's bytes: compact JSON and a newline.
    pub fn to_json(&self) -> String {
        // Serializing plain data to a string cannot fail.
        let mut text = serde_json::to_string(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a results file.
    pub fn read(path: &Path) -> Result<Results, ResultsError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Read {
            path: name.clone(),
            source,
        })?;
        let found = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|value| value.pointer("/header/format")?.as_str().map(str::to_owned));
        if let Some(found) = found
            && found != FORMAT
        {
            return Err(ResultsError::Format { path: name, found });
        }
        let results: Results =
            serde_json::from_str(&text).map_err(|error| ResultsError::Decode {
                path: name.clone(),
                problem: error.to_string(),
            })?;
        if let Err(error) = serde_json::from_value::<Canary>(results.header.canary.clone()) {
            return Err(ResultsError::Decode {
                path: name,
                problem: format!("its Canary does not decode: {error}"),
            });
        }
        Ok(results)
    }

    /// Merges shards (or partial runs) of one sweep. Each file is named
    /// by its path in errors.
    pub fn merge(parts: Vec<(String, Results)>) -> Result<Results, ResultsError> {
        let mut parts = parts.into_iter();
        let (first_path, first) = parts.next().ok_or(ResultsError::Nothing)?;
        let header = first.header;
        let mut owners: Vec<(String, UnitResult)> = first
            .units
            .into_iter()
            .map(|unit| (first_path.clone(), unit))
            .collect();
        for (path, part) in parts {
            let what = if part.header.canary != header.canary {
                Some("Canary")
            } else if part.header.space != header.space {
                Some("space")
            } else if part.header.scenarios != header.scenarios {
                Some("suite")
            } else if part.header.runs != header.runs {
                Some("number of runs")
            } else if part.header != header {
                Some("weir version")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(ResultsError::Mismatch {
                    path,
                    first: first_path,
                    what,
                });
            }
            owners.extend(part.units.into_iter().map(|unit| (path.clone(), unit)));
        }
        owners.sort_by_key(|(_, unit)| (unit.config, unit.scenario));
        let mut units: Vec<UnitResult> = Vec::with_capacity(owners.len());
        let mut previous_owner = String::new();
        for (owner, unit) in owners {
            if let Some(last) = units.last()
                && (last.config, last.scenario) == (unit.config, unit.scenario)
            {
                if last.runs != unit.runs {
                    return Err(ResultsError::Conflict {
                        path: owner,
                        other: previous_owner,
                        config: unit.config,
                        scenario: unit.scenario,
                    });
                }
                continue;
            }
            previous_owner = owner;
            units.push(unit);
        }
        Ok(Results {
            header,
            shard: None,
            units,
        })
    }
}
