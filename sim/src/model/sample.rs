//! The random draws of one window: how many requests arrived, how many
//! failed, and how they fall into histogram buckets.
//!
//! ```text
//!   expected requests λ ──Poisson──▶ n ──Binomial(n, p)──▶ errors
//!                                    │
//!                                    └──Multinomial(n, bucket probabilities)──▶ bucket counts
//!                                          = Binomial(n, p₀)
//!                                            Binomial(n − k₀, p₁ / (1 − p₀))
//!                                            Binomial(n − k₀ − k₁, p₂ / (1 − p₀ − p₁)) …
//!                                            stop when nothing is left
//! ```
//!
//! Requests of a Poisson arrival process, each failing independently with
//! probability `p`, give Poisson request counts and binomial failure counts:
//! exactly what one draw per request would give, at a cost that does not grow
//! with the request rate: rand_distr's Poisson sampler and the binomial
//! sampler here (BTRD) are rejection samplers with O(1) expected cost for
//! large parameters, and both use inversion for small ones. The multinomial
//! is a chain of conditional binomials, so it costs at most one binomial per
//! bucket, and fewer when the requests run out early (a few buckets hold
//! nearly all of them).
//!
//! Parameters out of range are clamped, never a panic: a mean that is NaN or
//! not positive gives 0 requests, a mean above [`MAX_POISSON_MEAN`] is capped
//! there, a probability that is NaN counts as 0 and one outside [0, 1] is
//! clamped into it.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Poisson};

/// The most histogram buckets (including `+Inf`) a window can count.
///
/// Istio's and Envoy's defaults have 19 finite bounds, linkerd's 25 and
/// Prometheus clients' 11; 32 leaves room for custom buckets and keeps a
/// [`WindowCounts`] small enough to copy.
pub const MAX_BUCKETS: usize = 32;

/// The largest mean number of requests per window a draw honours.
///
/// 10¹⁵ requests in one window is a million times the daily traffic of the
/// largest web sites, so only a configuration mistake gets near it; capping
/// keeps the draw defined (rand_distr refuses means above 1.8·10¹⁹) and the
/// counts exactly representable as `f64` sums later.
pub const MAX_POISSON_MEAN: f64 = 1e15;

/// A Poisson draw with mean `mean`: the number of requests in a window that
/// expects `mean` of them.
///
/// NaN or a mean of zero or less gives 0; a mean above [`MAX_POISSON_MEAN`]
/// is capped there.
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> u64 {
    if mean.is_nan() || mean <= 0.0 {
        return 0;
    }
    match Poisson::new(mean.min(MAX_POISSON_MEAN)) {
        // The sampler returns whole numbers as floats; below the cap they
        // convert to `u64` exactly.
        Ok(distribution) => Distribution::<f64>::sample(&distribution, rng) as u64,
        // Unreachable after the guards above (the mean is finite and
        // positive); no draw is the safest answer should rand_distr change.
        Err(_) => 0,
    }
}

/// A binomial draw: how many of `n` requests fail, each with probability `p`.
///
/// NaN counts as 0; `p` outside [0, 1] is clamped into it.
///
/// Exact, by the two algorithms Boost.Random uses: inversion
/// (Kachitvichyanukul and Schmeiser's BINV) when fewer than about 11
/// successes are expected, and otherwise Hörmann's BTRD, a transformed
/// rejection that accepts most draws (up to 79%) after one uniform and a few
/// arithmetic operations. Neither cost grows with `n`, and both measured
/// 1.3–2 times faster than rand_distr's BTPE, which matters because a
/// histogram window draws one binomial per bucket.
pub fn binomial<R: Rng + ?Sized>(rng: &mut R, n: u64, p: f64) -> u64 {
    let p = clamp_probability(p);
    if n == 0 || p == 0.0 {
        return 0;
    }
    if p == 1.0 {
        return n;
    }
    // Both algorithms want p ≤ 1/2; Binomial(n, p) = n − Binomial(n, 1 − p).
    let (p, flipped) = if p > 0.5 { (1.0 - p, true) } else { (p, false) };
    let successes = if (n as f64 + 1.0) * p < BTRD_THRESHOLD {
        binomial_inversion(rng, n, p)
    } else {
        binomial_btrd(rng, n, p)
    };
    if flipped { n - successes } else { successes }
}

