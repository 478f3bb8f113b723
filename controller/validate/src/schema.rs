//! Structural-schema validation: what the Kubernetes API server enforces for
//! a custom resource, driven by the CRD's `openAPIV3Schema`.
//!
//! The walker is generic: it knows nothing about Canaries. It implements the
//! keywords a structural schema may use (`type`, `enum`, `required`,
//! `properties`, `additionalProperties`, `items`, `pattern`, `minimum`,
//! `maximum`, `minLength`, `maxLength`, `minItems`, `maxItems`, `oneOf`,
//! `anyOf`, `allOf`, `not`, `nullable`, `x-kubernetes-int-or-string`,
//! `x-kubernetes-preserve-unknown-fields`) and the one CEL rule our CRDs carry
//! (by hand, see `CEL_RULES`).
//!
//! ```text
//!   walk(schema, value, path)
//!     ├─ type mismatch? ──▶ violation, stop here
//!     ├─ enum / pattern / bounds / lengths
//!     ├─ object: required, properties ─▶ walk(child)   unknown key ─▶ warning
//!     ├─ array:  items ─▶ walk(item)
//!     └─ oneOf/anyOf/allOf/not: branches are walked in Branch mode
//!          (constraints only: no pruning, so no unknown-field warnings)
//! ```
//!
//! Where the API server would answer "must validate one and only one schema
//! (oneOf)", `ONE_OF_PATTERNS` recognises the shapes our CRDs use and says
//! which field is missing or which two fields clash. Unknown fields are only
//! warnings because the server prunes them silently; the warning says so and
//! suggests the field that was probably meant.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use serde_json::{Map, Value as Json};
use weir_api::checks::FieldPath;

use crate::convert::Anchor;
use crate::diagnostic::Severity;
use crate::suggest::closest;

/// A value that does not satisfy the schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub severity: Severity,
    /// `schema.type`, `schema.required`, `schema.unknown-field`, ...
    pub code: &'static str,
    pub path: FieldPath,
    /// Whether the problem is the field's name (missing, unknown) or its value.
    pub anchor: Anchor,
    pub message: String,
    pub help: Option<String>,
}

/// Validates `instance` against an `openAPIV3Schema`.
pub fn validate(schema: &Json, instance: &Json) -> Vec<Violation> {
    let mut walker = Walker::default();
    let mut out = Vec::new();
    walker.walk(
        schema,
        instance,
        &FieldPath::default(),
        Mode::Structural,
        &mut out,
    );
    // Branches of a one-of can repeat what the object's own keywords said.
    let mut seen = HashSet::new();
    out.retain(|violation| seen.insert((violation.path.clone(), violation.code)));
    out
}

/// Unknown fields with a known story, by path.
struct FieldHint {
    path: &'static str,
    /// The field it was renamed to, for "missing field" help.
    renamed_to: Option<&'static str>,
    message: &'static str,
    help: &'static str,
}

const FIELD_HINTS: &[FieldHint] = &[FieldHint {
    path: "spec.canaryAnalysis",
    renamed_to: Some("analysis"),
    message: "unknown field `canaryAnalysis`: it was renamed to spec.analysis, and the API server prunes it silently (kubectl apply rejects it), so this Canary has no analysis",
    help: "rename `canaryAnalysis` to `analysis`",
}];

/// Extra help for values that fail a well-known pattern.
struct PatternHint {
    pattern: &'static str,
    help: fn(&str) -> String,
}

const PATTERN_HINTS: &[PatternHint] = &[PatternHint {
    pattern: "^[0-9]+(m|s)",
    help: duration_pattern_help,
}];

fn duration_pattern_help(value: &str) -> String {
    match weir_api::duration::parse_go_duration(value) {
        Ok(duration) if duration.as_secs() > 0 && duration.subsec_nanos() == 0 => {
            let seconds = duration.as_secs();
            let written = if seconds % 60 == 0 {
                format!("{}m", seconds / 60)
            } else {
                format!("{seconds}s")
            };
            format!(
                "Flagger's CRD only accepts durations that start with a number of minutes or seconds: write `{written}`"
            )
        }
        _ => "write a number of minutes or seconds, such as `30s`, `1m` or `90m`".to_owned(),
    }
}

/// CEL rules (`x-kubernetes-validations`) implemented by hand: our CRDs carry
/// one, and a CEL interpreter would be a large dependency for it. Rules not in
/// this table are skipped.
struct CelRule {
    /// The rule's text, exactly as in the CRD.
    rule: &'static str,
    /// Whether an object (with the schema of its properties) satisfies it.
    holds: fn(&Map<String, Json>, &Json) -> bool,
    help: &'static str,
}

