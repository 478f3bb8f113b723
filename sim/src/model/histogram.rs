//! Prometheus-style latency histograms, and what Flagger's builtin queries
//! read from them.
//!
//! ```text
//!   bucket  (0, 0.5] (0.5, 1] (1, 5] … (250, 500] (500, 1000] … (3600000, +Inf)
//!   count      k₀       k₁      k₂        k₇          k₈              k₁₉
//!                                          ▲
//!   histogram_quantile(0.99): find the bucket where the running count reaches
//!   0.99 · total, then interpolate linearly inside it.
//! ```
//!
//! A duration check does not see the true p99 of the latency distribution:
//! it sees `histogram_quantile(0.99, sum(rate(…_bucket[interval])) by (le))`,
//! which only knows bucket counts and assumes observations are spread evenly
//! inside each bucket. A true p99 of 130 ms reads as somewhere between 100
//! and 250 ms with Istio's buckets; a p99 beyond the highest finite bound
//! reads as that bound. The simulator reproduces these bucket effects by
//! counting simulated requests into the same buckets and running
//! Prometheus's algorithm ([`histogram_quantile`]) on them.
//!
//! Bounds are in milliseconds. Istio (and Envoy-based meshes) record
//! milliseconds; podinfo's `http_request_duration_seconds` records seconds,
//! which Flagger multiplies by 1000 — the same number as interpolating
//! between the bounds in milliseconds, since the interpolation is linear.
//!
//! `rate()` divides every bucket of a window by the same duration, so the
//! quantile of counts equals the quantile of rates.

use std::borrow::Cow;

use serde::Deserialize;

use super::ModelError;
use super::latency::LatencyDistribution;
use super::sample::MAX_BUCKETS;

/// Istio's default buckets for `istio_request_duration_milliseconds`
/// (also Envoy's default histogram buckets), in ms.
pub const ISTIO_MILLISECONDS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

