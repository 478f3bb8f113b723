//! Virtual time.
//!
//! A simulation starts at `SimTime::ZERO`, when the Canary is applied to the
//! simulated cluster. Nothing reads a wall clock: the event loop jumps from one
//! event to the next, so a two-hour rollout takes microseconds.
//!
//! Scenario files write durations the way Canaries do, as Go durations
//! (`30s`, `1m30s`, `2h`); [`Span`] reads them.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use weir_api::duration::{format_go_duration, parse_go_duration};

/// 2026-01-01T00:00:00Z: the instant every simulation starts at.
const EPOCH_SECONDS: i64 = 1_767_225_600;

/// A point in virtual time: the time since the scenario started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub Duration);

impl SimTime {
    pub const ZERO: SimTime = SimTime(Duration::ZERO);

    pub fn from_secs(seconds: u64) -> SimTime {
        SimTime(Duration::from_secs(seconds))
    }

    pub fn from_secs_f64(seconds: f64) -> SimTime {
        SimTime(Duration::from_secs_f64(seconds.max(0.0)))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }

    /// The engine's wall-clock reading for this virtual time. Runs start at
    /// a fixed instant so that timestamps in status and reports reproduce.
    pub fn timestamp(self) -> Timestamp {
        let epoch = Timestamp::from_second(EPOCH_SECONDS).unwrap_or(Timestamp::UNIX_EPOCH);
        let offset = SignedDuration::try_from(self.0).unwrap_or(SignedDuration::ZERO);
        epoch.checked_add(offset).unwrap_or(epoch)
    }

    /// The time since `earlier`, or zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: Duration) -> SimTime {
        SimTime(self.0 + rhs)
    }
}

impl Sub<Duration> for SimTime {
    type Output = SimTime;
    /// Saturates at zero: windows that reach back before the start are clipped.
    fn sub(self, rhs: Duration) -> SimTime {
        SimTime(self.0.saturating_sub(rhs))
    }
}

/// `+HH:MM:SS` (and `.mmm` when there are milliseconds), for logs and tables.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.as_secs();
        let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
        write!(f, "+{hours:02}:{minutes:02}:{seconds:02}")?;
        let millis = self.0.subsec_millis();
        if millis != 0 {
            write!(f, ".{millis:03}")?;
        }
        Ok(())
    }
}

/// Serialized as seconds, so JSON consumers need no duration parser.
impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_secs_f64())
    }
}

/// A duration written as a Go duration string (`90s`, `1m30s`, `2h`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub Duration);

impl Span {
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl From<Duration> for Span {
    fn from(duration: Duration) -> Span {
        Span(duration)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Span, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_go_duration(&text).map(Span).map_err(|error| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({error}); write it like `30s`, `5m` or `1h30m`"
            ))
        })
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_go_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_hours_minutes_and_seconds() {
        assert_eq!(SimTime::from_secs(3725).to_string(), "+01:02:05");
        assert_eq!(
            SimTime(Duration::from_millis(1500)).to_string(),
            "+00:00:01.500"
        );
    }

    #[test]
    fn spans_read_go_durations_and_explain_bad_ones() {
        let span: Span = serde_saphyr::from_str("1m30s").expect("duration");
        assert_eq!(span.0, Duration::from_secs(90));
        let error = serde_saphyr::from_str::<Span>("ninety").expect_err("not a duration");
        assert!(error.to_string().contains("write it like"), "{error}");
    }
}