const CEL_RULES: &[CelRule] = &[CelRule {
    rule: "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true",
    holds: service_reference_has_port,
    help: "add `port`: the port of the Service that receives the mirrored traffic",
}];

fn service_reference_has_port(object: &Map<String, Json>, schema: &Json) -> bool {
    // The API server applies defaults before it evaluates rules.
    let effective = |name: &str| {
        object
            .get(name)
            .or_else(|| schema.pointer(&format!("/properties/{name}/default")))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    !(effective("group").is_empty() && effective("kind") == "Service")
        || object.contains_key("port")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The schema proper: unknown fields are pruned (and warned about).
    Structural,
    /// A `oneOf`/`anyOf`/`allOf`/`not` branch: value constraints only.
    Branch,
}

#[derive(Debug, Default)]
struct Walker {
    patterns: HashMap<String, Option<Regex>>,
}

impl Walker {
    fn walk(
        &mut self,
        schema: &Json,
        value: &Json,
        path: &FieldPath,
        mode: Mode,
        out: &mut Vec<Violation>,
    ) {
        let Some(keywords) = schema.as_object() else {
            return;
        };
        if value.is_null() && keywords.get("nullable") == Some(&Json::Bool(true)) {
            return;
        }
        if !self.check_type(keywords, value, path, out) {
            return;
        }
        self.check_enum(keywords, value, path, out);
        match value {
            Json::String(text) => self.check_string(keywords, text, path, out),
            Json::Number(_) => check_number(keywords, value, path, out),
            Json::Array(items) => {
                check_items_count(keywords, items, path, out);
                if let Some(item_schema) = keywords.get("items") {
                    for (position, item) in items.iter().enumerate() {
                        self.walk(item_schema, item, &path.index(position), mode, out);
                    }
                }
            }
            Json::Object(object) => self.check_object(keywords, object, path, mode, out),
            _ => {}
        }
        self.check_combinators(keywords, value, path, out);
        if let Json::Object(object) = value {
            check_cel_rules(schema, object, path, out);
        }
    }

    /// Whether `value` passes `schema` (errors only; warnings do not count).
    fn passes(&mut self, schema: &Json, value: &Json, path: &FieldPath) -> bool {
        self.errors_in(schema, value, path).is_empty()
    }

    fn errors_in(&mut self, schema: &Json, value: &Json, path: &FieldPath) -> Vec<Violation> {
        let mut out = Vec::new();
        self.walk(schema, value, path, Mode::Branch, &mut out);
        out.retain(|violation| violation.severity == Severity::Error);
        out
    }

    /// Reports a type mismatch; returns whether the value has the right type.
    fn check_type(
        &mut self,
        keywords: &Map<String, Json>,
        value: &Json,
        path: &FieldPath,
        out: &mut Vec<Violation>,
    ) -> bool {
        let int_or_string = keywords.get("x-kubernetes-int-or-string") == Some(&Json::Bool(true));
        let expected = if int_or_string {
            if value.is_string() || is_integral(value) {
                return true;
            }
            "integer or string"
        } else {
            let Some(expected) = keywords.get("type").and_then(Json::as_str) else {
                return true;
            };
            if has_type(expected, value) {
                return true;
            }
            expected
        };
        out.push(Violation {
            severity: Severity::Error,
            code: "schema.type",
            path: path.clone(),
            anchor: Anchor::Value,
            message: format!(
                "must be {}, not {}",
                describe_type(expected),
                describe(value)
            ),
            help: type_help(expected, value),
        });
        false
    }

    fn check_enum(
        &mut self,
        keywords: &Map<String, Json>,
        value: &Json,
        path: &FieldPath,
        out: &mut Vec<Violation>,
    ) {
        let Some(Json::Array(allowed)) = keywords.get("enum") else {
            return;
        };
        if allowed.iter().any(|member| same_value(member, value)) {
            return;
        }
        let names: Vec<String> = allowed.iter().map(enum_member).collect();
        let listed = join_with(&names, "or");
        let suggestion = value
            .as_str()
            .and_then(|text| closest(text, allowed.iter().filter_map(Json::as_str)));
        out.push(Violation {
            severity: Severity::Error,
            code: "schema.enum",
            path: path.clone(),
            anchor: Anchor::Value,
            message: format!("{} is not one of {listed}", short(value)),
            help: Some(match suggestion {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => format!("use one of {listed}"),
            }),
        });
    }

    fn check_string(
        &mut self,
        keywords: &Map<String, Json>,
        text: &str,
        path: &FieldPath,
        out: &mut Vec<Violation>,
    ) {
        let length = text.chars().count() as u64;
        if let Some(min) = keywords.get("minLength").and_then(Json::as_u64)
            && length < min
        {
            let message = if length == 0 {
                "must not be empty".to_owned()
            } else {
                format!("is {length} characters long; at least {min} are required")
            };
            out.push(value_violation("schema.min-length", path, message, None));
        }
        if let Some(max) = keywords.get("maxLength").and_then(Json::as_u64)
            && length > max
        {
            out.push(value_violation(
                "schema.max-length",
                path,
                format!("is {length} characters long; at most {max} are allowed"),
                None,
            ));
        }
        if let Some(pattern) = keywords.get("pattern").and_then(Json::as_str) {
            let compiled = self
                .patterns
                .entry(pattern.to_owned())
                .or_insert_with(|| Regex::new(pattern).ok());
            // JSON Schema patterns search; they are not implicitly anchored.
            if compiled.as_ref().is_some_and(|regex| !regex.is_match(text)) {
                let help = PATTERN_HINTS
                    .iter()
                    .find(|hint| hint.pattern == pattern)
                    .map(|hint| (hint.help)(text));
                out.push(value_violation(
                    "schema.pattern",
                    path,
                    format!("`{text}` does not match the pattern `{pattern}`"),
                    help,
                ));
            }
        }
    }

    fn check_object(
        &mut self,
        keywords: &Map<String, Json>,
        object: &Map<String, Json>,
        path: &FieldPath,
        mode: Mode,
        out: &mut Vec<Violation>,
    ) {
        let properties = keywords.get("properties").and_then(Json::as_object);
        let additional = keywords.get("additionalProperties");
        let preserves_unknown =
            keywords.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true));
        let prunes_unknown = mode == Mode::Structural
            && !preserves_unknown
            && (properties.is_some() || keywords.get("type") == Some(&Json::from("object")));
        let known: Vec<&str> = properties
            .map(|properties| properties.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let unknown: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|key| !known.contains(key))
            .collect();

        if let Some(Json::Array(required)) = keywords.get("required") {
            for name in required.iter().filter_map(Json::as_str) {
                if !object.contains_key(name) {
                    out.push(missing(name, path, properties, &unknown));
                }
            }
        }
        if let Some(max) = keywords.get("maxProperties").and_then(Json::as_u64)
            && object.len() as u64 > max
        {
            out.push(value_violation(
                "schema.max-properties",
                path,
                format!("has {} entries; at most {max} are allowed", object.len()),
                None,
            ));
        }

        for (key, child) in object {
            let child_path = path.field(key);
            if let Some(child_schema) = properties.and_then(|properties| properties.get(key)) {
                self.walk(child_schema, child, &child_path, mode, out);
            } else if let Some(additional) = additional.filter(|additional| additional.is_object())
            {
                self.walk(additional, child, &child_path, mode, out);
            } else if additional == Some(&Json::Bool(true)) {
                // Any key is allowed.
            } else if prunes_unknown {
                out.push(unknown_field(key, &child_path, properties));
            }
        }
    }

    fn check_combinators(
        &mut self,
        keywords: &Map<String, Json>,
        value: &Json,
        path: &FieldPath,
        out: &mut Vec<Violation>,
    ) {
        if let Some(Json::Array(branches)) = keywords.get("allOf") {
            for branch in branches {
                self.walk(branch, value, path, Mode::Branch, out);
            }
        }
        if let Some(Json::Array(branches)) = keywords.get("anyOf")
            && !branches
                .iter()
                .any(|branch| self.passes(branch, value, path))
        {
            self.explain_no_match(branches, value, path, "schema.any-of", out);
        }
        if let Some(Json::Array(branches)) = keywords.get("oneOf") {
            let properties = keywords.get("properties").and_then(Json::as_object);
            self.check_one_of(branches, properties, value, path, out);
        }
        if let Some(forbidden) = keywords.get("not")
            && self.passes(forbidden, value, path)
        {
            out.push(value_violation(
                "schema.not",
                path,
                "has a form the schema forbids (`not`)".to_owned(),
                None,
            ));
        }
    }

    fn check_one_of(
        &mut self,
        branches: &[Json],
        properties: Option<&Map<String, Json>>,
        value: &Json,
        path: &FieldPath,
        out: &mut Vec<Violation>,
    ) {
        if let Json::Object(object) = value {
            for recognise in ONE_OF_PATTERNS {
                if let Some(pattern) = recognise(branches) {
                    self.check_one_of_pattern(&pattern, properties, object, value, path, out);
                    return;
                }
            }
        }
        let passing = branches
            .iter()
            .filter(|branch| self.passes(branch, value, path))
            .count();
        match passing {
            1 => {}
            0 => self.explain_no_match(branches, value, path, "schema.one-of", out),
            _ => out.push(value_violation(
                "schema.one-of",
                path,
                format!(
                    "matches {passing} of the {} allowed forms; exactly one must match",
                    branches.len()
                ),
                None,
            )),
        }
    }

    fn check_one_of_pattern(
        &mut self,
        pattern: &OneOfPattern<'_>,
        properties: Option<&Map<String, Json>>,
        object: &Map<String, Json>,
        value: &Json,
        path: &FieldPath,
        out: &mut Vec<Violation>,
    ) {
        let unknown: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|key| properties.is_none_or(|properties| !properties.contains_key(*key)))
            .collect();
        for name in &pattern.common {
            if !object.contains_key(*name) {
                out.push(missing(name, path, properties, &unknown));
            }
        }
        let present: Vec<usize> = pattern
            .alternatives
            .iter()
            .enumerate()
            .filter(|(_, alternative)| alternative.fields.iter().any(|f| object.contains_key(*f)))
            .map(|(position, _)| position)
            .collect();
        let names: Vec<String> = pattern
            .alternatives
            .iter()
            .map(|alternative| alternative.fields.join("` and `"))
            .map(|name| format!("`{name}`"))
            .collect();
        match present.as_slice() {
            [] if pattern.optional => {}
            [] => {
                let listed = join_with(&names, "or");
                out.push(Violation {
                    severity: Severity::Error,
                    code: "schema.one-of",
                    path: path.clone(),
                    anchor: Anchor::Key,
                    message: format!("one of {listed} is required"),
                    help: Some(pattern.describe_alternatives(properties)),
                });
            }
            [only] => {
                let branch = pattern.alternatives[*only].branch;
                if !self.passes(branch, value, path) {
                    // Say what is wrong inside the chosen form.
                    self.walk(branch, value, path, Mode::Branch, out);
                }
            }
            [first, second, ..] => {
                let found = |position: usize| {
                    let alternative = &pattern.alternatives[position];
                    alternative
                        .fields
                        .iter()
                        .find(|field| object.contains_key(**field))
                        .copied()
                        .unwrap_or(alternative.fields[0])
                };
                let (first, second) = (found(*first), found(*second));
                let message = if names.len() == 2 {
                    format!("set either {}, not both", join_with(&names, "or"))
                } else if pattern.optional || pattern.common.is_empty() {
                    format!(
                        "set only one of {}; found `{first}` and `{second}`",
                        join_with(&names, "or")
                    )
                } else {
                    format!(
                        "only one of {} may be set; found `{first}` and `{second}`",
                        join_with(&names, "or")
                    )
                };
                out.push(Violation {
                    severity: Severity::Error,
                    code: "schema.one-of",
                    path: path.field(second),
                    anchor: Anchor::Key,
                    message,
                    help: Some(format!("keep only `{first}` or `{second}`")),
                });
            }
        }
    }

    /// No branch matched: show the problems of the branch that came closest.
    fn explain_no_match(
        &mut self,
        branches: &[Json],
        value: &Json,
        path: &FieldPath,
        code: &'static str,
        out: &mut Vec<Violation>,
    ) {
        let closest = branches
            .iter()
            .map(|branch| self.errors_in(branch, value, path))
            .filter(|errors| !errors.is_empty())
            .min_by_key(Vec::len);
        match closest {
            Some(errors) if errors.len() <= 3 => out.extend(errors),
            _ => out.push(value_violation(
                code,
                path,
                format!("matches none of the {} allowed forms", branches.len()),
                None,
            )),
        }
    }
}

