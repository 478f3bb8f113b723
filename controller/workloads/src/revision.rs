//! The revision under test: a hash of the target's pod template
//! (`status.lastAppliedSpec`) and the checksums of its tracked configs
//! (`status.trackedConfigs`).
//!
//! Flagger hashes the Go `spew` dump of the template with FNV-32a, a format
//! only Go's reflection produces. weir uses its own, stable hash instead:
//!
//! ```text
//!   w1-<first 16 bytes of sha256(canonical JSON of spec.template), hex>
//!   canonical JSON: object keys sorted bytewise, no whitespace, null members
//!   dropped, strings with `"`, `\` and control characters escaped as \uXXXX
//!   (except \" and \\), numbers as serde_json prints them
//! ```
//!
//! The `w1-` prefix tells weir's hashes from Flagger's (which are short
//! strings of consonants and digits, never with a dash) and versions the
//! format: a future format gets a new prefix.
//!
//! **Migration.** A Canary Flagger managed has a Flagger hash in
//! `lastAppliedSpec` and `lastPromotedSpec`, which never equals weir's.
//! Compared naively, every adopted Canary would look changed and start an
//! analysis of the revision that is already serving. The controller should
//! therefore check [`is_weir_hash`] first and, for a foreign hash in a
//! settled phase (Initialized, Succeeded, Failed), record weir's hash of the
//! current target in `lastAppliedSpec` without an analysis, and in
//! `lastPromotedSpec` too when the phase says the target is what was
//! promoted (Initialized, Succeeded). The cost: a target change made while
//! neither controller was running is adopted without analysis, and after a
//! Failed adoption a manual revert to the promoted spec starts an analysis
//! once (semantics §18 #30), since the promoted hash is still Flagger's.
//! Tracked config checksums need no such care: they are Flagger's, byte for
//! byte (except for ConfigMaps with `binaryData`, see `configs`).
//!
//! DaemonSet templates are hashed without the scale-to-zero node selector:
//! scaling the target down is not a new revision.

use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;
use sha2::{Digest, Sha256};
use weir_engine::ports::Revision;

use crate::configs::TrackedConfigs;
use crate::daemon_set::without_scale_to_zero;
use crate::error::WorkloadError;

/// Marks (and versions) weir's template hashes.
pub const WEIR_HASH_PREFIX: &str = "w1-";
/// Bytes of the SHA-256 kept: 128 bits make an accidental collision between
/// two revisions of one workload impossible in practice, and the status
/// stays readable.
const HASH_BYTES: usize = 16;

/// weir's hash of a pod template.
pub fn pod_template_hash(template: &PodTemplateSpec) -> Result<String, WorkloadError> {
    let value = serde_json::to_value(template).map_err(|error| WorkloadError::Serialization {
        what: "pod template",
        reason: error.to_string(),
    })?;
    Ok(json_hash(&value))
}

/// weir's hash of any JSON value, in the same format as a pod template's:
/// the revision of targets without a pod template (a Service's spec, a
/// Knative Service's latest revision name).
pub fn json_hash(value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hash = String::from(WEIR_HASH_PREFIX);
    for byte in &digest[..HASH_BYTES] {
        let _ = write!(hash, "{byte:02x}");
    }
    hash
}

/// Whether `hash` is one of weir's (else Flagger wrote it, or nobody).
pub fn is_weir_hash(hash: &str) -> bool {
    hash.strip_prefix(WEIR_HASH_PREFIX).is_some_and(|hex| {
        hex.len() == HASH_BYTES * 2
            && hex
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    })
}

/// The hash of a Deployment's `spec.template` (empty template if no spec).
pub fn deployment_template_hash(deployment: &Deployment) -> Result<String, WorkloadError> {
    let template = deployment
        .spec
        .as_ref()
        .map(|spec| spec.template.clone())
        .unwrap_or_default();
    pod_template_hash(&template)
}

/// The hash of a DaemonSet's `spec.template`, ignoring the scale-to-zero
/// node selector.
pub fn daemon_set_template_hash(daemon_set: &DaemonSet) -> Result<String, WorkloadError> {
    let template = daemon_set
        .spec
        .as_ref()
        .map(|spec| without_scale_to_zero(&spec.template))
        .unwrap_or_default();
    pod_template_hash(&template)
}

