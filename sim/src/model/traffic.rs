//! Request-rate models: how many requests per second arrive at the service,
//! as a function of the time since the scenario started.
//!
//! ```text
//!   constant   ─────────────────────────────    rps
//!   diurnal    ╭──╮        ╭──╮                 meanRps · (1 + amplitude · cos(2π (t − peakAt) / period))
//!             ╯    ╰──────╯    ╰──
//!   step       ───┐   ┌───────┐                  rps, then each step's rps from its `at`
//!                 └───┘       └──
//!   bursts     ─┐█┌────┐█┌────┐█┌─               rps, and burstRps during [firstAt + k·every, … + lasting)
//!   zero       ______________________________   no requests
//! ```
//!
//! Arrivals are a Poisson process with this rate; the simulator only needs
//! [`RateModel::expected_requests`], the exact integral of the rate over a
//! window, and draws the count from it. Every model has a closed-form
//! integral, so a window costs the same however long it is.
//!
//! YAML (`model` selects the model; durations are Go durations):
//!
//! ```yaml
//! rate: {model: constant, rps: 1000}
//! rate: {model: diurnal, meanRps: 1000, amplitude: 0.6, period: 24h, peakAt: 14h}
//! rate: {model: step, rps: 100, steps: [{at: 10m, rps: 1000}, {at: 30m, rps: 300}]}
//! rate: {model: bursts, rps: 100, burstRps: 2000, every: 10m, lasting: 1m, firstAt: 5m}
//! rate: {model: zero}
//! ```

use std::f64::consts::TAU;

use serde::Deserialize;

use super::{ModelError, check_non_negative, check_positive_span};
use crate::time::Span;

/// The request rate of the service over time.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "model", rename_all = "camelCase", deny_unknown_fields)]
pub enum RateModel {
    Constant(ConstantRate),
    Diurnal(DiurnalRate),
    Step(StepRate),
    Bursts(BurstsRate),
    Zero(ZeroRate),
}

/// The same rate all the time.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConstantRate {
    pub rps: f64,
}

/// A daily (or any periodic) cycle: a cosine around the mean.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiurnalRate {
    pub mean_rps: f64,
    /// The swing as a share of the mean, in [0, 1]: 0.6 peaks at 1.6× and
    /// bottoms out at 0.4× the mean.
    pub amplitude: f64,
    /// The length of one cycle.
    pub period: Span,
    /// When (since the scenario started) the rate peaks; default 0s.
    #[serde(default)]
    pub peak_at: Span,
}

/// A rate that jumps at given times.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepRate {
    /// The rate before the first step.
    pub rps: f64,
    /// The steps, in increasing order of `at`.
    #[serde(default)]
    pub steps: Vec<RateStep>,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateStep {
    pub at: Span,
    pub rps: f64,
}

/// A base rate with regular bursts (a batch job, a cron, a retry storm).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BurstsRate {
    /// The rate between bursts.
    pub rps: f64,
    /// The rate during a burst (instead of `rps`, not on top of it).
    pub burst_rps: f64,
    /// Time from the start of one burst to the start of the next.
    pub every: Span,
    /// How long a burst lasts; at most `every`.
    pub lasting: Span,
    /// When the first burst starts; default 0s.
    #[serde(default)]
    pub first_at: Span,
}

/// No traffic at all (`{model: zero}`; any other key is rejected).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZeroRate {}

