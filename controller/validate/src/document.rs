//! One YAML document: identify it, validate it against its CRD schema, decode
//! it into the weir-api type and run weir's semantic checks.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};
use weir_api::checks::{self, FieldPath, Finding, PathSegment};
use weir_api::{AlertProvider, Canary, MetricTemplate};

use crate::Options;
use crate::convert::{self, Anchor, SpanIndex};
use crate::diagnostic::{Diagnostic, DocumentReport, DocumentStatus, Severity};
use crate::schema::{self, Violation};
use crate::suggest::closest;
use crate::yaml::{self, Span};

/// The API group weir validates.
const GROUP: &str = "flagger.app";
/// The kinds of [`weir_api::API_VERSION`] weir validates.
const KINDS: [&str; 3] = ["Canary", "MetricTemplate", "AlertProvider"];

/// A document's report and diagnostics.
#[derive(Debug)]
pub(crate) struct Checked {
    pub report: DocumentReport,
    pub diagnostics: Vec<Diagnostic>,
}

/// Collects diagnostics for one document of one file.
struct Sink<'a> {
    file: &'a str,
    kind: Option<String>,
    name: Option<String>,
    diagnostics: Vec<Diagnostic>,
}

impl Sink<'_> {
    fn push(
        &mut self,
        span: Span,
        severity: Severity,
        code: &str,
        path: &FieldPath,
        message: String,
        help: Option<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            line: span.start.line,
            column: span.start.column,
            end_line: span.end.line,
            end_column: span.end.column,
            severity,
            code: code.to_owned(),
            path: path.to_string(),
            message,
            help,
            kind: self.kind.clone(),
            name: self.name.clone(),
        });
    }

    fn issue(&mut self, issue: &yaml::Issue) {
        self.push(
            issue.span,
            issue.severity,
            issue.code,
            &issue.path,
            issue.message.clone(),
            issue.help.clone(),
        );
    }

    fn violation(&mut self, index: &SpanIndex, violation: Violation) {
        let span = index.locate(&violation.path, violation.anchor);
        self.push(
            span,
            violation.severity,
            violation.code,
            &violation.path,
            violation.message,
            violation.help,
        );
    }
}

/// Validates the `index`-th non-empty document of `file`.
pub(crate) fn check(
    document: &yaml::Document,
    index: usize,
    file: &str,
    kustomization: bool,
    options: &Options,
) -> Checked {
    let mut sink = Sink {
        file,
        kind: None,
        name: None,
        diagnostics: Vec::new(),
    };
    let mut report = DocumentReport {
        index,
        line: document.start.line,
        api_version: None,
        kind: None,
        name: None,
        status: DocumentStatus::Rejected,
    };
    let Some(root) = &document.root else {
        // The YAML reader gave up on this document (too deep or too large).
        for issue in &document.issues {
            sink.issue(issue);
        }
        return Checked {
            report,
            diagnostics: sink.diagnostics,
        };
    };
    let converted = convert::to_json(root);
    let index_of_spans = &converted.index;
    let json = &converted.json;

    let text_at = |key: &str| json.get(key).and_then(Json::as_str).map(str::to_owned);
    report.api_version = text_at("apiVersion");
    report.kind = text_at("kind");
    report.name = json
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .map(str::to_owned);
    sink.kind = report.kind.clone();
    sink.name = report.name.clone();
    for issue in document.issues.iter().chain(&converted.issues) {
        sink.issue(issue);
    }

    match identify(json, kustomization) {
        Identity::Resource(kind) => {
            report.status = DocumentStatus::Validated;
            validate_resource(kind, json, index_of_spans, options, &mut sink);
        }
        Identity::Other(reason) => report.status = DocumentStatus::Skipped { reason },
        Identity::Invalid(violation) => sink.violation(index_of_spans, violation),
    }
    Checked {
        report,
        diagnostics: sink.diagnostics,
    }
}

