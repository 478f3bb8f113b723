//! From the spanned YAML tree to the JSON the API server would see, plus an
//! index from field paths back to source spans.
//!
//! kubectl sends JSON; the API server then prunes `null` values of fields
//! whose schema is not `nullable` (none of ours are). We do the same here so
//! that `analysis:` with nothing after it behaves as a missing field, exactly
//! as it does in a cluster. Pruned fields stay in the span index, so "missing
//! field" diagnostics can still point at the empty key.
//!
//! The index maps any [`FieldPath`] to source, so problems reported by other
//! parties (weir-api's checks today, a real API server's field errors later)
//! can be shown at the right line and column.

use std::collections::HashMap;

use serde_json::{Map, Number, Value as Json};
use weir_api::checks::FieldPath;

use crate::diagnostic::Severity;
use crate::yaml::{Issue, Layout, Node, Span, Value};

/// Where a field is in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    /// The key's span; `None` for list items and the document root.
    pub key: Option<Span>,
    /// The value's span.
    pub value: Span,
    /// The value is a block mapping or list, which starts on the line after
    /// its key: diagnostics about the whole value point at the key instead.
    pub block_collection: bool,
}

/// Field path → source location, for every node of a document.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    locations: HashMap<FieldPath, Located>,
    root: Span,
}

/// Which part of a field a diagnostic is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The field name: for missing and unknown fields.
    Key,
    /// The value: for wrong values.
    Value,
}

impl SpanIndex {
    pub fn get(&self, path: &FieldPath) -> Option<&Located> {
        self.locations.get(path)
    }

    /// The span to underline for a diagnostic about `path`.
    ///
    /// When the field is absent, the nearest ancestor that exists is used,
    /// and its key is underlined: "`port` is required" under `service:`.
    pub fn locate(&self, path: &FieldPath, anchor: Anchor) -> Span {
        if let Some(found) = self.locations.get(path) {
            return match (anchor, found.key) {
                (Anchor::Key, Some(key)) => key,
                (Anchor::Value, Some(key)) if found.block_collection => key,
                _ => found.value,
            };
        }
        let mut ancestor = path.parent();
        while let Some(current) = ancestor {
            if let Some(found) = self.locations.get(&current) {
                return found.key.unwrap_or(found.value);
            }
            ancestor = current.parent();
        }
        self.root
    }
}

/// A document as JSON, with its span index and conversion problems.
#[derive(Debug)]
pub struct Converted {
    pub json: Json,
    pub index: SpanIndex,
    /// Values JSON cannot carry (`.inf`, `.nan`).
    pub issues: Vec<Issue>,
}

/// Converts a document's root node, pruning `null` mapping values.
pub fn to_json(root: &Node) -> Converted {
    let mut converter = Converter {
        index: SpanIndex {
            locations: HashMap::new(),
            root: Span {
                start: root.span.start,
                end: root.span.start,
            },
        },
        issues: Vec::new(),
    };
    let path = FieldPath::default();
    converter.record(&path, None, root);
    let json = converter.convert(root, &path).unwrap_or(Json::Null);
    Converted {
        json,
        index: converter.index,
        issues: converter.issues,
    }
}

struct Converter {
    index: SpanIndex,
    issues: Vec<Issue>,
}

impl Converter {
    fn record(&mut self, path: &FieldPath, key: Option<Span>, node: &Node) {
        let block_collection = matches!(
            node.value,
            Value::Map(_, Layout::Block) | Value::Seq(_, Layout::Block)
        );
        // The tree holds one entry per key, so every path is recorded once.
        self.index.locations.insert(
            path.clone(),
            Located {
                key,
                value: node.span,
                block_collection,
            },
        );
    }

    /// `None` for null: the caller prunes it from mappings.
    fn convert(&mut self, node: &Node, path: &FieldPath) -> Option<Json> {
        Some(match &node.value {
            Value::Null => return None,
            Value::Bool(value) => Json::Bool(*value),
            Value::Int(value) => Json::Number(Number::from(*value)),
            Value::Float(value) => match Number::from_f64(*value) {
                Some(number) => Json::Number(number),
                None => {
                    self.issues.push(Issue {
                        severity: Severity::Error,
                        code: "yaml.non-finite",
                        path: path.clone(),
                        span: node.span,
                        message: "JSON has no infinity or NaN, so kubectl cannot send this value"
                            .to_owned(),
                        help: Some("use a finite number".to_owned()),
                    });
                    return None;
                }
            },
            Value::String(text) => Json::String(text.clone()),
            Value::Seq(items, _) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(position, item)| {
                        let item_path = path.index(position);
                        self.record(&item_path, None, item);
                        // A null list item is not pruned: it fails the item schema.
                        self.convert(item, &item_path).unwrap_or(Json::Null)
                    })
                    .collect(),
            ),
            Value::Map(entries, _) => {
                let mut object = Map::new();
                for entry in entries {
                    let entry_path = path.field(&entry.key);
                    self.record(&entry_path, Some(entry.key_span), &entry.value);
                    if let Some(value) = self.convert(&entry.value, &entry_path) {
                        object.insert(entry.key.clone(), value);
                    }
                }
                Json::Object(object)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Position, parse};

    fn convert(text: &str) -> Converted {
        let stream = parse(text);
        let root = stream
            .documents
            .into_iter()
            .next()
            .and_then(|document| document.root)
            .expect("a document");
        to_json(&root)
    }

    #[test]
    fn null_values_are_pruned_like_the_api_server_does() {
        let converted = convert("spec:\n  analysis:\n  port: 80\nlist: [~, 1]\n");
        assert_eq!(
            converted.json,
            serde_json::json!({"spec": {"port": 80}, "list": [null, 1]})
        );
    }

    #[test]
    fn missing_fields_point_at_the_nearest_existing_key() {
        let converted = convert("spec:\n  service:\n    name: x\n");
        let span = converted
            .index
            .locate(&FieldPath::parse("spec.service.port"), Anchor::Key);
        assert_eq!(span.start, Position { line: 2, column: 3 });
        let pruned = convert("spec:\n  analysis:\n");
        let span = pruned
            .index
            .locate(&FieldPath::parse("spec.analysis"), Anchor::Key);
        assert_eq!(span.start, Position { line: 2, column: 3 });
    }

    #[test]
    fn values_of_block_collections_point_at_their_key() {
        let converted = convert("spec:\n  steps: [1, 2]\n  analysis:\n    a: 1\n");
        let flow = converted
            .index
            .locate(&FieldPath::parse("spec.steps"), Anchor::Value);
        assert_eq!(
            flow.start,
            Position {
                line: 2,
                column: 10
            }
        );
        let block = converted
            .index
            .locate(&FieldPath::parse("spec.analysis"), Anchor::Value);
        assert_eq!(block.start, Position { line: 3, column: 3 });
    }
}