/// The mode `(n + 1)·p` from which BTRD is used; below it inversion, whose
/// cost grows with the mean, is cheaper (Boost's choice, from Hörmann's paper).
const BTRD_THRESHOLD: f64 = 11.0;

/// BINV: walk the probabilities P(0), P(1), … until they exceed a uniform.
/// Expected cost: about `n·p + 1` steps, one `exp` and one `ln_1p`.
fn binomial_inversion<R: Rng + ?Sized>(rng: &mut R, n: u64, p: f64) -> u64 {
    // q^n through logarithms: accurate for huge n and tiny p, where powf is
    // slower and 1 − p rounds. Below p = 10⁻⁴ the series of ln(1 − p) to p³
    // is exact to 3·10⁻¹³ relative and saves the `ln_1p`: most bucket draws
    // are for buckets that expect almost nothing.
    let log_q = if p < 1e-4 {
        -p * (1.0 + p * (0.5 + p / 3.0))
    } else {
        (-p).ln_1p()
    };
    let mut probability = (n as f64 * log_q).exp();
    let mut uniform: f64 = rng.random();
    if uniform <= probability {
        return 0;
    }
    let ratio = p / (1.0 - p);
    let factor = (n as f64 + 1.0) * ratio;
    let mut successes = 0_u64;
    while uniform > probability {
        uniform -= probability;
        successes += 1;
        let next = probability * (factor / successes as f64 - ratio);
        // Past the mode the probabilities fall geometrically; once they are
        // below rounding, what is left of `uniform` is rounding error too.
        if next < f64::EPSILON && next <= probability {
            break;
        }
        probability = next;
    }
    successes.min(n)
}

/// BTRD (W. Hörmann, "The generation of binomial random variates", J.
/// Statist. Comput. Simul. 46, 1993), for `p ≤ 1/2` and `(n + 1)·p ≥ 11`.
fn binomial_btrd<R: Rng + ?Sized>(rng: &mut R, n: u64, p: f64) -> u64 {
    let trials = n as f64;
    let mode = ((trials + 1.0) * p).floor();
    let ratio = p / (1.0 - p);
    let scaled_ratio = (trials + 1.0) * ratio;
    let variance = trials * p * (1.0 - p);
    let deviation = variance.sqrt();
    let b = 1.15 + 2.53 * deviation;
    let inverse_b = 1.0 / b;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = trials * p + 0.5;
    let alpha = (2.83 + 5.1 * inverse_b) * deviation;
    let v_r = 0.92 - 4.2 * inverse_b;
    let u_r_v_r = 0.86 * v_r;
    loop {
        let mut v: f64 = rng.random();
        let u;
        if v <= u_r_v_r {
            // The table-mountain centre: accept at once.
            let u = v / v_r - 0.43;
            let k = ((2.0 * a / (0.5 - u.abs()) + b) * u + c).floor();
            return k.clamp(0.0, trials) as u64;
        }
        if v >= v_r {
            u = rng.random::<f64>() - 0.5;
        } else {
            let w = v / v_r - 0.93;
            u = 0.5_f64.copysign(w) - w;
            v = rng.random::<f64>() * v_r;
        }
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + c).floor();
        if !(0.0..=trials).contains(&k) {
            continue;
        }
        v = v * alpha / (a / (us * us) + b);
        let distance = (k - mode).abs();
        if distance <= 15.0 {
            // Close to the mode: the exact ratio P(k)/P(mode), by recursion.
            let mut f = 1.0;
            if mode < k {
                let mut i = mode;
                while i < k {
                    i += 1.0;
                    f *= scaled_ratio / i - ratio;
                }
            } else {
                let mut i = k;
                while i < mode {
                    i += 1.0;
                    v *= scaled_ratio / i - ratio;
                }
            }
            if v <= f {
                return k as u64;
            }
            continue;
        }
        // Far from the mode: squeeze, then the exact log-ratio with
        // Stirling corrections.
        let v = v.ln();
        let rho = (distance / variance)
            * (((distance / 3.0 + 0.625) * distance + 1.0 / 6.0) / variance + 0.5);
        let t = -distance * distance / (2.0 * variance);
        if v < t - rho {
            return k as u64;
        }
        if v > t + rho {
            continue;
        }
        let nm = trials - mode + 1.0;
        let h = (mode + 0.5) * ((mode + 1.0) / (ratio * nm)).ln()
            + stirling_correction(mode)
            + stirling_correction(trials - mode);
        let nk = trials - k + 1.0;
        if v <= h + (trials + 1.0) * (nm / nk).ln() + (k + 0.5) * (nk * ratio / (k + 1.0)).ln()
            - stirling_correction(k)
            - stirling_correction(trials - k)
        {
            return k as u64;
        }
    }
}

