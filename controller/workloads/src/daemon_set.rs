//! DaemonSet targets (semantics §12.2).
//!
//! A DaemonSet has no replica count, so "scaled to zero" means a node
//! selector no node matches: `flagger.app/scale-to-zero: "true"` in the pod
//! template. Removing it scales the target back to every node.
//!
//! ```text
//!   target podinfo-ds                                 primary podinfo-ds-primary
//!   nodeSelector: {flagger.app/scale-to-zero: "true"} nodeSelector: the target's, without it
//!   (between analyses: runs nowhere)                  (runs everywhere)
//! ```
//!
//! The key is ignored by the revision hash (scaling is not a new revision)
//! and never reaches the primary. Only `RollingUpdate` (or unset) update
//! strategies are accepted: with `OnDelete` a promotion would never replace
//! the primary's pods.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **The key is stripped on create too.** Flagger strips it only when it
//!   promotes, so a primary created while the target is scaled to zero (the
//!   primary was deleted by hand) runs on no node until the next promotion.
//! * **The update strategy is checked on promotion too**, not only on
//!   create: a target switched to `OnDelete` fails the promotion with a
//!   clear message instead of leaving the primary half rolled.
//! * **The primary's pod spec gets the same selector renaming as a
//!   Deployment's** (topology spread and anti-affinity, see `pod_spec`);
//!   Flagger renames only config references for DaemonSets.
//! * **Annotations follow the include prefixes on create too**, as for
//!   Deployments.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::{Value, json};
use weir_api::Canary;

use crate::configs::TrackedConfigs;
use crate::deployment::primary_template;
use crate::error::WorkloadError;
use crate::metadata::{canary_owner_reference, name_of, non_empty, primary_labels};
use crate::options::{Options, SelectorLabel};

/// The node selector key that keeps a scaled-down DaemonSet off every node.
pub const SCALE_TO_ZERO_KEY: &str = "flagger.app/scale-to-zero";
/// Its value.
pub const SCALE_TO_ZERO_VALUE: &str = "true";
/// The only update strategy (besides unset) a target may have.
pub const ROLLING_UPDATE: &str = "RollingUpdate";

/// How Flagger names DaemonSets in messages.
const KIND: &str = "daemonset";

fn spec_of(daemon_set: &DaemonSet) -> Result<&DaemonSetSpec, WorkloadError> {
    daemon_set.spec.as_ref().ok_or_else(|| {
        let (name, namespace) = name_of(&daemon_set.metadata);
        WorkloadError::MissingSpec {
            kind: KIND,
            name,
            namespace,
        }
    })
}

/// The target's selector label.
pub fn selector_label(
    daemon_set: &DaemonSet,
    options: &Options,
) -> Result<SelectorLabel, WorkloadError> {
    let spec = spec_of(daemon_set)?;
    let (name, namespace) = name_of(&daemon_set.metadata);
    options.selector_label(spec.selector.match_labels.as_ref(), KIND, &name, &namespace)
}

fn require_rolling_update(daemon_set: &DaemonSet) -> Result<(), WorkloadError> {
    let strategy = spec_of(daemon_set)?
        .update_strategy
        .as_ref()
        .and_then(|strategy| strategy.type_.as_deref())
        .unwrap_or_default();
    if strategy.is_empty() || strategy == ROLLING_UPDATE {
        return Ok(());
    }
    let (name, namespace) = name_of(&daemon_set.metadata);
    Err(WorkloadError::NotRollingUpdate {
        name,
        namespace,
        strategy: strategy.to_owned(),
    })
}

/// `template` without the scale-to-zero node selector (and without an
/// empty node selector, so that "never scaled" and "scaled back" compare
/// equal).
pub fn without_scale_to_zero(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut template = template.clone();
    if let Some(spec) = template.spec.as_mut() {
        if let Some(node_selector) = spec.node_selector.as_mut() {
            node_selector.remove(SCALE_TO_ZERO_KEY);
        }
        if spec.node_selector.as_ref().is_some_and(BTreeMap::is_empty) {
            spec.node_selector = None;
        }
    }
    template
}

