//! The search space of `weir tune`: which analysis parameters to try, and
//! the configs (every combination) it spans.
//!
//! ```yaml
//! threshold: [2, 3, 5, 8]                   # a list,
//! stepWeight: {from: 5, to: 20, step: 5}    # or a range (numbers only)
//! maxWeight: [50]
//! interval: [30s, 1m]
//! metrics:
//!   request-success-rate: {min: [98, 99, 99.5]}
//!   request-duration: {max: [300, 500]}
//! ```
//!
//! `stepWeights` takes a list of ladders (`[[1, 5, 10, 25, 50], [10, 50]]`)
//! and `iterations` applies to A/B and blue/green analyses. Configs are
//! numbered in a fixed order: the first parameter (in the order
//! interval, threshold, stepWeight, maxWeight, stepWeights, iterations, then
//! each metric's min and max in the Canary's order) varies slowest.
//!
//! Without a space file, [`Space::around`] sweeps the neighbourhood of the
//! Canary's own analysis: half, the same and double its threshold and step,
//! and each bound loosened and tightened.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use weir_api::checks::{CheckContext, Severity, check_canary};
use weir_api::{Canary, Strategy, ThresholdRange};
use weir_validate::convert::SpanIndex;

use crate::input::{Checker, Format, InputError};
use crate::time::Span;

/// One analysis parameter set to one value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Setting {
    Interval(Span),
    Threshold(i32),
    StepWeight(i32),
    MaxWeight(i32),
    StepWeights(Vec<i32>),
    Iterations(i32),
    MetricMin { metric: String, value: f64 },
    MetricMax { metric: String, value: f64 },
}

impl Setting {
    /// The parameter's name as the space file spells it
    /// (`request-success-rate.min` for a metric's bound).
    pub fn parameter(&self) -> String {
        match self {
            Setting::Interval(_) => "interval".to_owned(),
            Setting::Threshold(_) => "threshold".to_owned(),
            Setting::StepWeight(_) => "stepWeight".to_owned(),
            Setting::MaxWeight(_) => "maxWeight".to_owned(),
            Setting::StepWeights(_) => "stepWeights".to_owned(),
            Setting::Iterations(_) => "iterations".to_owned(),
            Setting::MetricMin { metric, .. } => format!("{metric}.min"),
            Setting::MetricMax { metric, .. } => format!("{metric}.max"),
        }
    }

    /// The value as the Canary would spell it.
    pub fn value(&self) -> String {
        match self {
            Setting::Interval(span) => crate::report::format::duration(span.0),
            Setting::Threshold(value)
            | Setting::StepWeight(value)
            | Setting::MaxWeight(value)
            | Setting::Iterations(value) => value.to_string(),
            Setting::StepWeights(ladder) => format!(
                "[{}]",
                ladder
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Setting::MetricMin { value, .. } | Setting::MetricMax { value, .. } => number(*value),
        }
    }

    /// Sets this parameter in `canary`'s analysis.
    fn apply(&self, canary: &mut Canary) {
        let analysis = canary.spec.analysis.get_or_insert_default();
        match self {
            Setting::Interval(span) => {
                analysis.interval = Some(crate::report::format::duration(span.0));
            }
            Setting::Threshold(value) => analysis.threshold = *value,
            Setting::StepWeight(value) => {
                analysis.step_weight = *value;
                // Flagger prefers a ladder when both are set.
                analysis.step_weights.clear();
            }
            Setting::MaxWeight(value) => analysis.max_weight = *value,
            Setting::StepWeights(ladder) => {
                analysis.step_weights = ladder.clone();
                analysis.step_weight = 0;
            }
            Setting::Iterations(value) => analysis.iterations = *value,
            Setting::MetricMin { metric, value } | Setting::MetricMax { metric, value } => {
                let is_min = matches!(self, Setting::MetricMin { .. });
                if let Some(metric) = analysis.metrics.iter_mut().find(|m| &m.name == metric) {
                    // A deprecated `threshold` is the same bound as the
                    // range's; keep one source of truth.
                    let mut range = metric.bounds();
                    metric.threshold = None;
                    if is_min {
                        range.min = Some(*value);
                    } else {
                        range.max = Some(*value);
                    }
                    metric.threshold_range = Some(ThresholdRange { ..range });
                }
            }
        }
    }
}

/// Numbers as a Canary author writes them: `99`, `99.5`.
fn number(value: f64) -> String {
    format!("{value}")
}

/// One point of the space: a value for every swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Position in the space's fixed order.
    pub index: usize,
    pub settings: Vec<Setting>,
}