impl RateModel {
    /// Rejects values the model cannot use, naming the field and the fix.
    pub fn validate(&self) -> Result<(), ModelError> {
        const RATE: &str = "request rate (requests per second)";
        match self {
            RateModel::Constant(constant) => check_non_negative("rps", constant.rps, RATE),
            RateModel::Diurnal(diurnal) => {
                check_non_negative("meanRps", diurnal.mean_rps, RATE)?;
                if !(0.0..=1.0).contains(&diurnal.amplitude) {
                    return Err(ModelError::new(
                        "amplitude",
                        format!("{} is not a share of the mean rate", diurnal.amplitude),
                        "write a number from 0 (flat) to 1 (the rate falls to 0 at the trough)",
                    ));
                }
                check_positive_span("period", diurnal.period, "24h")
            }
            RateModel::Step(step) => {
                check_non_negative("rps", step.rps, RATE)?;
                let mut previous: Option<Span> = None;
                for (index, rate_step) in step.steps.iter().enumerate() {
                    let field = format!("steps[{index}]");
                    check_non_negative("rps", rate_step.rps, RATE)
                        .map_err(|error| error.within(&field))?;
                    if let Some(previous) = previous
                        && rate_step.at <= previous
                    {
                        return Err(ModelError::new(
                            format!("{field}.at"),
                            format!(
                                "{} is not after the previous step's {previous}",
                                rate_step.at
                            ),
                            "list the steps in increasing order of `at`",
                        ));
                    }
                    previous = Some(rate_step.at);
                }
                Ok(())
            }
            RateModel::Bursts(bursts) => {
                check_non_negative("rps", bursts.rps, RATE)?;
                check_non_negative("burstRps", bursts.burst_rps, RATE)?;
                check_positive_span("every", bursts.every, "10m")?;
                check_positive_span("lasting", bursts.lasting, "1m")?;
                if bursts.lasting > bursts.every {
                    return Err(ModelError::new(
                        "lasting",
                        format!(
                            "bursts of {} every {} would overlap",
                            bursts.lasting, bursts.every
                        ),
                        "make `lasting` at most `every`",
                    ));
                }
                Ok(())
            }
            RateModel::Zero(_) => Ok(()),
        }
    }

    /// The request rate at `t` seconds since the scenario started.
    pub fn rps_at(&self, t: f64) -> f64 {
        match self {
            RateModel::Constant(constant) => constant.rps,
            RateModel::Diurnal(diurnal) => {
                let period = diurnal.period.as_secs_f64();
                let phase = TAU * (t - diurnal.peak_at.as_secs_f64()) / period;
                diurnal.mean_rps * (1.0 + diurnal.amplitude * phase.cos())
            }
            RateModel::Step(step) => step
                .steps
                .iter()
                .take_while(|rate_step| rate_step.at.as_secs_f64() <= t)
                .last()
                .map_or(step.rps, |rate_step| rate_step.rps),
            RateModel::Bursts(bursts) => {
                if bursts.in_burst(t) {
                    bursts.burst_rps
                } else {
                    bursts.rps
                }
            }
            RateModel::Zero(_) => 0.0,
        }
    }

    /// The expected number of requests in [`from`, `to`): the exact integral
    /// of the rate (0 when `to` is not after `from`).
    pub fn expected_requests(&self, from: f64, to: f64) -> f64 {
        if to.is_nan() || from.is_nan() || to <= from {
            return 0.0;
        }
        match self {
            RateModel::Constant(constant) => constant.rps * (to - from),
            RateModel::Diurnal(diurnal) => {
                // ∫ m (1 + a cos(ω(t − t₀))) dt = m (Δ + a/ω (sin ω(to − t₀) − sin ω(from − t₀))),
                // with the difference of sines as 2 cos(mid) sin(half-width):
                // no cancellation for short windows late in the run.
                let omega = TAU / diurnal.period.as_secs_f64();
                let peak = diurnal.peak_at.as_secs_f64();
                let middle = omega * (0.5 * (from + to) - peak);
                let half_width = omega * 0.5 * (to - from);
                let sine_difference = 2.0 * middle.cos() * half_width.sin();
                diurnal.mean_rps * ((to - from) + diurnal.amplitude * sine_difference / omega)
            }
            RateModel::Step(step) => {
                let mut total = 0.0;
                let mut rate = step.rps;
                let mut cursor = from;
                for rate_step in &step.steps {
                    let at = rate_step.at.as_secs_f64();
                    if at >= to {
                        break;
                    }
                    if at > cursor {
                        total += rate * (at - cursor);
                        cursor = at;
                    }
                    rate = rate_step.rps;
                }
                total + rate * (to - cursor)
            }
            RateModel::Bursts(bursts) => {
                let burst_time = bursts.burst_time_before(to) - bursts.burst_time_before(from);
                bursts.rps * (to - from - burst_time) + bursts.burst_rps * burst_time
            }
            RateModel::Zero(_) => 0.0,
        }
    }
}