/// The primary DaemonSet `<target>-primary` for a new Canary.
pub fn primary_daemon_set(
    canary: &Canary,
    target: &DaemonSet,
    tracked: &TrackedConfigs,
    options: &Options,
    flagger_id: &str,
) -> Result<DaemonSet, WorkloadError> {
    require_rolling_update(target)?;
    let spec = spec_of(target)?;
    let selector = selector_label(target, options)?;
    let template = without_scale_to_zero(&spec.template);
    Ok(DaemonSet {
        metadata: ObjectMeta {
            name: Some(canary.spec.primary_workload_name()),
            namespace: Some(canary.namespace().to_owned()),
            labels: Some(primary_labels(
                Some(&options.include_by_prefix(target.metadata.labels.as_ref())),
                &selector,
            )),
            annotations: non_empty(options.include_by_prefix(target.metadata.annotations.as_ref())),
            owner_references: Some(vec![canary_owner_reference(canary)?]),
            ..ObjectMeta::default()
        },
        spec: Some(DaemonSetSpec {
            min_ready_seconds: spec.min_ready_seconds,
            revision_history_limit: spec.revision_history_limit,
            update_strategy: spec.update_strategy.clone(),
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    selector.key.clone(),
                    selector.primary_value(),
                )])),
                match_expressions: None,
            },
            template: primary_template(&template, tracked, &selector, flagger_id),
        }),
        status: None,
    })
}

/// The primary after promoting the target into it: rollout settings, pod
/// template (without the scale-to-zero key) and include-prefix metadata.
pub fn promote_daemon_set(
    target: &DaemonSet,
    primary: &DaemonSet,
    tracked: &TrackedConfigs,
    options: &Options,
    flagger_id: &str,
) -> Result<DaemonSet, WorkloadError> {
    require_rolling_update(target)?;
    let target_spec = spec_of(target)?;
    let selector = selector_label(target, options)?;
    let template = without_scale_to_zero(&target_spec.template);
    let mut promoted = primary.clone();
    let spec = promoted.spec.get_or_insert_with(DaemonSetSpec::default);
    spec.min_ready_seconds = target_spec.min_ready_seconds;
    spec.revision_history_limit = target_spec.revision_history_limit;
    spec.update_strategy = target_spec.update_strategy.clone();
    spec.template = primary_template(&template, tracked, &selector, flagger_id);
    promoted.metadata.labels = Some(primary_labels(
        Some(&options.include_by_prefix(target.metadata.labels.as_ref())),
        &selector,
    ));
    promoted.metadata.annotations =
        non_empty(options.include_by_prefix(target.metadata.annotations.as_ref()));
    Ok(promoted)
}

/// Whether the DaemonSet carries the scale-to-zero node selector.
pub fn is_scaled_to_zero(daemon_set: &DaemonSet) -> bool {
    daemon_set
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .and_then(|spec| spec.node_selector.as_ref())
        .is_some_and(|selector| selector.contains_key(SCALE_TO_ZERO_KEY))
}

/// The merge patch that scales the DaemonSet to zero, or `None` when it is
/// already.
pub fn scale_to_zero_patch(daemon_set: &DaemonSet) -> Option<Value> {
    (!is_scaled_to_zero(daemon_set)).then(|| {
        json!({ "spec": { "template": { "spec": {
            "nodeSelector": { SCALE_TO_ZERO_KEY: SCALE_TO_ZERO_VALUE }
        } } } })
    })
}

