//! Config tracking: the ConfigMaps and Secrets a pod template references,
//! their checksums, and the `-primary` copies the primary workload mounts.
//!
//! ```text
//!   target pod spec ──config_references──▶ [configmap/podinfo-config (optional?), secret/podinfo-secret, ...]
//!                                                  │ the controller reads them
//!                                                  ▼
//!                      TrackedConfigs::track(references, FoundConfigs)
//!                        ├─ checksums() ─▶ status.trackedConfigs {configmap/<name>: <checksum>}
//!                        ├─ primary_copies() ─▶ <name>-primary ConfigMaps and Secrets
//!                        └─ is_tracked() ─▶ which references the primary pod spec renames
//! ```
//!
//! A reference is tracked unless its object carries
//! `flagger.app/config-tracking: disabled` (any value starting with
//! `disable`) or it is a Secret of a type other than Opaque, basic-auth,
//! ssh-auth and tls (registry credentials belong to service accounts).
//! Untracked references keep their names in the primary, so both
//! workloads share the object.
//!
//! The checksum is Flagger's: the first 8 bytes of the SHA-256 of the Go
//! JSON encoding of `data`, in hex. Go's encoder sorts keys, escapes `<`,
//! `>`, `&`, U+2028 and U+2029, and writes Secret bytes as base64; this
//! module reproduces those bytes exactly, so a status Flagger wrote compares
//! equal and adopting a Canary starts no analysis.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **`optional` defaults to false, as in Kubernetes.** Flagger treats a
//!   reference without `optional` as optional (its `fieldIsMandatory(nil)`
//!   is false) and skips it when missing; then the primary mounts an object
//!   that does not exist and its pods never start. weir reports the missing
//!   object instead. A name referenced twice is optional only if every
//!   reference says so (in Flagger the last reference wins).
//! * **`binaryData` counts.** Flagger copies a ConfigMap's `binaryData` to the
//!   primary but leaves it out of the checksum, so changing only binary data
//!   starts no analysis and the new bytes reach the primary unanalysed at the
//!   next promotion. weir hashes `{"binaryData":…,"data":…}` for ConfigMaps
//!   that have binary data, and Flagger's exact bytes for all others.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, PodSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest, Sha256};
use weir_api::Canary;

use crate::error::WorkloadError;
use crate::metadata::{CANARY_KIND, canary_owner_reference, non_empty};
use crate::options::Options;

/// Annotation on a ConfigMap or Secret that opts it out of tracking when its
/// value starts with [`TRACKING_DISABLED_PREFIX`].
pub const CONFIG_TRACKING_ANNOTATION: &str = "flagger.app/config-tracking";
/// `disabled`, `disable`, ... all opt out (Flagger checks the prefix).
pub const TRACKING_DISABLED_PREFIX: &str = "disable";
/// Secret types whose contents are tracked; others (registry credentials,
/// service-account tokens) are left alone.
pub const TRACKED_SECRET_TYPES: [&str; 4] = [
    "Opaque",
    "kubernetes.io/basic-auth",
    "kubernetes.io/ssh-auth",
    "kubernetes.io/tls",
];
/// The type the API server gives a Secret created without one.
const DEFAULT_SECRET_TYPE: &str = "Opaque";

/// ConfigMap or Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKind {
    ConfigMap,
    Secret,
}

impl ConfigKind {
    /// The prefix of `status.trackedConfigs` keys: `configmap` or `secret`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::ConfigMap => "configmap",
            ConfigKind::Secret => "secret",
        }
    }
}

/// `<kind>/<name>`, the key of `status.trackedConfigs`.
pub fn config_key(kind: ConfigKind, name: &str) -> String {
    format!("{}/{name}", kind.as_str())
}

/// `<name>-primary`, the copy the primary workload uses.
pub fn primary_config_name(name: &str) -> String {
    format!("{name}-primary")
}

/// A ConfigMap or Secret the pod template needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigReference {
    pub kind: ConfigKind,
    pub name: String,
    /// Every reference to it says `optional: true`: pods start without it.
    pub optional: bool,
}

impl ConfigReference {
    /// `<kind>/<name>`.
    pub fn key(&self) -> String {
        config_key(self.kind, &self.name)
    }
}