enum Identity {
    /// A kind weir validates.
    Resource(&'static str),
    /// Some other Kubernetes object.
    Other(String),
    /// Not a Kubernetes object, or a flagger.app object weir cannot serve.
    Invalid(Violation),
}

fn identify(json: &Json, kustomization: bool) -> Identity {
    let Json::Object(object) = json else {
        return Identity::Invalid(violation(
            "document.not-an-object",
            FieldPath::default(),
            Anchor::Value,
            "a Kubernetes manifest is a mapping with `apiVersion`, `kind` and `metadata`"
                .to_owned(),
            "start the document with `apiVersion:` and `kind:` lines",
        ));
    };
    if kustomization && !object.contains_key("apiVersion") && !object.contains_key("kind") {
        return Identity::Other("kustomize configuration, not a Kubernetes object".to_owned());
    }
    let field = |name: &str| {
        object
            .get(name)
            .and_then(Json::as_str)
            .filter(|text| !text.is_empty())
    };
    let Some(api_version) = field("apiVersion") else {
        return Identity::Invalid(violation(
            "document.api-version",
            FieldPath::parse("apiVersion"),
            anchor_for(object.contains_key("apiVersion")),
            "every Kubernetes manifest needs a string `apiVersion`".to_owned(),
            "for Flagger resources write `apiVersion: flagger.app/v1beta1`",
        ));
    };
    let Some(kind) = field("kind") else {
        return Identity::Invalid(violation(
            "document.kind",
            FieldPath::parse("kind"),
            anchor_for(object.contains_key("kind")),
            "every Kubernetes manifest needs a string `kind`".to_owned(),
            "for Flagger resources write `kind: Canary`, `MetricTemplate` or `AlertProvider`",
        ));
    };
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    if group != GROUP {
        return Identity::Other(format!("{api_version} {kind} is not a {GROUP} resource"));
    }
    if api_version != weir_api::API_VERSION {
        return Identity::Invalid(violation(
            "document.api-version",
            FieldPath::parse("apiVersion"),
            Anchor::Value,
            format!(
                "{GROUP} {version} is not served; Flagger and weir serve only {}",
                weir_api::API_VERSION
            ),
            &format!(
                "set `apiVersion: {}` (v1alpha versions also used `canaryAnalysis`, now `analysis`)",
                weir_api::API_VERSION
            ),
        ));
    }
    match KINDS.iter().find(|known| **known == kind) {
        Some(known) => Identity::Resource(known),
        None => {
            let help = match closest(kind, KINDS) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => "use `Canary`, `MetricTemplate` or `AlertProvider`".to_owned(),
            };
            Identity::Invalid(violation(
                "document.kind",
                FieldPath::parse("kind"),
                Anchor::Value,
                format!("{} has no kind `{kind}`", weir_api::API_VERSION),
                &help,
            ))
        }
    }
}

fn anchor_for(present: bool) -> Anchor {
    if present { Anchor::Value } else { Anchor::Key }
}

fn violation(
    code: &'static str,
    path: FieldPath,
    anchor: Anchor,
    message: String,
    help: &str,
) -> Violation {
    Violation {
        severity: Severity::Error,
        code,
        path,
        anchor,
        message,
        help: Some(help.to_owned()),
    }
}

/// The openAPIV3Schema of `kind`, prepared for validating manifests.
fn schema_for(kind: &str) -> Option<&'static Json> {
    static SCHEMAS: OnceLock<Vec<(String, Json)>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            weir_api::crd::all()
                .iter()
                .map(|crd| {
                    let mut schema = weir_api::crd::schema_of(crd);
                    // The API server validates `metadata` itself (ObjectMeta), not
                    // through the CRD: accept any field there; `name` is checked apart.
                    if let Some(metadata) = schema.pointer_mut("/properties/metadata") {
                        *metadata =
                            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
                    }
                    (crd.spec.names.kind.clone(), schema)
                })
                .collect()
        })
        .iter()
        .find(|(known, _)| known == kind)
        .map(|(_, schema)| schema)
}

fn validate_resource(
    kind: &str,
    json: &Json,
    spans: &SpanIndex,
    options: &Options,
    sink: &mut Sink<'_>,
) {
    // `status` belongs to the status subresource: the API server ignores it
    // on create and update, and so do we.
    let mut instance = json.clone();
    if let Some(object) = instance.as_object_mut() {
        object.remove("status");
    }
    let mut violations = Vec::new();
    check_name(&instance, &mut violations);
    if let Some(schema) = schema_for(kind) {
        violations.extend(schema::validate(schema, &instance));
    }
    let rejected: Vec<FieldPath> = violations
        .iter()
        .filter(|violation| violation.severity == Severity::Error)
        .map(|violation| violation.path.clone())
        .collect();
    // Every problem is reported, not only the first stage's: the semantic
    // checks also run when the schema rejected some fields, on the object
    // without them. A decoding failure of that partial object is a
    // consequence of the schema errors and is not reported again.
    let checked = if rejected.is_empty() {
        instance
    } else {
        salvage(instance, &violations)
    };
    let report = rejected.is_empty();
    let findings = match kind {
        "Canary" => typed::<Canary>(&checked, spans, sink, report)
            .map(|canary| checks::check_canary(&canary, &options.check_context)),
        "MetricTemplate" => typed::<MetricTemplate>(&checked, spans, sink, report)
            .map(|template| checks::check_metric_template(&template)),
        "AlertProvider" => typed::<AlertProvider>(&checked, spans, sink, report)
            .map(|provider| checks::check_alert_provider(&provider)),
        _ => None,
    };
    let findings: Vec<Finding> = findings
        .unwrap_or_default()
        .into_iter()
        // Fields the schema rejected were removed (or never there): a finding
        // about them, or inside them, only repeats the schema error.
        .filter(|finding| {
            !rejected
                .iter()
                .any(|path| finding.path.0.starts_with(&path.0))
        })
        .collect();
    for violation in violations {
        sink.violation(spans, violation);
    }
    for finding in findings {
        push_finding(spans, finding, sink);
    }
}

