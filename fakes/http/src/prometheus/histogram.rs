//! `histogram_quantile` over classic (`le`-labelled) buckets, exactly as
//! Prometheus computes it (promql/quantile.go, `BucketQuantile`), which is
//! also what the simulator's `sim/src/model/histogram.rs` implements over
//! per-bucket counts.

/// One cumulative bucket: the number of observations at or below `upper_bound`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) upper_bound: f64,
    pub(crate) count: f64,
}

/// Differences this small relative to the counts are floating-point noise
/// from `rate()` and `sum()`, not decreases (Prometheus's
/// `smallDeltaTolerance`).
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// The `q`-quantile of cumulative `buckets` (any order; the `+Inf` bucket
/// required):
///
/// * q NaN → NaN; q < 0 → −Inf; q > 1 → +Inf;
/// * no `+Inf` bucket, fewer than two buckets, or no observations → NaN;
/// * rank = q · count(+Inf); the first bucket whose cumulative count
///   reaches the rank holds the quantile, interpolated linearly between the
///   previous bucket's bound (0 for the first bucket when its bound is
///   positive) and its own;
/// * a rank only the `+Inf` bucket reaches gives the highest finite bound.
pub(crate) fn bucket_quantile(q: f64, mut buckets: Vec<Bucket>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    match buckets.last() {
        Some(last) if last.upper_bound == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let mut buckets = coalesce(buckets);
    ensure_monotonic(&mut buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // sort.Search over all but the +Inf bucket.
    let finite = &buckets[..buckets.len() - 1];
    let index = finite.partition_point(|bucket| bucket.count < rank);
    if index == finite.len() {
        return finite[finite.len() - 1].upper_bound;
    }
    if index == 0 && buckets[0].upper_bound <= 0.0 {
        return buckets[0].upper_bound;
    }
    let mut start = 0.0;
    let end = buckets[index].upper_bound;
    let mut count = buckets[index].count;
    if index > 0 {
        start = buckets[index - 1].upper_bound;
        count -= buckets[index - 1].count;
        rank -= buckets[index - 1].count;
    }
    start + (end - start) * (rank / count)
}

/// Merges buckets with the same upper bound (series that differ only in
/// how `le` is spelled, `1` and `1.0`), summing their counts.
fn coalesce(buckets: Vec<Bucket>) -> Vec<Bucket> {
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        match merged.last_mut() {
            Some(last) if last.upper_bound == bucket.upper_bound => last.count += bucket.count,
            _ => merged.push(bucket),
        }
    }
    merged
}

/// Prometheus's `ensureMonotonicAndIgnoreSmallDeltas`: a cumulative count
/// below the one before (possible with rates of buckets scraped at
/// slightly different times) is raised to it, and numerically
/// insignificant differences are smoothed away.
fn ensure_monotonic(buckets: &mut [Bucket]) {
    let Some(first) = buckets.first() else {
        return;
    };
    let mut previous = first.count;
    for bucket in buckets.iter_mut().skip(1) {
        let current = bucket.count;
        if current == previous {
            continue;
        }
        if almost_equal(previous, current, SMALL_DELTA_TOLERANCE) || current < previous {
            bucket.count = previous;
            continue;
        }
        previous = current;
    }
}

/// Prometheus's `almost.Equal`.
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let sum_of_magnitudes = a.abs() + b.abs();
    let difference = (a - b).abs();
    if a == 0.0 || b == 0.0 || sum_of_magnitudes < f64::MIN_POSITIVE {
        return difference < epsilon * f64::MIN_POSITIVE;
    }
    difference / sum_of_magnitudes.min(f64::MAX) < epsilon
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cumulative buckets from per-bucket counts, `+Inf` last, as the
    /// simulator keeps them.
    fn cumulative(bounds: &[f64], counts: &[u64]) -> Vec<Bucket> {
        let mut running = 0.0;
        bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(counts)
            .map(|(upper_bound, count)| {
                running += *count as f64;
                Bucket {
                    upper_bound,
                    count: running,
                }
            })
            .collect()
    }

    // The cases of sim/src/model/histogram.rs's tests, which the simulator's
    // `histogram_quantile` passes: the two implementations must agree.
    #[test]
    fn it_agrees_with_the_simulators_histogram_quantile() {
        let value = bucket_quantile(
            0.9,
            cumulative(&[0.5, 1.0, 2.0], &[24_101, 2_250, 1_000, 541]),
        );
        // The same operations in the same order as both implementations.
        let expected = 0.5 + (1.0 - 0.5) * ((0.9 * 27_892.0 - 24_101.0) / 2_250.0);
        assert_eq!(value, expected);

        let istio = [
            0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
            30000.0, 60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
        ];
        let mut first = [0_u64; 20];
        first[0] = 10;
        assert_eq!(bucket_quantile(0.5, cumulative(&istio, &first)), 0.25);
        assert_eq!(
            bucket_quantile(0.5, cumulative(&[10.0, 20.0], &[5, 5, 0])),
            10.0
        );
        assert_eq!(
            bucket_quantile(0.99, cumulative(&[100.0, 250.0], &[90, 8, 2])),
            250.0
        );
        assert_eq!(
            bucket_quantile(0.5, cumulative(&[100.0, 250.0], &[0, 0, 7])),
            250.0
        );
        assert_eq!(bucket_quantile(0.99, cumulative(&[100.0], &[50, 0])), 99.0);
        assert_eq!(
            bucket_quantile(0.99, cumulative(&[100.0], &[50, 50])),
            100.0
        );
        assert!(bucket_quantile(0.99, cumulative(&[100.0], &[0, 0])).is_nan());
        assert!(bucket_quantile(f64::NAN, cumulative(&[100.0], &[1, 0])).is_nan());
        assert_eq!(
            bucket_quantile(-0.1, cumulative(&[100.0], &[1, 0])),
            f64::NEG_INFINITY
        );
        assert_eq!(
            bucket_quantile(1.5, cumulative(&[100.0], &[1, 0])),
            f64::INFINITY
        );
        assert!(bucket_quantile(0.0, cumulative(&[10.0, 20.0], &[0, 4, 0])).is_nan());
        assert_eq!(
            bucket_quantile(1.0, cumulative(&[10.0, 20.0], &[0, 4, 0])),
            20.0
        );
    }

    #[test]
    fn a_histogram_without_the_inf_bucket_has_no_quantile() {
        let buckets = vec![
            Bucket {
                upper_bound: 1.0,
                count: 5.0,
            },
            Bucket {
                upper_bound: 2.0,
                count: 10.0,
            },
        ];
        assert!(bucket_quantile(0.5, buckets).is_nan());
        let only_inf = vec![Bucket {
            upper_bound: f64::INFINITY,
            count: 3.0,
        }];
        assert!(bucket_quantile(0.5, only_inf).is_nan());
    }

    #[test]
    fn decreasing_cumulative_counts_are_forced_monotonic_and_bounds_merged() {
        // The 2.0 bucket reads below the 1.0 bucket: treated as 10.
        let buckets = vec![
            Bucket {
                upper_bound: f64::INFINITY,
                count: 20.0,
            },
            Bucket {
                upper_bound: 2.0,
                count: 8.0,
            },
            Bucket {
                upper_bound: 1.0,
                count: 10.0,
            },
        ];
        // rank 10 is reached by the first bucket: 0 + 1 · 10/10.
        assert_eq!(bucket_quantile(0.5, buckets), 1.0);
        let split = vec![
            Bucket {
                upper_bound: 1.0,
                count: 2.0,
            },
            Bucket {
                upper_bound: 1.0,
                count: 2.0,
            },
            Bucket {
                upper_bound: f64::INFINITY,
                count: 8.0,
            },
        ];
        // Merged: le=1 holds 4 of 8, so the median is exactly 1.
        assert_eq!(bucket_quantile(0.5, split), 1.0);
    }

    #[test]
    fn a_first_bucket_with_a_negative_bound_reads_as_that_bound() {
        let buckets = vec![
            Bucket {
                upper_bound: -1.0,
                count: 5.0,
            },
            Bucket {
                upper_bound: f64::INFINITY,
                count: 5.0,
            },
        ];
        assert_eq!(bucket_quantile(0.5, buckets), -1.0);
    }
}
