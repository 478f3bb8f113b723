//! Fixed text for numbers, durations and percentages, shared by every
//! report so the same value always reads the same (and files stay
//! byte-identical).

use std::time::Duration;

/// `1234567` → `1,234,567`.
pub(crate) fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A measured value with as many decimals as it needs to be read, and no
/// trailing zeros: `97.8`, `99`, `512`, `0.0012`.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    // Three significant digits for small values, two decimals from 1 up,
    // none from 1000 up (nobody reads `1234.57 ms` better than `1235`).
    let decimals = if magnitude >= 1000.0 {
        0
    } else if magnitude >= 1.0 || magnitude == 0.0 {
        2
    } else {
        let exponent = magnitude.log10().floor();
        // `exponent` is between -308 and -1 here, so the cast is exact.
        (2 - exponent as i32).clamp(2, 9) as usize
    };
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    if text == "-0" {
        text = "0".to_owned();
    }
    text
}

/// A value with its metric's unit: `97.8%`, `512ms`, `3.5 req`.
pub(crate) fn with_unit(value: f64, unit: &str) -> String {
    match unit {
        "" => number(value),
        // Units that read as part of the number.
        "%" | "ms" | "s" => format!("{}{unit}", number(value)),
        _ => format!("{} {unit}", number(value)),
    }
}

/// A share as a percentage with one decimal: `0.0253` → `2.5%`.
pub(crate) fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A duration the way people say it: `45s`, `6m`, `6m30s`, `1h2m`, `1.5s`.
pub(crate) fn duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let millis = duration.subsec_millis();
    if total == 0 {
        return if millis == 0 {
            "0s".to_owned()
        } else {
            format!("{}s", number(duration.as_secs_f64()))
        };
    }
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 || millis > 0 {
        if millis > 0 {
            let fractional = seconds as f64 + f64::from(millis) / 1000.0;
            text.push_str(&format!("{}s", number(fractional)));
        } else {
            text.push_str(&format!("{seconds}s"));
        }
    }
    text
}

/// [`duration`] from seconds (summaries store seconds).
pub(crate) fn seconds(seconds: f64) -> String {
    duration(Duration::from_secs_f64(seconds.max(0.0)))
}

/// Seconds since the start as `+HH:MM:SS`, like the event log.
pub(crate) fn clock(seconds: f64) -> String {
    crate::time::SimTime::from_secs_f64(seconds).to_string()
}

/// Text for a Markdown table cell: pipes escaped, line breaks flattened.
pub(crate) fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text for HTML element content and attribute values.
pub(crate) fn html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn numbers_keep_the_digits_that_matter() {
        assert_eq!(number(97.8), "97.8");
        assert_eq!(number(99.0), "99");
        assert_eq!(number(99.954), "99.95");
        assert_eq!(number(1234.6), "1235");
        assert_eq!(number(0.00123), "0.00123");
        assert_eq!(number(-0.0), "0");
        assert_eq!(with_unit(97.8, "%"), "97.8%");
        assert_eq!(with_unit(512.0, "ms"), "512ms");
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(duration(Duration::from_secs(360)), "6m");
        assert_eq!(duration(Duration::from_secs(390)), "6m30s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h2m");
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            html("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(markdown_cell("a|b\nc"), "a\\|b c");
    }
}