impl Config {
    /// `canary` with this config's analysis parameters.
    pub fn apply(&self, canary: &Canary) -> Canary {
        let mut canary = canary.clone();
        for setting in &self.settings {
            setting.apply(&mut canary);
        }
        canary
    }

    /// `threshold=5 stepWeight=10 request-success-rate.min=99`.
    pub fn label(&self) -> String {
        self.settings
            .iter()
            .map(|setting| format!("{}={}", setting.parameter(), setting.value()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The value of `parameter`, if this config sets it.
    pub fn value_of(&self, parameter: &str) -> Option<String> {
        self.settings
            .iter()
            .find(|setting| setting.parameter() == parameter)
            .map(Setting::value)
    }
}

/// The swept parameters, each with its values, in the fixed order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Space {
    pub dimensions: Vec<Vec<Setting>>,
}

impl fmt::Display for Space {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, dimension) in self.dimensions.iter().enumerate() {
            if position > 0 {
                formatter.write_str(", ")?;
            }
            let name = dimension
                .first()
                .map(Setting::parameter)
                .unwrap_or_default();
            let values: Vec<String> = dimension.iter().map(Setting::value).collect();
            write!(formatter, "{name} ∈ {{{}}}", values.join(", "))?;
        }
        Ok(())
    }
}

impl Space {
    /// The number of configs.
    pub fn len(&self) -> usize {
        self.dimensions.iter().map(Vec::len).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parameters swept, in order.
    pub fn parameters(&self) -> Vec<String> {
        self.dimensions
            .iter()
            .filter_map(|dimension| dimension.first().map(Setting::parameter))
            .collect()
    }

    /// Every config, the first dimension varying slowest.
    pub fn configs(&self) -> Vec<Config> {
        let total = self.len();
        (0..total)
            .map(|index| {
                let mut rest = index;
                let mut settings = vec![Setting::Threshold(0); self.dimensions.len()];
                for (position, dimension) in self.dimensions.iter().enumerate().rev() {
                    settings[position] = dimension[rest % dimension.len()].clone();
                    rest /= dimension.len();
                }
                Config { index, settings }
            })
            .collect()
    }

    /// The neighbourhood of `canary`'s own analysis: its threshold halved
    /// and doubled, its step (or iterations) halved and doubled, and each
    /// metric bound loosened and tightened. Three values per parameter.
    pub fn around(canary: &Canary) -> Space {
        let analysis = canary.spec.analysis();
        let mut dimensions: Vec<Vec<Setting>> = Vec::new();
        let threshold = analysis.threshold.max(1);
        dimensions.push(
            whole_neighbours(threshold, i32::MAX)
                .into_iter()
                .map(Setting::Threshold)
                .collect(),
        );
        if canary.spec.strategy() == Strategy::Canary {
            if analysis.step_weights.is_empty() {
                let step = analysis.step_weight.max(1);
                dimensions.push(
                    whole_neighbours(step, analysis.max_weight_or_default())
                        .into_iter()
                        .map(Setting::StepWeight)
                        .collect(),
                );
            }
        } else {
            dimensions.push(
                whole_neighbours(analysis.iterations.max(1), i32::MAX)
                    .into_iter()
                    .map(Setting::Iterations)
                    .collect(),
            );
        }
        for metric in &analysis.metrics {
            let bounds = metric.bounds();
            if let Some(min) = bounds.min {
                dimensions.push(
                    bound_neighbours(min, true)
                        .into_iter()
                        .map(|value| Setting::MetricMin {
                            metric: metric.name.clone(),
                            value,
                        })
                        .collect(),
                );
            }
            if let Some(max) = bounds.max {
                dimensions.push(
                    bound_neighbours(max, false)
                        .into_iter()
                        .map(|value| Setting::MetricMax {
                            metric: metric.name.clone(),
                            value,
                        })
                        .collect(),
                );
            }
        }
        dimensions.retain(|dimension| !dimension.is_empty());
        Space { dimensions }
    }
}

/// Half, the same and double `value`, within `1..=limit`, without repeats.
fn whole_neighbours(value: i32, limit: i32) -> Vec<i32> {
    let mut values = vec![
        (value / 2).max(1),
        value,
        value.saturating_mul(2).min(limit),
    ];
    values.dedup();
    values
}

/// A bound loosened and tightened. A lower bound below 100 (a success
/// rate, a percentage) moves the allowed failures: 99 gives 98 and 99.5.
/// Other bounds scale by 1.6 either way: 500 gives 312.5 → 310 and 800.
fn bound_neighbours(value: f64, lower: bool) -> Vec<f64> {
    let values = if lower && value > 0.0 && value < 100.0 {
        let allowed = 100.0 - value;
        vec![100.0 - allowed * 2.0, value, 100.0 - allowed / 2.0]
    } else {
        let (looser, tighter) = if lower {
            (value / 1.6, value * 1.6)
        } else {
            (value * 1.6, value / 1.6)
        };
        let mut values = vec![round_two_digits(looser), value, round_two_digits(tighter)];
        values.sort_by(f64::total_cmp);
        values
    };
    let mut values: Vec<f64> = values.into_iter().map(round_two_digits_decimal).collect();
    values.dedup();
    values
}

/// `value` with two significant digits: 312.5 → 310.
fn round_two_digits(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let magnitude = 10f64.powi(value.abs().log10().floor() as i32 - 1);
    (value / magnitude).round() * magnitude
}

/// Rounds away binary noise (99.75000000001) to four decimals.
fn round_two_digits_decimal(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// The space file; see the module docs.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SpaceFile {
    interval: Option<Vec<Span>>,
    threshold: Option<Json>,
    step_weight: Option<Json>,
    max_weight: Option<Json>,
    step_weights: Option<Vec<Vec<i32>>>,
    iterations: Option<Json>,
    #[serde(default)]
    metrics: BTreeMap<String, MetricSpace>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct MetricSpace {
    min: Option<Json>,
    max: Option<Json>,
}

const FORMAT: Format = Format {
    kind: "TuningSpace",
    code: "space",
    reference: "the README's `weir tune` section",
};

/// Above this many configs a sweep is probably a mistake (a range with a
/// tiny step); the error says how to go past it.
pub const MAX_CONFIGS: usize = 100_000;

/// Reads and checks a space file against the Canary it tunes.
pub fn load(path: &Path, canary: &Canary) -> Result<Space, InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        InputError::whole_file(
            &file,
            "space.file",
            format!("cannot read the space: {error}"),
            "check the path",
        )
    })?;
    parse(&file, &text, canary)
}

