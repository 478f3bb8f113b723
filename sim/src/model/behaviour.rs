//! How a revision answers requests: which fail and how slowly, as functions
//! of its age (seconds since its pods first became ready).
//!
//! ```text
//!   failure probability
//!     │▓▓╲                    warmup: +rate at age 0, falling linearly to 0 at `lasting`
//!     │   ╲▁▁▁▁▁▁▁▁▁╱‾‾‾‾‾‾‾‾‾▕█▏‾‾‾‾‾▕█▏‾‾   rate, then changes (ramps over `over`, or steps)
//!     │            ↑after  ↑after+over  spikes: +rate during random episodes
//!     └──────────────────────────────────────▶ age
//! ```
//!
//! **Failures.** The base rate follows `rate` and then each change in turn:
//! from `after`, a linear ramp from the level before to the change's `rate`
//! over `over` (a step without it). Warm-up and spikes are further,
//! independent causes of failure: a request fails unless every cause spares
//! it, so the probabilities combine as `1 − (1 − base)(1 − warmup)(1 − spike)`
//! and never exceed 1.
//!
//! [`ErrorModel::error_probability`] is the mean failure probability over a
//! window, computed exactly: between consecutive knots (change starts and
//! ends, the end of warm-up) base and warm-up are linear, their combination
//! quadratic, and two-point Gauss–Legendre quadrature is exact for it. Spikes
//! come in as the fraction `f` of the window they cover (from a
//! [`SpikeTrain`]): `p̄ + f · s · (1 − p̄)`, exact when the base is flat over
//! the window and otherwise an approximation that ignores where in the
//! window the spike fell (windows are short next to ramps). The requests are
//! taken as spread evenly over the window, which is exact for constant
//! traffic; traffic that changes within a window weights the two slightly
//! differently.
//!
//! **Latency.** A lognormal through `median` and `p99`, changed by `changes`
//! (each moves the median, the p99 or both, linearly over `over`; raising
//! only the p99 widens the distribution without moving the median). A heavy
//! `tail` makes a share of requests `factor` times slower; `load` slows all
//! requests by the queueing factor `1 / (1 − utilisation)`, capped at
//! `maxSlowdown`; `spikes` make the requests of random episodes `factor`
//! times slower. [`LatencyModel::distribution`] evaluates the changes at the
//! middle of the window (the midpoint rule: a ramp within one window shows
//! at its mid value) and returns the mixture of
//! [`LatencyDistribution`].
//!
//! ```yaml
//! errors:
//!   rate: 0.001
//!   changes: [{after: 5m, rate: 0.02, over: 2m}]
//!   warmup: {rate: 0.2, lasting: 1m}
//!   spikes: {rate: 0.1, every: 7m, lasting: 30s}
//! latency:
//!   median: 25ms
//!   p99: 120ms
//!   tail: {probability: 0.005, factor: 20}
//!   load: {capacityRpsPerPod: 300, maxSlowdown: 20}
//!   changes: [{after: 5m, p99: 800ms, over: 1m}]
//!   spikes: {factor: 5, every: 10m, lasting: 30s}
//! custom:
//!   memory-growth: {process: randomWalk, start: 100, drift: 2, volatility: 0.5, per: 1m, min: 0}
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use serde::Deserialize;

use super::latency::{LatencyDistribution, Lognormal, Slowdown};
use super::process::{Process, ProcessState};
use super::sample::clamp_probability;
use super::spikes::SpikeTrain;
use super::{ModelError, check_factor, check_positive_span, check_probability};
use crate::time::Span;

/// A revision's behaviour; every part has a default, so `{}` is a healthy
/// revision (no failures, 20 ms median, 100 ms p99).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Behaviour {
    #[serde(default)]
    pub errors: ErrorModel,
    #[serde(default)]
    pub latency: LatencyModel,
    /// Values of MetricTemplate metrics, by metric name.
    #[serde(default)]
    pub custom: BTreeMap<String, Process>,
}