/// The ConfigMaps and Secrets `spec` references: volumes (including projected
/// sources), and `env[].valueFrom` and `envFrom` of containers and init
/// containers. Sorted by key, each object once.
pub fn config_references(spec: &PodSpec) -> Vec<ConfigReference> {
    let mut references: BTreeMap<String, ConfigReference> = BTreeMap::new();
    let mut scanned = spec.clone();
    visit_references(&mut scanned, &mut |kind, name, optional| {
        if name.is_empty() {
            return;
        }
        let optional = optional == Some(true);
        references
            .entry(config_key(kind, name))
            .and_modify(|reference| reference.optional &= optional)
            .or_insert_with(|| ConfigReference {
                kind,
                name: name.clone(),
                optional,
            });
    });
    references.into_values().collect()
}

/// Calls `visit` with the kind, (mutable) name and `optional` of every
/// ConfigMap and Secret reference in `spec`.
fn visit_references(
    spec: &mut PodSpec,
    visit: &mut dyn FnMut(ConfigKind, &mut String, Option<bool>),
) {
    for volume in spec.volumes.iter_mut().flatten() {
        if let Some(source) = volume.config_map.as_mut() {
            visit(ConfigKind::ConfigMap, &mut source.name, source.optional);
        }
        if let Some(source) = volume.secret.as_mut()
            && let Some(name) = source.secret_name.as_mut()
        {
            visit(ConfigKind::Secret, name, source.optional);
        }
        let projections = volume
            .projected
            .as_mut()
            .and_then(|projected| projected.sources.as_mut());
        for projection in projections.into_iter().flatten() {
            if let Some(source) = projection.config_map.as_mut() {
                visit(ConfigKind::ConfigMap, &mut source.name, source.optional);
            }
            if let Some(source) = projection.secret.as_mut() {
                visit(ConfigKind::Secret, &mut source.name, source.optional);
            }
        }
    }
    let init_containers = spec.init_containers.iter_mut().flatten();
    for container in spec.containers.iter_mut().chain(init_containers) {
        for env in container.env.iter_mut().flatten() {
            let Some(value_from) = env.value_from.as_mut() else {
                continue;
            };
            if let Some(selector) = value_from.config_map_key_ref.as_mut() {
                visit(ConfigKind::ConfigMap, &mut selector.name, selector.optional);
            }
            if let Some(selector) = value_from.secret_key_ref.as_mut() {
                visit(ConfigKind::Secret, &mut selector.name, selector.optional);
            }
        }
        for source in container.env_from.iter_mut().flatten() {
            if let Some(reference) = source.config_map_ref.as_mut() {
                visit(
                    ConfigKind::ConfigMap,
                    &mut reference.name,
                    reference.optional,
                );
            }
            if let Some(reference) = source.secret_ref.as_mut() {
                visit(ConfigKind::Secret, &mut reference.name, reference.optional);
            }
        }
    }
}

/// Renames the tracked references in `spec` to their `-primary` copies.
pub(crate) fn rename_tracked_configs(spec: &mut PodSpec, tracked: &TrackedConfigs) {
    visit_references(spec, &mut |kind, name, _| {
        if tracked.is_tracked(kind, name) {
            *name = primary_config_name(name);
        }
    });
}

/// Whether `annotations` opt the object out of config tracking.
pub fn is_tracking_disabled(annotations: Option<&BTreeMap<String, String>>) -> bool {
    annotations
        .and_then(|annotations| annotations.get(CONFIG_TRACKING_ANNOTATION))
        .is_some_and(|value| value.starts_with(TRACKING_DISABLED_PREFIX))
}

/// The checksum Flagger records for a ConfigMap (see the module docs for
/// ConfigMaps with `binaryData`).
pub fn config_map_checksum(config_map: &ConfigMap) -> String {
    let data = config_map.data.as_ref().map(go_json_string_map);
    let data = data.as_deref().unwrap_or(GO_JSON_NULL);
    match config_map
        .binary_data
        .as_ref()
        .filter(|binary| !binary.is_empty())
    {
        None => checksum(data),
        Some(binary) => checksum(&format!(
            "{{\"binaryData\":{},\"data\":{data}}}",
            go_json_bytes_map(binary)
        )),
    }
}

