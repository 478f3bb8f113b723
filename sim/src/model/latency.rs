//! Latency distributions: a lognormal body, and a mixture of scaled copies of
//! it for slow requests.
//!
//! ```text
//!   density
//!     │  ╱╲  body: lognormal through median and p99
//!     │ ╱  ╲
//!     │╱    ╲___        tail (probability p, × factor)      spike (share f, × factor)
//!     │         ‾‾‾‾───────╱‾‾‾╲──────────────────────────────╱‾‾╲──────
//!     └───────────────────────────────────────────────────────────────▶ ms (log scale)
//! ```
//!
//! Request latencies are right-skewed and roughly lognormal, so the body of a
//! revision's latency is the lognormal with the configured median and p99:
//! `μ = ln(median)`, `σ = ln(p99 / median) / z₀.₉₉` with `z₀.₉₉ ≈ 2.326`.
//! Slower requests are the same shape, scaled: a request that is `k` times
//! slower has `ln(latency)` shifted by `ln k`. So every component of the
//! mixture shares σ and differs only in μ and weight:
//!
//! ```text
//!   components:  (1 − f)(1 − p) · LN(μ, σ)            (1 − f)·p · LN(μ + ln tail, σ)
//!                     f·(1 − p) · LN(μ + ln spike, σ)      f·p · LN(μ + ln tail + ln spike, σ)
//! ```
//!
//! The CDF is the weighted sum of normal CDFs of `ln(x)`. It uses a fast
//! complementary error function (relative error below 1.2·10⁻⁷), which is
//! far below what a histogram of even millions of requests can resolve, and
//! keeps [`bucket_probabilities`](super::histogram::bucket_probabilities) at
//! a few nanoseconds per bucket.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// The 0.99 quantile of the standard normal distribution.
pub const Z_99: f64 = 2.326_347_874_040_841;

/// The smallest median a lognormal is fitted to, in ms: ln(0) is undefined,
/// and one nanosecond is below any latency a histogram bucket resolves.
const MIN_MEDIAN_MS: f64 = 1e-6;

/// A lognormal distribution of latencies in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lognormal {
    /// μ: the logarithm of the median.
    pub log_median: f64,
    /// σ: the standard deviation of the logarithm.
    pub sigma: f64,
}

impl Lognormal {
    /// The lognormal with this median and 99th percentile.
    ///
    /// Out-of-range input is clamped rather than rejected (validation
    /// rejects it earlier): a median that is not positive becomes one
    /// nanosecond, and a p99 below the median (or NaN) gives σ = 0, every
    /// request exactly at the median.
    pub fn fit(median_ms: f64, p99_ms: f64) -> Lognormal {
        let median = if median_ms.is_finite() && median_ms > MIN_MEDIAN_MS {
            median_ms
        } else if median_ms == f64::INFINITY {
            f64::MAX
        } else {
            MIN_MEDIAN_MS
        };
        let ratio = p99_ms / median;
        let sigma = if ratio > 1.0 && ratio.is_finite() {
            ratio.ln() / Z_99
        } else {
            0.0
        };
        Lognormal {
            log_median: median.ln(),
            sigma,
        }
    }

    pub fn median(&self) -> f64 {
        self.log_median.exp()
    }

    /// P(latency ≤ `ms`).
    pub fn cdf(&self, ms: f64) -> f64 {
        if ms.is_nan() || ms <= 0.0 {
            return 0.0;
        }
        log_normal_cdf(ms.ln(), self.log_median, self.sigma)
    }

    /// The `q` quantile; 0 for q ≤ 0, infinity for q ≥ 1.
    pub fn quantile(&self, q: f64) -> f64 {
        if q.is_nan() || q <= 0.0 {
            return 0.0;
        }
        if q >= 1.0 {
            return f64::INFINITY;
        }
        (self.log_median + self.sigma * standard_normal_quantile(q)).exp()
    }

    /// One latency, for things drawn one at a time (pod start-up delays);
    /// never use it per request.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        (self.log_median + self.sigma * z).exp()
    }

    /// The same distribution `factor` times slower.
    pub fn scaled(self, factor: f64) -> Lognormal {
        Lognormal {
            log_median: self.log_median + factor.ln(),
            ..self
        }
    }
}

/// A share of requests that is `factor` times slower than the rest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slowdown {
    /// The share of requests affected, in [0, 1].
    pub share: f64,
    /// How many times slower they are, 1 or more.
    pub factor: f64,
}

impl Slowdown {
    /// No request is slower.
    pub const NONE: Slowdown = Slowdown {
        share: 0.0,
        factor: 1.0,
    };
}

/// The latency distribution of one version in one window: a mixture of up to
/// four lognormals sharing σ (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyDistribution {
    sigma: f64,
    /// 1/σ (0 when σ = 0), so a CDF evaluation costs no division.
    inverse_sigma: f64,
    /// (weight, μ) per component; only the first `component_count` are used.
    components: [(f64, f64); 4],
    component_count: usize,
}

