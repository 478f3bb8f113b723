//! Go's `time.ParseDuration`, which is what Flagger uses for `interval`,
//! metric `interval` and webhook `timeout`.
//!
//! The CRD only checks these strings against `^[0-9]+(m|s)`, an unanchored
//! prefix match: `1m30s` and `90s` pass, but so do `1ms` and `5sec`. Flagger
//! then parses them with Go's grammar and silently falls back to defaults on
//! error. We parse with exactly Go's grammar so that the engine reads the same
//! durations as Flagger, and `weir validate` can say precisely what is wrong.

use std::time::Duration;

/// Why a duration string is not a Go duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error(
        "`{0}` is not a duration: expected a number followed by a unit, e.g. `30s`, `1m` or `1m30s`"
    )]
    Invalid(String),
    #[error("`{input}` has no unit after `{number}`: add one of ns, us, ms, s, m, h")]
    MissingUnit { input: String, number: String },
    #[error("`{input}` uses unknown unit `{unit}`: use one of ns, us, ms, s, m, h")]
    UnknownUnit { input: String, unit: String },
    #[error("`{0}` is too large")]
    Overflow(String),
    #[error("`{0}` is negative")]
    Negative(String),
}

/// Parses a Go duration (`300ms`, `1.5h`, `2h45m`) into signed nanoseconds.
pub fn parse_go_duration_nanos(input: &str) -> Result<i128, DurationError> {
    let bytes = input.as_bytes();
    if bytes.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut position = 0;
    let mut negative = false;
    if matches!(bytes[0], b'+' | b'-') {
        negative = bytes[0] == b'-';
        position = 1;
    }
    let rest = &input[position..];
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(DurationError::Invalid(input.to_owned()));
    }
    // Go accumulates in uint64 nanoseconds and rejects anything above 1<<63.
    const LIMIT: i128 = 1 << 63;
    let mut total: i128 = 0;
    while position < bytes.len() {
        let number_start = position;
        let integer_start = position;
        while position < bytes.len() && bytes[position].is_ascii_digit() {
            position += 1;
        }
        let integer = &input[integer_start..position];
        let mut fraction = "";
        if position < bytes.len() && bytes[position] == b'.' {
            position += 1;
            let fraction_start = position;
            while position < bytes.len() && bytes[position].is_ascii_digit() {
                position += 1;
            }
            fraction = &input[fraction_start..position];
        }
        if integer.is_empty() && fraction.is_empty() {
            return Err(DurationError::Invalid(input.to_owned()));
        }
        let unit_start = position;
        while position < bytes.len() && !bytes[position].is_ascii_digit() && bytes[position] != b'.'
        {
            position += 1;
        }
        let unit = &input[unit_start..position];
        if unit.is_empty() {
            return Err(DurationError::MissingUnit {
                input: input.to_owned(),
                number: input[number_start..position].to_owned(),
            });
        }
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            _ => {
                return Err(DurationError::UnknownUnit {
                    input: input.to_owned(),
                    unit: unit.to_owned(),
                });
            }
        };
        let overflow = || DurationError::Overflow(input.to_owned());
        let whole: i128 = if integer.is_empty() {
            0
        } else {
            // More than 20 digits cannot fit in Go's uint64 either.
            if integer.len() > 20 {
                return Err(overflow());
            }
            integer.parse::<i128>().map_err(|_| overflow())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(overflow)?;
        if !fraction.is_empty() {
            // Go keeps at most the digits that still matter at nanosecond scale.
            let digits = &fraction[..fraction.len().min(18)];
            let numerator: i128 = digits.parse().map_err(|_| overflow())?;
            let denominator = 10_i128.pow(u32::try_from(digits.len()).map_err(|_| overflow())?);
            value += numerator * scale / denominator;
        }
        total = total.checked_add(value).ok_or_else(overflow)?;
        if total > LIMIT {
            return Err(overflow());
        }
    }
    if !negative && total == LIMIT {
        return Err(DurationError::Overflow(input.to_owned()));
    }
    Ok(if negative { -total } else { total })
}

/// Parses a non-negative Go duration.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let nanos = parse_go_duration_nanos(input)?;
    if nanos < 0 {
        return Err(DurationError::Negative(input.to_owned()));
    }
    let nanos = u64::try_from(nanos).map_err(|_| DurationError::Overflow(input.to_owned()))?;
    Ok(Duration::from_nanos(nanos))
}

/// Formats a duration the way Go's `time.Duration.String()` does, which is how
/// Flagger prints request durations in events (`Halt ... request duration 550ms > 500ms`).
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        // Sub-second values use the largest unit that keeps the integer part non-zero.
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(nanos, scale));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds_nanos = nanos % 60_000_000_000;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", trim_fraction(seconds_nanos, 1_000_000_000)));
    out
}

fn trim_fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let fraction = value % scale;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_flagger_users_write() {
        assert_eq!(parse_go_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_go_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_go_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("+2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_go_duration("1µs"), Ok(Duration::from_micros(1)));
    }

    #[test]
    fn rejects_what_go_rejects() {
        assert_eq!(parse_go_duration(""), Err(DurationError::Empty));
        assert!(matches!(
            parse_go_duration("1"),
            Err(DurationError::MissingUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("5sec"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("1d"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("."),
            Err(DurationError::Invalid(_))
        ));
        assert!(matches!(
            parse_go_duration("m"),
            Err(DurationError::Invalid(_))
        ));
        assert!(matches!(
            parse_go_duration("-1s"),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_go_duration("9999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn signed_parse_keeps_negative_values_for_flaggers_clamping() {
        assert_eq!(parse_go_duration_nanos("-1s"), Ok(-1_000_000_000));
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_go_duration(Duration::from_millis(550)), "550ms");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
        assert_eq!(format_go_duration(Duration::from_micros(1500)), "1.5ms");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in "\\PC{0,24}") {
            let _ = parse_go_duration_nanos(&input);
        }

        #[test]
        fn formatting_round_trips(millis in 0u64..10_000_000_000) {
            let duration = Duration::from_millis(millis);
            let text = format_go_duration(duration);
            proptest::prop_assert_eq!(parse_go_duration(&text), Ok(duration));
        }
    }
}
