//! Command-line flags, spelled and parsed as flagger-loadtester's Go `flag`
//! package spells and parses them.
//!
//! Go's `flag` accepts `-port=8080`, `-port 8080`, `--port=8080` and
//! `--port 8080`; existing Deployments use the single-dash forms. clap only
//! knows `--port`, so [`normalize_go_flags`] rewrites the single-dash
//! spelling of every known flag before clap sees the arguments.

use std::ffi::OsString;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use regex::Regex;

use crate::{Config, Programs};

/// Why a flag value was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// Not a Go duration (`1h`, `30m`, `1m30s`, `250ms`, ...).
    #[error("invalid duration {0:?}: expected a Go duration such as 1h, 30m, 1m30s or 250ms")]
    Duration(String),
    /// A task timeout of zero or less would fail every task at once.
    #[error("invalid timeout {0:?}: it must be greater than zero")]
    NonPositiveTimeout(String),
    /// Not one of the log levels flagger-loadtester knows.
    #[error("invalid log level {0:?}: expected debug, info, warn, warning, error, fatal or panic")]
    LogLevel(String),
    /// Not one of zap's encodings.
    #[error("invalid log encoding {0:?}: expected json or console")]
    LogEncoding(String),
    /// Not a Go boolean (`strconv.ParseBool`).
    #[error("invalid boolean {0:?}: expected true or false")]
    Boolean(String),
}

/// flagger-loadtester's flags (cmd/loadtester/main.go), with its defaults.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "weir-loadtester",
    version,
    about = "Runs Flagger webhook tasks and manual gates; a drop-in for flagger-loadtester"
)]
pub struct Flags {
    /// Port to listen on (every interface). Flagger's manifests pass 8080.
    #[arg(long, default_value_t = 9090)]
    pub port: u16,

    /// Per-task exec timeout, a Go duration (1h, 30m, 1m30s, 250ms).
    #[arg(long, default_value = "1h", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Only serve canaries whose namespace matches this regular expression
    /// (unanchored, as Go's MatchString); others get 403 Forbidden.
    #[arg(long, value_parser = Regex::new)]
    pub namespace_regexp: Option<Regex>,

    /// Log level: debug, info, warn (warning), error.
    #[arg(long, default_value = "debug", value_parser = LogLevel::from_str)]
    pub log_level: LogLevel,

    /// Log encoding: json or console.
    #[arg(long, default_value = "json", value_parser = LogEncoding::from_str)]
    pub zap_encoding: LogEncoding,

    /// Accepted for compatibility; zap's global logger has no equivalent here.
    #[arg(
        long,
        num_args = 0..=1,
        default_value = "false",
        default_missing_value = "true",
        value_parser = parse_bool_flag
    )]
    pub zap_replace_globals: bool,
}

impl Flags {
    /// The service configuration these flags describe.
    pub fn config(&self) -> Config {
        Config {
            task_timeout: self.timeout,
            namespace_regexp: self.namespace_regexp.clone(),
            programs: Programs::default(),
        }
    }
}

/// Rewrites Go's single-dash flags (`-port=8080`, `-port 8080`) to clap's
/// double-dash form (see `weir_goflags`).
pub fn normalize_go_flags<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    weir_goflags::normalize(&<Flags as clap::CommandFactory>::command(), args)
}

/// How much flagger-loadtester logs (zap's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// `debug` (flagger-loadtester's default).
    Debug,
    /// `info`.
    Info,
    /// `warn` or `warning`.
    Warn,
    /// `error`, and zap's `fatal` and `panic`, which log only errors here.
    Error,
}

impl LogLevel {
    /// The `tracing` directive for this level.
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl FromStr for LogLevel {
    type Err = FlagError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "error" | "fatal" | "panic" => Ok(LogLevel::Error),
            other => Err(FlagError::LogLevel(other.to_owned())),
        }
    }
}

/// How log lines are written (zap's encodings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEncoding {
    /// One JSON object per line (the default).
    Json,
    /// Human-readable text.
    Console,
}

impl FromStr for LogEncoding {
    type Err = FlagError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "json" => Ok(LogEncoding::Json),
            "console" => Ok(LogEncoding::Console),
            other => Err(FlagError::LogEncoding(other.to_owned())),
        }
    }
}

fn parse_bool_flag(text: &str) -> Result<bool, FlagError> {
    parse_go_bool(text).ok_or_else(|| FlagError::Boolean(text.to_owned()))
}

fn parse_timeout(text: &str) -> Result<Duration, FlagError> {
    if text.trim_start().starts_with('-') {
        return Err(FlagError::NonPositiveTimeout(text.to_owned()));
    }
    let timeout = parse_go_duration(text)?;
    if timeout.is_zero() {
        return Err(FlagError::NonPositiveTimeout(text.to_owned()));
    }
    Ok(timeout)
}

/// Go's `strconv.ParseBool` (see `weir_goflags::parse_bool`).
pub use weir_goflags::parse_bool as parse_go_bool;

/// Go's `time.ParseDuration` for non-negative durations (`1h30m`, `1.5s`,
/// `250ms`; `0` needs no unit), shared with the rest of weir.
pub fn parse_go_duration(text: &str) -> Result<Duration, FlagError> {
    weir_api::duration::parse_go_duration(text).map_err(|_| FlagError::Duration(text.to_owned()))
}

/// A duration as Go's `time.Duration.String` writes it (`1h0m0s`, `1.5s`,
/// `250ms`), so messages read like flagger-loadtester's.
pub use weir_api::duration::format_go_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_as_go_parses_them() {
        let cases = [
            ("1h", Duration::from_secs(3600)),
            ("30m", Duration::from_secs(1800)),
            ("1h30m", Duration::from_secs(5400)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5h", Duration::from_secs(5400)),
            ("250ms", Duration::from_millis(250)),
            ("2us", Duration::from_micros(2)),
            ("2µs", Duration::from_micros(2)),
            ("7ns", Duration::from_nanos(7)),
            (".5s", Duration::from_millis(500)),
            ("+10s", Duration::from_secs(10)),
            ("0", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_go_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for text in ["", "10", "1x", "h", "1h-", ".s", "-1s", "1.2.3s"] {
            assert!(
                parse_go_duration(text).is_err(),
                "{text} should be rejected"
            );
        }
    }

    #[test]
    fn a_zero_or_negative_timeout_is_rejected() {
        assert!(matches!(
            parse_timeout("0s"),
            Err(FlagError::NonPositiveTimeout(_))
        ));
        assert!(matches!(
            parse_timeout("-1s"),
            Err(FlagError::NonPositiveTimeout(_))
        ));
    }

    #[test]
    fn durations_are_written_as_go_writes_them() {
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
    }
}
