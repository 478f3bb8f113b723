//! A YAML reader that keeps the source position of every node and map key.
//!
//! `serde_saphyr` deserialises straight into Rust values and forgets where
//! they came from; a validator needs the opposite. This module drives the
//! event parser underneath it (`serde_saphyr::granit_parser`) and builds a small tree:
//!
//! ```text
//!   text ──granit_parser──▶ events (with spans) ──Builder──▶ Vec<Document>
//!                                                             │
//!                               Node { value, span }  ◀───────┘
//!                               Map entries keep key order and key spans
//! ```
//!
//! Scalars are resolved with the YAML 1.2 core schema (`0o17` is an
//! integer), except that plain `yes`/`no`/`on`/`off`/`y`/`n` are booleans, as
//! in the YAML 1.1 kubectl reads, with a warning: validation judges what the
//! API server receives. Duplicate keys are errors
//! (YAML forbids them; kubectl silently keeps the last one, and so does the
//! tree, so that later stages see what a cluster would). Aliases and `<<`
//! merge keys are expanded under a node budget and a
//! depth limit so that "billion laughs" documents fail fast instead of eating
//! memory or the stack.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;
use serde_saphyr::granit_parser::{
    Event, Marker, Options as ParserOptions, Parser, ScalarStyle, Span as ParserSpan,
    StructureStyle, Tag,
};
use weir_api::checks::{FieldPath, PathSegment};

use crate::diagnostic::Severity;

/// Most nodes one file may expand to, counting every copy an alias makes.
/// 100k nodes is a YAML file of several megabytes: far beyond any manifest,
/// yet small enough that a hostile file cannot exhaust memory.
pub const MAX_NODES: usize = 100_000;

/// Deepest nesting accepted. Manifests rarely exceed 15 levels; the later
/// stages recurse once per level, so this also bounds their stack use.
pub const MAX_DEPTH: usize = 200;

/// A position in the source: 1-based line and 1-based column in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn from_marker(marker: &Marker) -> Position {
        Position {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A range of source text; `end` is exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub start: Position,
    pub end: Position,
}

impl Span {
    fn from_parser(span: &ParserSpan) -> Span {
        Span {
            start: Position::from_marker(&span.start),
            end: Position::from_marker(&span.end),
        }
    }
}

/// A YAML node with its source span.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// A resolved YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>, Layout),
    Map(Vec<Entry>, Layout),
}

/// How a collection was written. Block collections start on the line after
/// their key, so diagnostics about them point at the key instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Block,
    Flow,
}

/// One `key: value` pair of a mapping, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    /// The entry for `key` if this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries, _) => entries
                .iter()
                .find(|entry| entry.key == key)
                .map(|entry| &entry.value),
            _ => None,
        }
    }

    /// The string value, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(text) => Some(text),
            _ => None,
        }
    }
}

/// A problem found while reading YAML that does not stop the reading.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    pub code: &'static str,
    /// Where in the document, e.g. `spec.analysis.mirror`.
    pub path: FieldPath,
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

/// One YAML document of a stream.
#[derive(Clone, Debug)]
pub struct Document {
    /// The root node; `None` when the document failed (see `issues`).
    pub root: Option<Node>,
    /// Where the document starts (its `---` or first node).
    pub start: Position,
    pub issues: Vec<Issue>,
}

impl Document {
    /// An empty document (`---` followed by nothing, or only comments).
    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
            && matches!(
                &self.root,
                None | Some(Node {
                    value: Value::Null,
                    ..
                })
            )
    }
}

/// The text is not YAML: the parser stopped here.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {}, column {}", position.line, position.column)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// The documents of a YAML stream, and the syntax error that ended it early, if any.
#[derive(Debug)]
pub struct Stream {
    /// Complete documents, in order (including empty ones).
    pub documents: Vec<Document>,
    /// Set when the parser stopped at invalid YAML; documents before it are kept.
    pub error: Option<SyntaxError>,
}

/// Parses a (multi-document) YAML stream.
pub fn parse(text: &str) -> Stream {
    let mut options = ParserOptions::default();
    // Comments carry no data; asking for them would only add events to skip.
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);
    let mut builder = Builder::default();
    let mut error = None;
    for event in parser {
        match event {
            Ok((event, span)) => builder.event(event, &span),
            Err(scan_error) => {
                error = Some(SyntaxError {
                    position: Position::from_marker(scan_error.marker()),
                    message: scan_error.info(),
                });
                break;
            }
        }
    }
    Stream {
        documents: builder.documents,
        error,
    }
}