/// The checksum Flagger records for a Secret: its `data` as Go encodes a
/// `map[string][]byte` (values in base64).
pub fn secret_checksum(secret: &Secret) -> String {
    let data = secret.data.as_ref().map(go_json_bytes_map);
    checksum(data.as_deref().unwrap_or(GO_JSON_NULL))
}

/// Flagger's `HasConfigChanged`: `current` are the checksums of the configs
/// the target references now, `tracked` what `status.trackedConfigs` holds.
/// Nothing referenced and nothing recorded is no change; anything referenced
/// but nothing recorded, a different count or any different checksum is.
pub fn has_config_changed(
    current: &BTreeMap<String, String>,
    tracked: Option<&BTreeMap<String, String>>,
) -> bool {
    match tracked {
        None => !current.is_empty(),
        Some(tracked) => {
            current.len() != tracked.len()
                || current
                    .iter()
                    .any(|(key, checksum)| tracked.get(key) != Some(checksum))
        }
    }
}

/// Go's `json.Marshal` of a nil map.
const GO_JSON_NULL: &str = "null";

/// `hex(sha256(bytes)[..8])`: Flagger keeps 8 bytes, plenty to notice a change.
fn checksum(json: &str) -> String {
    let digest = Sha256::digest(json.as_bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Go's `json.Marshal(map[string]string)`: keys sorted bytewise (as
/// `BTreeMap<String, _>` is), no whitespace, Go's string escaping.
fn go_json_string_map(map: &BTreeMap<String, String>) -> String {
    let mut json = String::from("{");
    for (index, (key, value)) in map.iter().enumerate() {
        if index > 0 {
            json.push(',');
        }
        push_go_json_string(&mut json, key);
        json.push(':');
        push_go_json_string(&mut json, value);
    }
    json.push('}');
    json
}

/// Go's `json.Marshal(map[string][]byte)`: values as standard base64.
fn go_json_bytes_map(map: &BTreeMap<String, ByteString>) -> String {
    let encoded: BTreeMap<String, String> = map
        .iter()
        .map(|(key, bytes)| (key.clone(), base64(bytes)))
        .collect();
    go_json_string_map(&encoded)
}

/// Standard base64 with padding, as k8s-openapi serializes `ByteString`.
fn base64(bytes: &ByteString) -> String {
    match serde_json::to_value(bytes) {
        Ok(serde_json::Value::String(encoded)) => encoded,
        // ByteString always serializes to a string; keep the checksum
        // defined (and different from any base64 text) if that ever changes.
        _ => String::from("\u{fffd}"),
    }
}

/// Appends `value` as Go's `encoding/json` writes strings with HTML escaping
/// on (its default): `"`, `\` and control characters escaped (`\b`, `\f`,
/// `\n`, `\r`, `\t` by name since Go 1.22, others as `\u00xx`), `<`, `>`,
/// `&`, U+2028 and U+2029 as `\u` escapes, everything else verbatim.
fn push_go_json_string(json: &mut String, value: &str) {
    json.push('"');
    for character in value.chars() {
        match character {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\u{8}' => json.push_str("\\b"),
            '\u{c}' => json.push_str("\\f"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                json.push_str(&format!("\\u{:04x}", u32::from(character)));
            }
            control if u32::from(control) < 0x20 => {
                json.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => json.push(other),
        }
    }
    json.push('"');
}

/// The ConfigMaps and Secrets the controller found for a Canary's
/// references, by name. Absent names do not exist.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FoundConfigs {
    pub config_maps: BTreeMap<String, ConfigMap>,
    pub secrets: BTreeMap<String, Secret>,
}

impl FoundConfigs {
    /// Adds a ConfigMap under its `metadata.name`.
    pub fn add_config_map(&mut self, config_map: ConfigMap) {
        let name = config_map.metadata.name.clone().unwrap_or_default();
        self.config_maps.insert(name, config_map);
    }

    /// Adds a Secret under its `metadata.name`.
    pub fn add_secret(&mut self, secret: Secret) {
        let name = secret.metadata.name.clone().unwrap_or_default();
        self.secrets.insert(name, secret);
    }
}

/// A tracked object, ready to be copied to the primary.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigObject {
    ConfigMap(ConfigMap),
    Secret(Secret),
}

/// A tracked ConfigMap or Secret and its checksum.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedConfig {
    pub kind: ConfigKind,
    pub name: String,
    pub checksum: String,
    /// The target's object, the source of the primary copy.
    pub object: ConfigObject,
}

