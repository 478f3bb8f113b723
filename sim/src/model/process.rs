//! Values of custom metrics (MetricTemplate queries) over a revision's life.
//!
//! ```text
//!   constant     ────────────────────   value
//!   noise        ~╱╲~╱~╲╱~~╲╱~╱╲~~╲~   mean + sd · N(0, 1), fresh at every step
//!   ramp         ____╱‾‾‾‾‾‾‾‾‾‾‾‾‾‾   from → to over `over`, then flat (+ optional noise)
//!   randomWalk   _╱╲_╱‾╲╱‾‾╲_╱‾‾╲╱‾   start, + drift and volatility per `per`, kept in [min, max]
//!   step         ______╱‾‾‾‾‾‾‾‾‾‾‾‾   before, then after from `at`
//! ```
//!
//! A [`ProcessState`] holds one run's value of one metric for one revision,
//! and is advanced by the event loop as virtual time passes (times are the
//! revision's age). The random walk is a Brownian motion with drift sampled
//! at the advance times: an advance of `dt` adds
//! `drift · dt/per + volatility · sqrt(dt/per) · N(0, 1)`, so the value's
//! distribution after a given time does not depend on how it was cut into
//! steps (before clamping to `min`/`max`, which holds the value at the
//! bound rather than reflecting it).
//!
//! YAML (`process` selects the model):
//!
//! ```yaml
//! custom:
//!   queue-depth:   {process: constant, value: 3}
//!   cpu:           {process: noise, mean: 0.4, sd: 0.05}
//!   cache-misses:  {process: ramp, from: 10, to: 80, over: 10m, noise: 2}
//!   memory-growth: {process: randomWalk, start: 100, drift: 2, volatility: 0.5, per: 1m, min: 0}
//!   p95-ms:        {process: step, before: 120, after: 300, at: 5m}
//! ```

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Deserialize;

use super::{ModelError, check_finite, check_non_negative, check_positive_span};
use crate::time::Span;

/// How a custom metric's value evolves.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(tag = "process", rename_all = "camelCase", deny_unknown_fields)]
pub enum Process {
    Constant(ConstantProcess),
    Noise(NoiseProcess),
    Ramp(RampProcess),
    RandomWalk(RandomWalkProcess),
    Step(StepProcess),
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConstantProcess {
    pub value: f64,
}

/// Independent Gaussian values around a mean.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoiseProcess {
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
}

/// A linear ramp from `from` to `to` over `over`, then flat.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RampProcess {
    pub from: f64,
    pub to: f64,
    pub over: Span,
    /// Standard deviation of Gaussian noise around the ramp; default 0.
    #[serde(default)]
    pub noise: f64,
}

/// A Brownian motion with drift.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RandomWalkProcess {
    pub start: f64,
    /// Mean change per `per`.
    pub drift: f64,
    /// Standard deviation of the change per `per`.
    pub volatility: f64,
    pub per: Span,
    /// The value never goes below this (memory cannot be negative).
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

/// One value before `at`, another from then on.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepProcess {
    pub before: f64,
    pub after: f64,
    pub at: Span,
}