/// Parses and checks space text.
pub fn parse(file: &str, text: &str, canary: &Canary) -> Result<Space, InputError> {
    let mut checker = Checker::new(file, FORMAT);
    let document = checker.read(text)?;
    let space: SpaceFile = checker.deserialize(&document)?;
    let index = &document.index;
    let analysis = canary.spec.analysis();
    let strategy = canary.spec.strategy();
    let progressive = strategy == Strategy::Canary;
    let strategy_name = match strategy {
        Strategy::Canary => "a progressive canary (stepWeight/stepWeights)",
        Strategy::BlueGreen => "blue/green (iterations)",
        Strategy::AbTesting => "A/B testing (iterations and match)",
    };
    let mut dimensions: Vec<Vec<Setting>> = Vec::new();

    if let Some(intervals) = &space.interval {
        let values: Vec<Setting> = intervals
            .iter()
            .enumerate()
            .filter_map(|(position, span)| {
                if span.0 < weir_api::canary::MIN_INTERVAL {
                    checker.error(
                        index,
                        &format!("interval[{position}]"),
                        format!("an interval of {span} is below Flagger's 10s floor"),
                        "use 10s or more",
                    );
                    return None;
                }
                Some(Setting::Interval(*span))
            })
            .collect();
        let listed = intervals.len();
        dimensions.push(checked_values(
            &mut checker,
            index,
            "interval",
            values,
            listed,
        ));
    }
    let wholes: [WholeParameter<'_>; 4] = [
        (
            "threshold",
            &space.threshold,
            Setting::Threshold,
            1,
            i32::MAX,
            true,
        ),
        (
            "stepWeight",
            &space.step_weight,
            Setting::StepWeight,
            1,
            100,
            progressive,
        ),
        (
            "maxWeight",
            &space.max_weight,
            Setting::MaxWeight,
            1,
            100,
            progressive,
        ),
        (
            "iterations",
            &space.iterations,
            Setting::Iterations,
            1,
            i32::MAX,
            !progressive,
        ),
    ];
    for (name, source, setting, low, high, applies) in wholes {
        let Some(source) = source else { continue };
        if !applies {
            checker.error(
                index,
                name,
                format!("`{name}` does not apply: the Canary is {strategy_name}"),
                &format!("remove `{name}`, or tune a Canary of the strategy it belongs to"),
            );
            continue;
        }
        let values = numbers(&mut checker, index, name, source)
            .into_iter()
            .filter_map(|(path, value)| {
                if value.fract() != 0.0 || value < f64::from(low) || value > f64::from(high) {
                    let range = if high == i32::MAX {
                        format!("a whole number of at least {low}")
                    } else {
                        format!("a whole number from {low} to {high}")
                    };
                    checker.error(
                        index,
                        &path,
                        format!("{value} is not {range}"),
                        &format!("use {range}"),
                    );
                    return None;
                }
                // Checked above: a whole number within i32.
                Some(setting(value as i32))
            })
            .collect();
        let listed = listed(source);
        dimensions.push(checked_values(&mut checker, index, name, values, listed));
    }
    if let Some(ladders) = &space.step_weights {
        if !progressive {
            checker.error(
                index,
                "stepWeights",
                format!("`stepWeights` does not apply: the Canary is {strategy_name}"),
                "remove `stepWeights`",
            );
        } else {
            let mut values = Vec::new();
            for (position, ladder) in ladders.iter().enumerate() {
                let ascending = ladder.windows(2).all(|pair| pair[0] < pair[1]);
                if ladder.is_empty() || !ascending || ladder.iter().any(|w| !(1..=100).contains(w))
                {
                    checker.error(
                        index,
                        &format!("stepWeights[{position}]"),
                        "a ladder is a non-empty list of rising weights from 1 to 100".to_owned(),
                        "write e.g. `[1, 5, 10, 25, 50]`",
                    );
                } else {
                    values.push(Setting::StepWeights(ladder.clone()));
                }
            }
            let listed = ladders.len();
            dimensions.push(checked_values(
                &mut checker,
                index,
                "stepWeights",
                values,
                listed,
            ));
        }
        if space.step_weight.is_some() {
            checker.error(
                index,
                "stepWeights",
                "`stepWeight` and `stepWeights` are both swept".to_owned(),
                "sweep one: Flagger uses the ladder whenever `stepWeights` is set",
            );
        }
        if space.max_weight.is_some() {
            checker.error(
                index,
                "maxWeight",
                "`maxWeight` has no effect with `stepWeights`: the ladder's last step is the maximum"
                    .to_owned(),
                "remove `maxWeight`, or sweep `stepWeight` instead of `stepWeights`",
            );
        }
    } else if space.max_weight.is_some()
        && space.step_weight.is_none()
        && !analysis.step_weights.is_empty()
    {
        checker.error(
            index,
            "maxWeight",
            "`maxWeight` has no effect: the Canary uses `stepWeights`, whose last step is the maximum"
                .to_owned(),
            "remove `maxWeight`, or sweep `stepWeights`",
        );
    }
    let names: Vec<&str> = analysis
        .metrics
        .iter()
        .map(|metric| metric.name.as_str())
        .collect();
    let mut metric_dimensions = Vec::new();
    for (metric, bounds) in &space.metrics {
        let path = format!("metrics.{metric}");
        let Some(order) = names.iter().position(|name| name == metric) else {
            let help = match weir_validate::suggest::closest(metric, names.iter().copied()) {
                Some(close) => format!(
                    "did you mean `{close}`? the Canary's metrics: {}",
                    names.join(", ")
                ),
                None => format!("the Canary's metrics: {}", names.join(", ")),
            };
            checker.error(
                index,
                &path,
                format!("the Canary has no metric `{metric}`"),
                &help,
            );
            continue;
        };
        if bounds.min.is_none() && bounds.max.is_none() {
            checker.error(
                index,
                &path,
                "no bound to sweep".to_owned(),
                "add `min: [...]` or `max: [...]`",
            );
        }
        for (which, source) in [("min", &bounds.min), ("max", &bounds.max)] {
            let Some(source) = source else { continue };
            let name = format!("{path}.{which}");
            let values = numbers(&mut checker, index, &name, source)
                .into_iter()
                .map(|(_, value)| {
                    let metric = metric.clone();
                    if which == "min" {
                        Setting::MetricMin { metric, value }
                    } else {
                        Setting::MetricMax { metric, value }
                    }
                })
                .collect();
            let values = checked_values(&mut checker, index, &name, values, listed(source));
            metric_dimensions.push(((order, which == "max"), values));
        }
    }
    metric_dimensions.sort_by_key(|(key, _)| *key);
    dimensions.extend(metric_dimensions.into_iter().map(|(_, values)| values));
    dimensions.retain(|dimension| !dimension.is_empty());

    if !checker.has_errors() && dimensions.is_empty() {
        checker.error(
            index,
            "",
            "the space sweeps nothing".to_owned(),
            "list values for at least one of interval, threshold, stepWeight, maxWeight, stepWeights, iterations or metrics.<name>.min/max",
        );
    }
    let space = Space { dimensions };
    if !checker.has_errors() && space.len() > MAX_CONFIGS {
        checker.error(
            index,
            "",
            format!(
                "the space spans {} configs (more than {MAX_CONFIGS})",
                space.len()
            ),
            "sweep fewer values, or split the sweep into several spaces",
        );
    }
    if !checker.has_errors() {
        check_configs(&mut checker, index, &space, canary);
    }
    if checker.has_errors() {
        return Err(checker.into_error(text));
    }
    Ok(space)
}