/// The engine's revision: the template hash and, when config tracking is on
/// (`tracked` is `Some`), the tracked configs' checksums.
pub fn revision(spec_hash: String, tracked: Option<&TrackedConfigs>) -> Revision {
    Revision {
        spec_hash,
        tracked_configs: tracked.map(TrackedConfigs::checksums),
    }
}

/// The revision of a Deployment target.
pub fn deployment_revision(
    target: &Deployment,
    tracked: Option<&TrackedConfigs>,
) -> Result<Revision, WorkloadError> {
    Ok(revision(deployment_template_hash(target)?, tracked))
}

/// The revision of a DaemonSet target.
pub fn daemon_set_revision(
    target: &DaemonSet,
    tracked: Option<&TrackedConfigs>,
) -> Result<Revision, WorkloadError> {
    Ok(revision(daemon_set_template_hash(target)?, tracked))
}

/// Writes `value` as canonical JSON (see the module docs).
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> = members
                .iter()
                .filter(|(_, member)| !member.is_null())
                .collect();
            members.sort_by(|(left, _), (right, _)| left.as_bytes().cmp(right.as_bytes()));
            out.push('{');
            for (index, (key, member)) in members.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(member, out);
            }
            out.push('}');
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_other_revisions_are_recognised_as_weir_hashes() {
        let spec = serde_json::json!({"ports": [{"port": 80}], "selector": {"app": "podinfo"}});
        assert!(is_weir_hash(&json_hash(&spec)));
        assert_ne!(
            json_hash(&spec),
            json_hash(&serde_json::json!("podinfo-00002"))
        );
    }
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        let mut out = String::new();
        write_canonical(value, &mut out);
        out
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_nulls() {
        let value = json!({"b": 1, "a": {"d": null, "c": [true, "x\"\n"]}});
        assert_eq!(canonical(&value), r#"{"a":{"c":[true,"x\"\u000a"]},"b":1}"#);
    }

    fn template(image: &str, annotations: &[(&str, &str)]) -> PodTemplateSpec {
        let annotations: String = annotations
            .iter()
            .map(|(key, value)| format!("{key}: \"{value}\", "))
            .collect();
        serde_saphyr::from_str(&format!(
            "metadata: {{annotations: {{{annotations}}}}}\nspec:\n  containers:\n  - {{name: app, image: {image}}}\n"
        ))
        .expect("valid template")
    }

    #[test]
    fn the_hash_depends_on_content_not_on_construction_order() {
        let one = template("podinfo:6.0.0", &[("a", "1"), ("b", "2")]);
        let same = template("podinfo:6.0.0", &[("b", "2"), ("a", "1")]);
        let newer = template("podinfo:6.0.1", &[("a", "1"), ("b", "2")]);
        let hash = |template: &PodTemplateSpec| pod_template_hash(template).expect("hashable");
        assert_eq!(hash(&one), hash(&same));
        assert_ne!(hash(&one), hash(&newer));
        assert_eq!(hash(&one), hash(&one.clone()), "stable across calls");
    }

    #[test]
    fn without_config_tracking_the_revision_has_no_tracked_configs() {
        assert_eq!(revision("w1-x".into(), None).tracked_configs, None);
        assert_eq!(
            revision("w1-x".into(), Some(&TrackedConfigs::none())).tracked_configs,
            Some(std::collections::BTreeMap::new())
        );
    }

    #[test]
    fn weir_hashes_are_recognised_and_flagger_hashes_are_not() {
        let hash = pod_template_hash(&PodTemplateSpec::default()).expect("hashable");
        assert!(is_weir_hash(&hash), "{hash}");
        assert_eq!(hash.len(), WEIR_HASH_PREFIX.len() + 32);
        // Flagger's ComputeHash: rand.SafeEncodeString of an FNV-32a value.
        assert!(!is_weir_hash("5d4b7c9b8f"));
        assert!(!is_weir_hash(""));
        assert!(!is_weir_hash("w1-not-hex"));
        assert!(!is_weir_hash(&hash.to_uppercase()));
    }
}
