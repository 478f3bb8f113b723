//! Label and field selectors as the API server parses them from
//! `labelSelector` and `fieldSelector` query parameters.

use serde_json::Value;

use crate::error::ApiError;
use crate::registry::ResourceType;

/// One label requirement.
#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    /// `key`
    Exists(String),
    /// `!key`
    NotExists(String),
    /// `key=value`, `key==value`
    Equals(String, String),
    /// `key!=value` (also true when the label is missing)
    NotEquals(String, String),
    /// `key in (a,b)`
    In(String, Vec<String>),
    /// `key notin (a,b)` (also true when the label is missing)
    NotIn(String, Vec<String>),
    /// `key>3` (the label must be an integer)
    GreaterThan(String, i64),
    /// `key<3` (the label must be an integer)
    LessThan(String, i64),
}

/// A parsed `labelSelector`: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    pub(crate) fn parse(text: &str) -> Result<LabelSelector, ApiError> {
        let mut requirements = Vec::new();
        for part in split_top_level(text)? {
            let part = part.trim();
            if part.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                return Err(label_error(text, "empty requirement"));
            }
            requirements
                .push(parse_requirement(part).map_err(|problem| label_error(text, &problem))?);
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub(crate) fn matches(&self, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        let label = |key: &str| {
            labels
                .and_then(|labels| labels.get(key))
                .and_then(Value::as_str)
        };
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                LabelRequirement::Exists(key) => label(key).is_some(),
                LabelRequirement::NotExists(key) => label(key).is_none(),
                LabelRequirement::Equals(key, value) => label(key) == Some(value.as_str()),
                LabelRequirement::NotEquals(key, value) => label(key) != Some(value.as_str()),
                LabelRequirement::In(key, values) => {
                    label(key).is_some_and(|found| values.iter().any(|value| value == found))
                }
                LabelRequirement::NotIn(key, values) => {
                    !label(key).is_some_and(|found| values.iter().any(|value| value == found))
                }
                LabelRequirement::GreaterThan(key, bound) => label(key)
                    .and_then(|found| found.parse::<i64>().ok())
                    .is_some_and(|found| found > *bound),
                LabelRequirement::LessThan(key, bound) => label(key)
                    .and_then(|found| found.parse::<i64>().ok())
                    .is_some_and(|found| found < *bound),
            })
    }
}

fn label_error(selector: &str, problem: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unable to parse requirement: invalid label selector {selector:?}: {problem}"
    ))
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Result<Vec<&str>, ApiError> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| label_error(text, "unbalanced ')'"))?;
            }
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(label_error(text, "unclosed '('"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn parse_value(text: &str) -> Result<String, String> {
    let value = text.trim();
    if value.len() > 63 || !value.chars().all(is_value_char) {
        return Err(format!("invalid label value {value:?}"));
    }
    Ok(value.to_string())
}

fn parse_key(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("a label key must not be empty".to_string());
    }
    if !text.chars().all(is_key_char) {
        return Err(format!("invalid label key {text:?}"));
    }
    Ok(text.to_string())
}

fn parse_requirement(part: &str) -> Result<LabelRequirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(parse_key(key.trim())?));
    }
    let key_end = part.find(|c: char| !is_key_char(c)).unwrap_or(part.len());
    let key = parse_key(&part[..key_end])?;
    let rest = part[key_end..].trim_start();
    if rest.is_empty() {
        return Ok(LabelRequirement::Exists(key));
    }
    if let Some(value) = rest.strip_prefix("==") {
        return Ok(LabelRequirement::Equals(key, parse_value(value)?));
    }
    if let Some(value) = rest.strip_prefix("!=") {
        return Ok(LabelRequirement::NotEquals(key, parse_value(value)?));
    }
    if let Some(value) = rest.strip_prefix('=') {
        return Ok(LabelRequirement::Equals(key, parse_value(value)?));
    }
    let integer = |value: &str| {
        value
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{value:?} is not an integer"))
    };
    if let Some(value) = rest.strip_prefix('>') {
        return Ok(LabelRequirement::GreaterThan(key, integer(value)?));
    }
    if let Some(value) = rest.strip_prefix('<') {
        return Ok(LabelRequirement::LessThan(key, integer(value)?));
    }
    let (negated, set) = if let Some(set) = rest.strip_prefix("notin") {
        (true, set)
    } else if let Some(set) = rest.strip_prefix("in") {
        (false, set)
    } else {
        return Err(format!(
            "expected one of =, ==, !=, in, notin after {key:?}, found {rest:?}"
        ));
    };
    let set = set.trim();
    let inner = set
        .strip_prefix('(')
        .and_then(|set| set.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set of values after {key:?}"))?;
    let values = inner
        .split(',')
        .map(parse_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if negated {
        LabelRequirement::NotIn(key, values)
    } else {
        LabelRequirement::In(key, values)
    })
}

