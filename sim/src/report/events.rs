//! `events.log`: one run's log, one line per entry, in aligned columns.
//!
//! ```text
//!   +00:03:00  Event     Normal   New revision detected! Scaling up podinfo.test
//!   +00:06:00  Event     Warning  Halt podinfo.test advancement success rate 97.80% < 99%
//!   +00:06:00  Webhook   -        load-test: 200 OK
//!   time       source    level    message (Flagger's, verbatim)
//! ```
//!
//! Columns have fixed widths (the widest source and level names), so logs
//! of different runs line up under `diff` and `grep` output. An entry
//! without a level shows `-`; line breaks inside a message are written as
//! `\n` so every entry stays on one line.

use std::fmt::Write as _;

use crate::record::{LogSource, RunRecord};

/// The width of the source column: `Scenario`, the longest name.
const SOURCE_WIDTH: usize = 8;
/// The width of the level column: `Warning`.
const LEVEL_WIDTH: usize = 7;

/// The log as text, in the record's order (virtual time, then the order
/// things happened within a tick).
pub fn events_log(record: &RunRecord) -> String {
    // Times are `+HH:MM:SS`, with `.mmm` when a run has sub-second events:
    // pad to the longest so messages start in one column.
    let times: Vec<String> = record
        .log
        .iter()
        .map(|entry| entry.at.to_string())
        .collect();
    let time_width = times.iter().map(String::len).max().unwrap_or(0);
    let mut log = String::new();
    for (entry, time) in record.log.iter().zip(&times) {
        let level = if entry.level.is_empty() {
            "-"
        } else {
            &entry.level
        };
        let message = entry.message.replace("\r\n", "\\n").replace('\n', "\\n");
        let _ = writeln!(
            log,
            "{time:<time_width$}  {:<SOURCE_WIDTH$}  {level:<LEVEL_WIDTH$}  {message}",
            source_name(entry.source),
        );
    }
    log
}

pub(super) fn source_name(source: LogSource) -> &'static str {
    match source {
        LogSource::Event => "Event",
        LogSource::Log => "Log",
        LogSource::Webhook => "Webhook",
        LogSource::Alert => "Alert",
        LogSource::Scenario => "Scenario",
        LogSource::Cluster => "Cluster",
    }
}
