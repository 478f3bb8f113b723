//! `weir validate`: every problem in Flagger manifests, located like a compiler would.
//!
//! ```text
//!  file ──read──▶ bytes ──UTF-8──▶ text ──yaml::parse──▶ documents (spanned tree)
//!   │ unreadable        │ not UTF-8       │ syntax error                 │
//!   ▼                   ▼                 ▼                              ▼ per document
//!  outcome Unreadable  outcome NotYaml  outcome NotYaml        convert::to_json
//!                                                              (prune nulls, index spans)
//!                                                                        │
//!                                        apiVersion/kind ◀───────────────┘
//!            other group: skipped   ◀──────────┤
//!            flagger.app/v1alpha*: error ◀─────┤
//!                                              ▼ Canary | MetricTemplate | AlertProvider
//!                                    schema::validate against the CRD's openAPIV3Schema
//!                                              │ no schema errors
//!                                              ▼
//!                                    serde_path_to_error decode into weir-api types
//!                                              │
//!                                              ▼
//!                                    weir_api::checks::check_*  (semantic findings)
//!                                              │
//!                      every problem ──SpanIndex──▶ Diagnostic { file, line, column, ... }
//!                                              │
//!                                              ▼
//!                                    render::{render_human, render_json}
//! ```
//!
//! The stages mirror what happens to a manifest in a cluster: kubectl turns
//! YAML into JSON, the API server prunes nulls and unknown fields and
//! validates the CRD schema, and Flagger decodes the object into its Go types
//! and acts on it. Each stage reports what would go wrong at that point, with
//! the field path and the source position, and the validator never panics:
//! every input, however broken, yields a [`FileReport`].

pub mod convert;
mod diagnostic;
mod document;
pub mod render;
pub mod schema;
pub mod suggest;
pub mod yaml;

use std::path::Path;

use weir_api::checks::CheckContext;

pub use diagnostic::{
    Diagnostic, DocumentReport, DocumentStatus, FileOutcome, FileReport, Report, Severity,
};
pub use render::{RenderOptions, render_diagnostic, render_human, render_json, summary};

/// What validation needs to know beyond the files.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Passed to weir-api's checks (e.g. the controller's `-mesh-provider`).
    pub check_context: CheckContext,
}

/// The `kind` documents of `text` (`flagger.app/v1beta1`), decoded exactly
/// as the validator reads them: YAML 1.1 booleans, nulls pruned. Documents
/// that do not decode are left out; validate the text first to learn why.
pub fn decode_all<T: serde::de::DeserializeOwned>(text: &str, kind: &str) -> Vec<T> {
    yaml::parse(text)
        .documents
        .iter()
        .filter_map(|document| document.root.as_ref())
        .map(|root| convert::to_json(root).json)
        .filter(|json| {
            json.get("apiVersion").and_then(serde_json::Value::as_str)
                == Some(weir_api::API_VERSION)
                && json.get("kind").and_then(serde_json::Value::as_str) == Some(kind)
        })
        .filter_map(|json| serde_json::from_value(json).ok())
        .collect()
}

/// The Canaries of `text`; see [`decode_all`].
pub fn canaries(text: &str) -> Vec<weir_api::Canary> {
    decode_all(text, "Canary")
}

/// The name used for standard input in diagnostics.
pub const STDIN_NAME: &str = "<stdin>";

/// Validates several files; `-` reads standard input.
pub fn validate_paths<P: AsRef<Path>>(paths: &[P], options: &Options) -> Report {
    Report {
        files: paths
            .iter()
            .map(|path| validate_path(path.as_ref(), options))
            .collect(),
    }
}

/// Validates one file (`-` reads standard input).
pub fn validate_path(path: &Path, options: &Options) -> FileReport {
    let name = path.display().to_string();
    let read = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    match read {
        Ok(bytes) => {
            let name = if path == Path::new("-") {
                STDIN_NAME.to_owned()
            } else {
                name
            };
            validate_bytes(&name, &bytes, options)
        }
        Err(error) => FileReport::unusable(
            &name,
            "file.unreadable",
            format!("cannot read the file: {error}"),
            None,
        ),
    }
}