impl Behaviour {
    /// Rejects values the models cannot use; the error's field starts with
    /// `errors`, `latency` or `custom.<metric>`.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.errors
            .validate()
            .map_err(|error| error.within("errors"))?;
        self.latency
            .validate()
            .map_err(|error| error.within("latency"))?;
        for (name, process) in &self.custom {
            process
                .validate()
                .map_err(|error| error.within(&format!("custom.{name}")))?;
        }
        Ok(())
    }

    /// See [`ErrorModel::error_probability`].
    pub fn error_probability(&self, age_from: f64, age_to: f64, spike_fraction: f64) -> f64 {
        self.errors
            .error_probability(age_from, age_to, spike_fraction)
    }

    /// See [`LatencyModel::distribution`].
    pub fn latency_distribution(
        &self,
        age_mid: f64,
        per_pod_rps: f64,
        spike_fraction: f64,
    ) -> LatencyDistribution {
        self.latency
            .distribution(age_mid, per_pod_rps, spike_fraction)
    }
}

/// Which requests fail (5xx).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ErrorModel {
    /// Probability that a request fails; default 0.
    pub rate: f64,
    /// Later failure rates, in order of `after`.
    pub changes: Vec<ErrorChange>,
    /// Extra failures right after the pods start.
    pub warmup: Option<Warmup>,
    /// Intermittent episodes of extra failures.
    pub spikes: Option<ErrorSpikes>,
}

/// From `after`, the failure rate moves to `rate`, linearly over `over`
/// (at once without it).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorChange {
    pub after: Span,
    pub rate: f64,
    #[serde(default)]
    pub over: Option<Span>,
}

/// An extra failure probability of `rate` at age 0, falling linearly to 0
/// at `lasting`.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Warmup {
    pub rate: f64,
    pub lasting: Span,
}

/// Episodes of `lasting` during which requests also fail with probability
/// `rate`; quiet gaps between them average `every` (see [`SpikeTrain`]).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorSpikes {
    pub rate: f64,
    pub every: Span,
    pub lasting: Span,
}

/// How slowly requests are answered.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LatencyModel {
    /// Median latency of the body; default 20ms.
    pub median: Span,
    /// 99th percentile of the body (before tail, load and spikes); default 100ms.
    pub p99: Span,
    pub tail: Option<Tail>,
    pub load: Option<Load>,
    /// Later medians and p99s, in order of `after`.
    pub changes: Vec<LatencyChange>,
    pub spikes: Option<LatencySpikes>,
}

impl Default for LatencyModel {
    fn default() -> LatencyModel {
        // A typical in-cluster HTTP service behind a sidecar.
        LatencyModel {
            median: Span(Duration::from_millis(20)),
            p99: Span(Duration::from_millis(100)),
            tail: None,
            load: None,
            changes: Vec::new(),
            spikes: None,
        }
    }
}

/// A share (`probability`) of requests is `factor` times slower (cold
/// caches, GC pauses, retries).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tail {
    pub probability: f64,
    pub factor: f64,
}

/// Queueing: at `utilisation = rps per ready pod / capacityRpsPerPod`, every
/// request is `1 / (1 − utilisation)` times slower (an M/M/1 queue's
/// response time), at most `maxSlowdown` times.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Load {
    pub capacity_rps_per_pod: f64,
    #[serde(default = "default_max_slowdown")]
    pub max_slowdown: f64,
}

/// 20× is where an overloaded service's clients time out and retry, so the
/// queue stops growing in practice; it is reached at 95% utilisation.
fn default_max_slowdown() -> f64 {
    20.0
}

/// From `after`, the median and/or p99 move to new values, linearly over
/// `over` (at once without it). A field left out keeps its value.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencyChange {
    pub after: Span,
    #[serde(default)]
    pub median: Option<Span>,
    #[serde(default)]
    pub p99: Option<Span>,
    #[serde(default)]
    pub over: Option<Span>,
}

/// Episodes of `lasting` during which requests are `factor` times slower;
/// quiet gaps between them average `every`.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencySpikes {
    pub factor: f64,
    pub every: Span,
    pub lasting: Span,
}

fn seconds(span: Option<Span>) -> f64 {
    span.map_or(0.0, Span::as_secs_f64)
}

fn milliseconds(span: Span) -> f64 {
    span.as_secs_f64() * 1000.0
}