/// A `oneOf` whose branches each require a different field (or group of
/// fields), optionally plus fields every branch requires.
#[derive(Debug)]
struct OneOfPattern<'a> {
    /// Fields every branch requires (`interval`, `threshold`).
    common: Vec<&'a str>,
    alternatives: Vec<Alternative<'a>>,
    /// `true` when none of the alternatives is also fine (at most one).
    optional: bool,
}

#[derive(Debug)]
struct Alternative<'a> {
    fields: Vec<&'a str>,
    branch: &'a Json,
}

impl OneOfPattern<'_> {
    /// "set exactly one: `iterations` (Number of checks ...), ...", with the
    /// property descriptions when the schema has short ones.
    fn describe_alternatives(&self, properties: Option<&Map<String, Json>>) -> String {
        let described: Vec<String> = self
            .alternatives
            .iter()
            .map(|alternative| {
                let name = format!("`{}`", alternative.fields.join("` and `"));
                match alternative
                    .fields
                    .first()
                    .and_then(|field| short_description(properties, field))
                {
                    Some(description) => format!("{name} ({description})"),
                    None => name,
                }
            })
            .collect();
        format!("set exactly one: {}", join_with(&described, "or"))
    }
}

/// Recognisers for the one-of shapes our CRDs use, tried in order.
/// Recognises a one-of shape in a list of branches.
type Recogniser = for<'a> fn(&'a [Json]) -> Option<OneOfPattern<'a>>;

