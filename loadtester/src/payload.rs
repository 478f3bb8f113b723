//! The body Flagger POSTs to every webhook (`CanaryWebhookPayload`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Flagger's webhook payload:
/// `{"name","namespace","phase","checksum","metadata":{...}}`.
///
/// Decoded as Go's `encoding/json` decodes it into flagger's struct: every
/// field is optional, `null` leaves a field empty, unknown fields are
/// ignored, and a metadata value that is not a string is an error
/// (`metadata` is a `map[string]string`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct WebhookPayload {
    /// The canary's name.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub name: String,
    /// The canary's namespace.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub namespace: String,
    /// The canary's phase when the hook ran.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phase: String,
    /// Flagger's hash of the canary's tracked spec.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub checksum: String,
    /// The webhook's `metadata` from the Canary spec.
    #[serde(default, deserialize_with = "metadata_map")]
    pub metadata: BTreeMap<String, String>,
}

impl WebhookPayload {
    /// Decodes a request body. A JSON `null` body decodes to an empty
    /// payload, as Go's `json.Unmarshal` leaves the struct untouched; any
    /// other JSON value but an object is an error (serde alone would accept
    /// an array as a struct's fields in order).
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        match serde_json::from_slice::<Value>(body)? {
            Value::Null => Ok(WebhookPayload::default()),
            object @ Value::Object(_) => serde_json::from_value(object),
            other => Err(serde::de::Error::custom(format!(
                "cannot decode {} into a webhook payload, an object",
                json_kind(&other)
            ))),
        }
    }

    /// The canary's key in gates and task logs: `<name>.<namespace>`.
    pub fn canary_key(&self) -> String {
        format!("{}.{}", self.name, self.namespace)
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn null_as_empty<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

fn metadata_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let map = Option::<BTreeMap<String, Option<String>>>::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flagger_payload_decodes_with_its_metadata() {
        let payload = WebhookPayload::from_json(
            br#"{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"abc",
                "metadata":{"type":"bash","cmd":"echo hi"},"unknown":1}"#,
        )
        .expect("a flagger payload decodes");
        assert_eq!(payload.canary_key(), "podinfo.test");
        assert_eq!(payload.phase, "Progressing");
        assert_eq!(
            payload.metadata.get("cmd").map(String::as_str),
            Some("echo hi")
        );
    }

    #[test]
    fn nulls_decode_as_empty_values_as_in_go() {
        let payload =
            WebhookPayload::from_json(br#"{"name":null,"metadata":{"type":null}}"#).expect("nulls");
        assert_eq!(payload.name, "");
        assert_eq!(payload.metadata.get("type").map(String::as_str), Some(""));
        assert_eq!(
            WebhookPayload::from_json(b"null").expect("a null body"),
            WebhookPayload::default()
        );
    }

    #[test]
    fn a_metadata_value_that_is_not_a_string_is_an_error_as_in_go() {
        assert!(WebhookPayload::from_json(br#"{"metadata":{"returnCmdOutput":true}}"#).is_err());
        assert!(WebhookPayload::from_json(b"[]").is_err());
        assert!(WebhookPayload::from_json(b"").is_err());
    }
}