impl BurstsRate {
    /// Whether `t` lies in a burst, [firstAt + k·every, firstAt + k·every + lasting).
    fn in_burst(&self, t: f64) -> bool {
        let since_first = t - self.first_at.as_secs_f64();
        let every = self.every.as_secs_f64();
        if since_first.is_nan() || since_first < 0.0 {
            return false;
        }
        let into_cycle = if every > 0.0 {
            since_first % every
        } else {
            since_first
        };
        into_cycle < self.lasting.as_secs_f64()
    }

    /// Seconds of bursts in [0, t): whole cycles since `firstAt` contribute
    /// `lasting` each, the current cycle up to `lasting`.
    fn burst_time_before(&self, t: f64) -> f64 {
        let since_first = t - self.first_at.as_secs_f64();
        if since_first.is_nan() || since_first <= 0.0 {
            return 0.0;
        }
        let every = self.every.as_secs_f64();
        let lasting = self.lasting.as_secs_f64();
        if every <= 0.0 {
            // Unvalidated: bursts without a period are one burst from `firstAt`.
            return since_first.min(lasting);
        }
        let cycles = (since_first / every).floor();
        let into_cycle = since_first - cycles * every;
        cycles * lasting + into_cycle.min(lasting)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn span(seconds: u64) -> Span {
        Span(Duration::from_secs(seconds))
    }

    fn models() -> Vec<RateModel> {
        vec![
            RateModel::Constant(ConstantRate { rps: 250.0 }),
            RateModel::Diurnal(DiurnalRate {
                mean_rps: 1000.0,
                amplitude: 0.6,
                period: span(86_400),
                peak_at: span(14 * 3600),
            }),
            RateModel::Step(StepRate {
                rps: 100.0,
                steps: vec![
                    RateStep {
                        at: span(600),
                        rps: 1000.0,
                    },
                    RateStep {
                        at: span(1800),
                        rps: 300.0,
                    },
                ],
            }),
            RateModel::Bursts(BurstsRate {
                rps: 100.0,
                burst_rps: 2000.0,
                every: span(600),
                lasting: span(60),
                first_at: span(300),
            }),
            RateModel::Zero(ZeroRate {}),
        ]
    }

    /// The integral by the midpoint rule on `steps` slices.
    fn numeric_integral(model: &RateModel, from: f64, to: f64, steps: u32) -> f64 {
        let width = (to - from) / f64::from(steps);
        (0..steps)
            .map(|index| model.rps_at(from + (f64::from(index) + 0.5) * width) * width)
            .sum()
    }

    #[test]
    fn expected_requests_are_the_integral_of_the_rate() {
        // Midpoint rule with 1 ms slices: exact for piecewise-constant rates
        // whose jumps fall on slice edges (all of these do) and within
        // 10⁻⁹ relative for the cosine.
        let windows = [
            (0.0, 60.0),
            (250.0, 370.0),
            (590.0, 610.0),
            (0.0, 3600.0),
            (49_000.0, 52_000.0),
            (1_799.5, 1_800.5),
        ];
        for model in models() {
            model.validate().expect("valid");
            for (from, to) in windows {
                let exact = model.expected_requests(from, to);
                let steps = ((to - from) * 1000.0) as u32;
                let numeric = numeric_integral(&model, from, to, steps);
                assert!(
                    (exact - numeric).abs() <= 1e-6 * numeric.max(1.0),
                    "{model:?} over [{from}, {to}): {exact} vs {numeric}"
                );
            }
            assert_eq!(model.expected_requests(10.0, 10.0), 0.0);
            assert_eq!(model.expected_requests(10.0, 5.0), 0.0);
        }
    }

    #[test]
    fn the_diurnal_rate_peaks_at_peak_at_and_bottoms_out_half_a_period_later() {
        let model = &models()[1];
        let peak = 14.0 * 3600.0;
        assert!((model.rps_at(peak) - 1600.0).abs() < 1e-9);
        assert!((model.rps_at(peak + 43_200.0) - 400.0).abs() < 1e-9);
        assert!((model.rps_at(peak + 86_400.0) - 1600.0).abs() < 1e-9);
        // The peak is the maximum: a minute either side is lower.
        assert!(model.rps_at(peak - 60.0) < model.rps_at(peak));
        assert!(model.rps_at(peak + 60.0) < model.rps_at(peak));
        // A whole period averages the mean.
        assert!((model.expected_requests(1234.0, 1234.0 + 86_400.0) - 86_400_000.0).abs() < 1e-3);
    }

    #[test]
    fn steps_and_bursts_switch_at_their_times() {
        let step = &models()[2];
        assert_eq!(step.rps_at(599.9), 100.0);
        assert_eq!(step.rps_at(600.0), 1000.0);
        assert_eq!(step.rps_at(1800.0), 300.0);
        let bursts = &models()[3];
        assert_eq!(bursts.rps_at(299.0), 100.0);
        assert_eq!(bursts.rps_at(300.0), 2000.0);
        assert_eq!(bursts.rps_at(359.9), 2000.0);
        assert_eq!(bursts.rps_at(360.0), 100.0);
        assert_eq!(bursts.rps_at(900.0), 2000.0);
        // One burst minute and nine quiet minutes per ten.
        assert!(
            (bursts.expected_requests(300.0, 900.0) - (60.0 * 2000.0 + 540.0 * 100.0)).abs() < 1e-6
        );
    }

    #[test]
    fn the_yaml_shapes_read_and_unknown_keys_are_rejected() {
        let read = |yaml: &str| serde_saphyr::from_str::<RateModel>(yaml);
        assert_eq!(
            read("{model: constant, rps: 1000}").expect("constant"),
            RateModel::Constant(ConstantRate { rps: 1000.0 })
        );
        assert_eq!(
            read("{model: diurnal, meanRps: 1000, amplitude: 0.6, period: 24h, peakAt: 14h}")
                .expect("diurnal"),
            models()[1]
        );
        assert_eq!(
            read("{model: step, rps: 100, steps: [{at: 10m, rps: 1000}, {at: 30m, rps: 300}]}")
                .expect("step"),
            models()[2]
        );
        assert_eq!(
            read("{model: bursts, rps: 100, burstRps: 2000, every: 10m, lasting: 1m, firstAt: 5m}")
                .expect("bursts"),
            models()[3]
        );
        assert_eq!(read("{model: zero}").expect("zero"), models()[4]);
        for bad in [
            "{model: constant, rps: 1000, rsp: 5}",
            "{model: diurnal, meanRps: 1000, amplitude: 0.6, period: 24h, peak: 14h}",
            "{model: step, rps: 100, steps: [{at: 10m, rps: 1000, over: 1m}]}",
            "{model: zero, rps: 5}",
        ] {
            let error = read(bad).expect_err(bad);
            assert!(
                error.to_string().contains("unknown field"),
                "{bad}: {error}"
            );
        }
        let error = read("{model: sine, rps: 5}").expect_err("unknown model");
        assert!(error.to_string().contains("unknown variant"), "{error}");
    }

    #[test]
    fn validation_names_the_field_and_the_fix() {
        let check = |yaml: &str| {
            serde_saphyr::from_str::<RateModel>(yaml)
                .expect(yaml)
                .validate()
                .expect_err(yaml)
                .to_string()
        };
        assert!(
            check("{model: constant, rps: -1}").starts_with("rps: -1 is not a valid request rate")
        );
        assert!(
            check("{model: diurnal, meanRps: 10, amplitude: 1.5, period: 24h}")
                .starts_with("amplitude:")
        );
        assert!(
            check("{model: diurnal, meanRps: 10, amplitude: 0.5, period: 0s}")
                .contains("period: a duration of 0s")
        );
        assert!(
            check("{model: step, rps: 1, steps: [{at: 10m, rps: 2}, {at: 5m, rps: 3}]}")
                .starts_with("steps[1].at: 5m")
        );
        assert!(
            check("{model: step, rps: 1, steps: [{at: 10m, rps: -2}]}")
                .starts_with("steps[0].rps: -2")
        );
        assert!(
            check("{model: bursts, rps: 1, burstRps: 5, every: 1m, lasting: 2m}")
                .starts_with("lasting: bursts of 2m0s every 1m0s would overlap")
        );
    }
}