/// The merge patch that scales the DaemonSet back up (also its
/// `revertOnDeletion`), or `None` when it is not scaled to zero. When the
/// key is the only node selector the whole selector goes, so the template
/// is again exactly what the user wrote (an empty selector left behind
/// would be a template change and roll every pod).
pub fn scale_from_zero_patch(daemon_set: &DaemonSet) -> Option<Value> {
    if !is_scaled_to_zero(daemon_set) {
        return None;
    }
    let only_key = daemon_set
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .and_then(|spec| spec.node_selector.as_ref())
        .is_some_and(|selector| selector.len() == 1);
    let node_selector = if only_key {
        Value::Null
    } else {
        json!({ SCALE_TO_ZERO_KEY: null })
    };
    Some(json!({ "spec": { "template": { "spec": { "nodeSelector": node_selector } } } }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::daemon_set_template_hash;
    use crate::test_support::canary;

    fn daemon_set(node_selector: &str, strategy: &str) -> DaemonSet {
        serde_saphyr::from_str(&format!(
            "
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: podinfo-ds
  namespace: test
spec:
  selector:
    matchLabels: {{app: podinfo-ds}}
  updateStrategy: {strategy}
  template:
    metadata:
      labels: {{app: podinfo-ds}}
    spec:
      nodeSelector: {node_selector}
      containers:
      - name: podinfod
        image: ghcr.io/stefanprodan/podinfo:6.0.0
"
        ))
        .expect("valid daemon set")
    }

    /// Applies a JSON merge patch (RFC 7386) the way the API server does.
    fn merge(target: &mut Value, patch: &Value) {
        let Value::Object(patch) = patch else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(object) = target {
            for (key, value) in patch {
                if value.is_null() {
                    object.remove(key);
                } else {
                    merge(object.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
    }

    fn patched(daemon_set: &DaemonSet, patch: &Value) -> DaemonSet {
        let mut value = serde_json::to_value(daemon_set).expect("serializable");
        merge(&mut value, patch);
        serde_json::from_value(value).expect("still a DaemonSet")
    }

    #[test]
    fn scaling_to_zero_and_back_restores_the_template_and_keeps_the_hash() {
        for node_selector in ["null", "{kubernetes.io/os: linux}"] {
            let original = daemon_set(node_selector, "{}");
            let down = scale_to_zero_patch(&original).expect("not scaled yet");
            let scaled = patched(&original, &down);
            assert!(is_scaled_to_zero(&scaled));
            assert_eq!(scale_to_zero_patch(&scaled), None, "already at zero");
            assert_eq!(
                daemon_set_template_hash(&scaled).expect("hash"),
                daemon_set_template_hash(&original).expect("hash"),
                "scaling is not a new revision"
            );
            let up = scale_from_zero_patch(&scaled).expect("scaled to zero");
            let restored = patched(&scaled, &up);
            assert_eq!(restored, original, "nodeSelector {node_selector}");
            assert_eq!(scale_from_zero_patch(&restored), None);
        }
    }

    #[test]
    fn the_scale_to_zero_key_never_reaches_the_primary() {
        let canary = canary("");
        let target = patched(
            &daemon_set("{kubernetes.io/os: linux}", "{}"),
            &json!({"spec": {"template": {"spec": {"nodeSelector": {SCALE_TO_ZERO_KEY: "true"}}}}}),
        );
        let options = Options::default();
        let tracked = TrackedConfigs::none();
        let primary =
            primary_daemon_set(&canary, &target, &tracked, &options, "id").expect("valid");
        let promoted =
            promote_daemon_set(&target, &primary, &tracked, &options, "id2").expect("valid");
        for daemon_set in [&primary, &promoted] {
            assert!(!is_scaled_to_zero(daemon_set));
            let node_selector = daemon_set
                .spec
                .as_ref()
                .and_then(|spec| spec.template.spec.as_ref())
                .and_then(|spec| spec.node_selector.clone());
            assert_eq!(
                node_selector,
                Some(BTreeMap::from([(
                    "kubernetes.io/os".into(),
                    "linux".into()
                )]))
            );
        }
    }

    #[test]
    fn only_rolling_updates_are_accepted() {
        let canary = canary("");
        let options = Options::default();
        let tracked = TrackedConfigs::none();
        for strategy in ["{}", "{type: RollingUpdate}"] {
            let target = daemon_set("null", strategy);
            assert!(primary_daemon_set(&canary, &target, &tracked, &options, "id").is_ok());
        }
        let on_delete = daemon_set("null", "{type: OnDelete}");
        let error = primary_daemon_set(&canary, &on_delete, &tracked, &options, "id")
            .expect_err("OnDelete never rolls the primary");
        assert_eq!(
            error.to_string(),
            "daemonset podinfo-ds.test must have RollingUpdate strategy but have OnDelete"
        );
        let primary =
            primary_daemon_set(&canary, &daemon_set("null", "{}"), &tracked, &options, "id")
                .expect("valid");
        assert!(promote_daemon_set(&on_delete, &primary, &tracked, &options, "id").is_err());
    }
}
