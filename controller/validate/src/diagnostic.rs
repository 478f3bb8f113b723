//! The result model: diagnostics, per-document and per-file outcomes, the report.

use std::fmt;

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Valid, but probably not what the author meant.
    Warning,
    /// The manifest is rejected, ignored or misread.
    Error,
}

impl From<weir_api::checks::Severity> for Severity {
    fn from(severity: weir_api::checks::Severity) -> Self {
        match severity {
            weir_api::checks::Severity::Warning => Severity::Warning,
            weir_api::checks::Severity::Error => Severity::Error,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem, located in a file.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// The file as named on the command line (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file (e.g. unreadable).
    pub line: usize,
    /// 1-based column in characters; 0 when the problem concerns the whole file.
    pub column: usize,
    /// Where the underlined text ends (exclusive), for rendering.
    pub end_line: usize,
    pub end_column: usize,
    pub severity: Severity,
    /// Stable identifier, e.g. `schema.type`, `yaml.duplicate-key` or a weir-api check code.
    pub code: String,
    /// The field, e.g. `spec.analysis.metrics[0].thresholdRange`; empty for file-level problems.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Kind of the document the problem is in, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `metadata.name` of that document, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Diagnostic {
    /// An error about one character of a file, outside any document.
    pub(crate) fn at_character(
        file: &str,
        (line, column): (usize, usize),
        code: &str,
        message: String,
        help: &str,
    ) -> Diagnostic {
        Diagnostic {
            file: file.to_owned(),
            line,
            column,
            end_line: line,
            end_column: column + 1,
            severity: Severity::Error,
            code: code.to_owned(),
            path: String::new(),
            message,
            help: Some(help.to_owned()),
            kind: None,
            name: None,
        }
    }
}

/// What happened to one YAML document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum DocumentStatus {
    /// A flagger.app/v1beta1 resource: checked against the schema and weir's checks.
    Validated,
    /// Another kind of resource (Deployment, Service, ...): not weir's to check.
    Skipped { reason: String },
    /// Not a Kubernetes object, or a flagger.app resource weir does not serve.
    Rejected,
}

/// One YAML document of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentReport {
    /// 0-based position among the file's non-empty documents.
    pub index: usize,
    /// Line where the document starts.
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub status: DocumentStatus,
}

/// Whether a file could be read as YAML at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FileOutcome {
    /// Read and parsed; see the diagnostics for problems in its documents.
    Parsed,
    /// The file could not be read (missing, a directory, no permission).
    Unreadable,
    /// The file is not YAML (syntax error, or not UTF-8).
    NotYaml,
}

/// The result of validating one file.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub file: String,
    pub outcome: FileOutcome,
    pub documents: Vec<DocumentReport>,
    /// Sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The text, kept to show source lines when rendering.
    #[serde(skip)]
    pub source: Option<String>,
}

impl FileReport {
    /// A file that could not be used at all (unreadable, or wrong as a
    /// whole): one error without a position.
    pub fn unusable(file: &str, code: &str, message: String, help: Option<&str>) -> FileReport {
        FileReport {
            file: file.to_owned(),
            outcome: FileOutcome::Unreadable,
            documents: Vec::new(),
            diagnostics: vec![Diagnostic {
                file: file.to_owned(),
                line: 0,
                column: 0,
                end_line: 0,
                end_column: 0,
                severity: Severity::Error,
                code: code.to_owned(),
                path: String::new(),
                message,
                help: help.map(str::to_owned),
                kind: None,
                name: None,
            }],
            source: None,
        }
    }

    pub fn error_count(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warning_count(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == severity)
            .count()
    }

    /// The text of a 1-based line of the source, if known.
    pub fn source_line(&self, line: usize) -> Option<&str> {
        let index = line.checked_sub(1)?;
        self.source.as_deref()?.lines().nth(index)
    }
}

/// The result of validating several files.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
}

impl Report {
    /// All diagnostics, file by file, each file's in source order.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(|file| file.diagnostics.iter())
    }

    pub fn error_count(&self) -> usize {
        self.files.iter().map(FileReport::error_count).sum()
    }

    pub fn warning_count(&self) -> usize {
        self.files.iter().map(FileReport::warning_count).sum()
    }

    /// Non-empty YAML documents found, whatever their kind.
    pub fn document_count(&self) -> usize {
        self.files.iter().map(|file| file.documents.len()).sum()
    }

    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Whether some file could not be read or is not YAML.
    pub fn has_unreadable_files(&self) -> bool {
        self.files
            .iter()
            .any(|file| file.outcome != FileOutcome::Parsed)
    }
}