/// Why a reference is not tracked (for logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// An `optional: true` reference to an object that does not exist.
    OptionalMissing,
    /// The object is annotated `flagger.app/config-tracking: disabled`.
    TrackingDisabled,
    /// A Secret type that is not tracked, e.g. `kubernetes.io/dockerconfigjson`.
    UntrackedSecretType(String),
}

/// A reference that is not tracked, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedConfig {
    pub reference: ConfigReference,
    pub reason: SkipReason,
}

/// The tracked configs of a target (Flagger's `GetTargetConfigs`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackedConfigs {
    configs: BTreeMap<String, TrackedConfig>,
    skipped: Vec<SkippedConfig>,
}

impl TrackedConfigs {
    /// Nothing tracked: `-enable-config-tracking=false`, where the primary
    /// shares the target's ConfigMaps and Secrets.
    pub fn none() -> TrackedConfigs {
        TrackedConfigs::default()
    }

    /// Tracks `references` with the objects in `found`. A missing object is
    /// an error unless every reference to it is optional.
    pub fn track(
        references: &[ConfigReference],
        found: &FoundConfigs,
        namespace: &str,
    ) -> Result<TrackedConfigs, WorkloadError> {
        let mut tracked = TrackedConfigs::default();
        for reference in references {
            let object = match reference.kind {
                ConfigKind::ConfigMap => found
                    .config_maps
                    .get(&reference.name)
                    .map(|config_map| ConfigObject::ConfigMap(config_map.clone())),
                ConfigKind::Secret => found
                    .secrets
                    .get(&reference.name)
                    .map(|secret| ConfigObject::Secret(secret.clone())),
            };
            let Some(object) = object else {
                if reference.optional {
                    tracked.skip(reference, SkipReason::OptionalMissing);
                    continue;
                }
                return Err(WorkloadError::MissingConfig {
                    kind: reference.kind,
                    name: reference.name.clone(),
                    namespace: namespace.to_owned(),
                });
            };
            let (annotations, checksum) = match &object {
                ConfigObject::ConfigMap(config_map) => (
                    config_map.metadata.annotations.as_ref(),
                    config_map_checksum(config_map),
                ),
                ConfigObject::Secret(secret) => {
                    let secret_type = secret.type_.as_deref().unwrap_or(DEFAULT_SECRET_TYPE);
                    if !TRACKED_SECRET_TYPES.contains(&secret_type) {
                        let reason = SkipReason::UntrackedSecretType(secret_type.to_owned());
                        tracked.skip(reference, reason);
                        continue;
                    }
                    (
                        secret.metadata.annotations.as_ref(),
                        secret_checksum(secret),
                    )
                }
            };
            if is_tracking_disabled(annotations) {
                tracked.skip(reference, SkipReason::TrackingDisabled);
                continue;
            }
            tracked.configs.insert(
                reference.key(),
                TrackedConfig {
                    kind: reference.kind,
                    name: reference.name.clone(),
                    checksum,
                    object,
                },
            );
        }
        Ok(tracked)
    }

    fn skip(&mut self, reference: &ConfigReference, reason: SkipReason) {
        self.skipped.push(SkippedConfig {
            reference: reference.clone(),
            reason,
        });
    }

    /// Whether the primary uses a `-primary` copy of this object.
    pub fn is_tracked(&self, kind: ConfigKind, name: &str) -> bool {
        self.configs.contains_key(&config_key(kind, name))
    }

    /// The tracked configs, by key.
    pub fn configs(&self) -> impl Iterator<Item = &TrackedConfig> {
        self.configs.values()
    }