impl Process {
    /// Rejects values the process cannot use, naming the field and the fix.
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            Process::Constant(constant) => check_finite("value", constant.value),
            Process::Noise(noise) => {
                check_finite("mean", noise.mean)?;
                check_non_negative("sd", noise.sd, "standard deviation")
            }
            Process::Ramp(ramp) => {
                check_finite("from", ramp.from)?;
                check_finite("to", ramp.to)?;
                check_positive_span("over", ramp.over, "10m")?;
                check_non_negative("noise", ramp.noise, "standard deviation")
            }
            Process::RandomWalk(walk) => {
                check_finite("start", walk.start)?;
                check_finite("drift", walk.drift)?;
                check_non_negative("volatility", walk.volatility, "standard deviation")?;
                check_positive_span("per", walk.per, "1m")?;
                if let Some(min) = walk.min {
                    check_finite("min", min)?;
                }
                if let Some(max) = walk.max {
                    check_finite("max", max)?;
                }
                if let (Some(min), Some(max)) = (walk.min, walk.max)
                    && min > max
                {
                    return Err(ModelError::new(
                        "min",
                        format!("{min} is above max {max}"),
                        "swap them, or drop one",
                    ));
                }
                if walk.min.is_some_and(|min| walk.start < min)
                    || walk.max.is_some_and(|max| walk.start > max)
                {
                    return Err(ModelError::new(
                        "start",
                        format!("{} is outside [min, max]", walk.start),
                        "start the walk between its bounds",
                    ));
                }
                Ok(())
            }
            Process::Step(step) => {
                check_finite("before", step.before)?;
                check_finite("after", step.after)
            }
        }
    }

    /// The process at age 0 (noise draws its first value now).
    pub fn start<R: Rng + ?Sized>(&self, rng: &mut R) -> ProcessState {
        let mut state = ProcessState {
            process: *self,
            elapsed: 0.0,
            value: 0.0,
        };
        state.value = match self {
            Process::Constant(constant) => constant.value,
            Process::Noise(noise) => noise.mean + noise.sd * gaussian(rng, noise.sd),
            Process::Ramp(ramp) => ramp.from + ramp.noise * gaussian(rng, ramp.noise),
            Process::RandomWalk(walk) => clamp(walk.start, walk.min, walk.max),
            Process::Step(step) => step.before,
        };
        state
    }
}

/// One run's value of one custom metric for one revision.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessState {
    process: Process,
    elapsed: f64,
    value: f64,
}

impl ProcessState {
    /// The current value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Seconds since the process started.
    pub fn elapsed(&self) -> f64 {
        self.elapsed
    }

    /// Moves the process `dt` seconds on; `dt` that is not positive (or NaN)
    /// changes nothing.
    pub fn advance<R: Rng + ?Sized>(&mut self, rng: &mut R, dt: f64) {
        if dt.is_nan() || dt <= 0.0 {
            return;
        }
        self.elapsed += dt;
        self.value = match self.process {
            Process::Constant(constant) => constant.value,
            Process::Noise(noise) => noise.mean + noise.sd * gaussian(rng, noise.sd),
            Process::Ramp(ramp) => {
                let over = ramp.over.as_secs_f64();
                let progress = if over > 0.0 {
                    (self.elapsed / over).min(1.0)
                } else {
                    1.0
                };
                ramp.from
                    + (ramp.to - ramp.from) * progress
                    + ramp.noise * gaussian(rng, ramp.noise)
            }
            Process::RandomWalk(walk) => {
                let per = walk.per.as_secs_f64();
                let steps = if per > 0.0 { dt / per } else { 0.0 };
                let change = walk.drift * steps
                    + walk.volatility * steps.sqrt() * gaussian(rng, walk.volatility);
                clamp(self.value + change, walk.min, walk.max)
            }
            Process::Step(step) => {
                if self.elapsed >= step.at.as_secs_f64() {
                    step.after
                } else {
                    step.before
                }
            }
        };
    }
}

/// A standard normal draw, or 0 without a draw when it would be multiplied
/// by a zero scale (saves the draw for deterministic processes).
fn gaussian<R: Rng + ?Sized>(rng: &mut R, scale: f64) -> f64 {
    if scale == 0.0 {
        0.0
    } else {
        StandardNormal.sample(rng)
    }
}