/// A whole-number parameter: its name, its values in the file, how it
/// sets the Canary, its bounds, and whether it applies to the strategy.
type WholeParameter<'a> = (
    &'a str,
    &'a Option<Json>,
    fn(i32) -> Setting,
    i32,
    i32,
    bool,
);

/// How many values a parameter lists (a range counts as one).
fn listed(source: &Json) -> usize {
    source.as_array().map_or(1, Vec::len)
}

/// A parameter's values, with repeats and empty lists reported. Values
/// that were wrong (and reported) are already left out, so emptiness is
/// judged on what the file `listed`.
fn checked_values(
    checker: &mut Checker,
    index: &SpanIndex,
    name: &str,
    values: Vec<Setting>,
    listed: usize,
) -> Vec<Setting> {
    if listed == 0 {
        checker.error(
            index,
            name,
            format!("`{name}` lists no values"),
            "list at least one value, or remove it",
        );
    }
    for (position, value) in values.iter().enumerate() {
        if values[..position].contains(value) {
            checker.error(
                index,
                name,
                format!("`{name}` lists {} twice", value.value()),
                "list each value once: a repeat would run the same configs twice",
            );
        }
    }
    values
}

/// A numeric parameter's values: a list, or `{from, to, step}`.
fn numbers(
    checker: &mut Checker,
    index: &SpanIndex,
    name: &str,
    source: &Json,
) -> Vec<(String, f64)> {
    match source {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(position, item)| {
                let path = format!("{name}[{position}]");
                match item.as_f64().filter(|value| value.is_finite()) {
                    Some(value) => Some((path, value)),
                    None => {
                        checker.error(
                            index,
                            &path,
                            format!("{item} is not a number"),
                            "write a number",
                        );
                        None
                    }
                }
            })
            .collect(),
        Json::Object(range) => {
            let field = |key: &str| range.get(key).and_then(Json::as_f64);
            let unknown: Vec<&String> = range
                .keys()
                .filter(|key| !["from", "to", "step"].contains(&key.as_str()))
                .collect();
            for key in unknown {
                let help = match weir_validate::suggest::closest(key, ["from", "to", "step"]) {
                    Some(close) => format!("did you mean `{close}`? a range has from, to and step"),
                    None => "a range has from, to and step".to_owned(),
                };
                checker.error(
                    index,
                    &format!("{name}.{key}"),
                    format!("unknown field `{key}`"),
                    &help,
                );
            }
            let (Some(from), Some(to), Some(step)) = (field("from"), field("to"), field("step"))
            else {
                checker.error(
                    index,
                    name,
                    "a range needs numbers `from`, `to` and `step`".to_owned(),
                    "write e.g. `{from: 2, to: 10, step: 2}`, or list the values",
                );
                return Vec::new();
            };
            if step.is_nan() || step <= 0.0 || to < from || (to - from) / step > MAX_CONFIGS as f64
            {
                checker.error(
                    index,
                    name,
                    format!("the range from {from} to {to} by {step} is empty or endless"),
                    "use from <= to and a positive step",
                );
                return Vec::new();
            }
            let count = ((to - from) / step + 1e-9).floor() as usize;
            (0..=count)
                .map(|position| {
                    let value = round_two_digits_decimal(from + step * position as f64);
                    (name.to_owned(), value)
                })
                .collect()
        }
        other => {
            checker.error(
                index,
                name,
                format!("{other} is neither a list nor a range"),
                "write a list like `[2, 5, 8]` or a range like `{from: 2, to: 10, step: 2}`",
            );
            Vec::new()
        }
    }
}