    /// The references that are not tracked, and why.
    pub fn skipped(&self) -> &[SkippedConfig] {
        &self.skipped
    }

    /// `status.trackedConfigs`: `configmap/<name>` / `secret/<name>` → checksum.
    pub fn checksums(&self) -> BTreeMap<String, String> {
        self.configs
            .iter()
            .map(|(key, config)| (key.clone(), config.checksum.clone()))
            .collect()
    }

    /// The `-primary` copies to create or replace (Flagger's
    /// `CreatePrimaryConfigs`); `existing` holds the copies that already
    /// exist, by their `-primary` names.
    pub fn primary_copies(
        &self,
        canary: &Canary,
        options: &Options,
        existing: &FoundConfigs,
    ) -> Result<Vec<ConfigObject>, WorkloadError> {
        self.configs()
            .map(|config| match &config.object {
                ConfigObject::ConfigMap(source) => {
                    let current = existing.config_maps.get(&primary_config_name(&config.name));
                    primary_config_map(canary, source, current, options)
                        .map(ConfigObject::ConfigMap)
                }
                ConfigObject::Secret(source) => {
                    let current = existing.secrets.get(&primary_config_name(&config.name));
                    primary_secret(canary, source, current, options).map(ConfigObject::Secret)
                }
            })
            .collect()
    }
}

/// The primary copy of a ConfigMap: `data` and `binaryData`, labels by
/// include prefix, owned by the Canary. `existing` (the current copy) keeps
/// its other owners as non-controllers, so a copy shared by several Canaries
/// survives the deletion of one (Flagger PR #1052), and lends its
/// `resourceVersion` so that the replace is conditional.
pub fn primary_config_map(
    canary: &Canary,
    source: &ConfigMap,
    existing: Option<&ConfigMap>,
    options: &Options,
) -> Result<ConfigMap, WorkloadError> {
    Ok(ConfigMap {
        metadata: primary_config_metadata(
            canary,
            &source.metadata,
            existing.map(|existing| &existing.metadata),
            options,
        )?,
        data: source.data.clone(),
        binary_data: source.binary_data.clone(),
        ..ConfigMap::default()
    })
}

/// The primary copy of a Secret: type and `data`, metadata as for
/// [`primary_config_map`].
pub fn primary_secret(
    canary: &Canary,
    source: &Secret,
    existing: Option<&Secret>,
    options: &Options,
) -> Result<Secret, WorkloadError> {
    Ok(Secret {
        metadata: primary_config_metadata(
            canary,
            &source.metadata,
            existing.map(|existing| &existing.metadata),
            options,
        )?,
        type_: source.type_.clone(),
        data: source.data.clone(),
        ..Secret::default()
    })
}