/// The Prometheus client libraries' default buckets (Go's
/// `prometheus.DefBuckets`: .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5 and
/// 10 s), which podinfo's `http_request_duration_seconds` uses, in ms.
pub const PROMETHEUS_DEFAULT_MILLISECONDS: [f64; 11] = [
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

// The natural logarithms of the bounds above (`ln` is not `const`); a test
// checks them against `f64::ln`.
const ISTIO_LOGS: [f64; 19] = [
    -std::f64::consts::LN_2,
    0.0,
    1.609_437_912_434_100_3,
    std::f64::consts::LN_10,
    3.218_875_824_868_200_6,
    3.912_023_005_428_146,
    4.605_170_185_988_092,
    5.521_460_917_862_246,
    6.214_608_098_422_191,
    6.907_755_278_982_137,
    7.824_046_010_856_292,
    8.517_193_191_416_238,
    9.210_340_371_976_184,
    10.308_952_660_644_293,
    11.002_099_841_204_238,
    12.611_537_753_638_338,
    13.304_684_934_198_283,
    14.403_297_222_866_392,
    15.096_444_403_426_338,
];

const PROMETHEUS_DEFAULT_LOGS: [f64; 11] = [
    1.609_437_912_434_100_3,
    std::f64::consts::LN_10,
    3.218_875_824_868_200_6,
    3.912_023_005_428_146,
    4.605_170_185_988_092,
    5.521_460_917_862_246,
    6.214_608_098_422_191,
    6.907_755_278_982_137,
    7.824_046_010_856_292,
    8.517_193_191_416_238,
    9.210_340_371_976_184,
];

/// The upper bounds of a histogram's buckets in ms, ascending; the `+Inf`
/// bucket is implicit. Reads from a YAML list of numbers (`[5, 10, 25]`).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "Vec<f64>")]
pub struct Buckets {
    upper_bounds: Cow<'static, [f64]>,
    /// ln of each bound, so a CDF evaluation costs no logarithm.
    log_upper_bounds: Cow<'static, [f64]>,
}

impl Buckets {
    /// `istio_request_duration_milliseconds` (Istio's defaults; Envoy's too).
    pub const ISTIO: Buckets = Buckets {
        upper_bounds: Cow::Borrowed(&ISTIO_MILLISECONDS),
        log_upper_bounds: Cow::Borrowed(&ISTIO_LOGS),
    };

    /// The Prometheus clients' defaults, as podinfo's
    /// `http_request_duration_seconds` uses them (converted to ms).
    pub const PROMETHEUS_DEFAULT: Buckets = Buckets {
        upper_bounds: Cow::Borrowed(&PROMETHEUS_DEFAULT_MILLISECONDS),
        log_upper_bounds: Cow::Borrowed(&PROMETHEUS_DEFAULT_LOGS),
    };

    /// Custom bounds, checked as [`Buckets::validate`] does.
    pub fn new(upper_bounds: Vec<f64>) -> Result<Buckets, ModelError> {
        let log_upper_bounds = upper_bounds
            .iter()
            .map(|bound| bound.ln())
            .collect::<Vec<_>>();
        let buckets = Buckets {
            upper_bounds: Cow::Owned(upper_bounds),
            log_upper_bounds: Cow::Owned(log_upper_bounds),
        };
        buckets.validate()?;
        Ok(buckets)
    }

    /// The bounds must be positive, finite, strictly increasing and at most
    /// `MAX_BUCKETS − 1` (one more bucket is `+Inf`).
    pub fn validate(&self) -> Result<(), ModelError> {
        let bounds = self.upper_bounds();
        if bounds.is_empty() {
            return Err(ModelError::new(
                "",
                "a histogram needs at least one finite bucket bound",
                "list upper bounds in ms, e.g. `[5, 10, 25, 50, 100, 250, 500, 1000]`",
            ));
        }
        if bounds.len() >= MAX_BUCKETS {
            return Err(ModelError::new(
                "",
                format!(
                    "{} bucket bounds are more than the {} supported",
                    bounds.len(),
                    MAX_BUCKETS - 1
                ),
                "merge some buckets",
            ));
        }
        for (index, &bound) in bounds.iter().enumerate() {
            if !(bound.is_finite() && bound > 0.0) {
                return Err(ModelError::new(
                    format!("[{index}]"),
                    format!("{bound} is not a latency bound"),
                    "write upper bounds in ms, above 0 (`+Inf` is implicit)",
                ));
            }
            if index > 0 && bound <= bounds[index - 1] {
                return Err(ModelError::new(
                    format!("[{index}]"),
                    format!(
                        "{bound} is not above the previous bound {}",
                        bounds[index - 1]
                    ),
                    "list the bounds in increasing order, each once",
                ));
            }
        }
        Ok(())
    }

    /// The finite upper bounds, in ms.
    pub fn upper_bounds(&self) -> &[f64] {
        &self.upper_bounds
    }

    /// The number of buckets, `+Inf` included.
    pub fn len(&self) -> usize {
        self.upper_bounds.len() + 1
    }

    /// Never true: there is always the `+Inf` bucket.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl TryFrom<Vec<f64>> for Buckets {
    type Error = ModelError;

    fn try_from(upper_bounds: Vec<f64>) -> Result<Buckets, ModelError> {
        Buckets::new(upper_bounds)
    }
}

/// The probability that a request falls into each bucket: `out[i]` for the
/// bucket ending at bound `i`, `out[buckets.len() − 1]` for `+Inf`. Writes
/// the first `buckets.len()` entries of `out` (fewer if `out` is shorter) and
/// leaves the rest alone.
///
/// One CDF evaluation per bound, up to the first bound with all requests
/// below it; [`BucketProbabilities`] skips even that while the
/// distribution stays the same.
pub fn bucket_probabilities(
    distribution: &LatencyDistribution,
    buckets: &Buckets,
    out: &mut [f64],
) {
    let mut previous = 0.0;
    for (slot, &log_bound) in out.iter_mut().zip(buckets.log_upper_bounds.iter()) {
        if previous >= 1.0 {
            *slot = 0.0;
            continue;
        }
        let cumulative = distribution.cdf_of_log(log_bound).max(previous);
        *slot = cumulative - previous;
        previous = cumulative;
    }
    if let Some(slot) = out.get_mut(buckets.upper_bounds.len()) {
        *slot = (1.0 - previous).max(0.0);
    }
}

/// The bucket probabilities of the last distribution asked for, recomputed
/// only when the distribution changes (load, spikes and latency changes
/// move it; most windows do not). Keep one per revision and histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketProbabilities {
    distribution: Option<LatencyDistribution>,
    values: Vec<f64>,
}

impl BucketProbabilities {
    pub fn new() -> BucketProbabilities {
        BucketProbabilities::default()
    }