/// Validates the contents of a file named `file`.
pub fn validate_bytes(file: &str, bytes: &[u8], options: &Options) -> FileReport {
    match std::str::from_utf8(bytes) {
        Ok(text) => validate_str(file, text, options),
        Err(error) => {
            let valid = String::from_utf8_lossy(&bytes[..error.valid_up_to()]);
            let line = valid.matches('\n').count() + 1;
            let column = valid
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            let byte = bytes.get(error.valid_up_to()).copied().unwrap_or_default();
            FileReport {
                file: file.to_owned(),
                outcome: FileOutcome::NotYaml,
                documents: Vec::new(),
                diagnostics: vec![Diagnostic::at_character(
                    file,
                    (line, column),
                    "file.not-utf8",
                    format!("the file is not UTF-8 text: byte 0x{byte:02x} cannot be decoded"),
                    "save the file as UTF-8",
                )],
                source: Some(String::from_utf8_lossy(bytes).into_owned()),
            }
        }
    }
}

/// Validates YAML text from a file named `file`.
pub fn validate_str(file: &str, text: &str, options: &Options) -> FileReport {
    // A byte-order mark is invisible in editors; dropping it keeps columns as shown.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let stream = yaml::parse(text);
    let mut report = FileReport {
        file: file.to_owned(),
        outcome: FileOutcome::Parsed,
        documents: Vec::new(),
        diagnostics: Vec::new(),
        source: Some(text.to_owned()),
    };
    if let Some((diagnostic, place)) = non_breaking_spaces(file, text) {
        report.diagnostics.push(diagnostic);
        if place == Place::Indentation {
            // The structure YAML sees is not the one on screen: whatever else
            // we found would be noise (`unknown field "\u{a0}\u{a0}name"`).
            if stream.error.is_some() {
                report.outcome = FileOutcome::NotYaml;
            }
            return report;
        }
    }
    for document in stream
        .documents
        .iter()
        .filter(|document| !document.is_empty())
    {
        let checked = document::check(
            document,
            report.documents.len(),
            file,
            is_kustomization(file),
            options,
        );
        report.documents.push(checked.report);
        report.diagnostics.extend(checked.diagnostics);
    }
    if let Some(error) = stream.error {
        report.outcome = FileOutcome::NotYaml;
        let mut column = error.position.column;
        let help = if error.message.contains("tab") {
            // The parser stops after the tab; point at the tab itself.
            let line = text.lines().nth(error.position.line.saturating_sub(1));
            if let Some(tab) = line.and_then(|line| line.chars().position(|c| c == '\t')) {
                column = tab + 1;
            }
            "indent with spaces: YAML does not allow tabs in indentation"
        } else {
            "fix the YAML syntax here; nothing after this point was checked"
        };
        report.diagnostics.push(Diagnostic {
            file: file.to_owned(),
            line: error.position.line,
            column,
            end_line: error.position.line,
            end_column: column + 1,
            severity: Severity::Error,
            code: "yaml.syntax".to_owned(),
            path: String::new(),
            message: error.message,
            help: Some(help.to_owned()),
            kind: None,
            name: None,
        });
    }
    report.diagnostics.sort_by(|a, b| {
        (
            a.line,
            a.column,
            std::cmp::Reverse(a.severity),
            &a.code,
            &a.path,
        )
            .cmp(&(
                b.line,
                b.column,
                std::cmp::Reverse(b.severity),
                &b.code,
                &b.path,
            ))
    });
    // Alias copies repeat the problems of the anchored node.
    report.diagnostics.dedup_by(|a, b| {
        (a.line, a.column, &a.code, &a.message) == (b.line, b.column, &b.code, &b.message)
    });
    report
}