fn primary_config_metadata(
    canary: &Canary,
    source: &ObjectMeta,
    existing: Option<&ObjectMeta>,
    options: &Options,
) -> Result<ObjectMeta, WorkloadError> {
    let mut owners: Vec<OwnerReference> = existing
        .and_then(|existing| existing.owner_references.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|owner| !(owner.kind == CANARY_KIND && owner.name == canary.name()))
        .map(|owner| OwnerReference {
            // Only one owner may be the controller: this Canary.
            controller: Some(false),
            ..owner
        })
        .collect();
    owners.push(canary_owner_reference(canary)?);
    Ok(ObjectMeta {
        name: Some(primary_config_name(
            source.name.as_deref().unwrap_or_default(),
        )),
        namespace: Some(canary.namespace().to_owned()),
        labels: non_empty(options.include_by_prefix(source.labels.as_ref())),
        owner_references: Some(owners),
        resource_version: existing.and_then(|existing| existing.resource_version.clone()),
        ..ObjectMeta::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{canary, config_map, secret};

    fn pod_spec(yaml: &str) -> PodSpec {
        serde_saphyr::from_str(yaml).expect("valid pod spec")
    }

    /// Every place a pod spec can reference a ConfigMap or Secret.
    const EVERY_REFERENCE: &str = "
containers:
- name: app
  env:
  - name: FROM_CONFIG
    valueFrom:
      configMapKeyRef: {name: env-config, key: color}
  - name: FROM_SECRET
    valueFrom:
      secretKeyRef: {name: env-secret, key: token, optional: true}
  - name: PLAIN
    value: x
  envFrom:
  - configMapRef: {name: all-config}
  - secretRef: {name: all-secret}
initContainers:
- name: init
  env:
  - name: INIT
    valueFrom:
      configMapKeyRef: {name: init-config, key: color}
  envFrom:
  - secretRef: {name: init-secret}
volumes:
- name: config-volume
  configMap: {name: volume-config}
- name: secret-volume
  secret: {secretName: volume-secret, optional: true}
- name: projected
  projected:
    sources:
    - configMap: {name: projected-config}
    - secret: {name: projected-secret}
    - downwardAPI: {items: []}
- name: scratch
  emptyDir: {}
";

    #[test]
    fn references_are_found_in_volumes_projections_env_and_init_containers() {
        let references = config_references(&pod_spec(EVERY_REFERENCE));
        let keys: Vec<String> = references.iter().map(ConfigReference::key).collect();
        assert_eq!(
            keys,
            [
                "configmap/all-config",
                "configmap/env-config",
                "configmap/init-config",
                "configmap/projected-config",
                "configmap/volume-config",
                "secret/all-secret",
                "secret/env-secret",
                "secret/init-secret",
                "secret/projected-secret",
                "secret/volume-secret",
            ]
        );
        let optional: Vec<&str> = references
            .iter()
            .filter(|reference| reference.optional)
            .map(|reference| reference.name.as_str())
            .collect();
        assert_eq!(optional, ["env-secret", "volume-secret"]);
    }

    #[test]
    fn a_name_referenced_twice_is_optional_only_if_both_references_say_so() {
        let spec = pod_spec(
            "
containers:
- name: app
  envFrom:
  - configMapRef: {name: shared, optional: true}
  - configMapRef: {name: both-optional, optional: true}
volumes:
- name: v
  configMap: {name: shared}
- name: w
  configMap: {name: both-optional, optional: true}
",
        );
        let references = config_references(&spec);
        assert_eq!(
            references,
            [
                ConfigReference {
                    kind: ConfigKind::ConfigMap,
                    name: "both-optional".into(),
                    optional: true
                },
                ConfigReference {
                    kind: ConfigKind::ConfigMap,
                    name: "shared".into(),
                    optional: false
                },
            ]
        );
    }

    #[test]
    fn only_tracked_references_are_renamed_in_the_primary() {
        let mut spec = pod_spec(EVERY_REFERENCE);
        let mut found = FoundConfigs::default();
        for name in [
            "env-config",
            "all-config",
            "init-config",
            "projected-config",
        ] {
            found.add_config_map(config_map(name, &[("color", "blue")]));
        }
        let mut disabled = config_map("volume-config", &[("color", "red")]);
        disabled.metadata.annotations = Some(BTreeMap::from([(
            CONFIG_TRACKING_ANNOTATION.to_owned(),
            "disabled".to_owned(),
        )]));
        found.add_config_map(disabled);
        for name in [
            "all-secret",
            "init-secret",
            "projected-secret",
            "volume-secret",
        ] {
            found.add_secret(secret(name, "Opaque", &[("token", "t")]));
        }
        // env-secret is optional and missing.
        let tracked = TrackedConfigs::track(&config_references(&spec), &found, "test")
            .expect("every mandatory config exists");
        rename_tracked_configs(&mut spec, &tracked);
        let renamed = config_references(&spec);
        let names: Vec<&str> = renamed
            .iter()
            .map(|reference| reference.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "all-config-primary",
                "env-config-primary",
                "init-config-primary",
                "projected-config-primary",
                "volume-config",
                "all-secret-primary",
                "env-secret",
                "init-secret-primary",
                "projected-secret-primary",
                "volume-secret-primary",
            ]
        );
        assert_eq!(
            tracked.skipped(),
            [
                SkippedConfig {
                    reference: ConfigReference {
                        kind: ConfigKind::ConfigMap,
                        name: "volume-config".into(),
                        optional: false
                    },
                    reason: SkipReason::TrackingDisabled
                },
                SkippedConfig {
                    reference: ConfigReference {
                        kind: ConfigKind::Secret,
                        name: "env-secret".into(),
                        optional: true
                    },
                    reason: SkipReason::OptionalMissing
                },
            ]
        );
    }

    #[test]
    fn a_missing_mandatory_config_is_an_error() {
        let spec = pod_spec(
            "
containers:
- name: app
  envFrom:
  - secretRef: {name: podinfo-secret}
",
        );
        let error =
            TrackedConfigs::track(&config_references(&spec), &FoundConfigs::default(), "test")
                .expect_err("the secret is mandatory");
        assert_eq!(
            error,
            WorkloadError::MissingConfig {
                kind: ConfigKind::Secret,
                name: "podinfo-secret".into(),
                namespace: "test".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "secret podinfo-secret.test get query error: not found"
        );
    }

    #[test]
    fn registry_and_token_secrets_are_not_tracked() {
        let references = [
            ConfigReference {
                kind: ConfigKind::Secret,
                name: "registry".into(),
                optional: false,
            },
            ConfigReference {
                kind: ConfigKind::Secret,
                name: "tls".into(),
                optional: false,
            },
            ConfigReference {
                kind: ConfigKind::Secret,
                name: "untyped".into(),
                optional: false,
            },
        ];
        let mut found = FoundConfigs::default();
        found.add_secret(secret(
            "registry",
            "kubernetes.io/dockerconfigjson",
            &[(".dockerconfigjson", "{}")],
        ));
        found.add_secret(secret("tls", "kubernetes.io/tls", &[("tls.crt", "c")]));
        let mut untyped = secret("untyped", "Opaque", &[("a", "b")]);
        untyped.type_ = None;
        found.add_secret(untyped);
        let tracked = TrackedConfigs::track(&references, &found, "test").expect("all exist");
        assert!(tracked.is_tracked(ConfigKind::Secret, "tls"));
        assert!(
            tracked.is_tracked(ConfigKind::Secret, "untyped"),
            "the API server defaults to Opaque"
        );
        assert!(!tracked.is_tracked(ConfigKind::Secret, "registry"));
        assert_eq!(
            tracked.skipped()[0].reason,
            SkipReason::UntrackedSecretType("kubernetes.io/dockerconfigjson".into())
        );
    }

    #[test]
    fn any_tracking_annotation_value_starting_with_disable_opts_out() {
        let annotations = |value: &str| {
            BTreeMap::from([(CONFIG_TRACKING_ANNOTATION.to_owned(), value.to_owned())])
        };
        assert!(is_tracking_disabled(Some(&annotations("disabled"))));
        assert!(is_tracking_disabled(Some(&annotations("disable"))));
        assert!(!is_tracking_disabled(Some(&annotations("enabled"))));
        assert!(!is_tracking_disabled(Some(&BTreeMap::from([(
            "app".to_owned(),
            "disable".to_owned()
        )]))));
        assert!(!is_tracking_disabled(None));
    }

    // Known answers: the first 16 hex digits of `sha256sum` over the bytes
    // Go's encoding/json writes, computed outside this code.

    #[test]
    fn secret_checksums_hash_go_json_with_base64_values() {
        // printf '%s' '{"value":"czNjcjN0"}' | sha256sum
        let podinfo_secret = secret("podinfo-secret", "Opaque", &[("value", "s3cr3t")]);
        assert_eq!(secret_checksum(&podinfo_secret), "e9508890208eabc4");
    }

    #[test]
    fn config_map_checksums_escape_like_go() {
        // printf '%s' '{"color":"\u003cblue\u003e\u0026\u2028","line":"a\nb\u0001"}' | sha256sum
        let config = config_map(
            "podinfo-config",
            &[("color", "<blue>&\u{2028}"), ("line", "a\nb\u{1}")],
        );
        assert_eq!(config_map_checksum(&config), "dff529e921f6ffc1");
        // printf '%s' 'null' | sha256sum: a ConfigMap without data, as Go marshals a nil map.
        let mut empty = config_map("empty", &[]);
        empty.data = None;
        assert_eq!(config_map_checksum(&empty), "74234e98afe7498f");
    }

    #[test]
    fn binary_data_changes_the_config_map_checksum() {
        // printf '%s' '{"binaryData":{"logo":"AAEC"},"data":{"a":"b"}}' | sha256sum
        let mut config = config_map("logo", &[("a", "b")]);
        let without_binary = config_map_checksum(&config);
        config.binary_data = Some(BTreeMap::from([(
            "logo".to_owned(),
            ByteString(vec![0, 1, 2]),
        )]));
        assert_eq!(config_map_checksum(&config), "f303f5336a41a057");
        assert_ne!(config_map_checksum(&config), without_binary);
    }

    #[test]
    fn config_changes_follow_flaggers_has_config_changed() {
        let checksums = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect()
        };
        let none = checksums(&[]);
        let one = checksums(&[("configmap/a", "1")]);
        assert!(
            !has_config_changed(&none, None),
            "nothing referenced, nothing recorded"
        );
        assert!(
            has_config_changed(&one, None),
            "referenced but never recorded"
        );
        assert!(!has_config_changed(&one, Some(&one)));
        assert!(has_config_changed(
            &one,
            Some(&checksums(&[("configmap/a", "2")]))
        ));
        assert!(
            has_config_changed(&none, Some(&one)),
            "a config is no longer referenced"
        );
        assert!(has_config_changed(
            &one,
            Some(&checksums(&[("configmap/a", "1"), ("secret/b", "2")]))
        ));
        assert!(has_config_changed(
            &one,
            Some(&checksums(&[("secret/a", "1")]))
        ));
    }

    #[test]
    fn primary_copies_keep_other_owners_as_non_controllers() {
        let canary = canary("");
        let options = Options::from_flags("app", "app.kubernetes.io", true).expect("valid");
        let mut source = config_map("podinfo-config", &[("color", "blue")]);
        source.metadata.labels = Some(BTreeMap::from([
            ("app.kubernetes.io/name".to_owned(), "podinfo".to_owned()),
            ("tier".to_owned(), "web".to_owned()),
        ]));
        source.binary_data = Some(BTreeMap::from([("logo".to_owned(), ByteString(vec![1]))]));
        let other_canary = OwnerReference {
            api_version: "flagger.app/v1beta1".into(),
            kind: "Canary".into(),
            name: "other".into(),
            uid: "other-uid".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        let mut existing = config_map("podinfo-config-primary", &[("color", "red")]);
        existing.metadata.resource_version = Some("42".into());
        existing.metadata.owner_references = Some(vec![
            other_canary.clone(),
            canary_owner_reference(&canary).expect("uid"),
        ]);
        let copy = primary_config_map(&canary, &source, Some(&existing), &options)
            .expect("canary has a uid");
        assert_eq!(
            copy.metadata.name.as_deref(),
            Some("podinfo-config-primary")
        );
        assert_eq!(copy.metadata.namespace.as_deref(), Some("test"));
        assert_eq!(copy.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(copy.data, source.data);
        assert_eq!(copy.binary_data, source.binary_data);
        assert_eq!(
            copy.metadata.labels,
            Some(BTreeMap::from([(
                "app.kubernetes.io/name".to_owned(),
                "podinfo".to_owned()
            )]))
        );
        let owners = copy.metadata.owner_references.expect("owners");
        assert_eq!(
            owners,
            [
                OwnerReference {
                    controller: Some(false),
                    ..other_canary
                },
                canary_owner_reference(&canary).expect("uid"),
            ]
        );
    }

    #[test]
    fn primary_secrets_copy_type_and_data() {
        let canary = canary("");
        let source = secret("podinfo-secret", "kubernetes.io/tls", &[("tls.key", "k")]);
        let copy = primary_secret(&canary, &source, None, &Options::default()).expect("uid");
        assert_eq!(
            copy.metadata.name.as_deref(),
            Some("podinfo-secret-primary")
        );
        assert_eq!(copy.type_.as_deref(), Some("kubernetes.io/tls"));
        assert_eq!(copy.data, source.data);
        assert_eq!(copy.metadata.labels, None);
        assert_eq!(
            copy.metadata.owner_references,
            Some(vec![canary_owner_reference(&canary).expect("uid")])
        );
    }
}