    /// The probabilities of `distribution` over `buckets` (`+Inf` last).
    /// `buckets` must be the same at every call.
    pub fn update(&mut self, distribution: &LatencyDistribution, buckets: &Buckets) -> &[f64] {
        if self.values.len() != buckets.len() {
            // First use: the only allocation.
            self.values = vec![0.0; buckets.len()];
            self.distribution = None;
        }
        if self.distribution.as_ref() != Some(distribution) {
            bucket_probabilities(distribution, buckets, &mut self.values);
            self.distribution = Some(*distribution);
        }
        &self.values
    }
}

/// `histogram_quantile(q, …)` over per-bucket counts (not cumulative; `+Inf`
/// last, so `counts.len() == buckets.len()`), exactly as Prometheus computes
/// it (promql/quantile.go, `BucketQuantile`):
///
/// * q < 0 → −∞, q > 1 → +∞, q NaN → no value;
/// * no observations, or no finite bucket → no value (Prometheus: NaN, which
///   Flagger reports as "no values found");
/// * rank = q · total; the first bucket whose running count reaches the rank
///   holds the quantile, interpolated linearly between its lower bound (0
///   for the first bucket when its upper bound is positive) and upper bound;
/// * a rank that only the `+Inf` bucket reaches gives the highest finite bound.
///
/// Counts of the wrong length give no value (a query over a histogram
/// without the `+Inf` bucket is NaN in Prometheus).
pub fn histogram_quantile(q: f64, buckets: &Buckets, counts: &[u64]) -> Option<f64> {
    if counts.len() != buckets.len() {
        return None;
    }
    bucket_quantile(q, buckets.upper_bounds(), |index| counts[index] as f64)
}

/// [`histogram_quantile`] over per-bucket rates (or any non-cumulative
/// weights); negative and NaN entries count as 0, as Prometheus forces
/// cumulative buckets to be monotonic.
pub fn histogram_quantile_of_rates(q: f64, buckets: &Buckets, rates: &[f64]) -> Option<f64> {
    if rates.len() != buckets.len() {
        return None;
    }
    bucket_quantile(q, buckets.upper_bounds(), |index| {
        let rate = rates[index];
        if rate > 0.0 { rate } else { 0.0 }
    })
}

/// Prometheus's `BucketQuantile`, with `count(i)` the (non-cumulative) count
/// of bucket `i` and bucket `bounds.len()` the `+Inf` one.
fn bucket_quantile(q: f64, bounds: &[f64], count: impl Fn(usize) -> f64) -> Option<f64> {
    if q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    if bounds.is_empty() {
        // Only the +Inf bucket: "fewer than 2 buckets".
        return None;
    }
    let observations: f64 = (0..=bounds.len()).map(&count).sum();
    if observations.is_nan() || observations <= 0.0 {
        return None;
    }
    let mut rank = q * observations;
    let mut below = 0.0;
    for (index, &upper) in bounds.iter().enumerate() {
        let cumulative = below + count(index);
        if cumulative >= rank {
            if index == 0 && upper <= 0.0 {
                return Some(upper);
            }
            let lower = if index == 0 { 0.0 } else { bounds[index - 1] };
            let in_bucket = cumulative - below;
            rank -= below;
            // q = 0 with empty leading buckets divides 0 by 0, NaN in
            // Prometheus too: no value.
            let value = lower + (upper - lower) * (rank / in_bucket);
            return (!value.is_nan()).then_some(value);
        }
        below = cumulative;
    }
    bounds.last().copied()
}