fn clamp(value: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    let value = min.map_or(value, |min| value.max(min));
    max.map_or(value, |max| value.min(max))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn read(yaml: &str) -> Process {
        let process: Process = serde_saphyr::from_str(yaml).expect(yaml);
        process.validate().expect(yaml);
        process
    }

    #[test]
    fn a_random_walk_has_drift_times_steps_as_mean_and_volatility_squared_times_steps_as_variance()
    {
        // After 10 min in uneven steps: mean 100 + 2·10 = 120, variance
        // 0.5²·10 = 2.5. 10,000 runs: the mean's standard error is
        // sqrt(2.5/10000) = 0.016 and the variance's relative one is
        // sqrt(2/10000) = 1.4%; tolerances are 5 of them.
        let walk = read("{process: randomWalk, start: 100, drift: 2, volatility: 0.5, per: 1m}");
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let runs = 10_000;
        let finals: Vec<f64> = (0..runs)
            .map(|_| {
                let mut state = walk.start(&mut rng);
                for dt in [30.0, 90.0, 60.0, 15.0, 405.0] {
                    state.advance(&mut rng, dt);
                }
                assert!((state.elapsed() - 600.0).abs() < 1e-9);
                state.value()
            })
            .collect();
        let mean = finals.iter().sum::<f64>() / f64::from(runs);
        let variance = finals
            .iter()
            .map(|value| (value - mean).powi(2))
            .sum::<f64>()
            / f64::from(runs - 1);
        assert!((mean - 120.0).abs() < 0.08, "{mean}");
        assert!((variance - 2.5).abs() < 0.07 * 2.5, "{variance}");
    }

    #[test]
    fn a_random_walk_stays_within_its_bounds() {
        let walk = read(
            "{process: randomWalk, start: 1, drift: -5, volatility: 3, per: 1m, min: 0, max: 4}",
        );
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut state = walk.start(&mut rng);
        for _ in 0..1_000 {
            state.advance(&mut rng, 60.0);
            assert!((0.0..=4.0).contains(&state.value()), "{}", state.value());
        }
    }

    #[test]
    fn ramps_steps_constants_and_noise_follow_their_definitions() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut ramp = read("{process: ramp, from: 10, to: 70, over: 10m}").start(&mut rng);
        assert_eq!(ramp.value(), 10.0);
        ramp.advance(&mut rng, 150.0);
        assert!((ramp.value() - 25.0).abs() < 1e-9);
        ramp.advance(&mut rng, 3600.0);
        assert!((ramp.value() - 70.0).abs() < 1e-9);

        let mut step = read("{process: step, before: 120, after: 300, at: 5m}").start(&mut rng);
        step.advance(&mut rng, 299.0);
        assert_eq!(step.value(), 120.0);
        step.advance(&mut rng, 1.0);
        assert_eq!(step.value(), 300.0);

        let mut constant = read("{process: constant, value: 3}").start(&mut rng);
        constant.advance(&mut rng, 10.0);
        assert_eq!(constant.value(), 3.0);
        constant.advance(&mut rng, f64::NAN);
        assert_eq!(constant.elapsed(), 10.0);

        // 10,000 noise values: mean within 5 standard errors (5 · 0.05/100).
        let mut noise = read("{process: noise, mean: 0.4, sd: 0.05}").start(&mut rng);
        let mut total = 0.0;
        for _ in 0..10_000 {
            noise.advance(&mut rng, 1.0);
            total += noise.value();
        }
        assert!((total / 10_000.0 - 0.4).abs() < 0.0025);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        for bad in [
            "{process: constant, value: 3, unit: ms}",
            "{process: randomWalk, start: 1, drift: 0, volatility: 1, per: 1m, minimum: 0}",
            "{process: step, before: 1, after: 2, at: 5m, over: 1m}",
        ] {
            let error = serde_saphyr::from_str::<Process>(bad).expect_err(bad);
            assert!(
                error.to_string().contains("unknown field"),
                "{bad}: {error}"
            );
        }
        let invalid = |yaml: &str| {
            serde_saphyr::from_str::<Process>(yaml)
                .expect(yaml)
                .validate()
                .expect_err(yaml)
                .to_string()
        };
        assert!(invalid("{process: noise, mean: 1, sd: -1}").starts_with("sd: -1"));
        assert!(invalid("{process: ramp, from: 1, to: 2, over: 0s}").starts_with("over:"));
        assert!(
            invalid(
                "{process: randomWalk, start: 1, drift: 0, volatility: 1, per: 1m, min: 5, max: 2}"
            )
            .starts_with("min: 5 is above max 2")
        );
        assert!(
            invalid("{process: randomWalk, start: -1, drift: 0, volatility: 1, per: 1m, min: 0}")
                .starts_with("start:")
        );
    }
}