/// Plain scalars that YAML 1.1 (and so kubectl) reads as booleans.
const YAML11_BOOLEANS: [&str; 16] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

/// What YAML 1.1 makes of one of [`YAML11_BOOLEANS`].
fn yaml11_meaning(text: &str) -> bool {
    matches!(text, "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON")
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(value) = resolve_int(text) {
        return value;
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        let infinity = if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return Value::Float(infinity);
    }
    if is_core_float(unsigned)
        && let Ok(float) = text.parse::<f64>()
    {
        return Value::Float(float);
    }
    Value::String(text.to_owned())
}

fn resolve_int(text: &str) -> Option<Value> {
    if let Some(octal) = text.strip_prefix("0o") {
        return radix_int(octal, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return radix_int(hex, 16);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(match text.parse::<i64>() {
        Ok(int) => Value::Int(int),
        // Beyond i64 the JSON the API server sees is a float anyway.
        Err(_) => Value::Float(text.parse::<f64>().ok()?),
    })
}

fn radix_int(digits: &str, radix: u32) -> Option<Value> {
    if digits.is_empty() || !digits.chars().all(|digit| digit.is_digit(radix)) {
        return None;
    }
    Some(match i64::from_str_radix(digits, radix) {
        Ok(int) => Value::Int(int),
        Err(_) => Value::Float(u128::from_str_radix(digits, radix).ok()? as f64),
    })
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's float without sign.
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((integer, fraction)) => digits(integer) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent
        .is_none_or(|exponent| digits(exponent.strip_prefix(['-', '+']).unwrap_or(exponent)));
    mantissa_ok && exponent_ok
}

/// A collection being built.
#[derive(Debug)]
enum Frame {
    Seq {
        items: Vec<Node>,
        start: Position,
        anchor: usize,
        layout: Layout,
    },
    Map {
        entries: Vec<Entry>,
        start: Position,
        anchor: usize,
        layout: Layout,
        /// The key read last, waiting for its value.
        pending_key: Option<PendingKey>,
        /// Keys written in this mapping, to catch duplicates.
        seen: HashMap<String, Span>,
        /// Mappings merged in with `<<`, applied when the mapping ends.
        merges: Vec<Vec<Entry>>,
    },
}

#[derive(Debug)]
enum PendingKey {
    Key {
        text: String,
        span: Span,
    },
    /// `<<: *base`: merge the value's entries.
    Merge {
        span: Span,
    },
    /// A key that could not be used (a mapping or list as key); its value is dropped.
    Unusable,
}

/// An anchored node, kept for its aliases.
#[derive(Debug)]
struct Anchored {
    node: Node,
    /// The scalar's source text, so that an alias can serve as a map key.
    text: Option<String>,
    size: usize,
    depth: usize,
}

#[derive(Debug, Default)]
struct Builder {
    documents: Vec<Document>,
    stack: Vec<Frame>,
    root: Option<Node>,
    start: Position,
    issues: Vec<Issue>,
    anchors: HashMap<usize, Anchored>,
    /// Nodes created in this file so far, alias copies included.
    nodes: usize,
    /// Set when the current document exceeded a limit: skip to its end.
    abandoned: bool,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: &ParserSpan) {
        let span = Span::from_parser(span);
        match event {
            Event::DocumentStart(..) => {
                self.stack.clear();
                self.root = None;
                self.start = span.start;
                self.issues.clear();
                self.abandoned = false;
            }
            Event::DocumentEnd => {
                let root = if self.abandoned {
                    None
                } else {
                    self.root.take()
                };
                self.documents.push(Document {
                    root,
                    start: self.start,
                    issues: std::mem::take(&mut self.issues),
                });
                self.stack.clear();
                // Anchors are scoped to their document.
                self.anchors.clear();
            }
            _ if self.abandoned => {}
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(&text, style, anchor, tag.as_deref(), span);
            }
            Event::Alias(id) => self.alias(id, span),
            Event::SequenceStart(style, anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "seq", span);
                self.open(
                    Frame::Seq {
                        items: Vec::new(),
                        start: span.start,
                        anchor,
                        layout: layout(style),
                    },
                    span,
                );
            }
            Event::MappingStart(style, anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "map", span);
                self.open(
                    Frame::Map {
                        entries: Vec::new(),
                        start: span.start,
                        anchor,
                        layout: layout(style),
                        pending_key: None,
                        seen: HashMap::new(),
                        merges: Vec::new(),
                    },
                    span,
                );
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(span),
            // Stream markers, comments and anchor metadata carry no data.
            _ => {}
        }
    }

    fn open(&mut self, frame: Frame, span: Span) {
        if !self.count(1, span) {
            return;
        }
        if self.stack.len() >= MAX_DEPTH {
            self.abandon(
                "yaml.too-deep",
                span,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            );
            return;
        }
        self.stack.push(frame);
    }

    fn close(&mut self, end: Span) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let (value, start, anchor) = match frame {
            Frame::Seq {
                items,
                start,
                anchor,
                layout,
            } => (Value::Seq(items, layout), start, anchor),
            Frame::Map {
                mut entries,
                start,
                anchor,
                layout,
                merges,
                ..
            } => {
                // Explicit keys win over merged ones; earlier merge sources win over later ones.
                let mut present: HashSet<String> =
                    entries.iter().map(|entry| entry.key.clone()).collect();
                for source in merges {
                    for entry in source {
                        if present.insert(entry.key.clone()) {
                            entries.push(entry);
                        }
                    }
                }
                (Value::Map(entries, layout), start, anchor)
            }
        };
        let node = Node {
            value,
            span: Span {
                start,
                end: end.end,
            },
        };
        self.remember(anchor, &node, None);
        self.attach(node);
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        span: Span,
    ) {
        if !self.count(1, span) {
            return;
        }
        let plain = style == ScalarStyle::Plain;
        if self.expects_key() {
            if plain && tag.is_none() && YAML11_BOOLEANS.contains(&text) {
                let path = self.path_for_key(text);
                self.yaml11_boolean_warning(text, path, span);
            }
            let node = Node {
                value: Value::String(text.to_owned()),
                span,
            };
            self.remember(anchor, &node, Some(text));
            self.set_key(text, plain && tag.is_none(), span);
            return;
        }
        let mut value = self.resolve(text, plain, tag, span);
        if plain && tag.is_none() && YAML11_BOOLEANS.contains(&text) {
            // Read it the way kubectl (YAML 1.1) does, so that validation
            // judges what the API server will receive.
            value = Value::Bool(yaml11_meaning(text));
            let path = self.current_path();
            self.yaml11_boolean_warning(text, path, span);
        }
        let node = Node { value, span };
        self.remember(anchor, &node, Some(text));
        self.attach(node);
    }

    fn resolve(&mut self, text: &str, plain: bool, tag: Option<&Tag>, span: Span) -> Value {
        let Some(tag) = tag else {
            return if plain {
                resolve_plain(text)
            } else {
                Value::String(text.to_owned())
            };
        };
        // `! value`: the non-specific tag forces a string.
        if tag.parts() == ("", "!") {
            return Value::String(text.to_owned());
        }
        let Some(core) = tag.core_suffix() else {
            self.issue(
                Severity::Warning,
                "yaml.tag",
                self.current_path(),
                span,
                format!("custom tag `{}` is ignored", tag.original()),
                Some("remove the tag; Kubernetes manifests are plain YAML".to_owned()),
            );
            return if plain {
                resolve_plain(text)
            } else {
                Value::String(text.to_owned())
            };
        };
        let resolved = resolve_plain(text);
        let fits = match (core, &resolved) {
            ("str", _) => return Value::String(text.to_owned()),
            ("null", Value::Null)
            | ("bool", Value::Bool(_))
            | ("int", Value::Int(_))
            | ("float", Value::Float(_) | Value::Int(_)) => true,
            ("map" | "seq", _) => false,
            _ => false,
        };
        if fits {
            return match resolved {
                Value::Int(int) if core == "float" => Value::Float(int as f64),
                other => other,
            };
        }
        self.issue(
            Severity::Error,
            "yaml.tag",
            self.current_path(),
            span,
            format!("`{text}` is not a valid `{}` value", tag.original()),
            Some("remove the tag or fix the value".to_owned()),
        );
        Value::String(text.to_owned())
    }

    fn check_collection_tag(&mut self, tag: Option<&Tag>, expected: &str, span: Span) {
        let Some(tag) = tag else {
            return;
        };
        if tag.core_suffix() == Some(expected) {
            return;
        }
        self.issue(
            Severity::Warning,
            "yaml.tag",
            self.current_path(),
            span,
            format!("tag `{}` is ignored", tag.original()),
            Some("remove the tag; Kubernetes manifests are plain YAML".to_owned()),
        );
    }

    fn alias(&mut self, id: usize, span: Span) {
        let Some(anchored) = self.anchors.get(&id) else {
            // The parser reports unknown aliases as syntax errors; nothing to do.
            return;
        };
        let (size, depth) = (anchored.size, anchored.depth);
        if self.stack.len() + depth > MAX_DEPTH {
            self.abandon(
                "yaml.too-deep",
                span,
                format!("this alias expands to nesting deeper than {MAX_DEPTH} levels"),
            );
            return;
        }
        if !self.count(size, span) {
            return;
        }
        let Some(anchored) = self.anchors.get(&id) else {
            return;
        };
        let mut node = anchored.node.clone();
        let text = anchored.text.clone();
        node.span = span;
        if self.expects_key() {
            match text {
                Some(text) => self.set_key(&text, false, span),
                None => self.unusable_key(span),
            }
            return;
        }
        self.attach(node);
    }

    fn remember(&mut self, anchor: usize, node: &Node, text: Option<&str>) {
        if anchor == 0 {
            return;
        }
        let (size, depth) = measure(node);
        self.anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                text: text.map(str::to_owned),
                size,
                depth,
            },
        );
    }

    /// Adds `added` nodes to the budget; abandons the document when it is exceeded.
    fn count(&mut self, added: usize, span: Span) -> bool {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > MAX_NODES {
            self.abandon(
                "yaml.too-large",
                span,
                format!("the file expands to more than {MAX_NODES} nodes (aliases included)"),
            );
            return false;
        }
        true
    }

    fn abandon(&mut self, code: &'static str, span: Span, message: String) {
        let path = self.current_path();
        self.issue(
            Severity::Error,
            code,
            path,
            span,
            message,
            Some(
                "simplify the document; manifests do not need deep nesting or many aliases"
                    .to_owned(),
            ),
        );
        self.abandoned = true;
        self.stack.clear();
        self.root = None;
    }

    fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        )
    }

    fn set_key(&mut self, text: &str, plain: bool, span: Span) {
        let merge = plain && text == "<<";
        let duplicate = match self.stack.last() {
            Some(Frame::Map { seen, .. }) if !merge => seen.get(text).copied(),
            _ => None,
        };
        if let Some(first) = duplicate {
            let path = self.path_for_key(text);
            self.issue(
                Severity::Error,
                "yaml.duplicate-key",
                path,
                span,
                format!(
                    "duplicate key `{text}`: it is already defined on line {}, and kubectl silently keeps only this later value",
                    first.start.line
                ),
                Some("remove one of them".to_owned()),
            );
        }
        if let Some(Frame::Map {
            entries,
            pending_key,
            seen,
            ..
        }) = self.stack.last_mut()
        {
            *pending_key = Some(if merge {
                PendingKey::Merge { span }
            } else {
                if duplicate.is_some() {
                    // Like kubectl, the later value wins: check what the cluster would get.
                    entries.retain(|entry| entry.key != text);
                }
                seen.insert(text.to_owned(), span);
                PendingKey::Key {
                    text: text.to_owned(),
                    span,
                }
            });
        }
    }

    fn unusable_key(&mut self, span: Span) {
        let path = self.current_path();
        self.issue(
            Severity::Error,
            "yaml.complex-key",
            path,
            span,
            "a mapping key must be a scalar".to_owned(),
            Some("use a string key; JSON, and so Kubernetes, only has string keys".to_owned()),
        );
        if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
            *pending_key = Some(PendingKey::Unusable);
        }
    }

    /// Puts a finished node where it belongs: root, list item, key or value.
    fn attach(&mut self, node: Node) {
        if self.expects_key() {
            // A mapping or list used as a key.
            self.unusable_key(node.span);
            return;
        }
        let mut merge_error = None;
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                merges,
                ..
            }) => match pending_key.take() {
                Some(PendingKey::Key { text, span }) => entries.push(Entry {
                    key: text,
                    key_span: span,
                    value: node,
                }),
                Some(PendingKey::Merge { span }) => match node.value {
                    Value::Map(entries, _) => merges.push(entries),
                    Value::Seq(items, _) => {
                        for item in items {
                            match item.value {
                                Value::Map(entries, _) => merges.push(entries),
                                _ => merge_error = Some(span),
                            }
                        }
                    }
                    _ => merge_error = Some(span),
                },
                Some(PendingKey::Unusable) | None => {}
            },
        }
        if let Some(span) = merge_error {
            let path = self.current_path();
            self.issue(
                Severity::Error,
                "yaml.merge",
                path,
                span,
                "`<<` merges a mapping or a list of mappings into this one".to_owned(),
                Some("point `<<` at an anchored mapping, e.g. `<<: *defaults`".to_owned()),
            );
        }
    }

    /// The path of the node being read now.
    fn current_path(&self) -> FieldPath {
        let mut segments = Vec::with_capacity(self.stack.len());
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => segments.push(PathSegment::Index(items.len())),
                Frame::Map {
                    pending_key: Some(PendingKey::Key { text, .. }),
                    ..
                } => segments.push(PathSegment::Field(text.clone())),
                Frame::Map { .. } => {}
            }
        }
        FieldPath(segments)
    }

    fn path_for_key(&self, key: &str) -> FieldPath {
        self.current_path().field(key)
    }

    fn yaml11_boolean_warning(&mut self, text: &str, path: FieldPath, span: Span) {
        let meaning = yaml11_meaning(text);
        self.issue(
            Severity::Warning,
            "yaml.yaml11-boolean",
            path,
            span,
            format!(
                "kubectl (YAML 1.1) reads `{text}` as the boolean {meaning}, but YAML 1.2 tools read it as a string"
            ),
            Some(format!("write `{meaning}` for the boolean, or `\"{text}\"` for the string")),
        );
    }

    fn issue(
        &mut self,
        severity: Severity,
        code: &'static str,
        path: FieldPath,
        span: Span,
        message: String,
        help: Option<String>,
    ) {
        self.issues.push(Issue {
            severity,
            code,
            path,
            span,
            message,
            help,
        });
    }
}