/// Changes must not start before the previous one has finished ramping.
fn check_change_order(
    index: usize,
    after: Span,
    previous_end: Option<Span>,
) -> Result<(), ModelError> {
    match previous_end {
        Some(end) if after < end => Err(ModelError::new(
            format!("changes[{index}].after"),
            format!("{after} is before the previous change has finished (at {end})"),
            format!("start it at {end} or later, or shorten the previous change's `over`"),
        )),
        _ => Ok(()),
    }
}

/// Spike episodes need a positive length and a mean gap of at least 1s.
fn check_spike_timing(every: Span, lasting: Span) -> Result<(), ModelError> {
    if every.0 < Duration::from_secs(1) {
        return Err(ModelError::new(
            "every",
            format!("spikes every {every} on average are noise rather than episodes"),
            "use `every: 1s` or more, or raise the base rate instead",
        ));
    }
    check_positive_span("lasting", lasting, "30s")
}

impl ErrorModel {
    /// Rejects values the model cannot use, naming the field and the fix.
    pub fn validate(&self) -> Result<(), ModelError> {
        check_probability("rate", self.rate)?;
        let mut previous_end: Option<Span> = None;
        for (index, change) in self.changes.iter().enumerate() {
            check_change_order(index, change.after, previous_end)?;
            check_probability(&format!("changes[{index}].rate"), change.rate)?;
            previous_end = Some(Span(change.after.0 + change.over.unwrap_or_default().0));
        }
        if let Some(warmup) = &self.warmup {
            check_probability("warmup.rate", warmup.rate)?;
            check_positive_span("warmup.lasting", warmup.lasting, "1m")?;
        }
        if let Some(spikes) = &self.spikes {
            check_probability("spikes.rate", spikes.rate)?;
            check_spike_timing(spikes.every, spikes.lasting)
                .map_err(|error| error.within("spikes"))?;
        }
        Ok(())
    }

    /// A spike train for these spikes (one per revision and run), if any.
    pub fn spike_train<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<SpikeTrain> {
        self.spikes.as_ref().map(|spikes| {
            SpikeTrain::new(
                rng,
                spikes.every.as_secs_f64(),
                spikes.lasting.as_secs_f64(),
            )
        })
    }

    /// The base failure rate (`rate` and `changes`) at `age`.
    pub fn base_rate_at(&self, age: f64) -> f64 {
        let mut level = self.rate;
        for change in &self.changes {
            let start = change.after.as_secs_f64();
            if age < start {
                break;
            }
            let over = seconds(change.over);
            if over > 0.0 && age < start + over {
                return level + (change.rate - level) * (age - start) / over;
            }
            level = change.rate;
        }
        level
    }

    /// The warm-up's extra failure probability at `age` (its full rate
    /// before age 0).
    pub fn warmup_at(&self, age: f64) -> f64 {
        let Some(warmup) = &self.warmup else {
            return 0.0;
        };
        let lasting = warmup.lasting.as_secs_f64();
        if lasting <= 0.0 {
            return 0.0;
        }
        warmup.rate * (1.0 - age.max(0.0) / lasting).max(0.0)
    }

    /// The failure probability at `age`, outside spikes.
    pub fn probability_at(&self, age: f64) -> f64 {
        let base = clamp_probability(self.base_rate_at(age));
        let warmup = clamp_probability(self.warmup_at(age));
        1.0 - (1.0 - base) * (1.0 - warmup)
    }

    /// The mean failure probability of a request in the window of ages
    /// [`age_from`, `age_to`), `spike_fraction` of which is spent in error
    /// spikes (see the module docs: exact for the ramps and warm-up). A
    /// window of zero length gives the probability at `age_from`.
    pub fn error_probability(&self, age_from: f64, age_to: f64, spike_fraction: f64) -> f64 {
        let mean = if age_to > age_from {
            let mut total = 0.0;
            let mut cursor = age_from;
            while cursor < age_to {
                let next = self.next_knot(cursor).min(age_to);
                // Two-point Gauss–Legendre on [cursor, next]: nodes at the
                // middle ± half-width/√3, both strictly inside the piece.
                let middle = 0.5 * (cursor + next);
                let offset = 0.5 * (next - cursor) / 3.0_f64.sqrt();
                total += 0.5
                    * (next - cursor)
                    * (self.probability_at(middle - offset) + self.probability_at(middle + offset));
                cursor = next;
            }
            total / (age_to - age_from)
        } else {
            self.probability_at(age_from)
        };
        let spike_rate = self
            .spikes
            .as_ref()
            .map_or(0.0, |spikes| clamp_probability(spikes.rate));
        let fraction = clamp_probability(spike_fraction);
        clamp_probability(mean + fraction * spike_rate * (1.0 - mean))
    }