/// Validates a manifest embedded in another YAML file (a Canary inlined in a
/// simulator scenario): schema and semantic checks, with diagnostics that
/// point into the embedding file.
pub fn validate_embedded(file: &str, node: &yaml::Node, options: &Options) -> Vec<Diagnostic> {
    let document = yaml::Document {
        root: Some(node.clone()),
        start: node.span.start,
        issues: Vec::new(),
    };
    document::check(&document, 0, file, false, options).diagnostics
}

/// `kustomization.yaml` configures kustomize (`kubectl apply -k`); it is no
/// Kubernetes object and needs no `apiVersion` or `kind`.
fn is_kustomization(file: &str) -> bool {
    Path::new(file)
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| {
            matches!(
                name,
                "kustomization.yaml" | "kustomization.yml" | "Kustomization"
            )
        })
}

/// Where a non-breaking space was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Indentation,
    TrailingWhitespace,
}

/// Non-breaking spaces (U+00A0) where YAML expects spaces. They look like
/// spaces but YAML reads them as text, so copy-pasting an example from a web
/// page yields baffling syntax errors, keys such as `\u{a0}\u{a0}name` or
/// values with invisible trailing characters. One diagnostic names the first
/// such line and counts the others.
fn non_breaking_spaces(file: &str, text: &str) -> Option<(Diagnostic, Place)> {
    let is_blank = |c: char| c == ' ' || c == '\t' || c == '\u{a0}';
    let mut affected = text.lines().enumerate().filter_map(|(index, line)| {
        let leading = line.chars().take_while(|c| is_blank(*c));
        if let Some(column) = leading.clone().position(|c| c == '\u{a0}') {
            return Some((index + 1, column + 1, Place::Indentation));
        }
        let trailing_start = line.trim_end_matches(is_blank).chars().count();
        line.chars()
            .skip(trailing_start)
            .position(|c| c == '\u{a0}')
            .map(|offset| {
                (
                    index + 1,
                    trailing_start + offset + 1,
                    Place::TrailingWhitespace,
                )
            })
    });
    let (line, column, place) = affected.next()?;
    let others = affected.count();
    let also = match others {
        0 => String::new(),
        1 => " (and on 1 more line)".to_owned(),
        more => format!(" (and on {more} more lines)"),
    };
    let where_ = match place {
        Place::Indentation => "indentation",
        Place::TrailingWhitespace => "trailing whitespace",
    };
    let diagnostic = Diagnostic::at_character(
        file,
        (line, column),
        "yaml.non-breaking-space",
        format!(
            "non-breaking space (U+00A0) in {where_}{also}: YAML reads it as text, not as a space"
        ),
        "replace non-breaking spaces with ordinary spaces; they usually come from copying an example out of a web page",
    );
    Some((diagnostic, place))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> FileReport {
        validate_str("test.yaml", text, &Options::default())
    }

    #[test]
    fn other_kinds_are_skipped_and_flagger_kinds_validated() {
        let report = check(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n---\n\
             apiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata: {name: slack}\n\
             spec: {type: slack, address: 'https://hooks.slack.com/x'}\n",
        );
        assert_eq!(report.diagnostics, vec![]);
        let statuses: Vec<&DocumentStatus> = report
            .documents
            .iter()
            .map(|document| &document.status)
            .collect();
        assert!(matches!(statuses[0], DocumentStatus::Skipped { .. }));
        assert_eq!(statuses[1], &DocumentStatus::Validated);
    }

    #[test]
    fn documents_without_api_version_are_errors_except_in_kustomization_files() {
        let text = "resources:\n  - canary.yaml\n";
        let manifest = validate_str("app.yaml", text, &Options::default());
        assert_eq!(manifest.diagnostics[0].code, "document.api-version");
        let kustomization = validate_str("app/kustomization.yaml", text, &Options::default());
        assert_eq!(kustomization.diagnostics, vec![]);
        assert!(matches!(
            kustomization.documents[0].status,
            DocumentStatus::Skipped { .. }
        ));
    }

    #[test]
    fn old_flagger_versions_are_errors_naming_the_supported_one() {
        let report = check("apiVersion: flagger.app/v1alpha3\nkind: Canary\nmetadata: {name: x}\n");
        assert_eq!(report.diagnostics.len(), 1);
        assert_eq!(report.diagnostics[0].code, "document.api-version");
        assert!(
            report.diagnostics[0]
                .message
                .contains("flagger.app/v1beta1")
        );
        assert_eq!(
            (report.diagnostics[0].line, report.diagnostics[0].column),
            (1, 13)
        );
    }

    #[test]
    fn invalid_utf8_is_not_yaml_with_a_position() {
        let report = validate_bytes("bad.yaml", b"a: 1\nb: \xff\n", &Options::default());
        assert_eq!(report.outcome, FileOutcome::NotYaml);
        assert_eq!(
            (report.diagnostics[0].line, report.diagnostics[0].column),
            (2, 4)
        );
    }

    #[test]
    fn non_breaking_spaces_from_web_pages_are_named() {
        let report = check("kind: Canary\n\u{a0}\u{a0}name: x\n\u{a0}\u{a0}b: 1\n");
        assert_eq!(
            report.diagnostics.len(),
            1,
            "only the cause, not its effects"
        );
        let found = &report.diagnostics[0];
        assert_eq!(found.code, "yaml.non-breaking-space");
        assert_eq!((found.line, found.column), (2, 1));
        assert!(found.message.contains("1 more line"), "{}", found.message);
        let trailing = check("apiVersion: flagger.app/v1beta1\u{a0}\nkind: Canary\n");
        let codes: Vec<&str> = trailing
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(
            codes,
            vec!["document.api-version", "yaml.non-breaking-space"]
        );
    }

    #[test]
    fn missing_files_are_unreadable() {
        let report = validate_path(Path::new("/nonexistent/weir.yaml"), &Options::default());
        assert_eq!(report.outcome, FileOutcome::Unreadable);
        assert_eq!(report.error_count(), 1);
    }

    #[test]
    fn deeply_nested_values_validate_without_exhausting_the_stack() {
        let depth = yaml::MAX_DEPTH - 10;
        let nested = format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth));
        let text = format!(
            "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {{name: x}}\nspec:\n  deep: {nested}\n"
        );
        let report = check(&text);
        assert!(
            report
                .diagnostics
                .iter()
                .any(|d| d.code == "schema.unknown-field"),
            "{:?}",
            report.diagnostics
        );
        let too_deep = format!("a: {}1{}\n", "[".repeat(depth + 20), "]".repeat(depth + 20));
        assert!(check(&too_deep).error_count() > 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let report = validate_bytes("fuzz.yaml", &bytes, &Options::default());
            let _ = render_human(&Report { files: vec![report] }, &RenderOptions::default());
        }

        #[test]
        fn yaml_like_text_never_panics(
            text in "(apiVersion: flagger.app/v1beta1\n|kind: (Canary|MetricTemplate|AlertProvider)\n|metadata:\n  name: x\n|spec:\n|  analysis:\n|    interval: [0-9a-z]{0,3}\n|    stepWeights: \\[[0-9, .-]{0,8}\\]\n|  [a-zA-Z]{1,8}: [~&*!|>'\"a-z0-9:{}\\[\\],. -]{0,10}\n|---\n|- [a-z]{0,4}\n|\t|&a |\\*a |<<: )*"
        ) {
            let report = validate_str("fuzz.yaml", &text, &Options::default());
            let _ = render_human(&Report { files: vec![report.clone()] }, &RenderOptions::default());
            let _ = render_json(&Report { files: vec![report] }, &RenderOptions::default());
        }
    }
}
