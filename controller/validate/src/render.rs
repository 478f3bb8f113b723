//! Output: rustc-style text for people, one JSON object for tools.
//!
//! ```text
//! error[analysis.interval-floor]: spec.analysis.interval: `5s` is below the 10s minimum; ...
//!   --> canary.yaml:14:15
//!    |
//! 14 |     interval: 5s
//!    |               ^^
//!    = help: set `interval: 10s` or more
//! ```
//!
//! The output is deterministic (files in the order given, diagnostics in
//! source order) and has no colours unless asked for.

use std::fmt::Write as _;

use serde::Serialize;

use crate::diagnostic::{
    Diagnostic, DocumentReport, DocumentStatus, FileOutcome, FileReport, Report, Severity,
};

/// How to render a report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours, as rustc uses them.
    pub color: bool,
    /// Errors only: leave warnings out.
    pub quiet: bool,
    /// Also list every document, checked or skipped.
    pub verbose: bool,
}

/// Tabs are shown as this many spaces, so that carets line up.
const TAB_WIDTH: usize = 4;

/// The whole report as text: diagnostics, then (verbose) documents, then the summary.
pub fn render_human(report: &Report, options: &RenderOptions) -> String {
    let mut out = String::new();
    for file in &report.files {
        for diagnostic in visible(file, options) {
            out.push_str(&render_diagnostic(
                diagnostic,
                file.source_line(diagnostic.line),
                options.color,
            ));
            out.push('\n');
        }
    }
    if options.verbose {
        for file in &report.files {
            for document in &file.documents {
                let what = match (&document.kind, &document.name) {
                    (Some(kind), Some(name)) => format!("{kind}/{name}"),
                    (Some(kind), None) => kind.clone(),
                    _ => "document".to_owned(),
                };
                let location = format!("{}:{}", file.file, document.line);
                let _ = match &document.status {
                    DocumentStatus::Validated => writeln!(out, "checked  {location}  {what}"),
                    DocumentStatus::Skipped { reason } => {
                        writeln!(out, "skipped  {location}  {what} ({reason})")
                    }
                    DocumentStatus::Rejected => writeln!(out, "rejected {location}  {what}"),
                };
            }
        }
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

fn visible<'a>(
    file: &'a FileReport,
    options: &RenderOptions,
) -> impl Iterator<Item = &'a Diagnostic> {
    let quiet = options.quiet;
    file.diagnostics
        .iter()
        .filter(move |diagnostic| !quiet || diagnostic.severity == Severity::Error)
}

/// One diagnostic, with the source line when it is known.
pub fn render_diagnostic(
    diagnostic: &Diagnostic,
    source_line: Option<&str>,
    color: bool,
) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let (severity_color, caret_color) = match diagnostic.severity {
        Severity::Error => ("1;31", "1;31"),
        Severity::Warning => ("1;33", "1;33"),
    };
    let gutter_color = "1;34";
    let mut out = String::new();
    let title = format!("{}[{}]", diagnostic.severity, diagnostic.code);
    let subject = if diagnostic.path.is_empty() {
        diagnostic.message.clone()
    } else {
        format!("{}: {}", diagnostic.path, diagnostic.message)
    };
    let _ = writeln!(
        out,
        "{}{}",
        paint(severity_color, &title),
        paint("1", &format!(": {subject}"))
    );

    let width = if diagnostic.line == 0 {
        1
    } else {
        diagnostic.line.to_string().len()
    };
    let pad = " ".repeat(width);
    let location = if diagnostic.line == 0 {
        diagnostic.file.clone()
    } else {
        format!(
            "{}:{}:{}",
            diagnostic.file, diagnostic.line, diagnostic.column
        )
    };
    let _ = writeln!(out, "{pad}{} {location}", paint(gutter_color, "-->"));
    let bar = paint(gutter_color, "|");
    if let Some(line) = source_line.filter(|_| diagnostic.line > 0) {
        let line = line.trim_end();
        let (shown, offset, length) = underline(line, diagnostic);
        let _ = writeln!(out, "{pad} {bar}");
        let _ = writeln!(
            out,
            "{} {bar} {shown}",
            paint(gutter_color, &diagnostic.line.to_string())
        );
        let carets = "^".repeat(length);
        let _ = writeln!(
            out,
            "{pad} {bar} {}{}",
            " ".repeat(offset),
            paint(caret_color, &carets)
        );
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "{pad} {} help: {help}", paint(gutter_color, "="));
    }
    out
}