    /// The first age after `age` where the base or the warm-up changes slope.
    fn next_knot(&self, age: f64) -> f64 {
        let mut next = f64::INFINITY;
        let mut consider = |knot: f64| {
            if knot > age && knot < next {
                next = knot;
            }
        };
        for change in &self.changes {
            let start = change.after.as_secs_f64();
            consider(start);
            consider(start + seconds(change.over));
        }
        if let Some(warmup) = &self.warmup {
            consider(0.0);
            consider(warmup.lasting.as_secs_f64());
        }
        next
    }
}

impl LatencyModel {
    /// Rejects values the model cannot use, naming the field and the fix.
    pub fn validate(&self) -> Result<(), ModelError> {
        check_median_and_p99("", self.median, self.p99)?;
        if let Some(tail) = &self.tail {
            check_probability("tail.probability", tail.probability)?;
            check_factor("tail.factor", tail.factor)?;
        }
        if let Some(load) = &self.load {
            if !(load.capacity_rps_per_pod.is_finite() && load.capacity_rps_per_pod > 0.0) {
                return Err(ModelError::new(
                    "load.capacityRpsPerPod",
                    format!("{} is not a capacity", load.capacity_rps_per_pod),
                    "write the requests per second one pod serves at full load, above 0",
                ));
            }
            check_factor("load.maxSlowdown", load.max_slowdown)?;
        }
        let (mut median, mut p99) = (self.median, self.p99);
        let mut previous_end: Option<Span> = None;
        for (index, change) in self.changes.iter().enumerate() {
            check_change_order(index, change.after, previous_end)?;
            if change.median.is_none() && change.p99.is_none() {
                return Err(ModelError::new(
                    format!("changes[{index}]"),
                    "the change changes nothing",
                    "give it a `median`, a `p99` or both",
                ));
            }
            median = change.median.unwrap_or(median);
            p99 = change.p99.unwrap_or(p99);
            check_median_and_p99(&format!("changes[{index}]"), median, p99)?;
            previous_end = Some(Span(change.after.0 + change.over.unwrap_or_default().0));
        }
        if let Some(spikes) = &self.spikes {
            check_factor("spikes.factor", spikes.factor)?;
            check_spike_timing(spikes.every, spikes.lasting)
                .map_err(|error| error.within("spikes"))?;
        }
        Ok(())
    }

    /// A spike train for these spikes (one per revision and run), if any.
    pub fn spike_train<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<SpikeTrain> {
        self.spikes.as_ref().map(|spikes| {
            SpikeTrain::new(
                rng,
                spikes.every.as_secs_f64(),
                spikes.lasting.as_secs_f64(),
            )
        })
    }

    /// The body's median and p99 in ms at `age`, after `changes`.
    pub fn median_and_p99_at(&self, age: f64) -> (f64, f64) {
        let mut median = milliseconds(self.median);
        let mut p99 = milliseconds(self.p99);
        for change in &self.changes {
            let start = change.after.as_secs_f64();
            if age < start {
                break;
            }
            let target_median = change.median.map_or(median, milliseconds);
            let target_p99 = change.p99.map_or(p99, milliseconds);
            let over = seconds(change.over);
            if over > 0.0 && age < start + over {
                let progress = (age - start) / over;
                return (
                    median + (target_median - median) * progress,
                    p99 + (target_p99 - p99) * progress,
                );
            }
            median = target_median;
            p99 = target_p99;
        }
        (median, p99)
    }