const ONE_OF_PATTERNS: &[Recogniser] = &[exactly_one_of, at_most_one_of];

fn required_of(branch: &Json) -> Option<Vec<&str>> {
    let required: Vec<&str> = branch
        .get("required")?
        .as_array()?
        .iter()
        .filter_map(Json::as_str)
        .collect();
    (!required.is_empty()).then_some(required)
}

/// `oneOf: [{required: [a, x]}, {required: [a, y]}, ...]`: `a` always, and
/// exactly one of `x`, `y`, ... (branches may constrain more, like the
/// `consistentHash` branch of Istio's load balancer).
fn exactly_one_of(branches: &[Json]) -> Option<OneOfPattern<'_>> {
    if branches.len() < 2 || branches.iter().any(|branch| branch.get("not").is_some()) {
        return None;
    }
    let required: Vec<Vec<&str>> = branches.iter().map(required_of).collect::<Option<_>>()?;
    let common: Vec<&str> = required[0]
        .iter()
        .copied()
        .filter(|name| required.iter().all(|list| list.contains(name)))
        .collect();
    let mut seen = HashSet::new();
    let mut alternatives = Vec::new();
    for (list, branch) in required.iter().zip(branches) {
        let fields: Vec<&str> = list
            .iter()
            .copied()
            .filter(|name| !common.contains(name))
            .collect();
        if fields.is_empty() || !fields.iter().all(|field| seen.insert(*field)) {
            return None;
        }
        alternatives.push(Alternative { fields, branch });
    }
    Some(OneOfPattern {
        common,
        alternatives,
        optional: false,
    })
}