/// Every config must make a Canary the engine accepts (a stepWeight above
/// maxWeight, a min above a max): reported before any work, with the first
/// few configs that fail.
fn check_configs(checker: &mut Checker, index: &SpanIndex, space: &Space, canary: &Canary) {
    let context = CheckContext::default();
    let mut failures: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for config in space.configs() {
        let tuned = config.apply(canary);
        for finding in check_canary(&tuned, &context) {
            if finding.severity == Severity::Error {
                failures
                    .entry(finding.message.clone())
                    .and_modify(|(count, _)| *count += 1)
                    .or_insert((1, config.label()));
            }
        }
    }
    for (message, (count, example)) in failures {
        checker.error(
            index,
            "",
            format!("{count} config(s) make an invalid Canary: {message} (e.g. {example})"),
            "drop the values that cannot go together",
        );
    }
}

/// The longest analysis interval any config of `space` uses on `canary`.
pub fn longest_interval(space: &Space, canary: &Canary) -> Duration {
    space
        .dimensions
        .iter()
        .flatten()
        .filter_map(|setting| match setting {
            Setting::Interval(span) => Some(span.0),
            _ => None,
        })
        .max()
        .unwrap_or_else(|| canary.spec.analysis().interval_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn podinfo() -> Canary {
        let text = include_str!("../../../scenarios/canaries/podinfo.yaml");
        weir_validate::decode_all(text, "Canary").remove(0)
    }

    #[test]
    fn configs_enumerate_every_combination_with_the_first_parameter_slowest() {
        let space = parse(
            "space.yaml",
            "threshold: [1, 5]\nstepWeight: [5, 10, 20]\n",
            &podinfo(),
        )
        .expect("valid");
        let labels: Vec<String> = space.configs().iter().map(Config::label).collect();
        assert_eq!(
            labels,
            [
                "threshold=1 stepWeight=5",
                "threshold=1 stepWeight=10",
                "threshold=1 stepWeight=20",
                "threshold=5 stepWeight=5",
                "threshold=5 stepWeight=10",
                "threshold=5 stepWeight=20",
            ]
        );
        assert_eq!(space.configs()[4].index, 4);
    }

    #[test]
    fn metric_bounds_follow_the_canarys_metric_order_whatever_the_files_order() {
        let space = parse(
            "space.yaml",
            "metrics:\n  request-duration: {max: [300]}\n  request-success-rate: {min: [98], max: [100]}\n",
            &podinfo(),
        )
        .expect("valid");
        assert_eq!(
            space.parameters(),
            [
                "request-success-rate.min",
                "request-success-rate.max",
                "request-duration.max"
            ]
        );
    }

    #[test]
    fn applying_a_config_sets_exactly_its_parameters() {
        let canary = podinfo();
        let config = Config {
            index: 0,
            settings: vec![
                Setting::Interval(Span(Duration::from_secs(30))),
                Setting::StepWeights(vec![1, 10, 50]),
                Setting::MetricMin {
                    metric: "request-success-rate".to_owned(),
                    value: 99.5,
                },
            ],
        };
        let tuned = config.apply(&canary);
        let analysis = tuned.spec.analysis();
        assert_eq!(analysis.interval.as_deref(), Some("30s"));
        assert_eq!(analysis.step_weights, [1, 10, 50]);
        assert_eq!(analysis.step_weight, 0, "a ladder replaces the linear step");
        assert_eq!(analysis.threshold, canary.spec.analysis().threshold);
        assert_eq!(analysis.metrics[0].bounds().min, Some(99.5));
        assert_eq!(analysis.metrics[1], canary.spec.analysis().metrics[1]);
    }

    #[test]
    fn the_default_space_brackets_the_canarys_own_values() {
        let space = Space::around(&podinfo());
        let values: Vec<Vec<String>> = space
            .dimensions
            .iter()
            .map(|dimension| dimension.iter().map(Setting::value).collect())
            .collect();
        assert_eq!(
            values,
            [
                vec!["2", "5", "10"],
                vec!["2", "5", "10"],
                vec!["98", "99", "99.5"],
                vec!["310", "500", "800"],
            ]
        );
        assert_eq!(space.len(), 81);
    }
}