/// `metadata.name` is the one part of ObjectMeta we check: without it (or
/// `generateName`) the API server rejects the object.
fn check_name(instance: &Json, out: &mut Vec<Violation>) {
    let metadata = instance.get("metadata");
    let name = metadata.and_then(|metadata| metadata.get("name"));
    let generated = metadata
        .and_then(|metadata| metadata.get("generateName"))
        .and_then(Json::as_str)
        .is_some_and(|prefix| !prefix.is_empty());
    let path = FieldPath::parse("metadata.name");
    match name {
        None if generated => {}
        None => out.push(violation(
            "schema.required",
            path,
            Anchor::Key,
            "`name` is required".to_owned(),
            "add `name: <name>` under `metadata`",
        )),
        Some(Json::String(text)) if text.is_empty() => out.push(violation(
            "schema.min-length",
            path,
            Anchor::Value,
            "must not be empty".to_owned(),
            "name the resource, e.g. after its target",
        )),
        Some(Json::String(_)) => {}
        Some(_) => out.push(violation(
            "schema.type",
            path,
            Anchor::Value,
            "must be a string".to_owned(),
            "quote the name",
        )),
    }
}

/// The instance without the values the schema rejected, so that the
/// semantic checks can still judge the rest.
fn salvage(mut instance: Json, violations: &[Violation]) -> Json {
    for violation in violations {
        if violation.severity != Severity::Error || violation.anchor != Anchor::Value {
            continue;
        }
        let Some((last, parent)) = violation.path.0.split_last() else {
            continue;
        };
        let parent = parent
            .iter()
            .try_fold(&mut instance, |current, segment| match segment {
                PathSegment::Field(name) => current.get_mut(name),
                PathSegment::Index(index) => current.get_mut(index),
            });
        match (parent, last) {
            (Some(Json::Object(object)), PathSegment::Field(name)) => {
                object.remove(name);
            }
            (Some(Json::Array(items)), PathSegment::Index(index)) if *index < items.len() => {
                // Keep the indices of later items stable for their findings.
                items[*index] = Json::Null;
            }
            _ => {}
        }
    }
    instance
}

/// Decodes the typed resource; reports where decoding failed when `report`.
fn typed<T: DeserializeOwned>(
    instance: &Json,
    spans: &SpanIndex,
    sink: &mut Sink<'_>,
    report: bool,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(instance) {
        Ok(value) => Some(value),
        Err(_) if !report => None,
        Err(error) => {
            let mut path = field_path(error.path());
            let inner = error.inner().to_string();
            let (code, anchor, message, help) = if let Some(field) = missing_field(&inner) {
                path = path.field(field);
                (
                    "decode.missing-field",
                    Anchor::Key,
                    format!("`{field}` is required"),
                    Some(format!("add `{field}`")),
                )
            } else if inner.contains("whole number") {
                let value = json_at(instance, &path).and_then(Json::as_f64);
                let shown =
                    value.map_or_else(|| "the value".to_owned(), |value| format!("`{value}`"));
                (
                    "decode.whole-number",
                    Anchor::Value,
                    format!(
                        "{shown} is not a whole number; Flagger reads this field as an integer and cannot decode the resource"
                    ),
                    Some(match value {
                        Some(value) if value.is_finite() => format!(
                            "write a whole number such as `{}` or `{}`",
                            value.floor(),
                            value.ceil()
                        ),
                        _ => "write a whole number".to_owned(),
                    }),
                )
            } else {
                ("decode", Anchor::Value, inner, None)
            };
            let span = spans.locate(&path, anchor);
            sink.push(span, Severity::Error, code, &path, message, help);
            None
        }
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn field_path(path: &serde_path_to_error::Path) -> FieldPath {
    FieldPath(
        path.iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(PathSegment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(PathSegment::Field(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => {
                    Some(PathSegment::Field(variant.clone()))
                }
                _ => None,
            })
            .collect(),
    )
}

fn json_at<'a>(json: &'a Json, path: &FieldPath) -> Option<&'a Json> {
    path.0
        .iter()
        .try_fold(json, |current, segment| match segment {
            PathSegment::Field(name) => current.get(name),
            PathSegment::Index(index) => current.get(index),
        })
}

fn push_finding(spans: &SpanIndex, finding: Finding, sink: &mut Sink<'_>) {
    let span = spans.locate(&finding.path, Anchor::Value);
    sink.push(
        span,
        finding.severity.into(),
        finding.code,
        &finding.path,
        finding.message,
        finding.help,
    );
}