    /// The queueing slowdown at `per_pod_rps` requests per second per ready
    /// pod: 1 without `load`, else `1 / (1 − utilisation)` capped at
    /// `maxSlowdown` (the cap also at or above full utilisation, and for an
    /// infinite rate, which is what a window without ready pods gives).
    pub fn slowdown(&self, per_pod_rps: f64) -> f64 {
        let Some(load) = &self.load else {
            return 1.0;
        };
        let cap = if load.max_slowdown >= 1.0 {
            load.max_slowdown
        } else {
            1.0
        };
        if per_pod_rps.is_nan() || per_pod_rps <= 0.0 {
            return 1.0;
        }
        let utilisation = per_pod_rps / load.capacity_rps_per_pod;
        if utilisation < 1.0 {
            (1.0 / (1.0 - utilisation)).min(cap)
        } else {
            cap
        }
    }

    /// The latency distribution of a window whose middle is at `age_mid`,
    /// at `per_pod_rps` requests per second per ready pod, `spike_fraction`
    /// of it in latency spikes.
    pub fn distribution(
        &self,
        age_mid: f64,
        per_pod_rps: f64,
        spike_fraction: f64,
    ) -> LatencyDistribution {
        let (median, p99) = self.median_and_p99_at(age_mid);
        let body = Lognormal::fit(median, p99).scaled(self.slowdown(per_pod_rps));
        let tail = self.tail.as_ref().map_or(Slowdown::NONE, |tail| Slowdown {
            share: tail.probability,
            factor: tail.factor,
        });
        let spike = self
            .spikes
            .as_ref()
            .map_or(Slowdown::NONE, |spikes| Slowdown {
                share: spike_fraction,
                factor: spikes.factor,
            });
        LatencyDistribution::new(body, tail, spike)
    }
}

fn check_median_and_p99(at: &str, median: Span, p99: Span) -> Result<(), ModelError> {
    let field = |name: &str| {
        if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        }
    };
    if median.0.is_zero() {
        return Err(ModelError::new(
            field("median"),
            "a median latency of 0s is impossible",
            "write the typical latency, e.g. `20ms`",
        ));
    }
    if p99 < median {
        return Err(ModelError::new(
            field("p99"),
            format!("{p99} is below the median {median}"),
            "a p99 is at least the median; raise p99 (defaults: median 20ms, p99 100ms)",
        ));
    }
    Ok(())
}

/// One revision's random state in one run: its spike trains and the values
/// of its custom metrics. The event loop keeps one per revision and asks it
/// for each window, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct RevisionState {
    error_spikes: Option<SpikeTrain>,
    latency_spikes: Option<SpikeTrain>,
    custom: BTreeMap<String, ProcessState>,
}

/// What a revision does in one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RevisionWindow {
    /// The mean failure probability of a request.
    pub error_probability: f64,
    pub latency: LatencyDistribution,
    /// The fraction of the window spent in error spikes.
    pub error_spike_fraction: f64,
    /// The fraction of the window spent in latency spikes.
    pub latency_spike_fraction: f64,
}

impl RevisionState {
    /// The state at age 0: draws the first spikes and starts the custom
    /// processes (in metric-name order, so the draws are reproducible).
    pub fn new<R: Rng + ?Sized>(behaviour: &Behaviour, rng: &mut R) -> RevisionState {
        RevisionState {
            error_spikes: behaviour.errors.spike_train(rng),
            latency_spikes: behaviour.latency.spike_train(rng),
            custom: behaviour
                .custom
                .iter()
                .map(|(name, process)| (name.clone(), process.start(rng)))
                .collect(),
        }
    }

    /// The window of ages [`age_from`, `age_to`) at `per_pod_rps` requests
    /// per second per ready pod. Windows must come in order.
    pub fn window<R: Rng + ?Sized>(
        &mut self,
        behaviour: &Behaviour,
        rng: &mut R,
        age_from: f64,
        age_to: f64,
        per_pod_rps: f64,
    ) -> RevisionWindow {
        let error_spike_fraction = self
            .error_spikes
            .as_mut()
            .map_or(0.0, |train| train.fraction(rng, age_from, age_to));
        let latency_spike_fraction = self
            .latency_spikes
            .as_mut()
            .map_or(0.0, |train| train.fraction(rng, age_from, age_to));
        RevisionWindow {
            error_probability: behaviour.error_probability(age_from, age_to, error_spike_fraction),
            latency: behaviour.latency_distribution(
                0.5 * (age_from + age_to),
                per_pod_rps,
                latency_spike_fraction,
            ),
            error_spike_fraction,
            latency_spike_fraction,
        }
    }