/// The line with tabs expanded, and where the carets go (in display columns).
fn underline(line: &str, diagnostic: &Diagnostic) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    let start = diagnostic.column.saturating_sub(1).min(chars.len());
    let end = if diagnostic.end_line == diagnostic.line && diagnostic.end_column > diagnostic.column
    {
        (diagnostic.end_column - 1).min(chars.len())
    } else {
        chars.len()
    };
    let display_width = |slice: &[char]| -> usize {
        slice
            .iter()
            .map(|c| if *c == '\t' { TAB_WIDTH } else { 1 })
            .sum()
    };
    let offset = display_width(&chars[..start]);
    let length = display_width(&chars[start..end.max(start)]).max(1);
    let shown: String = chars
        .iter()
        .map(|c| {
            if *c == '\t' {
                " ".repeat(TAB_WIDTH)
            } else {
                c.to_string()
            }
        })
        .collect();
    (shown, offset, length)
}

/// "2 errors, 1 warning in 3 documents (1 file)".
pub fn summary(report: &Report) -> String {
    format!(
        "{}, {} in {} ({})",
        plural(report.error_count(), "error"),
        plural(report.warning_count(), "warning"),
        plural(report.document_count(), "document"),
        plural(report.files.len(), "file"),
    )
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The report as one JSON object: `diagnostics`, `files` and `summary`.
pub fn render_json(report: &Report, options: &RenderOptions) -> String {
    #[derive(Serialize)]
    struct JsonReport<'a> {
        diagnostics: Vec<&'a Diagnostic>,
        files: Vec<JsonFile<'a>>,
        summary: JsonSummary,
    }
    #[derive(Serialize)]
    struct JsonFile<'a> {
        file: &'a str,
        outcome: &'a FileOutcome,
        documents: &'a [DocumentReport],
    }
    #[derive(Serialize)]
    struct JsonSummary {
        errors: usize,
        warnings: usize,
        documents: usize,
        files: usize,
    }
    let value = JsonReport {
        diagnostics: report
            .files
            .iter()
            .flat_map(|file| visible(file, options))
            .collect(),
        files: report
            .files
            .iter()
            .map(|file| JsonFile {
                file: &file.file,
                outcome: &file.outcome,
                documents: &file.documents,
            })
            .collect(),
        summary: JsonSummary {
            errors: report.error_count(),
            warnings: report.warning_count(),
            documents: report.document_count(),
            files: report.files.len(),
        },
    };
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(line: usize, column: usize, end_column: usize) -> Diagnostic {
        Diagnostic {
            file: "canary.yaml".into(),
            line,
            column,
            end_line: line,
            end_column,
            severity: Severity::Error,
            code: "analysis.interval-floor".into(),
            path: "spec.analysis.interval".into(),
            message: "`5s` is below the 10s minimum".into(),
            help: Some("set `interval: 10s` or more".into()),
            kind: Some("Canary".into()),
            name: Some("podinfo".into()),
        }
    }

    #[test]
    fn tabs_are_expanded_and_carets_follow_them() {
        let rendered = render_diagnostic(&diagnostic(3, 3, 5), Some("\t\tab"), false);
        assert!(rendered.contains("3 |         ab\n"), "{rendered}");
        assert!(rendered.contains("  |         ^^\n"), "{rendered}");
    }

    #[test]
    fn multi_line_spans_underline_to_the_end_of_the_first_line() {
        let mut multi = diagnostic(2, 3, 1);
        multi.end_line = 4;
        let rendered = render_diagnostic(&multi, Some("  analysis:   "), false);
        assert!(rendered.contains("2 |   analysis:\n"), "{rendered}");
        assert!(rendered.contains("  |   ^^^^^^^^^\n"), "{rendered}");
    }

    #[test]
    fn file_level_problems_have_no_position() {
        let mut whole_file = diagnostic(0, 0, 0);
        whole_file.path = String::new();
        whole_file.message = "cannot read the file".into();
        whole_file.help = None;
        let rendered = render_diagnostic(&whole_file, None, false);
        assert_eq!(
            rendered,
            "error[analysis.interval-floor]: cannot read the file\n --> canary.yaml\n"
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let plain = render_diagnostic(&diagnostic(1, 1, 2), Some("x"), false);
        assert!(!plain.contains('\x1b'));
        let coloured = render_diagnostic(&diagnostic(1, 1, 2), Some("x"), true);
        assert!(coloured.contains("\x1b[1;31m"));
    }

    #[test]
    fn summaries_pluralise() {
        assert_eq!(
            summary(&Report::default()),
            "0 errors, 0 warnings in 0 documents (0 files)"
        );
    }
}
