//! Reading weir's own input files (scenarios, tuning spaces, budgets)
//! with located errors.
//!
//! Every file goes through `weir validate`'s spanned YAML reader, so a
//! problem is reported as `weir validate` reports one: file, line, column,
//! the field, what is wrong and how to fix it, all problems at once where
//! they are independent. serde stops at the first problem it meets; fixing
//! it reveals the next, as with compilers.

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use weir_api::checks::{FieldPath, PathSegment};
use weir_validate::convert::{Anchor, SpanIndex};
use weir_validate::yaml::{self, Node};
use weir_validate::{Diagnostic, FileOutcome, FileReport, Report, Severity};

/// A file that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render(false))]
pub struct InputError {
    pub report: Report,
}

impl InputError {
    /// The problems as `weir validate` prints them: file:line:col, the source
    /// line, what is wrong and how to fix it.
    pub fn render(&self, color: bool) -> String {
        weir_validate::render_human(
            &self.report,
            &weir_validate::RenderOptions {
                color,
                quiet: true,
                verbose: false,
            },
        )
    }

    /// A problem with the file as a whole (unreadable, empty, several
    /// documents).
    pub fn whole_file(file: &str, code: &str, message: String, help: &str) -> InputError {
        InputError {
            report: Report {
                files: vec![FileReport::unusable(file, code, message, Some(help))],
            },
        }
    }

    /// Several files' problems as one error.
    pub fn combine(errors: impl IntoIterator<Item = InputError>) -> InputError {
        InputError {
            report: Report {
                files: errors
                    .into_iter()
                    .flat_map(|error| error.report.files)
                    .collect(),
            },
        }
    }
}

/// What kind of file a [`Checker`] reads, for its diagnostics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Format {
    /// The kind shown with each diagnostic, e.g. `Scenario`.
    pub(crate) kind: &'static str,
    /// The prefix of diagnostic codes, e.g. `scenario`.
    pub(crate) code: &'static str,
    /// Where the format is documented, e.g. `scenarios/README.md`.
    pub(crate) reference: &'static str,
}

impl Format {
    pub(crate) fn code(&self, what: &str) -> String {
        format!("{}.{what}", self.code)
    }
}

/// Collects diagnostics while checking one file.
pub(crate) struct Checker {
    pub(crate) file: String,
    pub(crate) format: Format,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Reports of files this one references (a Canary by path).
    pub(crate) extra_files: Vec<FileReport>,
}

/// A file's single YAML document, converted for serde, with the spans of
/// its values.
pub(crate) struct Document<'text> {
    pub(crate) root: Node,
    pub(crate) json: Json,
    pub(crate) index: SpanIndex,
    pub(crate) text: &'text str,
}

impl Checker {
    pub(crate) fn new(file: &str, format: Format) -> Checker {
        Checker {
            file: file.to_owned(),
            format,
            diagnostics: Vec::new(),
            extra_files: Vec::new(),
        }
    }