/// One field requirement: `field=value` or `field!=value`.
#[derive(Debug, Clone, PartialEq)]
struct FieldRequirement {
    field: String,
    value: String,
    equal: bool,
}

/// A parsed `fieldSelector`: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses a field selector, refusing fields the type does not allow as
    /// the API server does (`field label not supported: spec.foo`).
    pub(crate) fn parse(text: &str, resource: &ResourceType) -> Result<FieldSelector, ApiError> {
        let mut requirements = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                return Err(ApiError::bad_request(format!(
                    "invalid field selector {text:?}: empty requirement"
                )));
            }
            let (field, value, equal) = if let Some((field, value)) = part.split_once("!=") {
                (field, value, false)
            } else if let Some((field, value)) = part.split_once("==") {
                (field, value, true)
            } else if let Some((field, value)) = part.split_once('=') {
                (field, value, true)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !resource.allows_field(field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                value: value.trim().to_string(),
                equal,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// Whether the object's fields, as strings (missing fields are `""`),
    /// satisfy every requirement.
    pub(crate) fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|requirement| {
            let mut current = Some(object);
            for segment in requirement.field.split('.') {
                current = current.and_then(|value| value.get(segment));
            }
            let found = match current {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            };
            (found == requirement.value) == requirement.equal
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labelled(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}})
    }

    fn matches(selector: &str, labels: Value) -> bool {
        LabelSelector::parse(selector)
            .expect("selector parses")
            .matches(&labelled(labels))
    }

    #[test]
    fn equality_requires_the_label_with_that_value() {
        assert!(matches("app=podinfo", json!({"app": "podinfo"})));
        assert!(matches("app==podinfo", json!({"app": "podinfo"})));
        assert!(!matches("app=podinfo", json!({"app": "other"})));
        assert!(!matches("app=podinfo", json!({})));
    }

    #[test]
    fn inequality_and_notin_also_match_objects_without_the_label() {
        assert!(matches("app!=podinfo", json!({})));
        assert!(!matches("app!=podinfo", json!({"app": "podinfo"})));
        assert!(matches("env notin (prod, staging)", json!({})));
        assert!(!matches("env notin (prod,staging)", json!({"env": "prod"})));
    }

    #[test]
    fn set_membership_and_existence_are_understood() {
        assert!(matches("env in (prod,staging)", json!({"env": "staging"})));
        assert!(!matches("env in (prod)", json!({"env": "dev"})));
        assert!(matches("env", json!({"env": "dev"})));
        assert!(!matches("!env", json!({"env": "dev"})));
        assert!(matches("!env", json!({})));
    }

    #[test]
    fn all_requirements_must_hold() {
        let labels = json!({"app": "podinfo", "env": "prod", "replicas": "3"});
        assert!(matches(
            "app=podinfo,env in (prod),replicas>2",
            labels.clone()
        ));
        assert!(!matches("app=podinfo,env in (dev)", labels.clone()));
        assert!(!matches("app=podinfo,replicas<3", labels));
    }

    #[test]
    fn an_empty_selector_matches_everything() {
        assert!(matches("", json!({})));
    }

    #[test]
    fn malformed_label_selectors_are_bad_requests() {
        for selector in [
            "app=",
            "app in prod",
            "app in (prod",
            "app=a b",
            "app=podinfo,",
            "=podinfo",
            "app ~ x",
            "app>x",
        ] {
            let outcome = LabelSelector::parse(selector);
            match selector {
                // An empty value is a valid label value.
                "app=" => assert!(outcome.is_ok()),
                _ => assert!(
                    matches!(outcome, Err(ApiError::BadRequest { .. })),
                    "{selector:?} should be refused"
                ),
            }
        }
    }

    #[test]
    fn field_selectors_compare_metadata_fields_as_strings() {
        let resource = ResourceType::namespaced("", "v1", "ConfigMap", "configmaps");
        let object = json!({"metadata": {"name": "a", "namespace": "test"}});
        let select = |text: &str| {
            FieldSelector::parse(text, &resource)
                .expect("selector parses")
                .matches(&object)
        };
        assert!(select("metadata.name=a"));
        assert!(select("metadata.name==a,metadata.namespace=test"));
        assert!(!select("metadata.name!=a"));
        assert!(select("metadata.namespace!=other"));
    }

    #[test]
    fn field_selectors_refuse_fields_the_kind_does_not_support() {
        let resource = ResourceType::namespaced("", "v1", "ConfigMap", "configmaps");
        let error = FieldSelector::parse("data.key=x", &resource).expect_err("unsupported field");
        assert_eq!(error.to_string(), "field label not supported: data.key");
        assert!(FieldSelector::parse("metadata.name", &resource).is_err());
    }
}