/// The builtin request-success-rate in percent:
/// `sum(rate(ok)) / sum(rate(all)) * 100`. `None` without requests
/// (Prometheus: NaN, Flagger: "no values found"). More errors than requests
/// (impossible in a window) reads as 0%.
pub fn success_rate(requests: u64, errors: u64) -> Option<f64> {
    if requests == 0 {
        return None;
    }
    let successes = requests - errors.min(requests);
    Some(successes as f64 / requests as f64 * 100.0)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::model::latency::{Lognormal, Slowdown};
    use crate::model::sample::sample_window;

    fn buckets(bounds: &[f64]) -> Buckets {
        Buckets::new(bounds.to_vec()).expect("valid bounds")
    }

    #[test]
    fn the_default_buckets_are_the_documented_ones() {
        assert_eq!(Buckets::ISTIO.len(), 20);
        assert_eq!(Buckets::ISTIO.upper_bounds()[6], 100.0);
        assert_eq!(Buckets::ISTIO.upper_bounds().last(), Some(&3_600_000.0));
        assert_eq!(Buckets::PROMETHEUS_DEFAULT.len(), 12);
        assert_eq!(Buckets::PROMETHEUS_DEFAULT.upper_bounds()[0], 5.0);
        for buckets in [Buckets::ISTIO, Buckets::PROMETHEUS_DEFAULT] {
            buckets.validate().expect("valid");
            for (bound, log) in buckets
                .upper_bounds()
                .iter()
                .zip(buckets.log_upper_bounds.iter())
            {
                assert!((bound.ln() - log).abs() <= 1e-15 * log.abs(), "ln {bound}");
            }
        }
    }

    #[test]
    fn histogram_quantile_interpolates_inside_the_bucket_like_prometheus() {
        // le=0.5: 24101, le=1: 26351 (cumulative), total 27892, q = 0.9:
        // rank 25102.8 falls in (0.5, 1]: 0.5 + 0.5 · (25102.8 − 24101) / 2250.
        let histogram = buckets(&[0.5, 1.0, 2.0]);
        let counts = [24_101, 2_250, 1_000, 541];
        let value = histogram_quantile(0.9, &histogram, &counts).expect("a value");
        let expected = 0.5 + 0.5 * (0.9 * 27_892.0 - 24_101.0) / 2_250.0;
        assert!((value - expected).abs() < 1e-12, "{value} vs {expected}");

        // The first bucket starts at 0: 10 of 10 observations in (0, 0.5],
        // the median reads 0.25.
        let istio = Buckets::ISTIO;
        let mut first = [0_u64; 20];
        first[0] = 10;
        assert_eq!(histogram_quantile(0.5, &istio, &first), Some(0.25));
        // A rank reaching exactly a bucket's running count stays in that bucket.
        let half = buckets(&[10.0, 20.0]);
        assert_eq!(histogram_quantile(0.5, &half, &[5, 5, 0]), Some(10.0));
    }

    #[test]
    fn a_rank_in_the_inf_bucket_reads_as_the_highest_finite_bound() {
        let histogram = buckets(&[100.0, 250.0]);
        // 98 fast, 2 slower than every bound: rank 99 is only reached at +Inf.
        assert_eq!(
            histogram_quantile(0.99, &histogram, &[90, 8, 2]),
            Some(250.0)
        );
        assert_eq!(histogram_quantile(0.5, &histogram, &[0, 0, 7]), Some(250.0));
    }

    #[test]
    fn a_single_finite_bucket_and_the_edge_cases_behave_as_in_prometheus() {
        let single = buckets(&[100.0]);
        assert_eq!(histogram_quantile(0.99, &single, &[50, 0]), Some(99.0));
        assert_eq!(histogram_quantile(0.99, &single, &[50, 50]), Some(100.0));
        assert_eq!(
            histogram_quantile(0.99, &single, &[0, 0]),
            None,
            "no observations"
        );
        assert_eq!(histogram_quantile(f64::NAN, &single, &[1, 0]), None);
        assert_eq!(
            histogram_quantile(-0.1, &single, &[1, 0]),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(
            histogram_quantile(1.5, &single, &[1, 0]),
            Some(f64::INFINITY)
        );
        assert_eq!(
            histogram_quantile(0.5, &single, &[1]),
            None,
            "no +Inf bucket"
        );
        // q = 0 with an empty first bucket is 0/0 in Prometheus: NaN.
        let two = buckets(&[10.0, 20.0]);
        assert_eq!(histogram_quantile(0.0, &two, &[0, 4, 0]), None);
        assert_eq!(histogram_quantile(1.0, &two, &[0, 4, 0]), Some(20.0));
        // Rates read like counts; negative and NaN rates count as 0.
        assert_eq!(
            histogram_quantile_of_rates(0.5, &two, &[-1.0, 0.4, f64::NAN]),
            Some(15.0)
        );
    }

    #[test]
    fn a_true_p99_of_130ms_reads_between_100_and_250_as_prometheus_would_report() {
        // Latencies with median 40 ms and a true p99 of 130 ms. About 3.5% of
        // 1.5 million requests fall in (100, 250], so the count below 100 ms
        // varies by about sqrt(1.5e6 · 0.035) ≈ 230, moving the reading by
        // about 150 ms · 230 / 52,500 ≈ 0.7 ms: 3 ms is over 4 sd.
        let distribution = LatencyDistribution::lognormal(40.0, 130.0);
        let istio = Buckets::ISTIO;
        let mut probabilities = [0.0; 20];
        bucket_probabilities(&distribution, &istio, &mut probabilities);
        let total: f64 = probabilities.iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
        // The exact expectation: the p99 rank lies in (100, 250], where the
        // CDF rises from F(100) to F(250); linear interpolation reads
        // 100 + 150 · (0.99 − F(100)) / (F(250) − F(100)).
        let below = distribution.cdf(100.0);
        let expected = 100.0 + 150.0 * (0.99 - below) / (distribution.cdf(250.0) - below);
        assert!(expected > 130.0 && expected < 250.0, "{expected}");
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let window = sample_window(&mut rng, 1.5e6, 0.0, Some(&probabilities));
        let reported = histogram_quantile(0.99, &istio, window.buckets()).expect("data");
        assert!(
            (reported - expected).abs() < 3.0,
            "{reported} vs {expected}"
        );
        // With podinfo's buckets the same latencies read the same here: both
        // have bounds at 100 and 250.
        let mut podinfo = [0.0; 12];
        bucket_probabilities(&distribution, &Buckets::PROMETHEUS_DEFAULT, &mut podinfo);
        let window = sample_window(&mut rng, 1.5e6, 0.0, Some(&podinfo));
        let reported =
            histogram_quantile(0.99, &Buckets::PROMETHEUS_DEFAULT, window.buckets()).expect("data");
        assert!(
            (reported - expected).abs() < 3.0,
            "{reported} vs {expected}"
        );
    }

    #[test]
    fn bucket_probabilities_are_cdf_differences() {
        let body = Lognormal::fit(20.0, 100.0);
        let distribution = LatencyDistribution::new(
            body,
            Slowdown {
                share: 0.01,
                factor: 20.0,
            },
            Slowdown::NONE,
        );
        let histogram = buckets(&[10.0, 50.0, 1000.0]);
        let mut out = [f64::NAN; 5];
        bucket_probabilities(&distribution, &histogram, &mut out);
        assert!((out[0] - distribution.cdf(10.0)).abs() < 1e-12);
        assert!((out[1] - (distribution.cdf(50.0) - distribution.cdf(10.0))).abs() < 1e-12);
        assert!((out[3] - (1.0 - distribution.cdf(1000.0))).abs() < 1e-12);
        assert!(
            out[4].is_nan(),
            "entries beyond the histogram are left alone"
        );
    }

    #[test]
    fn cached_bucket_probabilities_follow_the_distribution() {
        let mut cache = BucketProbabilities::new();
        let fast = LatencyDistribution::lognormal(20.0, 100.0);
        let slow = LatencyDistribution::lognormal(200.0, 1000.0);
        let mut expected = [0.0; 20];
        bucket_probabilities(&fast, &Buckets::ISTIO, &mut expected);
        assert_eq!(cache.update(&fast, &Buckets::ISTIO), &expected);
        assert_eq!(cache.update(&fast, &Buckets::ISTIO), &expected);
        bucket_probabilities(&slow, &Buckets::ISTIO, &mut expected);
        assert_eq!(cache.update(&slow, &Buckets::ISTIO), &expected);
    }

    #[test]
    fn the_success_rate_is_a_percentage_and_absent_without_requests() {
        assert_eq!(success_rate(0, 0), None);
        assert_eq!(success_rate(200, 2), Some(99.0));
        assert_eq!(success_rate(3, 0), Some(100.0));
        assert_eq!(success_rate(3, 5), Some(0.0));
    }

    #[test]
    fn bad_bounds_are_rejected_with_the_fix() {
        let error = Buckets::new(vec![10.0, 5.0]).expect_err("decreasing");
        assert_eq!(
            error.to_string(),
            "[1]: 5 is not above the previous bound 10; list the bounds in increasing order, each once"
        );
        assert!(Buckets::new(vec![]).is_err());
        assert!(Buckets::new(vec![0.0, 5.0]).is_err());
        assert!(Buckets::new(vec![1.0; 40]).is_err());
        let read: Buckets = serde_saphyr::from_str("[5, 10, 25]").expect("a list of bounds");
        assert_eq!(read.upper_bounds(), &[5.0, 10.0, 25.0]);
        assert!(serde_saphyr::from_str::<Buckets>("[25, 10]").is_err());
    }
}