/// ln k! − ((k + ½) ln(k + 1) − (k + 1) + ½ ln 2π): the error of Stirling's
/// formula, tabulated below 10 and from its series above.
fn stirling_correction(k: f64) -> f64 {
    const TABLE: [f64; 10] = [
        0.081_061_466_795_327_26,
        0.041_340_695_955_409_29,
        0.027_677_925_684_998_34,
        0.020_790_672_103_765_09,
        0.016_644_691_189_821_19,
        0.013_876_128_823_070_75,
        0.011_896_709_945_891_77,
        0.010_411_265_261_972_09,
        0.009_255_462_182_712_733,
        0.008_330_563_433_362_87,
    ];
    if k < 10.0 {
        return TABLE[k as usize];
    }
    let next = k + 1.0;
    let inverse_square = 1.0 / (next * next);
    (1.0 / 12.0 - (1.0 / 360.0 - inverse_square / 1260.0) * inverse_square) / next
}

/// `p` as a probability: NaN → 0, clamped into [0, 1].
pub(crate) fn clamp_probability(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

/// A multinomial draw: spreads `n` requests over slots with the given
/// probabilities, writing the counts into `out`.
///
/// Probabilities are weights: they need not add up to 1 (they are divided by
/// their sum); NaN, negative and infinite weights count as 0. If no weight is
/// positive, all `n` go into the last slot (for a histogram: `+Inf`, "slower
/// than every bound"), so no request is lost. Entries of `out` beyond
/// `probabilities.len()` are set to 0; when `out` is shorter than
/// `probabilities`, the weight of the slots that do not fit goes to its last
/// slot.
///
/// Cost: one binomial per slot with weight, in order, until the requests run
/// out; slots of weight 0 cost nothing. (Visiting the heaviest slots first
/// so the requests run out sooner was measured: it saves fewer draws than
/// its bookkeeping costs.)
pub fn multinomial_into<R: Rng + ?Sized>(
    rng: &mut R,
    n: u64,
    probabilities: &[f64],
    out: &mut [u64],
) {
    out.fill(0);
    let slots = probabilities.len().min(out.len());
    if slots == 0 || n == 0 {
        return;
    }
    let weight = |index: usize| {
        let value = probabilities[index];
        if value.is_finite() && value > 0.0 {
            value
        } else {
            0.0
        }
    };
    // Weights beyond `out` cannot be drawn separately; they go with its last slot.
    let overflow: f64 = (slots..probabilities.len()).map(weight).sum();
    let slot_weight = |index: usize| {
        if index + 1 == slots {
            weight(index) + overflow
        } else {
            weight(index)
        }
    };
    let mut total = 0.0;
    let mut last_positive = None;
    for index in 0..slots {
        let value = slot_weight(index);
        if value > 0.0 {
            total += value;
            last_positive = Some(index);
        }
    }
    let Some(last_positive) = last_positive else {
        out[slots - 1] = n;
        return;
    };
    let mut remaining = n;
    let mut remaining_weight = total;
    for (index, slot) in out.iter_mut().enumerate().take(last_positive + 1) {
        let value = slot_weight(index);
        if value == 0.0 {
            continue;
        }
        if index == last_positive || remaining_weight.is_nan() || remaining_weight <= value {
            // The last slot with any weight takes what is left: exact, and
            // immune to rounding in `remaining_weight`.
            *slot = remaining;
            return;
        }
        let count = binomial(rng, remaining, value / remaining_weight);
        *slot = count;
        remaining -= count;
        if remaining == 0 {
            return;
        }
        remaining_weight -= value;
    }
}

/// What one version served in one window (or, after [`WindowCounts::add`],
/// in several): the counters Prometheus would have increased.
///
/// The histogram covers every request, failed or not, as Istio's and the
/// Prometheus clients' duration histograms do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// Requests served.
    pub requests: u64,
    /// Requests that failed (5xx); at most `requests`.
    pub errors: u64,
    buckets: [u64; MAX_BUCKETS],
    bucket_count: usize,
}