    /// Parses `text`, which must hold exactly one YAML mapping. Problems the
    /// YAML reader finds (duplicate keys, for instance) are kept.
    pub(crate) fn read<'text>(&mut self, text: &'text str) -> Result<Document<'text>, InputError> {
        let stream = yaml::parse(text);
        if let Some(error) = &stream.error {
            let span = weir_validate::yaml::Span {
                start: error.position,
                end: error.position,
            };
            let diagnostic = self.diagnostic(
                span,
                "yaml.syntax",
                &FieldPath::default(),
                error.message.clone(),
                "fix the YAML syntax here",
            );
            self.diagnostics.push(diagnostic);
            return Err(self.take_error(text));
        }
        let documents: Vec<_> = stream
            .documents
            .into_iter()
            .filter(|document| !document.is_empty())
            .collect();
        let count = documents.len();
        let Ok::<[_; 1], _>([document]) = documents.try_into() else {
            return Err(InputError::whole_file(
                &self.file,
                &self.format.code("file"),
                format!(
                    "a {} file holds exactly one YAML document, this one has {count}",
                    self.format.kind
                ),
                "put each in a file of its own",
            ));
        };
        let Some(root) = document.root else {
            return Err(InputError::whole_file(
                &self.file,
                &self.format.code("file"),
                format!("the {} is not a YAML mapping", self.format.kind),
                &format!("see {} for the format", self.format.reference),
            ));
        };
        for issue in &document.issues {
            self.push_at(
                issue.span,
                issue.code,
                &issue.path,
                issue.message.clone(),
                issue.help.as_deref().unwrap_or(""),
                issue.severity,
            );
        }
        let converted = weir_validate::convert::to_json(&root);
        Ok(Document {
            root,
            json: converted.json,
            index: converted.index,
            text,
        })
    }

    /// Deserializes the document, reporting serde's complaint at its field.
    pub(crate) fn deserialize<T: DeserializeOwned>(
        &mut self,
        document: &Document<'_>,
    ) -> Result<T, InputError> {
        match serde_path_to_error::deserialize(&document.json) {
            Ok(parsed) => Ok(parsed),
            Err(error) => {
                self.serde_error(&document.index, &error);
                Err(self.take_error(document.text))
            }
        }
    }

    /// The problems found so far as an error, leaving the checker empty.
    pub(crate) fn take_error(&mut self, text: &str) -> InputError {
        let checker = std::mem::replace(self, Checker::new(&self.file, self.format));
        checker.into_error(text)
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .chain(self.extra_files.iter().flat_map(|file| &file.diagnostics))
            .any(|diagnostic| diagnostic.severity == Severity::Error)
    }

    pub(crate) fn into_error(self, text: &str) -> InputError {
        let mut diagnostics = self.diagnostics;
        diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
        let mut files = vec![FileReport {
            file: self.file,
            outcome: FileOutcome::Parsed,
            documents: Vec::new(),
            diagnostics,
            source: Some(text.to_owned()),
        }];
        files.extend(self.extra_files);
        InputError {
            report: Report { files },
        }
    }

    pub(crate) fn diagnostic(
        &self,
        span: weir_validate::yaml::Span,
        code: &str,
        path: &FieldPath,
        message: String,
        help: &str,
    ) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: span.start.line,
            column: span.start.column,
            end_line: span.end.line,
            end_column: span.end.column.max(span.start.column + 1),
            severity: Severity::Error,
            code: code.to_owned(),
            path: path.to_string(),
            message,
            help: (!help.is_empty()).then(|| help.to_owned()),
            kind: Some(self.format.kind.to_owned()),
            name: None,
        }
    }

    pub(crate) fn push_at(
        &mut self,
        span: weir_validate::yaml::Span,
        code: &str,
        path: &FieldPath,
        message: String,
        help: &str,
        severity: Severity,
    ) {
        let mut diagnostic = self.diagnostic(span, code, path, message, help);
        diagnostic.severity = severity;
        self.diagnostics.push(diagnostic);
    }

    /// An error about the field at `path`.
    pub(crate) fn error(&mut self, index: &SpanIndex, path: &str, message: String, help: &str) {
        let path = FieldPath::parse(path);
        let span = index.locate(&path, Anchor::Value);
        self.push_at(
            span,
            &self.format.code("value"),
            &path,
            message,
            help,
            Severity::Error,
        );
    }

    /// Turns serde's complaint into a located diagnostic. serde stops at the
    /// first problem; fixing it reveals the next, as with compilers.
    pub(crate) fn serde_error(
        &mut self,
        index: &SpanIndex,
        error: &serde_path_to_error::Error<serde_json::Error>,
    ) {
        let mut path = field_path(error.path());
        let message = error.inner().to_string();
        let (code, anchor, help) = if let Some(field) = quoted_after(&message, "unknown field `") {
            // serde_path_to_error's path already ends at an unknown key.
            if path.0.last() != Some(&PathSegment::Field(field.clone())) {
                path = path.field(&field);
            }
            let expected = message
                .split_once(", expected ")
                .map(|(_, expected)| expected.to_owned())
                .unwrap_or_default();
            let help = match closest(&field, &expected) {
                Some(close) => format!("did you mean `{close}`? expected {expected}"),
                None => format!("remove it; expected {expected}"),
            };
            (self.format.code("unknown-field"), Anchor::Key, help)
        } else if let Some(field) = quoted_after(&message, "missing field `") {
            path = path.field(&field);
            (
                self.format.code("missing-field"),
                Anchor::Key,
                format!("add `{field}`; see {}", self.format.reference),
            )
        } else if message.contains("unknown variant") {
            (
                self.format.code("unknown-value"),
                Anchor::Value,
                "use one of the values listed".to_owned(),
            )
        } else {
            (
                self.format.code("value"),
                Anchor::Value,
                format!("see {} for the format", self.format.reference),
            )
        };
        let span = index.locate(&path, anchor);
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        self.push_at(span, &code, &path, message, &help, Severity::Error);
    }
}

/// serde_path_to_error's path as a weir field path.
fn field_path(path: &serde_path_to_error::Path) -> FieldPath {
    let mut segments = Vec::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                segments.push(PathSegment::Index(*index));
            }
            serde_path_to_error::Segment::Map { key } => {
                segments.push(PathSegment::Field(key.clone()));
            }
            serde_path_to_error::Segment::Enum { variant } => {
                segments.push(PathSegment::Field(variant.clone()));
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    FieldPath(segments)
}

/// The text between `prefix` and the next backtick.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let start = message.find(prefix)? + prefix.len();
    let end = message[start..].find('`')?;
    Some(message[start..start + end].to_owned())
}

/// The expected field closest to a misspelt one.
fn closest(field: &str, expected: &str) -> Option<String> {
    let candidates = expected
        .split(['`', ',', ' '])
        .filter(|candidate| !candidate.is_empty() && *candidate != "or");
    weir_validate::suggest::closest(field, candidates).map(str::to_owned)
}
