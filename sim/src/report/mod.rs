//! Reports: what a plan, a simulated run, many runs of a scenario and a
//! whole suite of scenarios did, for people (Markdown, HTML, charts) and
//! for tools (CSV, JSON).
//!
//! ```text
//!   Plan ─────────────▶ write ─────────────▶ <stem>.csv  <stem>.svg
//!
//!   RunRecord ────────▶ write_run ─────────▶ timeline.png  timeline.svg
//!       │                                    events.log    summary.json  summary.md
//!       ▼
//!   RunSummary ─┐
//!   RunSummary ─┼─────▶ write_runs ────────▶ runs.json  runs.md
//!   RunSummary ─┘       (Aggregate)          distribution.png  distribution.svg
//!
//!   SuiteEntry ───────▶ write_suite_index ─▶ index.html  index.md
//! ```
//!
//! The modules, one per report:
//!
//! * `plan`: the plan of `weir plan` (CSV, text table, SVG);
//! * `timeline`: one run as a chart: weights and phases, one panel per
//!   metric, traffic (sketched in its module docs);
//! * `events`: one run's log as aligned text;
//! * `summary`: [`RunSummary`], one run in numbers and a headline;
//! * `aggregate`: [`Aggregate`], many runs in rates and quantiles;
//! * `distribution`: many runs as histograms;
//! * `suite`: the index of a suite of scenarios and their expectations;
//! * `chart`, `format`, `font` and `raster`: what the charts and texts share
//!   (colours, legends, number formatting, the bundled font and how PNGs
//!   draw it).
//!
//! Every report is byte-identical for the same input: nothing reads a clock,
//! nothing iterates a hash map, and numbers are formatted with fixed rules.

mod aggregate;
mod chart;
mod distribution;
mod events;
mod font;
pub(crate) mod format;
mod plan;
mod raster;
mod suite;
mod summary;
mod timeline;
pub mod tune;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use aggregate::{Aggregate, Quantiles, Rate, Z_95, quantile, runs_markdown, wilson_interval};
pub use events::events_log;
pub use plan::{to_csv, to_svg, to_table, write};
pub use suite::{ExpectationResult, SuiteEntry, suite_index_html, suite_index_markdown};
pub use summary::{FailedCheckSummary, MetricSummary, RunSummary, summary_markdown};

use crate::record::RunRecord;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot draw {path}: {message}")]
    Chart { path: PathBuf, message: String },
    #[error("cannot serialize {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Writes one run's reports into `directory` (created if missing):
/// `timeline.png`, `timeline.svg`, `events.log`, `summary.json` and
/// `summary.md`. Returns their paths in that order.
pub fn write_run(record: &RunRecord, directory: &Path) -> Result<Vec<PathBuf>, ReportError> {
    create_directory(directory)?;
    let summary = RunSummary::from_record(record);

    let png_path = directory.join("timeline.png");
    timeline::write_png(record, &summary, &png_path)?;
    let svg_path = directory.join("timeline.svg");
    let svg = timeline::to_svg(record, &summary).map_err(|message| ReportError::Chart {
        path: svg_path.clone(),
        message,
    })?;
    write_file(&svg_path, svg)?;

    let log_path = directory.join("events.log");
    write_file(&log_path, events_log(record))?;
    let json_path = directory.join("summary.json");
    write_file(&json_path, to_json(&summary, &json_path)?)?;
    let markdown_path = directory.join("summary.md");
    write_file(&markdown_path, summary_markdown(&summary))?;

    Ok(vec![png_path, svg_path, log_path, json_path, markdown_path])
}

/// Writes the reports of many runs of one scenario into `directory`:
/// `runs.json` (every summary and the [`Aggregate`]), `runs.md`,
/// `distribution.png` and `distribution.svg`. Returns their paths.
pub fn write_runs(
    scenario: &str,
    summaries: &[RunSummary],
    directory: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    create_directory(directory)?;
    let aggregate = Aggregate::from_summaries(summaries);

    let json_path = directory.join("runs.json");
    let document = aggregate::RunsDocument {
        scenario,
        aggregate: &aggregate,
        runs: summaries,
    };
    write_file(&json_path, to_json(&document, &json_path)?)?;
    let markdown_path = directory.join("runs.md");
    write_file(
        &markdown_path,
        runs_markdown(scenario, summaries, &aggregate),
    )?;

    let png_path = directory.join("distribution.png");
    distribution::write_png(scenario, summaries, &aggregate, &png_path)?;
    let svg_path = directory.join("distribution.svg");
    let svg = distribution::to_svg(scenario, summaries, &aggregate).map_err(|message| {
        ReportError::Chart {
            path: svg_path.clone(),
            message,
        }
    })?;
    write_file(&svg_path, svg)?;

    Ok(vec![json_path, markdown_path, png_path, svg_path])
}

/// Writes the index of a suite of scenarios into `directory`: `index.html`
/// (self-contained, no scripts) and `index.md`. Returns their paths.
pub fn write_suite_index(
    entries: &[SuiteEntry],
    directory: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    create_directory(directory)?;
    let html_path = directory.join("index.html");
    write_file(&html_path, suite_index_html(entries))?;
    let markdown_path = directory.join("index.md");
    write_file(&markdown_path, suite_index_markdown(entries))?;
    Ok(vec![html_path, markdown_path])
}

pub(crate) fn create_directory(directory: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(directory).map_err(|source| ReportError::Io {
        path: directory.to_owned(),
        source,
    })
}

pub(crate) fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), ReportError> {
    std::fs::write(path, contents).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Pretty JSON with a final newline, so the files diff and `cat` cleanly.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(
    value: &T,
    path: &Path,
) -> Result<String, ReportError> {
    let mut json = serde_json::to_string_pretty(value).map_err(|source| ReportError::Json {
        path: path.to_owned(),
        source,
    })?;
    json.push('\n');
    Ok(json)
}