impl LatencyDistribution {
    /// A plain lognormal through `median_ms` and `p99_ms`.
    pub fn lognormal(median_ms: f64, p99_ms: f64) -> LatencyDistribution {
        LatencyDistribution::new(
            Lognormal::fit(median_ms, p99_ms),
            Slowdown::NONE,
            Slowdown::NONE,
        )
    }

    /// The body, with a heavy `tail` and a `spike` share of slower requests
    /// (independent of each other: a tail request during a spike is slowed
    /// by both factors). Shares are clamped into [0, 1] (NaN counts as 0),
    /// factors below 1 or NaN count as 1; components of weight 0 are dropped.
    pub fn new(body: Lognormal, tail: Slowdown, spike: Slowdown) -> LatencyDistribution {
        let (tail_share, tail_shift) = share_and_shift(tail);
        let (spike_share, spike_shift) = share_and_shift(spike);
        let mut distribution = LatencyDistribution {
            sigma: body.sigma,
            inverse_sigma: if body.sigma > 0.0 {
                1.0 / body.sigma
            } else {
                0.0
            },
            components: [(0.0, 0.0); 4],
            component_count: 0,
        };
        for (weight, shift) in [
            ((1.0 - spike_share) * (1.0 - tail_share), 0.0),
            ((1.0 - spike_share) * tail_share, tail_shift),
            (spike_share * (1.0 - tail_share), spike_shift),
            (spike_share * tail_share, tail_shift + spike_shift),
        ] {
            if weight > 0.0 {
                distribution.components[distribution.component_count] =
                    (weight, body.log_median + shift);
                distribution.component_count += 1;
            }
        }
        distribution
    }

    /// The components, as (weight, lognormal), weights adding up to 1.
    pub fn components(&self) -> impl Iterator<Item = (f64, Lognormal)> + '_ {
        self.components[..self.component_count]
            .iter()
            .map(|&(weight, log_median)| {
                (
                    weight,
                    Lognormal {
                        log_median,
                        sigma: self.sigma,
                    },
                )
            })
    }

    /// P(latency ≤ `ms`).
    pub fn cdf(&self, ms: f64) -> f64 {
        if ms.is_nan() || ms <= 0.0 {
            return 0.0;
        }
        self.cdf_of_log(ms.ln())
    }

    /// P(ln latency ≤ `log_ms`); callers that evaluate fixed bounds pass
    /// precomputed logarithms.
    pub(crate) fn cdf_of_log(&self, log_ms: f64) -> f64 {
        let mut total = 0.0;
        for &(weight, log_median) in &self.components[..self.component_count] {
            let below = if self.sigma > 0.0 {
                standard_normal_cdf((log_ms - log_median) * self.inverse_sigma)
            } else if log_ms >= log_median {
                1.0
            } else {
                0.0
            };
            total += weight * below;
        }
        total.min(1.0)
    }

    /// The `q` quantile in ms, by bisection on the CDF in log space (60
    /// halvings of a bracket at most ~60 wide in ln(ms): far below 1 ns).
    /// 0 for q ≤ 0 or NaN, infinity for q ≥ 1.
    pub fn quantile(&self, q: f64) -> f64 {
        if q.is_nan() || q <= 0.0 {
            return 0.0;
        }
        if q >= 1.0 {
            return f64::INFINITY;
        }
        let components = &self.components[..self.component_count];
        let lowest = components.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let highest = components
            .iter()
            .map(|c| c.1)
            .fold(f64::NEG_INFINITY, f64::max);
        if !lowest.is_finite() {
            return f64::NAN;
        }
        // Φ(±10) differs from 0 and 1 by less than 10⁻²³: the quantile lies
        // within 10 σ of the outermost medians for any q a test asks for.
        let mut low = lowest - 10.0 * self.sigma - 1.0;
        let mut high = highest + 10.0 * self.sigma + 1.0;
        for _ in 0..100 {
            let middle = 0.5 * (low + high);
            if self.cdf_of_log(middle) >= q {
                high = middle;
            } else {
                low = middle;
            }
        }
        high.exp()
    }
}

fn share_and_shift(slowdown: Slowdown) -> (f64, f64) {
    let share = if slowdown.share.is_nan() {
        0.0
    } else {
        slowdown.share.clamp(0.0, 1.0)
    };
    let factor = if slowdown.factor >= 1.0 {
        slowdown.factor.min(f64::MAX)
    } else {
        1.0
    };
    (share, factor.ln())
}

/// P(ln X ≤ `log_x`) for X lognormal(μ, σ); σ = 0 is a point mass at e^μ.
fn log_normal_cdf(log_x: f64, log_median: f64, sigma: f64) -> f64 {
    if sigma > 0.0 {
        standard_normal_cdf((log_x - log_median) / sigma)
    } else if log_x >= log_median {
        1.0
    } else {
        0.0
    }
}

/// Φ(z), the standard normal CDF, with a relative error below 1.2·10⁻⁷.
pub(crate) fn standard_normal_cdf(z: f64) -> f64 {
    // 1 − Φ(8.3) < 6·10⁻¹⁷ is below half the spacing of doubles under 1,
    // so Φ rounds to exactly 1 there: skip the exponential.
    if z > 8.3 {
        return 1.0;
    }
    0.5 * erfc(-z * std::f64::consts::FRAC_1_SQRT_2)
}