/// `oneOf: [{not: {anyOf: [{required: [x]}, {required: [y]}]}}, {required: [x]}, {required: [y]}]`:
/// at most one of `x`, `y`.
fn at_most_one_of(branches: &[Json]) -> Option<OneOfPattern<'_>> {
    let (negations, others): (Vec<&Json>, Vec<&Json>) = branches
        .iter()
        .partition(|branch| branch.get("not").is_some());
    let [negation] = negations.as_slice() else {
        return None;
    };
    let excluded: HashSet<&str> = negation
        .pointer("/not/anyOf")?
        .as_array()?
        .iter()
        .map(required_of)
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut alternatives = Vec::new();
    for branch in others {
        let fields = required_of(branch)?;
        if !fields.iter().all(|field| excluded.contains(field)) {
            return None;
        }
        alternatives.push(Alternative { fields, branch });
    }
    Some(OneOfPattern {
        common: Vec::new(),
        alternatives,
        optional: true,
    })
}

fn check_cel_rules(
    schema: &Json,
    object: &Map<String, Json>,
    path: &FieldPath,
    out: &mut Vec<Violation>,
) {
    let Some(Json::Array(rules)) = schema.get("x-kubernetes-validations") else {
        return;
    };
    for rule in rules {
        let Some(text) = rule.get("rule").and_then(Json::as_str) else {
            continue;
        };
        let Some(known) = CEL_RULES.iter().find(|known| known.rule == text) else {
            continue;
        };
        if !(known.holds)(object, schema) {
            let message = rule
                .get("message")
                .and_then(Json::as_str)
                .map_or_else(|| format!("fails the rule `{text}`"), str::to_owned);
            out.push(Violation {
                severity: Severity::Error,
                code: "schema.validation",
                path: path.clone(),
                anchor: Anchor::Key,
                message,
                help: Some(known.help.to_owned()),
            });
        }
    }
}