    /// Advances every custom metric by `dt` seconds (in metric-name order).
    pub fn advance_custom<R: Rng + ?Sized>(&mut self, rng: &mut R, dt: f64) {
        for state in self.custom.values_mut() {
            state.advance(rng, dt);
        }
    }

    /// The current value of custom metric `name`, if the revision defines it.
    pub fn custom_value(&self, name: &str) -> Option<f64> {
        self.custom.get(name).map(ProcessState::value)
    }

    /// All custom metrics, by name.
    pub fn custom(&self) -> &BTreeMap<String, ProcessState> {
        &self.custom
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn read(yaml: &str) -> Behaviour {
        let behaviour: Behaviour = serde_saphyr::from_str(yaml).expect(yaml);
        behaviour.validate().expect(yaml);
        behaviour
    }

    fn invalid(yaml: &str) -> String {
        serde_saphyr::from_str::<Behaviour>(yaml)
            .expect(yaml)
            .validate()
            .expect_err(yaml)
            .to_string()
    }

    /// The mean of `f` over [from, to) by the midpoint rule on 1 ms slices.
    fn numeric_mean(f: impl Fn(f64) -> f64, from: f64, to: f64) -> f64 {
        let slices = ((to - from) * 1000.0) as u32;
        let width = (to - from) / f64::from(slices);
        (0..slices)
            .map(|index| f(from + (f64::from(index) + 0.5) * width))
            .sum::<f64>()
            / f64::from(slices)
    }

    const FULL: &str = "
errors:
  rate: 0.001
  changes: [{after: 5m, rate: 0.02, over: 2m}, {after: 10m, rate: 0.5}]
  warmup: {rate: 0.2, lasting: 1m}
  spikes: {rate: 0.1, every: 7m, lasting: 30s}
latency:
  median: 25ms
  p99: 120ms
  tail: {probability: 0.005, factor: 20}
  load: {capacityRpsPerPod: 300}
  changes: [{after: 5m, median: 25ms, p99: 800ms, over: 1m}]
  spikes: {factor: 5, every: 10m, lasting: 30s}
custom:
  memory-growth: {process: randomWalk, start: 100, drift: 2, volatility: 0.5, per: 1m, min: 0}
";

    #[test]
    fn an_empty_revision_is_healthy_with_default_latency() {
        let behaviour = read("{}");
        assert_eq!(behaviour, Behaviour::default());
        assert_eq!(behaviour.error_probability(0.0, 60.0, 0.0), 0.0);
        let distribution = behaviour.latency_distribution(30.0, 100.0, 0.0);
        assert!((distribution.quantile(0.5) - 20.0).abs() < 1e-3);
        assert!((distribution.quantile(0.99) - 100.0).abs() < 1e-2);
    }

    #[test]
    fn the_full_yaml_shape_reads() {
        let behaviour = read(FULL);
        assert_eq!(behaviour.errors.changes.len(), 2);
        assert_eq!(behaviour.errors.changes[1].over, None);
        assert_eq!(
            behaviour
                .latency
                .load
                .as_ref()
                .map(|load| load.max_slowdown),
            Some(20.0)
        );
        assert_eq!(
            behaviour.latency.changes[0].p99,
            Some(Span(Duration::from_millis(800)))
        );
        assert!(matches!(
            behaviour.custom["memory-growth"],
            Process::RandomWalk(_)
        ));
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level() {
        for bad in [
            "{error: {rate: 0.1}}",
            "{errors: {rates: 0.1}}",
            "{errors: {changes: [{after: 1m, rate: 0.1, ramp: 1m}]}}",
            "{errors: {warmup: {rate: 0.1, lasting: 1m, decay: linear}}}",
            "{latency: {median: 20ms, p95: 50ms}}",
            "{latency: {load: {capacity: 300}}}",
            "{custom: {m: {process: noise, mean: 1, sd: 1, seed: 4}}}",
        ] {
            let error = serde_saphyr::from_str::<Behaviour>(bad).expect_err(bad);
            assert!(
                error.to_string().contains("unknown field"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn validation_names_the_field_and_the_fix() {
        assert!(
            invalid("{errors: {rate: 1.5}}").starts_with("errors.rate: 1.5 is not a probability")
        );
        assert!(
            invalid(
                "{errors: {changes: [{after: 5m, rate: 0.1, over: 2m}, {after: 6m, rate: 0.2}]}}"
            )
            .starts_with(
                "errors.changes[1].after: 6m0s is before the previous change has finished (at 7m0s)"
            )
        );
        assert!(
            invalid("{errors: {warmup: {rate: 0.2, lasting: 0s}}}")
                .starts_with("errors.warmup.lasting:")
        );
        assert!(
            invalid("{errors: {spikes: {rate: 0.2, every: 0s, lasting: 1s}}}")
                .starts_with("errors.spikes.every:")
        );
        assert!(invalid("{latency: {median: 200ms}}").starts_with(
            "latency.p99: 100ms is below the median 200ms; a p99 is at least the median"
        ));
        assert!(
            invalid("{latency: {changes: [{after: 1m, median: 500ms}]}}")
                .starts_with("latency.changes[0].p99:")
        );
        assert!(
            invalid("{latency: {changes: [{after: 1m}]}}")
                .starts_with("latency.changes[0]: the change changes nothing")
        );
        assert!(
            invalid("{latency: {tail: {probability: 0.1, factor: 0.5}}}")
                .starts_with("latency.tail.factor:")
        );
        assert!(
            invalid("{latency: {load: {capacityRpsPerPod: 0}}}")
                .starts_with("latency.load.capacityRpsPerPod:")
        );
        assert!(
            invalid("{custom: {mem: {process: noise, mean: 1, sd: -2}}}")
                .starts_with("custom.mem.sd:")
        );
    }

    #[test]
    fn the_window_error_probability_is_the_exact_mean_over_the_window() {
        let behaviour = read(FULL);
        let errors = &behaviour.errors;
        // Windows across the warm-up end, inside the ramp, across the ramp's
        // end and across the step at 10m; compare with 1 ms midpoint sums
        // (accurate to ~10⁻⁹ for these piecewise quadratics).
        for (from, to) in [
            (0.0, 60.0),
            (30.0, 90.0),
            (310.0, 340.0),
            (400.0, 460.0),
            (590.0, 610.0),
        ] {
            let exact = errors.error_probability(from, to, 0.0);
            let numeric = numeric_mean(|age| errors.probability_at(age), from, to);
            assert!(
                (exact - numeric).abs() < 1e-8,
                "[{from}, {to}): {exact} vs {numeric}"
            );
        }
        // Half the window in a spike of 10% extra failures.
        let quiet = errors.error_probability(900.0, 960.0, 0.0);
        assert!((quiet - 0.5).abs() < 1e-12);
        let spiky = errors.error_probability(900.0, 960.0, 0.5);
        assert!((spiky - (0.5 + 0.5 * 0.1 * 0.5)).abs() < 1e-12);
    }

    #[test]
    fn the_warmup_decays_linearly_to_nothing() {
        let behaviour = read("{errors: {warmup: {rate: 0.2, lasting: 1m}}}");
        let errors = &behaviour.errors;
        assert!((errors.probability_at(0.0) - 0.2).abs() < 1e-12);
        assert!((errors.probability_at(15.0) - 0.15).abs() < 1e-12);
        assert!((errors.probability_at(30.0) - 0.1).abs() < 1e-12);
        assert_eq!(errors.probability_at(60.0), 0.0);
        assert_eq!(errors.probability_at(3600.0), 0.0);
        // The first minute averages half the initial rate, the next one nothing.
        assert!((errors.error_probability(0.0, 60.0, 0.0) - 0.1).abs() < 1e-12);
        assert_eq!(errors.error_probability(60.0, 120.0, 0.0), 0.0);
        // A window straddling the end: 30 s averaging 0.025, then 30 s of 0.
        assert!((errors.error_probability(45.0, 75.0, 0.0) - 0.025 / 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_ramp_goes_linearly_from_the_previous_level() {
        let behaviour = read(
            "{errors: {rate: 0.01, changes: [{after: 5m, rate: 0.05, over: 2m}, {after: 7m, rate: 0.0}]}}",
        );
        let errors = &behaviour.errors;
        assert_eq!(errors.base_rate_at(299.0), 0.01);
        assert!((errors.base_rate_at(360.0) - 0.03).abs() < 1e-12);
        assert_eq!(errors.base_rate_at(420.0), 0.0);
        // A window over the whole ramp averages its midpoint.
        assert!((errors.error_probability(300.0, 420.0, 0.0) - 0.03).abs() < 1e-12);
    }

    #[test]
    fn a_p99_increase_widens_the_latency_without_moving_the_median() {
        let behaviour = read(
            "{latency: {median: 25ms, p99: 120ms, changes: [{after: 5m, p99: 800ms, over: 1m}]}}",
        );
        let before = behaviour.latency_distribution(200.0, 0.0, 0.0);
        let halfway = behaviour.latency_distribution(330.0, 0.0, 0.0);
        let after = behaviour.latency_distribution(400.0, 0.0, 0.0);
        for distribution in [before, halfway, after] {
            assert!((distribution.quantile(0.5) - 25.0).abs() < 1e-3);
        }
        assert!((before.quantile(0.99) - 120.0).abs() < 1e-2);
        assert!((halfway.quantile(0.99) - 460.0).abs() < 1e-1);
        assert!((after.quantile(0.99) - 800.0).abs() < 1e-1);
    }

    #[test]
    fn load_slows_requests_by_the_queueing_factor_up_to_the_cap() {
        let behaviour =
            read("{latency: {median: 20ms, p99: 100ms, load: {capacityRpsPerPod: 300}}}");
        let latency = &behaviour.latency;
        assert_eq!(latency.slowdown(0.0), 1.0);
        assert!((latency.slowdown(150.0) - 2.0).abs() < 1e-12);
        assert!((latency.slowdown(240.0) - 5.0).abs() < 1e-12);
        assert_eq!(latency.slowdown(299.0), 20.0);
        assert_eq!(latency.slowdown(1e9), 20.0);
        assert_eq!(latency.slowdown(f64::INFINITY), 20.0);
        assert_eq!(latency.slowdown(f64::NAN), 1.0);
        let loaded = behaviour.latency_distribution(0.0, 150.0, 0.0);
        assert!((loaded.quantile(0.5) - 40.0).abs() < 1e-3);
    }

    #[test]
    fn revision_state_combines_spikes_processes_and_models_reproducibly() {
        let behaviour = read(FULL);
        let run = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut state = RevisionState::new(&behaviour, &mut rng);
            let mut windows = Vec::new();
            for minute in 0..120 {
                let from = f64::from(minute) * 60.0;
                windows.push(state.window(&behaviour, &mut rng, from, from + 60.0, 100.0));
                state.advance_custom(&mut rng, 60.0);
            }
            (windows, state.custom_value("memory-growth"))
        };
        let (windows, memory) = run(5);
        assert_eq!(run(5), (windows.clone(), memory));
        // Two hours of 30 s spikes every ~7 min: some windows see error spikes.
        assert!(
            windows
                .iter()
                .any(|window| window.error_spike_fraction > 0.0)
        );
        assert!(
            windows
                .iter()
                .all(|window| (0.0..=1.0).contains(&window.error_probability))
        );
        // Memory drifts up by 2 per minute: 100 + 240 after two hours, with
        // a standard deviation of 0.5 · sqrt(120) ≈ 5.5.
        let memory = memory.expect("memory-growth is defined");
        assert!((memory - 340.0).abs() < 30.0, "{memory}");
        assert_eq!(
            RevisionState::new(&behaviour, &mut ChaCha8Rng::seed_from_u64(1)).custom_value("cpu"),
            None
        );
    }
}