impl WindowCounts {
    /// Counts with a histogram; `None` when `buckets` has more than
    /// [`MAX_BUCKETS`] entries.
    pub fn new(requests: u64, errors: u64, buckets: &[u64]) -> Option<WindowCounts> {
        if buckets.len() > MAX_BUCKETS {
            return None;
        }
        let mut counts = WindowCounts {
            requests,
            errors,
            buckets: [0; MAX_BUCKETS],
            bucket_count: buckets.len(),
        };
        counts.buckets[..buckets.len()].copy_from_slice(buckets);
        Some(counts)
    }

    /// Requests per histogram bucket, the last being `+Inf` (not cumulative:
    /// Prometheus's `le` buckets are the running sums of these). Empty when
    /// the window drew no histogram.
    pub fn buckets(&self) -> &[u64] {
        &self.buckets[..self.bucket_count]
    }

    /// Requests that succeeded.
    pub fn successes(&self) -> u64 {
        self.requests.saturating_sub(self.errors)
    }

    /// Adds another window's counts (counters only grow, so sums over windows
    /// are what `increase()` over the longer range reads). A window without a
    /// histogram adds nothing to the buckets.
    pub fn add(&mut self, other: &WindowCounts) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.bucket_count = self.bucket_count.max(other.bucket_count);
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine = mine.saturating_add(*theirs);
        }
    }
}