/// The complementary error function, by the Chebyshev fit of Press et al.,
/// *Numerical Recipes in C* (2nd ed., §6.2, `erfcc`): relative error below
/// 1.2·10⁻⁷ everywhere, one `exp` and a degree-9 polynomial. Exact
/// alternatives cost several times more, and bucket probabilities are
/// recomputed whenever load or spikes change a distribution.
fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let polynomial = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * polynomial.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

/// Φ⁻¹(q) for q in (0, 1), exact to double precision (statrs' inverse
/// error function); used for quantiles, never per window.
fn standard_normal_quantile(q: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * q)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn the_lognormal_fit_reproduces_median_and_p99() {
        for (median, p99) in [(20.0, 100.0), (25.0, 120.0), (3.0, 3000.0), (50.0, 50.5)] {
            let fitted = Lognormal::fit(median, p99);
            assert!((fitted.median() - median).abs() < 1e-9 * median);
            assert!((fitted.quantile(0.5) - median).abs() < 1e-9 * median);
            assert!(
                (fitted.quantile(0.99) - p99).abs() < 1e-9 * p99,
                "{fitted:?}"
            );
            // The fast CDF agrees to its stated accuracy.
            assert!((fitted.cdf(median) - 0.5).abs() < 1e-7);
            assert!((fitted.cdf(p99) - 0.99).abs() < 1e-6);
            let mixture = LatencyDistribution::lognormal(median, p99);
            assert!((mixture.quantile(0.5) - median).abs() < 1e-5 * median);
            assert!((mixture.quantile(0.99) - p99).abs() < 1e-4 * p99);
        }
    }

    #[test]
    fn the_fast_normal_cdf_matches_the_exact_one() {
        for step in -80..=80 {
            let z = f64::from(step) / 10.0;
            let exact = 0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2);
            let fast = standard_normal_cdf(z);
            assert!(
                (fast - exact).abs() <= 1.2e-7 * exact,
                "z = {z}: {fast} vs {exact}"
            );
        }
    }

    #[test]
    fn a_heavy_tail_moves_the_p99_but_hardly_the_median() {
        let body = Lognormal::fit(25.0, 120.0);
        let tail = Slowdown {
            share: 0.005,
            factor: 20.0,
        };
        let distribution = LatencyDistribution::new(body, tail, Slowdown::NONE);
        assert_eq!(distribution.components().count(), 2);
        // Exactly: P(X ≤ x) = 0.995 Φ((ln x − μ)/σ) + 0.005 Φ((ln x − μ − ln 20)/σ).
        let x = 300.0;
        let expected = 0.995 * body.cdf(x) + 0.005 * body.scaled(20.0).cdf(x);
        assert!((distribution.cdf(x) - expected).abs() < 1e-12);
        assert!((distribution.quantile(0.5) - 25.0).abs() < 0.2);
        let p99 = distribution.quantile(0.99);
        assert!(p99 > 120.0 && p99 < 200.0, "{p99}");
    }

    #[test]
    fn spikes_and_tails_combine_into_four_components() {
        let body = Lognormal::fit(20.0, 100.0);
        let distribution = LatencyDistribution::new(
            body,
            Slowdown {
                share: 0.01,
                factor: 10.0,
            },
            Slowdown {
                share: 0.5,
                factor: 5.0,
            },
        );
        let components: Vec<_> = distribution.components().collect();
        assert_eq!(components.len(), 4);
        let total: f64 = components.iter().map(|(weight, _)| weight).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!((components[3].0 - 0.005).abs() < 1e-12);
        assert!((components[3].1.median() - 1000.0).abs() < 1e-9);
        // Half the requests 5× slower: the median lies between the two medians.
        let median = distribution.quantile(0.5);
        assert!(median > 20.0 && median < 100.0, "{median}");
    }

    #[test]
    fn a_p99_equal_to_the_median_is_a_constant_latency() {
        let distribution = LatencyDistribution::lognormal(40.0, 40.0);
        assert_eq!(distribution.cdf(39.999), 0.0);
        assert_eq!(distribution.cdf(40.0), 1.0);
        assert!((distribution.quantile(0.99) - 40.0).abs() < 1e-9);
        // Out-of-range fits are clamped, not panics.
        assert_eq!(Lognormal::fit(40.0, 10.0).sigma, 0.0);
        assert!(Lognormal::fit(0.0, 10.0).median() > 0.0);
        assert!(Lognormal::fit(f64::NAN, f64::NAN).median() > 0.0);
    }

    #[test]
    fn samples_follow_the_fitted_distribution() {
        // 20,000 draws: the share below the median has standard error
        // sqrt(0.25/20000) = 0.0035, so 0.02 is more than 5 of them.
        let fitted = Lognormal::fit(10.0, 30.0);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let below = (0..20_000)
            .filter(|_| fitted.sample(&mut rng) <= 10.0)
            .count();
        assert!((below as f64 / 20_000.0 - 0.5).abs() < 0.02, "{below}");
    }
}
