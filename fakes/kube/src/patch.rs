//! The four PATCH content types and how the fake applies them.
//!
//! * `application/merge-patch+json`: RFC 7386, as the API server does.
//! * `application/json-patch+json`: RFC 6902, with the API server's
//!   leniency that a `test` for `null` passes on a missing path (kube-rs's
//!   finalizer helper relies on it).
//! * `application/strategic-merge-patch+json`: a merge patch after dropping
//!   `$`-directives (`$patch`, `$setElementOrder/…`, `$retainKeys`). Lists
//!   are replaced whole, not merged by key (`containers` by `name`).
//! * `application/apply-patch+yaml` (server-side apply): the applied
//!   object (JSON or YAML) merged into the live one like a merge patch.
//!   There is no field ownership: fields a manager stops applying are not
//!   removed, and conflicts between managers are never reported.

use serde_json::Value;

use crate::error::ApiError;
use crate::registry::ResourceType;

/// A decoded PATCH body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatchBody {
    Merge(Value),
    Json(json_patch::Patch),
    Strategic(Value),
    Apply(Value),
}

/// The content types a PATCH may use.
pub(crate) const MERGE_PATCH: &str = "application/merge-patch+json";
pub(crate) const JSON_PATCH: &str = "application/json-patch+json";
pub(crate) const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
pub(crate) const APPLY_PATCH: &str = "application/apply-patch+yaml";

impl PatchBody {
    /// Decodes a PATCH body by its content type.
    pub(crate) fn decode(content_type: &str, body: &[u8]) -> Result<PatchBody, ApiError> {
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let json = || {
            serde_json::from_slice::<Value>(body)
                .map_err(|error| ApiError::bad_request(format!("error decoding patch: {error}")))
        };
        match media_type.as_str() {
            MERGE_PATCH => Ok(PatchBody::Merge(json()?)),
            STRATEGIC_MERGE_PATCH => Ok(PatchBody::Strategic(json()?)),
            JSON_PATCH => serde_json::from_slice::<json_patch::Patch>(body)
                .map(PatchBody::Json)
                .map_err(|error| {
                    ApiError::bad_request(format!("error decoding JSON patch: {error}"))
                }),
            APPLY_PATCH => {
                let applied = match serde_json::from_slice::<Value>(body) {
                    Ok(applied) => applied,
                    Err(_) => {
                        let text = std::str::from_utf8(body).map_err(|_| {
                            ApiError::bad_request("error decoding YAML: the body is not UTF-8")
                        })?;
                        serde_saphyr::from_str::<Value>(text).map_err(|error| {
                            ApiError::bad_request(format!("error decoding YAML: {error}"))
                        })?
                    }
                };
                if !applied.is_object() {
                    return Err(ApiError::bad_request(
                        "an applied configuration must be an object",
                    ));
                }
                Ok(PatchBody::Apply(applied))
            }
            _ => Err(ApiError::UnsupportedMediaType {
                content_type: content_type.to_string(),
            }),
        }
    }

    pub(crate) fn is_apply(&self) -> bool {
        matches!(self, PatchBody::Apply(_))
    }
}

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatchFailure {
    message: String,
}

impl PatchFailure {
    /// The API server answers 422 for a patch that decodes but does not
    /// apply.
    pub(crate) fn into_api_error(self, resource: &ResourceType, name: &str) -> ApiError {
        ApiError::Unprocessable {
            message: format!(
                "{} \"{name}\": the patch does not apply: {}",
                resource.qualified_resource(),
                self.message
            ),
        }
    }
}

/// The object after the patch.
pub(crate) fn apply(patch: &PatchBody, object: &Value) -> Result<Value, PatchFailure> {
    let mut patched = object.clone();
    match patch {
        PatchBody::Merge(merge) | PatchBody::Apply(merge) => json_patch::merge(&mut patched, merge),
        PatchBody::Strategic(strategic) => {
            let mut merge = strategic.clone();
            drop_directives(&mut merge);
            json_patch::merge(&mut patched, &merge);
        }
        PatchBody::Json(operations) => {
            for operation in &operations.0 {
                if let json_patch::PatchOperation::Test(test) = operation
                    && test.value.is_null()
                    && patched.pointer(test.path.as_str()).is_none()
                {
                    // evanphx/json-patch, which the API server uses, treats a
                    // missing value as null.
                    continue;
                }
                json_patch::patch(&mut patched, std::slice::from_ref(operation)).map_err(
                    |error| PatchFailure {
                        message: error.to_string(),
                    },
                )?;
            }
        }
    }
    Ok(patched)
}

/// Removes strategic-merge directives (keys starting with `$`).
fn drop_directives(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|key, _| !key.starts_with('$'));
            fields.values_mut().for_each(drop_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_directives),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_json_patch_test_for_null_passes_on_a_missing_path() {
        let patch = PatchBody::decode(
            JSON_PATCH,
            br#"[{"op":"test","path":"/metadata/finalizers","value":null},
                 {"op":"add","path":"/metadata/finalizers","value":["weir"]}]"#,
        )
        .expect("patch decodes");
        let patched = apply(&patch, &json!({"metadata": {"name": "a"}})).expect("patch applies");
        assert_eq!(
            patched,
            json!({"metadata": {"name": "a", "finalizers": ["weir"]}})
        );
    }

    #[test]
    fn a_failing_json_patch_test_fails_the_whole_patch() {
        let patch = PatchBody::decode(
            JSON_PATCH,
            br#"[{"op":"test","path":"/spec/replicas","value":2},
                 {"op":"replace","path":"/spec/replicas","value":3}]"#,
        )
        .expect("patch decodes");
        assert!(apply(&patch, &json!({"spec": {"replicas": 1}})).is_err());
    }

    #[test]
    fn strategic_merge_patches_merge_maps_and_drop_directives() {
        let patch = PatchBody::decode(
            STRATEGIC_MERGE_PATCH,
            br#"{"spec":{"replicas":3,"$retainKeys":["replicas"]},"metadata":{"labels":{"a":null}}}"#,
        )
        .expect("patch decodes");
        let patched = apply(
            &patch,
            &json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1, "paused": false}}),
        )
        .expect("patch applies");
        assert_eq!(
            patched,
            json!({"metadata": {"labels": {"b": "2"}}, "spec": {"replicas": 3, "paused": false}})
        );
    }

    #[test]
    fn apply_bodies_may_be_yaml() {
        let patch = PatchBody::decode(
            APPLY_PATCH,
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  key: value\n",
        )
        .expect("YAML decodes");
        assert_eq!(
            patch,
            PatchBody::Apply(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a"}, "data": {"key": "value"}
            }))
        );
    }

    #[test]
    fn unknown_content_types_are_unsupported_media_types() {
        let error = PatchBody::decode("text/plain", b"{}").expect_err("not a patch type");
        assert_eq!(error.code(), 415);
    }

    #[test]
    fn malformed_patches_are_bad_requests() {
        for (content_type, body) in [
            (MERGE_PATCH, &b"{not json"[..]),
            (JSON_PATCH, &br#"{"op":"add"}"#[..]),
            (APPLY_PATCH, &b"- a\n- b\n"[..]),
        ] {
            let error = PatchBody::decode(content_type, body).expect_err("malformed");
            assert_eq!(error.code(), 400, "{content_type}");
        }
    }
}