/// Draws one window: requests ~ Poisson(`expected_requests`), errors ~
/// Binomial(requests, `error_probability`) and, when bucket probabilities are
/// given (one per bucket, `+Inf` last, as [`bucket_probabilities`] writes
/// them), the histogram ~ Multinomial(requests, probabilities).
///
/// Draw order is fixed (requests, errors, buckets), so a seed reproduces a
/// window. Errors and latencies are drawn independently: a failed request is
/// as slow as any other. More than [`MAX_BUCKETS`] probabilities: the excess
/// is counted in the last bucket.
///
/// [`bucket_probabilities`]: crate::model::histogram::bucket_probabilities
pub fn sample_window<R: Rng + ?Sized>(
    rng: &mut R,
    expected_requests: f64,
    error_probability: f64,
    bucket_probabilities: Option<&[f64]>,
) -> WindowCounts {
    let requests = poisson(rng, expected_requests);
    let errors = binomial(rng, requests, error_probability);
    let mut counts = WindowCounts {
        requests,
        errors,
        ..WindowCounts::default()
    };
    if let Some(probabilities) = bucket_probabilities {
        counts.bucket_count = probabilities.len().min(MAX_BUCKETS);
        multinomial_into(
            rng,
            requests,
            probabilities,
            &mut counts.buckets[..probabilities.len().min(MAX_BUCKETS)],
        );
    }
    counts
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Mean and variance of `draws` samples.
    fn moments(samples: impl Iterator<Item = u64>) -> (f64, f64) {
        let values: Vec<f64> = samples.map(|value| value as f64).collect();
        let count = values.len() as f64;
        let mean = values.iter().sum::<f64>() / count;
        let variance = values
            .iter()
            .map(|value| (value - mean).powi(2))
            .sum::<f64>()
            / (count - 1.0);
        (mean, variance)
    }

    #[test]
    fn poisson_draws_have_the_poisson_mean_and_variance() {
        // 20,000 draws: the sample mean's standard error is sqrt(λ/20000)
        // (0.7% of λ at λ = 10) and the sample variance's relative standard
        // error is about sqrt(2/20000) = 1%; 5 standard errors leave a
        // fixed-seed test no room for flukes while catching a wrong sampler.
        let draws = 20_000;
        for mean in [0.5, 10.0, 1_000.0, 1.5e6] {
            let mut generator = rng(7);
            let (sample_mean, sample_variance) =
                moments((0..draws).map(|_| poisson(&mut generator, mean)));
            let mean_error = (mean / draws as f64).sqrt();
            assert!(
                (sample_mean - mean).abs() < 5.0 * mean_error,
                "λ = {mean}: mean {sample_mean}"
            );
            let variance_error = mean * (2.0 / draws as f64).sqrt();
            assert!(
                (sample_variance - mean).abs() < 5.0 * variance_error + 0.05 * mean.min(1.0),
                "λ = {mean}: variance {sample_variance}"
            );
        }
    }

    #[test]
    fn binomial_draws_have_the_binomial_mean_and_variance() {
        let draws = 20_000;
        for (n, p) in [
            (50_u64, 0.01),
            (1_000, 0.2),
            (2_000_000, 0.001),
            (100, 0.97),
        ] {
            let mut generator = rng(11);
            let (sample_mean, sample_variance) =
                moments((0..draws).map(|_| binomial(&mut generator, n, p)));
            let mean = n as f64 * p;
            let variance = mean * (1.0 - p);
            let mean_error = (variance / draws as f64).sqrt();
            assert!(
                (sample_mean - mean).abs() < 5.0 * mean_error,
                "n = {n}, p = {p}: mean {sample_mean} vs {mean}"
            );
            assert!(
                (sample_variance - variance).abs() < 5.0 * variance * (2.0 / draws as f64).sqrt(),
                "n = {n}, p = {p}: variance {sample_variance} vs {variance}"
            );
        }
    }

    /// P(X = k) for X ~ Binomial(n, p), through log-gamma.
    fn binomial_pmf(n: u64, p: f64, k: u64) -> f64 {
        use statrs::function::gamma::ln_gamma;
        let (n, k) = (n as f64, k as f64);
        (ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
            + k * p.ln()
            + (n - k) * (-p).ln_1p())
        .exp()
    }

    #[test]
    fn binomial_draws_follow_the_exact_probabilities_with_both_algorithms() {
        // Inversion (mean below 11), BTRD near the mode (recursion) and in
        // the tails (squeeze and Stirling), and p > 1/2 (flipped). With
        // 200,000 draws, each frequency is within 5 standard errors of its
        // probability, sqrt(P(1 − P)/200000), plus 10⁻⁴ for rounding.
        let draws = 200_000;
        for (n, p) in [
            (20_u64, 0.2),
            (60, 0.15),
            (1_000, 0.02),
            (400, 0.5),
            (10_000, 0.3),
            (80, 0.9),
        ] {
            let mut generator = rng(23);
            let mut frequencies = vec![0_u32; n as usize + 1];
            for _ in 0..draws {
                let value = binomial(&mut generator, n, p);
                frequencies[value as usize] += 1;
            }
            for (k, &count) in frequencies.iter().enumerate() {
                let probability = binomial_pmf(n, p, k as u64);
                let frequency = f64::from(count) / f64::from(draws);
                let error = (probability * (1.0 - probability) / f64::from(draws)).sqrt();
                assert!(
                    (frequency - probability).abs() <= 5.0 * error + 1e-4,
                    "n = {n}, p = {p}, k = {k}: {frequency} vs {probability}"
                );
            }
        }
    }

    #[test]
    fn the_stirling_corrections_are_the_error_of_stirlings_formula() {
        use statrs::function::gamma::ln_gamma;
        for k in 0..40 {
            let k = f64::from(k);
            let exact = ln_gamma(k + 1.0)
                - ((k + 0.5) * (k + 1.0).ln() - (k + 1.0)
                    + 0.5 * (2.0 * std::f64::consts::PI).ln());
            // The series' next term, 1/(1680 (k+1)⁷), is 3·10⁻¹¹ at k = 10:
            // far below what an accept/reject decision in log space can see.
            assert!((stirling_correction(k) - exact).abs() < 1e-10, "k = {k}");
        }
    }

    #[test]
    fn out_of_range_parameters_are_clamped_instead_of_panicking() {
        let mut generator = rng(1);
        assert_eq!(poisson(&mut generator, f64::NAN), 0);
        assert_eq!(poisson(&mut generator, -3.0), 0);
        assert_eq!(poisson(&mut generator, 0.0), 0);
        let capped = poisson(&mut generator, f64::INFINITY);
        assert!((capped as f64 - MAX_POISSON_MEAN).abs() < 1e9, "{capped}");
        assert_eq!(binomial(&mut generator, 10, f64::NAN), 0);
        assert_eq!(binomial(&mut generator, 10, -0.5), 0);
        assert_eq!(binomial(&mut generator, 10, 1.5), 10);
        assert_eq!(binomial(&mut generator, 0, 0.5), 0);
        assert_eq!(binomial(&mut generator, u64::MAX, 1.0), u64::MAX);
    }

    #[test]
    fn multinomial_counts_add_up_and_follow_the_probabilities() {
        let probabilities = [0.1, 0.0, 0.6, 0.3, 0.0];
        let mut totals = [0_u64; 5];
        let mut generator = rng(3);
        let n = 1_000;
        let draws = 2_000;
        for _ in 0..draws {
            let mut out = [0_u64; 5];
            multinomial_into(&mut generator, n, &probabilities, &mut out);
            assert_eq!(out.iter().sum::<u64>(), n);
            assert_eq!(
                (out[1], out[4]),
                (0, 0),
                "zero-probability slots stay empty"
            );
            for (total, count) in totals.iter_mut().zip(out) {
                *total += count;
            }
        }
        // 2,000,000 requests in all: a share's standard error is below
        // sqrt(0.25/2e6) = 0.00035; 0.002 is more than 5 of them.
        for (total, probability) in totals.iter().zip(probabilities) {
            let share = *total as f64 / (n * draws) as f64;
            assert!(
                (share - probability).abs() < 0.002,
                "{share} vs {probability}"
            );
        }
    }

    #[test]
    fn multinomial_weights_need_not_be_normalised_and_bad_ones_count_as_zero() {
        let mut generator = rng(5);
        let mut out = [9_u64; 4];
        multinomial_into(&mut generator, 500, &[2.0, f64::NAN, -1.0, 2.0], &mut out);
        assert_eq!(out.iter().sum::<u64>(), 500);
        assert_eq!((out[1], out[2]), (0, 0));
        // No usable weight: nothing is lost, everything is "slower than every bound".
        multinomial_into(&mut generator, 500, &[0.0, f64::NAN, 0.0], &mut out);
        assert_eq!(out, [0, 0, 500, 0]);
        // Weight beyond `out` is lumped into its last slot.
        let mut short = [0_u64; 2];
        multinomial_into(&mut generator, 1_000, &[0.5, 0.0, 0.5], &mut short);
        assert_eq!(short.iter().sum::<u64>(), 1_000);
        assert!(short[1] > 400, "{short:?}");
    }

    #[test]
    fn a_multinomial_of_nothing_is_all_zeros() {
        let mut generator = rng(5);
        let mut out = [7_u64; 3];
        multinomial_into(&mut generator, 0, &[0.2, 0.8, 0.0], &mut out);
        assert_eq!(out, [0, 0, 0]);
    }

    #[test]
    fn windows_at_a_million_requests_cost_a_handful_of_draws_and_stay_sane() {
        // 1.5 million expected requests (25,000 rps for a minute): the counts
        // must be near their means (Poisson sd ≈ 1,225, so ±10,000 is 8 sd).
        let probabilities = [0.0, 0.001, 0.2, 0.5, 0.25, 0.049, 0.0];
        let mut generator = rng(13);
        let counts = sample_window(&mut generator, 1.5e6, 0.01, Some(&probabilities));
        assert!(counts.requests.abs_diff(1_500_000) < 10_000, "{counts:?}");
        assert!(
            counts.errors.abs_diff(counts.requests / 100) < 1_000,
            "{counts:?}"
        );
        assert_eq!(counts.buckets().len(), probabilities.len());
        assert_eq!(counts.buckets().iter().sum::<u64>(), counts.requests);
        let small = sample_window(&mut generator, 10.0, 0.01, Some(&probabilities));
        assert_eq!(small.buckets().iter().sum::<u64>(), small.requests);
        assert!(small.requests < 40, "{small:?}");
    }

    #[test]
    fn windows_are_reproducible_from_the_seed() {
        let probabilities = [0.3, 0.3, 0.4];
        let first = sample_window(&mut rng(99), 5_000.0, 0.02, Some(&probabilities));
        let second = sample_window(&mut rng(99), 5_000.0, 0.02, Some(&probabilities));
        assert_eq!(first, second);
    }

    #[test]
    fn adding_windows_sums_counters_and_keeps_the_histogram() {
        let mut total = WindowCounts::new(10, 1, &[4, 5, 1]).expect("three buckets");
        total.add(&WindowCounts::new(20, 2, &[10, 10, 0]).expect("three buckets"));
        total.add(&WindowCounts {
            requests: 5,
            ..WindowCounts::default()
        });
        assert_eq!(
            (total.requests, total.errors, total.successes()),
            (35, 3, 32)
        );
        assert_eq!(total.buckets(), &[14, 15, 1]);
        assert!(WindowCounts::new(1, 0, &[0; MAX_BUCKETS + 1]).is_none());
        let without_histogram = sample_window(&mut rng(1), 100.0, 0.0, None);
        assert!(without_histogram.buckets().is_empty());
    }
}
