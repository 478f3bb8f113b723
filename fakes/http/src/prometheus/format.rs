//! Numbers, times and query results as Prometheus writes them
//! (prometheus/util/jsonutil and web/api/v1), and the `time` parameter as
//! it parses it.

use std::fmt::Write as _;

use super::store::{Labels, Timestamp};
use super::{QueryError, QueryResult, QueryValue};

/// A sample value as Prometheus writes it: `NaN`, `+Inf`, `-Inf`, otherwise
/// Go's `strconv.FormatFloat(v, 'f', -1, 64)` (the shortest decimal that
/// reads back as the same float), switching to `'e'` below 1e-6 and from
/// 1e21 on (`1e-07`, `1e+21`), as `jsonutil.MarshalFloat` does.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        go_exponent_format(value)
    } else {
        // Rust's Display is the shortest round-trip decimal without an
        // exponent: Go's 'f' with precision -1.
        format!("{value}")
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which client libraries and
/// Envoy use for the `le` label: exponent form when the decimal exponent
/// is below -4 or at least 6 (`3.6e+06`), plain decimals otherwise.
pub fn format_go_float_g(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value == 0.0 {
        return format!("{value}");
    }
    // Go uses precision 6 for this decision when the precision is "shortest".
    const EXPONENT_FROM: i32 = 6;
    const EXPONENT_BELOW: i32 = -4;
    let exponent = decimal_exponent(value);
    if !(EXPONENT_BELOW..EXPONENT_FROM).contains(&exponent) {
        go_exponent_format(value)
    } else {
        format!("{value}")
    }
}

/// The decimal exponent of `value`'s shortest representation (`3.6e6` → 6).
fn decimal_exponent(value: f64) -> i32 {
    let scientific = format!("{value:e}");
    scientific
        .split_once('e')
        .and_then(|(_, exponent)| exponent.parse().ok())
        .unwrap_or(0)
}

/// Go's `'e'` format with the shortest mantissa: `1e-07`, `3.6e+06`
/// (the exponent signed and at least two digits).
fn go_exponent_format(value: f64) -> String {
    let scientific = format!("{value:e}");
    match scientific.split_once('e') {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
        }
        None => scientific,
    }
}

/// Seconds with millisecond decimals as `jsonutil.MarshalTimestamp` writes
/// them: `1700000000`, `1700000000.500`, `-1.005`.
pub(crate) fn write_timestamp(out: &mut String, time: Timestamp) {
    let milliseconds = time.as_millis();
    if milliseconds < 0 {
        out.push('-');
    }
    let magnitude = milliseconds.unsigned_abs();
    let _ = write!(out, "{}", magnitude / 1000);
    let fraction = magnitude % 1000;
    if fraction != 0 {
        let _ = write!(out, ".{fraction:03}");
    }
}

/// Parses the `time` parameter as Prometheus does: Unix seconds (a float,
/// rounded to the millisecond) or RFC 3339 (with fractional seconds).
pub(crate) fn parse_time(text: &str) -> Result<Timestamp, QueryError> {
    let bad = || QueryError::BadParameter {
        parameter: "time",
        message: format!("cannot parse {text:?} to a valid timestamp"),
    };
    if let Ok(seconds) = text.parse::<f64>() {
        return Timestamp::from_seconds(seconds).ok_or_else(bad);
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| bad())?;
    Ok(Timestamp::from_millis(parsed.timestamp_millis()))
}

/// A JSON string literal.
fn push_json_string(out: &mut String, text: &str) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        // Serialising a &str cannot fail; an empty literal keeps the JSON valid.
        Err(_) => out.push_str("\"\""),
    }
}

fn push_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (index, (name, value)) in labels.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_json_string(out, name);
        out.push(':');
        push_json_string(out, value);
    }
    out.push('}');
}

fn push_point(out: &mut String, time: Timestamp, value: &str) {
    out.push('[');
    write_timestamp(out, time);
    out.push(',');
    push_json_string(out, value);
    out.push(']');
}

