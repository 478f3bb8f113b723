//! Intermittent trouble: episodes of fixed length at random times.
//!
//! ```text
//!   age ─▶  0        gap ~ Exp(every)     lasting   gap ~ Exp(every)   lasting
//!           ├──────────────────────────┤▓▓▓▓▓▓▓▓▓├────────────────────┤▓▓▓▓▓▓▓▓▓├──
//!   window                  [──────────────)
//!   fraction of the window in a spike = ▓ inside [from, to) / (to − from)
//! ```
//!
//! A spike train alternates quiet gaps and spikes. Each gap is exponential
//! with mean `every`, measured from the end of one spike to the start of the
//! next, so spikes start at memoryless random times and never overlap; each
//! spike lasts exactly `lasting`. The train starts quiet at age 0. In the long
//! run a spike starts on average once per `every + lasting`, and the share of
//! time spent in spikes is `lasting / (every + lasting)` (renewal-reward
//! theorem), e.g. 30 s spikes every 7 min on average: 30 / 450 ≈ 6.7%.
//!
//! The train draws its episodes lazily, as windows ask for them, from the
//! generator the caller passes: a window costs one draw per spike it
//! contains, whatever the request rate.

use rand::Rng;
use rand_distr::{Distribution, Exp1};

/// The shortest mean gap a train honours, in seconds: spikes more often than
/// every second are noise, not episodes, and the bound caps the draws a
/// window can need (validation asks for `every` of 1s or more).
const MIN_MEAN_GAP_SECONDS: f64 = 1.0;

/// One revision's spike episodes of one kind (error spikes or latency spikes).
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeTrain {
    mean_gap: f64,
    lasting: f64,
    /// The current or next spike: [start, end) in seconds of age.
    start: f64,
    end: f64,
}

impl SpikeTrain {
    /// A train whose gaps average `every` seconds and whose spikes last
    /// `lasting` seconds. A `lasting` that is not positive (or NaN) gives a
    /// train without spikes; `every` below 1 s counts as 1 s.
    pub fn new<R: Rng + ?Sized>(rng: &mut R, every: f64, lasting: f64) -> SpikeTrain {
        let mean_gap = if every >= MIN_MEAN_GAP_SECONDS && every.is_finite() {
            every
        } else if every == f64::INFINITY {
            f64::INFINITY
        } else {
            MIN_MEAN_GAP_SECONDS
        };
        let mut train = SpikeTrain {
            mean_gap,
            lasting,
            start: f64::INFINITY,
            end: f64::INFINITY,
        };
        if lasting > 0.0 && lasting.is_finite() {
            train.end = 0.0;
            train.next(rng);
        }
        train
    }

    /// The current or next spike, as [start, end) in seconds of age.
    pub fn next_spike(&self) -> (f64, f64) {
        (self.start, self.end)
    }

    /// Draws the spike after the current one.
    fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let gap: f64 = Exp1.sample(rng);
        self.start = self.end + gap * self.mean_gap;
        self.end = self.start + self.lasting;
    }

    /// The fraction of [`from`, `to`) spent in spikes, in [0, 1].
    ///
    /// Windows must be asked for in order (each `from` at or after the
    /// previous `from`): spikes that ended before `from` are forgotten. A
    /// window of zero length gives 1 if `from` is in a spike, else 0.
    pub fn fraction<R: Rng + ?Sized>(&mut self, rng: &mut R, from: f64, to: f64) -> f64 {
        if from.is_nan() || to.is_nan() {
            return 0.0;
        }
        while self.end <= from {
            self.next(rng);
        }
        if to <= from {
            return if self.start <= from { 1.0 } else { 0.0 };
        }
        let mut covered = 0.0;
        while self.start < to {
            covered += self.end.min(to) - self.start.max(from);
            if self.end > to {
                // The spike runs past the window: keep it for the next one.
                break;
            }
            self.next(rng);
        }
        (covered / (to - from)).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn the_long_run_spike_fraction_is_lasting_over_every_plus_lasting() {
        // 30 s spikes, gaps averaging 7 min: 30/450 of the time. Over 2,000
        // hours there are ~16,000 spikes; the fraction's relative standard
        // error is about sqrt(1/16000) ≈ 0.8% (the gaps' coefficient of
        // variation is 1), so a 5% tolerance is over 6 standard errors.
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut train = SpikeTrain::new(&mut rng, 420.0, 30.0);
        let window = 60.0;
        let windows = 2_000 * 60;
        let total: f64 = (0..windows)
            .map(|index| {
                let from = f64::from(index) * window;
                train.fraction(&mut rng, from, from + window)
            })
            .sum();
        let fraction = total / f64::from(windows);
        let expected = 30.0 / 450.0;
        assert!(
            (fraction - expected).abs() < 0.05 * expected,
            "{fraction} vs {expected}"
        );
    }

    #[test]
    fn a_window_covers_exactly_the_spike_time_inside_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut train = SpikeTrain::new(&mut rng, 600.0, 30.0);
        let (start, end) = train.next_spike();
        assert!(start > 0.0 && (end - start - 30.0).abs() < 1e-9);
        // A window from 10 s before the spike to its middle: 15 of 25 s.
        let fraction = train.fraction(&mut rng, start - 10.0, start + 15.0);
        assert!((fraction - 15.0 / 25.0).abs() < 1e-9, "{fraction}");
        assert!((train.fraction(&mut rng, start + 15.0, start + 15.0) - 1.0).abs() < 1e-12);
        // The rest of the spike, then quiet until the next one.
        let rest = train.fraction(&mut rng, start + 15.0, end);
        assert!((rest - 1.0).abs() < 1e-12);
        let (next_start, next_end) = train.next_spike();
        assert!(next_start > end && (next_end - next_start - 30.0).abs() < 1e-9);
        assert_eq!(train.fraction(&mut rng, end, next_start), 0.0);
    }

    #[test]
    fn the_train_starts_quiet_and_degenerate_trains_never_spike() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mut quiet = SpikeTrain::new(&mut rng, 60.0, 0.0);
        assert_eq!(quiet.fraction(&mut rng, 0.0, 1e6), 0.0);
        let mut not_a_number = SpikeTrain::new(&mut rng, f64::NAN, f64::NAN);
        assert_eq!(not_a_number.fraction(&mut rng, 0.0, 1e6), 0.0);
        let mut train = SpikeTrain::new(&mut rng, 60.0, 10.0);
        assert_eq!(train.fraction(&mut rng, f64::NAN, 5.0), 0.0);
        assert!(train.next_spike().0 > 0.0);
    }
}