fn check_number(
    keywords: &Map<String, Json>,
    value: &Json,
    path: &FieldPath,
    out: &mut Vec<Violation>,
) {
    let Some(number) = value.as_f64() else {
        return;
    };
    let exclusive = |name: &str| keywords.get(name) == Some(&Json::Bool(true));
    if let Some(minimum) = keywords.get("minimum").and_then(Json::as_f64) {
        let exclusive = exclusive("exclusiveMinimum");
        if number < minimum || (exclusive && number == minimum) {
            let bound = if exclusive {
                "greater than"
            } else {
                "at least"
            };
            out.push(value_violation(
                "schema.minimum",
                path,
                format!(
                    "{} is too small: it must be {bound} {}",
                    short(value),
                    trim_float(minimum)
                ),
                None,
            ));
        }
    }
    if let Some(maximum) = keywords.get("maximum").and_then(Json::as_f64) {
        let exclusive = exclusive("exclusiveMaximum");
        if number > maximum || (exclusive && number == maximum) {
            let bound = if exclusive { "less than" } else { "at most" };
            out.push(value_violation(
                "schema.maximum",
                path,
                format!(
                    "{} is too large: it must be {bound} {}",
                    short(value),
                    trim_float(maximum)
                ),
                None,
            ));
        }
    }
}

fn check_items_count(
    keywords: &Map<String, Json>,
    items: &[Json],
    path: &FieldPath,
    out: &mut Vec<Violation>,
) {
    let count = items.len() as u64;
    if let Some(max) = keywords.get("maxItems").and_then(Json::as_u64)
        && count > max
    {
        out.push(value_violation(
            "schema.max-items",
            path,
            format!("has {count} items; at most {max} are allowed"),
            None,
        ));
    }
    if let Some(min) = keywords.get("minItems").and_then(Json::as_u64)
        && count < min
    {
        out.push(value_violation(
            "schema.min-items",
            path,
            format!("has {count} items; at least {min} are required"),
            None,
        ));
    }
}

fn value_violation(
    code: &'static str,
    path: &FieldPath,
    message: String,
    help: Option<String>,
) -> Violation {
    Violation {
        severity: Severity::Error,
        code,
        path: path.clone(),
        anchor: Anchor::Value,
        message,
        help,
    }
}

/// "`threshold` is required", with the most useful help we can find.
fn missing(
    name: &str,
    path: &FieldPath,
    properties: Option<&Map<String, Json>>,
    present: &[&str],
) -> Violation {
    let renamed = FIELD_HINTS.iter().find(|hint| {
        hint.renamed_to == Some(name) && path.field(field_name(hint.path)).to_string() == hint.path
    });
    let misspelt = present
        .iter()
        .find(|key| closest(key, [name]).is_some() && **key != name);
    let help = if let Some(hint) = renamed.filter(|hint| present.contains(&field_name(hint.path))) {
        Some(format!(
            "`{}` was renamed to `{name}`: rename it",
            field_name(hint.path)
        ))
    } else if let Some(misspelt) = misspelt {
        Some(format!(
            "`{misspelt}` is set instead; did you mean `{name}`?"
        ))
    } else {
        Some(match short_description(properties, name) {
            Some(description) => format!("add `{name}` ({description})"),
            None => format!("add `{name}`"),
        })
    };
    Violation {
        severity: Severity::Error,
        code: "schema.required",
        path: path.field(name),
        anchor: Anchor::Key,
        message: format!("`{name}` is required"),
        help,
    }
}

/// A property's description, if it is short enough for a help line.
fn short_description<'a>(properties: Option<&'a Map<String, Json>>, name: &str) -> Option<&'a str> {
    properties?
        .get(name)?
        .get("description")?
        .as_str()
        .filter(|description| description.len() <= 80 && !description.contains('\n'))
}