/// The body of a successful `/api/v1/query` answer.
pub(crate) fn success_body(result: &QueryResult) -> String {
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"#);
    let at = result.time;
    match &result.value {
        QueryValue::Scalar(value) => {
            out.push_str(r#""scalar","result":"#);
            push_point(&mut out, at, &format_value(*value));
        }
        QueryValue::String(text) => {
            out.push_str(r#""string","result":"#);
            push_point(&mut out, at, text);
        }
        QueryValue::Vector(elements) => {
            out.push_str(r#""vector","result":["#);
            for (index, element) in elements.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                push_labels(&mut out, &element.labels);
                out.push_str(r#","value":"#);
                push_point(&mut out, at, &format_value(element.value));
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            out.push_str(r#""matrix","result":["#);
            for (index, one) in series.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                push_labels(&mut out, &one.labels);
                out.push_str(r#","values":["#);
                for (point, sample) in one.samples.iter().enumerate() {
                    if point > 0 {
                        out.push(',');
                    }
                    push_point(&mut out, sample.time, &format_value(sample.value));
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push_str("}}");
    out
}

/// The body of an empty vector answer.
pub(crate) fn empty_vector_body() -> String {
    r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_owned()
}

/// The body of an error answer: `{"status":"error","errorType":…,"error":…}`.
pub(crate) fn error_body(error_type: &str, message: &str) -> String {
    let mut out = String::from(r#"{"status":"error","errorType":"#);
    push_json_string(&mut out, error_type);
    out.push_str(r#","error":"#);
    push_json_string(&mut out, message);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_prometheus_writes_them() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(99.5), "99.5");
        assert_eq!(format_value(100.0), "100");
        assert_eq!(format_value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(1e-7), "1e-07");
        assert_eq!(format_value(0.000001), "0.000001");
        assert_eq!(format_value(1e21), "1e+21");
        assert_eq!(
            format_value(123456789012345680000.0),
            "123456789012345680000"
        );
    }

    #[test]
    fn bucket_bounds_read_as_go_g_formatting_writes_them() {
        assert_eq!(format_go_float_g(0.5), "0.5");
        assert_eq!(format_go_float_g(1000.0), "1000");
        assert_eq!(format_go_float_g(300_000.0), "300000");
        assert_eq!(format_go_float_g(3_600_000.0), "3.6e+06");
        assert_eq!(format_go_float_g(1_000_000.0), "1e+06");
        assert_eq!(format_go_float_g(0.0001), "0.0001");
        assert_eq!(format_go_float_g(0.00001), "1e-05");
        assert_eq!(format_go_float_g(f64::INFINITY), "+Inf");
    }

    #[test]
    fn timestamps_carry_milliseconds_like_marshal_timestamp() {
        let mut out = String::new();
        write_timestamp(&mut out, Timestamp::from_millis(1_700_000_000_000));
        out.push(' ');
        write_timestamp(&mut out, Timestamp::from_millis(1_700_000_000_050));
        out.push(' ');
        write_timestamp(&mut out, Timestamp::from_millis(-1005));
        assert_eq!(out, "1700000000 1700000000.050 -1.005");
    }

    #[test]
    fn the_time_parameter_reads_seconds_and_rfc3339() {
        assert_eq!(
            parse_time("1700000000.5").expect("float"),
            Timestamp::from_millis(1_700_000_000_500)
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z").expect("rfc3339"),
            Timestamp::from_millis(1_700_000_000_500)
        );
        assert_eq!(
            parse_time("2023-11-14T23:13:20+01:00").expect("offset"),
            Timestamp::from_millis(1_700_000_000_000)
        );
        let error = parse_time("yesterday").expect_err("garbage");
        assert_eq!(
            error.to_string(),
            "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp"
        );
        assert!(parse_time("NaN").is_err());
    }
}