fn layout(style: StructureStyle) -> Layout {
    match style {
        StructureStyle::Flow => Layout::Flow,
        _ => Layout::Block,
    }
}

/// Number of nodes and depth of a subtree. Recursion is bounded by [`MAX_DEPTH`].
fn measure(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Seq(items, _) => items
            .iter()
            .map(measure)
            .fold((1, 1), |(size, depth), (s, d)| {
                (size.saturating_add(s), depth.max(d + 1))
            }),
        Value::Map(entries, _) => entries
            .iter()
            .map(|entry| measure(&entry.value))
            .fold((1, 1), |(size, depth), (s, d)| {
                (size.saturating_add(s).saturating_add(1), depth.max(d + 1))
            }),
        _ => (1, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(text: &str) -> Document {
        let stream = parse(text);
        assert!(stream.error.is_none(), "{:?}", stream.error);
        stream.documents.into_iter().next().expect("one document")
    }

    fn root(text: &str) -> Node {
        single(text).root.expect("a root node")
    }

    #[test]
    fn plain_scalars_follow_the_yaml_1_2_core_schema() {
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain(""), Value::Null);
        assert_eq!(resolve_plain("True"), Value::Bool(true));
        assert_eq!(resolve_plain("yes"), Value::String("yes".into()));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("0o17"), Value::Int(15));
        assert_eq!(resolve_plain("-12"), Value::Int(-12));
        assert_eq!(resolve_plain("5.5"), Value::Float(5.5));
        assert_eq!(resolve_plain(".5"), Value::Float(0.5));
        assert_eq!(resolve_plain("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain("-.inf"), Value::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve_plain(".nan"), Value::Float(f) if f.is_nan()));
        assert_eq!(resolve_plain("5s"), Value::String("5s".into()));
        assert_eq!(resolve_plain("inf"), Value::String("inf".into()));
        assert_eq!(resolve_plain("1_000"), Value::String("1_000".into()));
        assert_eq!(resolve_plain("0x"), Value::String("0x".into()));
    }

    #[test]
    fn quoted_and_tagged_scalars_keep_their_meaning() {
        let node = root("a: \"5\"\nb: !!str 7\nc: !!float 1\nd: ! 8\ne: |\n  x\n");
        assert_eq!(
            node.get("a").map(|n| &n.value),
            Some(&Value::String("5".into()))
        );
        assert_eq!(
            node.get("b").map(|n| &n.value),
            Some(&Value::String("7".into()))
        );
        assert_eq!(node.get("c").map(|n| &n.value), Some(&Value::Float(1.0)));
        assert_eq!(
            node.get("d").map(|n| &n.value),
            Some(&Value::String("8".into()))
        );
        assert_eq!(
            node.get("e").map(|n| &n.value),
            Some(&Value::String("x\n".into()))
        );
    }

    #[test]
    fn keys_and_values_carry_one_based_positions() {
        let node = root("spec:\n  interval: 5s\n");
        let Value::Map(entries, Layout::Block) = &node.value else {
            panic!("a block mapping: {node:?}");
        };
        let spec = &entries[0];
        assert_eq!(spec.key_span.start, Position { line: 1, column: 1 });
        let Value::Map(inner, _) = &spec.value.value else {
            panic!("nested mapping");
        };
        assert_eq!(inner[0].key_span.start, Position { line: 2, column: 3 });
        assert_eq!(
            inner[0].value.span.start,
            Position {
                line: 2,
                column: 13
            }
        );
        assert_eq!(
            inner[0].value.span.end,
            Position {
                line: 2,
                column: 15
            }
        );
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key_and_the_later_value_wins_as_in_kubectl() {
        let document = single("a: 1\nb: 2\na: 3\n");
        assert_eq!(document.issues.len(), 1);
        let issue = &document.issues[0];
        assert_eq!(issue.code, "yaml.duplicate-key");
        assert_eq!(issue.span.start, Position { line: 3, column: 1 });
        assert!(issue.message.contains("line 1"), "{}", issue.message);
        let node = document.root.expect("root");
        assert_eq!(node.get("a").map(|n| &n.value), Some(&Value::Int(3)));
        let Value::Map(entries, _) = &node.value else {
            panic!("a mapping");
        };
        assert_eq!(entries.len(), 2, "one entry per key");
    }

    #[test]
    fn yaml_1_1_booleans_are_read_as_kubectl_reads_them_with_a_warning() {
        let document = single("spec:\n  flag: on\n  off: n\n  quoted: \"on\"\n");
        let codes: Vec<(&str, String)> = document
            .issues
            .iter()
            .map(|issue| (issue.code, issue.path.to_string()))
            .collect();
        assert_eq!(
            codes,
            [
                ("yaml.yaml11-boolean", "spec.flag".to_owned()),
                ("yaml.yaml11-boolean", "spec.off".to_owned()),
                ("yaml.yaml11-boolean", "spec.off".to_owned()),
            ]
        );
        let node = document.root.expect("root");
        let spec = node.get("spec").expect("spec");
        assert_eq!(spec.get("flag").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(spec.get("off").map(|n| &n.value), Some(&Value::Bool(false)));
        assert_eq!(
            spec.get("quoted").map(|n| &n.value),
            Some(&Value::String("on".into()))
        );
    }

    #[test]
    fn aliases_expand_and_merge_keys_fill_in_missing_entries() {
        let node = root("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\ncopy: *b\n");
        let used = node.get("use").expect("use");
        assert_eq!(used.get("x").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(used.get("y").map(|n| &n.value), Some(&Value::Int(3)));
        let copy = node.get("copy").expect("copy");
        assert_eq!(copy.get("y").map(|n| &n.value), Some(&Value::Int(2)));
    }

    #[test]
    fn alias_bombs_stop_at_the_node_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
            ));
        }
        let document = single(&text);
        assert!(document.root.is_none());
        assert_eq!(document.issues[0].code, "yaml.too-large");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let depth = MAX_DEPTH + 20;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let stream = parse(&text);
        let failed_in_parser = stream.error.is_some();
        let failed_here = stream.documents.first().is_some_and(|document| {
            document
                .issues
                .iter()
                .any(|issue| issue.code == "yaml.too-deep")
        });
        assert!(failed_in_parser || failed_here, "{stream:?}");
    }

    #[test]
    fn tabs_in_indentation_are_syntax_errors_with_a_position() {
        let stream = parse("a:\n\tb: 1\n");
        let error = stream.error.expect("syntax error");
        assert_eq!(error.position.line, 2);
        assert!(error.message.contains("tab"), "{}", error.message);
    }

    #[test]
    fn empty_documents_are_recognised() {
        let stream = parse("---\n---\na: 1\n");
        let empty: Vec<bool> = stream.documents.iter().map(Document::is_empty).collect();
        assert_eq!(empty, vec![true, false]);
    }
}