fn field_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn unknown_field(key: &str, path: &FieldPath, properties: Option<&Map<String, Json>>) -> Violation {
    let text = path.to_string();
    if let Some(hint) = FIELD_HINTS.iter().find(|hint| hint.path == text) {
        return Violation {
            severity: Severity::Warning,
            code: "schema.unknown-field",
            path: path.clone(),
            anchor: Anchor::Key,
            message: hint.message.to_owned(),
            help: Some(hint.help.to_owned()),
        };
    }
    let siblings = properties
        .map(|properties| properties.keys().map(String::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    let help = if let Some(suggestion) = closest(key, siblings.iter().copied()) {
        Some(format!("did you mean `{suggestion}`?"))
    } else if let Some(parent) = properties.and_then(|properties| {
        properties
            .iter()
            .find(|(_, child)| {
                child
                    .pointer(&format!("/properties/{}", escape_pointer(key)))
                    .is_some()
            })
            .map(|(name, _)| name)
    }) {
        Some(format!("`{key}` belongs under `{parent}`: indent it there"))
    } else if !siblings.is_empty() && siblings.len() <= 8 {
        Some(format!(
            "remove it; the fields allowed here are {}",
            join_with(
                &siblings
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>(),
                "and"
            )
        ))
    } else {
        Some("remove it, or check its spelling and indentation".to_owned())
    };
    Violation {
        severity: Severity::Warning,
        code: "schema.unknown-field",
        path: path.clone(),
        anchor: Anchor::Key,
        message: format!(
            "unknown field `{key}`; the API server prunes it silently (kubectl apply rejects it)"
        ),
        help,
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn is_integral(value: &Json) -> bool {
    value.is_i64()
        || value.is_u64()
        || value
            .as_f64()
            .is_some_and(|number| number.is_finite() && number.fract() == 0.0)
}

fn has_type(expected: &str, value: &Json) -> bool {
    match expected {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "number" => value.is_number(),
        // The API server accepts integral floats (`5.0`) as integers.
        "integer" => is_integral(value),
        _ => true,
    }
}

fn same_value(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn describe_type(expected: &str) -> String {
    match expected {
        "string" => "a string".to_owned(),
        "boolean" => "a boolean (`true` or `false`)".to_owned(),
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "number" => "a number".to_owned(),
        "integer" => "an integer".to_owned(),
        "integer or string" => "an integer or a string".to_owned(),
        other => format!("of type {other}"),
    }
}

fn describe(value: &Json) -> String {
    match value {
        Json::Null => "null".to_owned(),
        Json::Bool(_) => format!("the boolean {}", short(value)),
        Json::Number(_) => format!("the number {}", short(value)),
        Json::String(text) => format!("the string `{text:?}`"),
        Json::Array(_) => "a list".to_owned(),
        Json::Object(_) => "a mapping".to_owned(),
    }
}

/// A scalar as written in YAML, in backticks; strings keep their quotes only
/// where they matter.
fn short(value: &Json) -> String {
    match value {
        Json::String(text) if text.is_empty() => "`\"\"`".to_owned(),
        Json::String(text) => {
            let text: String = text.chars().take(60).collect();
            format!("`{text}`")
        }
        Json::Number(number) => format!("`{number}`"),
        Json::Bool(flag) => format!("`{flag}`"),
        Json::Null => "`null`".to_owned(),
        Json::Array(_) => "a list".to_owned(),
        Json::Object(_) => "a mapping".to_owned(),
    }
}

fn enum_member(member: &Json) -> String {
    match member {
        Json::String(text) if text.is_empty() => "`\"\"`".to_owned(),
        other => short(other),
    }
}

fn type_help(expected: &str, value: &Json) -> Option<String> {
    match (expected, value) {
        ("string", Json::Number(_) | Json::Bool(_)) => Some(format!("quote it: `\"{}\"`", value)),
        ("integer" | "number" | "integer or string", Json::String(text))
            if text.trim().parse::<f64>().is_ok() =>
        {
            Some(format!("remove the quotes: `{}`", text.trim()))
        }
        ("boolean", Json::String(text)) => {
            let lower = text.to_lowercase();
            let meaning = match lower.as_str() {
                "true" | "yes" | "on" | "y" => Some(true),
                "false" | "no" | "off" | "n" => Some(false),
                _ => None,
            };
            meaning.map(|meaning| format!("write `{meaning}` without quotes"))
        }
        ("array", _) => Some("write a list: one `- item` per line, or `[a, b]`".to_owned()),
        ("object", _) => Some("write `key: value` pairs, indented under the field".to_owned()),
        _ => None,
    }
}

fn trim_float(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        format!("{number}")
    }
}

/// `a`, `a or b`, `a, b or c`.
fn join_with(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(schema: &Json, value: &Json) -> Vec<(String, &'static str, String)> {
        validate(schema, value)
            .into_iter()
            .map(|violation| {
                (
                    violation.path.to_string(),
                    violation.code,
                    violation.message,
                )
            })
            .collect()
    }

    #[test]
    fn types_enums_and_patterns_are_enforced_like_the_api_server() {
        let schema = json!({"type": "object", "properties": {
            "port": {"type": "integer"},
            "kind": {"type": "string", "enum": ["Deployment", "DaemonSet"]},
            "interval": {"type": "string", "pattern": "^[0-9]+(m|s)"},
            "target": {"x-kubernetes-int-or-string": true}
        }});
        assert_eq!(
            found(
                &schema,
                &json!({"port": 80.0, "interval": "1m30s", "target": "http"})
            ),
            vec![]
        );
        let problems = found(
            &schema,
            &json!({"port": "80", "kind": "Deploymnet", "interval": "1h", "target": 1.5}),
        );
        let codes: Vec<(&str, &str)> = problems
            .iter()
            .map(|(path, code, _)| (path.as_str(), *code))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("interval", "schema.pattern"),
                ("kind", "schema.enum"),
                ("port", "schema.type"),
                ("target", "schema.type"),
            ]
        );
    }

    #[test]
    fn unknown_fields_are_warnings_with_a_suggestion() {
        let schema = json!({"type": "object", "properties": {"threshold": {"type": "number"}}});
        let violations = validate(&schema, &json!({"treshold": 5}));
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].severity, Severity::Warning);
        assert_eq!(
            violations[0].help.as_deref(),
            Some("did you mean `threshold`?")
        );
    }

    #[test]
    fn exactly_one_of_names_the_missing_or_clashing_fields() {
        let schema = json!({"type": "object",
        "properties": {"interval": {}, "threshold": {}, "iterations": {}, "stepWeight": {}, "stepWeights": {}},
        "oneOf": [
            {"required": ["interval", "iterations", "threshold"]},
            {"required": ["interval", "stepWeight", "threshold"]},
            {"required": ["interval", "stepWeights", "threshold"]}
        ]});
        assert_eq!(
            found(&schema, &json!({"interval": "1m", "iterations": 1})),
            vec![(
                "threshold".to_owned(),
                "schema.required",
                "`threshold` is required".to_owned()
            )]
        );
        assert_eq!(
            found(&schema, &json!({"interval": "1m", "threshold": 1})),
            vec![(
                String::new(),
                "schema.one-of",
                "one of `iterations`, `stepWeight` or `stepWeights` is required".to_owned()
            )]
        );
        assert_eq!(
            found(&schema, &json!({"interval": "1m", "threshold": 1, "iterations": 1, "stepWeight": 5})),
            vec![(
                "stepWeight".to_owned(),
                "schema.one-of",
                "only one of `iterations`, `stepWeight` or `stepWeights` may be set; found `iterations` and `stepWeight`".to_owned()
            )]
        );
    }

    #[test]
    fn at_most_one_of_accepts_none_and_rejects_two() {
        let schema = json!({"type": "object",
        "properties": {"exact": {"type": "string"}, "prefix": {"type": "string"}, "regex": {"type": "string"}},
        "oneOf": [
            {"not": {"anyOf": [{"required": ["exact"]}, {"required": ["prefix"]}, {"required": ["regex"]}]}},
            {"required": ["exact"]}, {"required": ["prefix"]}, {"required": ["regex"]}
        ]});
        assert_eq!(found(&schema, &json!({})), vec![]);
        assert_eq!(found(&schema, &json!({"prefix": "/"})), vec![]);
        assert_eq!(
            found(&schema, &json!({"exact": "/a", "prefix": "/"})),
            vec![(
                "prefix".to_owned(),
                "schema.one-of",
                "set only one of `exact`, `prefix` or `regex`; found `exact` and `prefix`"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn the_mirror_backend_rule_applies_defaults_first() {
        let schema = json!({"type": "object",
            "properties": {"group": {"type": "string", "default": ""}, "kind": {"type": "string", "default": "Service"}, "port": {"type": "integer"}},
            "x-kubernetes-validations": [{"message": "Must have port for Service reference",
                "rule": "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true"}]});
        let codes: Vec<&str> = validate(&schema, &json!({"group": ""}))
            .into_iter()
            .map(|violation| violation.code)
            .collect();
        assert_eq!(codes, vec!["schema.validation"]);
        assert!(found(&schema, &json!({"port": 80})).is_empty());
        assert!(found(&schema, &json!({"kind": "Other"})).is_empty());
    }

    #[test]
    fn bounds_and_lengths_are_checked() {
        let schema = json!({"type": "object", "properties": {
            "port": {"type": "integer", "minimum": 1.0, "maximum": 65535.0},
            "name": {"type": "string", "minLength": 1, "maxLength": 3},
            "refs": {"type": "array", "maxItems": 1, "items": {"type": "string"}}
        }});
        let codes: Vec<&str> = validate(
            &schema,
            &json!({"port": 0, "name": "long", "refs": ["a", "b"]}),
        )
        .into_iter()
        .map(|violation| violation.code)
        .collect();
        assert_eq!(
            codes,
            vec!["schema.max-length", "schema.minimum", "schema.max-items"]
        );
    }
}
