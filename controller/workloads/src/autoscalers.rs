//! The primary's autoscaler, mirrored from the target's (semantics §12.4):
//! an `autoscaling/v2` HorizontalPodAutoscaler or a KEDA ScaledObject
//! (`keda.sh/v1alpha1`, handled as JSON: weir does not depend on KEDA's types).
//!
//! ```text
//!   autoscalerRef podinfo (→ Deployment podinfo)   ──▶  podinfo-primary (→ Deployment podinfo-primary)
//!   min/max, metrics, behavior                            the same, min/max from primaryScalerReplicas if set
//!   KEDA triggers[].metadata.query                        primaryScalerQueries[trigger name], or the query
//!                                                         with podinfo-canary / podinfo → podinfo-primary
//! ```
//!
//! The primary autoscaler is created when missing and, except while the
//! Canary initializes, updated when what weir derives differs from it.
//! While a canary runs, the target's ScaledObject is paused at zero
//! replicas (`autoscaling.keda.sh/paused-replicas: "0"`) so that KEDA does
//! not fight the analysis; an HPA needs no pause, it does not scale a
//! Deployment that has zero replicas.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Updates compare what weir writes.** Flagger compares the *target's*
//!   labels and annotations with the primary's, which it wrote without
//!   annotations and without Flux keys, so an HPA with any annotation (say,
//!   kubectl's last-applied configuration) is rewritten on every tick; and
//!   its metadata update is a no-op (it filters a map it just emptied).
//!   weir derives the primary's labels (the target's, without Flux keys) and
//!   annotations (the include-prefix ones, never KEDA's pause annotations)
//!   once, and writes only when they or the spec differ, `scaleTargetRef`
//!   included.
//! * **A ScaledObject's whole spec is copied**, then adjusted, where Flagger
//!   copies a fixed list of fields and drops newer ones (e.g.
//!   `initialCooldownPeriod`).
//! * **Query rewriting keeps `<target>-primary`**: Flagger turns an existing
//!   `podinfo-primary` into `podinfo-primary-primary`. Triggers not named in
//!   `primaryScalerQueries` get the rewritten query rather than the
//!   target's.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value, json};
use weir_api::Canary;
use weir_api::canary::AutoscalerRef;

use crate::error::WorkloadError;
use crate::metadata::{canary_owner_reference, non_empty, without_toolkit_keys};
use crate::options::Options;

/// KEDA's API version.
pub const KEDA_API_VERSION: &str = "keda.sh/v1alpha1";
/// KEDA's kind.
pub const SCALED_OBJECT_KIND: &str = "ScaledObject";
/// Pauses a ScaledObject at the given replica count.
pub const PAUSED_REPLICAS_ANNOTATION: &str = "autoscaling.keda.sh/paused-replicas";
/// Pauses a ScaledObject where it is. Never copied to the primary either.
pub const PAUSED_ANNOTATION: &str = "autoscaling.keda.sh/paused";
/// The trigger metadata key holding the query weir rewrites.
const QUERY: &str = "query";
/// An HPA without `minReplicas` keeps at least one replica.
const DEFAULT_MIN_REPLICAS: i32 = 1;

fn autoscaler_ref(canary: &Canary) -> Result<&AutoscalerRef, WorkloadError> {
    canary
        .spec
        .autoscaler_ref
        .as_ref()
        .ok_or_else(|| WorkloadError::MissingAutoscalerRef {
            name: canary.name().to_owned(),
            namespace: canary.namespace().to_owned(),
        })
}

/// `<autoscalerRef.name>-primary`.
pub fn primary_autoscaler_name(canary: &Canary) -> Result<String, WorkloadError> {
    Ok(format!("{}-primary", autoscaler_ref(canary)?.name))
}

/// The primary autoscaler's metadata: the target's labels without Flux
/// keys, its include-prefix annotations without KEDA's pause annotations,
/// owned by the Canary.
fn primary_metadata(
    canary: &Canary,
    labels: Option<&BTreeMap<String, String>>,
    annotations: Option<&BTreeMap<String, String>>,
    options: &Options,
) -> Result<ObjectMeta, WorkloadError> {
    let mut annotations = options.include_by_prefix(annotations);
    annotations.retain(|key, _| key != PAUSED_REPLICAS_ANNOTATION && key != PAUSED_ANNOTATION);
    Ok(ObjectMeta {
        name: Some(primary_autoscaler_name(canary)?),
        namespace: Some(canary.namespace().to_owned()),
        labels: non_empty(without_toolkit_keys(labels)),
        annotations: non_empty(annotations),
        owner_references: Some(vec![canary_owner_reference(canary)?]),
        ..ObjectMeta::default()
    })
}

/// The primary HPA for the target's HPA.
pub fn primary_hpa(
    canary: &Canary,
    target: &HorizontalPodAutoscaler,
    options: &Options,
) -> Result<HorizontalPodAutoscaler, WorkloadError> {
    let overrides = autoscaler_ref(canary)?.primary_scaler_replicas.as_ref();
    let spec = target.spec.clone().unwrap_or_default();
    Ok(HorizontalPodAutoscaler {
        metadata: primary_metadata(
            canary,
            target.metadata.labels.as_ref(),
            target.metadata.annotations.as_ref(),
            options,
        )?,
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                name: canary.spec.primary_workload_name(),
                kind: spec.scale_target_ref.kind,
                api_version: spec.scale_target_ref.api_version,
            },
            min_replicas: overrides
                .and_then(|overrides| overrides.min_replicas)
                .or(spec.min_replicas),
            max_replicas: overrides
                .and_then(|overrides| overrides.max_replicas)
                .unwrap_or(spec.max_replicas),
            metrics: spec.metrics,
            behavior: spec.behavior,
        }),
        status: None,
    })
}

/// What to write for the primary HPA: `desired` when there is none; while
/// initializing nothing else; afterwards the live HPA with spec, labels and
/// annotations replaced when any differs (`minReplicas` unset counts as 1).
pub fn reconcile_primary_hpa(
    existing: Option<&HorizontalPodAutoscaler>,
    desired: &HorizontalPodAutoscaler,
    initializing: bool,
) -> Option<HorizontalPodAutoscaler> {
    let Some(existing) = existing else {
        return Some(desired.clone());
    };
    if initializing {
        return None;
    }
    let comparable = |hpa: &HorizontalPodAutoscaler| {
        let mut spec = hpa.spec.clone().unwrap_or_default();
        spec.min_replicas = Some(spec.min_replicas.unwrap_or(DEFAULT_MIN_REPLICAS));
        (
            spec,
            hpa.metadata.labels.clone().unwrap_or_default(),
            hpa.metadata.annotations.clone().unwrap_or_default(),
        )
    };
    if comparable(existing) == comparable(desired) {
        return None;
    }
    let mut updated = existing.clone();
    updated.spec.clone_from(&desired.spec);
    updated.metadata.labels.clone_from(&desired.metadata.labels);
    updated
        .metadata
        .annotations
        .clone_from(&desired.metadata.annotations);
    Some(updated)
}

/// The HPA's `minReplicas`, for scaling the target up from zero.
pub fn hpa_min_replicas(hpa: &HorizontalPodAutoscaler) -> Option<i32> {
    hpa.spec.as_ref()?.min_replicas
}

/// The query the primary's trigger runs: `primaryScalerQueries[trigger]`
/// if set, else `query` with `<target>-canary` and `<target>` (but not
/// `<target>-primary`) replaced by `<target>-primary`.
pub fn primary_scaler_query(canary: &Canary, trigger_name: Option<&str>, query: &str) -> String {
    let configured = canary
        .spec
        .autoscaler_ref
        .as_ref()
        .zip(trigger_name)
        .and_then(|(reference, name)| reference.primary_scaler_queries.get(name));
    if let Some(configured) = configured {
        return configured.clone();
    }
    let target = canary.spec.target_ref.name.as_str();
    if target.is_empty() {
        return query.to_owned();
    }
    let primary = format!("{target}-primary");
    let canary_name = format!("{target}-canary");
    let mut rewritten = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(first) = rest.chars().next() {
        if rest.starts_with(&primary) {
            rewritten.push_str(&primary);
            rest = &rest[primary.len()..];
        } else if rest.starts_with(&canary_name) {
            rewritten.push_str(&primary);
            rest = &rest[canary_name.len()..];
        } else if rest.starts_with(target) {
            rewritten.push_str(&primary);
            rest = &rest[target.len()..];
        } else {
            rewritten.push(first);
            rest = &rest[first.len_utf8()..];
        }
    }
    rewritten
}

/// The primary ScaledObject for the target's: its spec with
/// `scaleTargetRef.name` → `<target>-primary`, `primaryScalerReplicas` as
/// `minReplicaCount` / `maxReplicaCount`, a named HPA renamed
/// `<name>-primary` (KEDA would otherwise fight over one HPA), and trigger
/// queries rewritten ([`primary_scaler_query`]).
pub fn primary_scaled_object(
    canary: &Canary,
    target: &Value,
    options: &Options,
) -> Result<Value, WorkloadError> {
    let invalid = |reason: &str| WorkloadError::InvalidScaledObject {
        name: target["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        namespace: canary.namespace().to_owned(),
        reason: reason.to_owned(),
    };
    let overrides = autoscaler_ref(canary)?.primary_scaler_replicas.clone();
    let mut spec = target
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| invalid("spec is not an object"))?;

    let scale_target = spec
        .get_mut("scaleTargetRef")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| invalid("spec.scaleTargetRef is not an object"))?;
    scale_target.insert(
        "name".to_owned(),
        Value::String(canary.spec.primary_workload_name()),
    );

    if let Some(overrides) = overrides {
        if let Some(min) = overrides.min_replicas {
            spec.insert("minReplicaCount".to_owned(), json!(min));
        }
        if let Some(max) = overrides.max_replicas {
            spec.insert("maxReplicaCount".to_owned(), json!(max));
        }
    }

    if let Some(Value::String(hpa_name)) = spec
        .get_mut("advanced")
        .and_then(|advanced| advanced.get_mut("horizontalPodAutoscalerConfig"))
        .and_then(|config| config.get_mut("name"))
        && !hpa_name.is_empty()
    {
        hpa_name.push_str("-primary");
    }

    for trigger in spec
        .get_mut("triggers")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let name = trigger
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(query) = trigger
            .get_mut("metadata")
            .and_then(|metadata| metadata.get_mut(QUERY))
            && let Value::String(text) = query
        {
            *text = primary_scaler_query(canary, name.as_deref(), text);
        }
    }

    let string_map = |field: &str| -> Option<BTreeMap<String, String>> {
        let entries = target.get("metadata")?.get(field)?.as_object()?;
        Some(
            entries
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect(),
        )
    };
    let metadata = primary_metadata(
        canary,
        string_map("labels").as_ref(),
        string_map("annotations").as_ref(),
        options,
    )?;
    let metadata =
        serde_json::to_value(&metadata).map_err(|error| WorkloadError::Serialization {
            what: "ScaledObject metadata",
            reason: error.to_string(),
        })?;
    Ok(json!({
        "apiVersion": KEDA_API_VERSION,
        "kind": SCALED_OBJECT_KIND,
        "metadata": metadata,
        "spec": Value::Object(spec),
    }))
}

/// What to write for the primary ScaledObject, with the same rule as
/// [`reconcile_primary_hpa`]: spec, labels and annotations compared.
pub fn reconcile_primary_scaled_object(
    existing: Option<&Value>,
    desired: &Value,
    initializing: bool,
) -> Option<Value> {
    let Some(existing) = existing else {
        return Some(desired.clone());
    };
    if initializing {
        return None;
    }
    let empty = Value::Object(Map::new());
    let field = |object: &Value, path: [&str; 2]| -> Value {
        let value = &object[path[0]][path[1]];
        if value.is_null() {
            empty.clone()
        } else {
            value.clone()
        }
    };
    let paths = [["metadata", "labels"], ["metadata", "annotations"]];
    let spec_differs = existing.get("spec") != desired.get("spec");
    let metadata_differs = paths
        .iter()
        .any(|path| field(existing, *path) != field(desired, *path));
    if !spec_differs && !metadata_differs {
        return None;
    }
    let mut updated = existing.clone();
    if let Some(object) = updated.as_object_mut() {
        object.insert(
            "spec".to_owned(),
            desired.get("spec").cloned().unwrap_or(Value::Null),
        );
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            for [_, key] in paths {
                match desired["metadata"].get(key) {
                    Some(value) => metadata.insert(key.to_owned(), value.clone()),
                    None => metadata.remove(key),
                };
            }
        }
    }
    Some(updated)
}

/// The ScaledObject's `minReplicaCount`, for scaling the target up from zero.
pub fn scaled_object_min_replica_count(scaled_object: &Value) -> Option<i32> {
    scaled_object["spec"]["minReplicaCount"]
        .as_i64()
        .and_then(|count| i32::try_from(count).ok())
}

/// Whether the ScaledObject is paused at a replica count.
pub fn is_paused(scaled_object: &Value) -> bool {
    !scaled_object["metadata"]["annotations"][PAUSED_REPLICAS_ANNOTATION].is_null()
}

/// The merge patch that pauses the target's ScaledObject at zero replicas
/// while a canary runs (Flagger's `PauseTargetScaler`).
pub fn pause_patch() -> Value {
    json!({ "metadata": { "annotations": { PAUSED_REPLICAS_ANNOTATION: "0" } } })
}

/// The merge patch that resumes it (Flagger's `ResumeTargetScaler`).
pub fn resume_patch() -> Value {
    json!({ "metadata": { "annotations": { PAUSED_REPLICAS_ANNOTATION: null } } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    fn keda_canary(extra: &str) -> Canary {
        canary(&format!(
            "  autoscalerRef:\n    apiVersion: keda.sh/v1alpha1\n    kind: ScaledObject\n    name: podinfo-so\n{extra}"
        ))
    }

    fn scaled_object() -> Value {
        json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {
                "name": "podinfo-so",
                "namespace": "test",
                "labels": {"app": "podinfo", "kustomize.toolkit.fluxcd.io/name": "apps"},
                "annotations": {PAUSED_REPLICAS_ANNOTATION: "0", "team/owner": "web"}
            },
            "spec": {
                "scaleTargetRef": {"name": "podinfo"},
                "pollingInterval": 10,
                "minReplicaCount": 2,
                "maxReplicaCount": 3,
                "initialCooldownPeriod": 30,
                "advanced": {"horizontalPodAutoscalerConfig": {"name": "podinfo-hpa"}},
                "triggers": [
                    {"type": "prometheus", "name": "requests", "metadata": {
                        "serverAddress": "http://prometheus:9090",
                        "query": "sum(rate(http_requests_total{app=\"podinfo-canary\"}[30s]))"
                    }},
                    {"type": "prometheus", "metadata": {
                        "query": "sum(rate(http_requests_total{deployment=\"podinfo\"}[30s]))"
                    }},
                    {"type": "cpu", "metadata": {"value": "50"}}
                ]
            }
        })
    }

    #[test]
    fn queries_point_at_the_primary_unless_configured() {
        let canary = keda_canary("");
        let rewrite = |query| primary_scaler_query(&canary, Some("requests"), query);
        assert_eq!(rewrite("{app=\"podinfo\"}"), "{app=\"podinfo-primary\"}");
        assert_eq!(
            rewrite("{app=\"podinfo-canary\"}"),
            "{app=\"podinfo-primary\"}"
        );
        assert_eq!(
            rewrite("{app=\"podinfo-primary\"}"),
            "{app=\"podinfo-primary\"}",
            "an existing primary name is not suffixed again"
        );
        assert_eq!(rewrite("up{job=\"other\"} ≥ 1"), "up{job=\"other\"} ≥ 1");
        let configured = keda_canary("    primaryScalerQueries:\n      requests: vector(1)\n");
        assert_eq!(
            primary_scaler_query(&configured, Some("requests"), "{app=\"podinfo\"}"),
            "vector(1)"
        );
        assert_eq!(
            primary_scaler_query(&configured, Some("other"), "{app=\"podinfo\"}"),
            "{app=\"podinfo-primary\"}"
        );
        assert_eq!(
            primary_scaler_query(&configured, None, "{app=\"podinfo\"}"),
            "{app=\"podinfo-primary\"}"
        );
    }

    #[test]
    fn the_primary_scaled_object_targets_the_primary_with_overrides() {
        let canary = keda_canary(
            "    primaryScalerQueries:\n      requests: sum(rate(http_requests_total{app=\"podinfo-primary\"}[30s]))\n    primaryScalerReplicas:\n      minReplicas: 3\n      maxReplicas: 6\n",
        );
        let options = Options::from_flags("app", "*", true).expect("valid");
        let primary = primary_scaled_object(&canary, &scaled_object(), &options).expect("valid");
        assert_eq!(primary["metadata"]["name"], "podinfo-so-primary");
        assert_eq!(primary["metadata"]["labels"], json!({"app": "podinfo"}));
        assert_eq!(
            primary["metadata"]["annotations"],
            json!({"team/owner": "web"}),
            "the target's pause never pauses the primary"
        );
        assert_eq!(primary["metadata"]["ownerReferences"][0]["kind"], "Canary");
        let spec = &primary["spec"];
        assert_eq!(spec["scaleTargetRef"], json!({"name": "podinfo-primary"}));
        assert_eq!(spec["minReplicaCount"], 3);
        assert_eq!(spec["maxReplicaCount"], 6);
        assert_eq!(
            spec["initialCooldownPeriod"], 30,
            "fields weir does not know are copied"
        );
        assert_eq!(
            spec["advanced"]["horizontalPodAutoscalerConfig"]["name"],
            "podinfo-hpa-primary"
        );
        assert_eq!(
            spec["triggers"][0]["metadata"]["query"],
            "sum(rate(http_requests_total{app=\"podinfo-primary\"}[30s]))"
        );
        assert_eq!(
            spec["triggers"][1]["metadata"]["query"],
            "sum(rate(http_requests_total{deployment=\"podinfo-primary\"}[30s]))"
        );
        assert_eq!(
            spec["triggers"][2],
            json!({"type": "cpu", "metadata": {"value": "50"}})
        );
    }

    #[test]
    fn a_scaled_object_without_spec_or_target_is_an_error() {
        let canary = keda_canary("");
        let broken = json!({"metadata": {"name": "podinfo-so"}, "spec": {"triggers": []}});
        let error = primary_scaled_object(&canary, &broken, &Options::default())
            .expect_err("no scaleTargetRef");
        assert_eq!(
            error.to_string(),
            "ScaledObject podinfo-so.test is invalid: spec.scaleTargetRef is not an object"
        );
        assert!(primary_scaled_object(&canary, &json!("nope"), &Options::default()).is_err());
        let without_autoscaler = crate::test_support::canary("");
        assert!(
            primary_scaled_object(&without_autoscaler, &scaled_object(), &Options::default())
                .is_err(),
            "no autoscalerRef"
        );
    }

    #[test]
    fn the_primary_scaled_object_is_rewritten_only_when_it_differs() {
        let canary = keda_canary("");
        let desired =
            primary_scaled_object(&canary, &scaled_object(), &Options::default()).expect("valid");
        assert_eq!(
            reconcile_primary_scaled_object(None, &desired, true),
            Some(desired.clone())
        );
        let mut live = desired.clone();
        live["metadata"]["resourceVersion"] = json!("7");
        live["status"] = json!({"hpaName": "keda-hpa-podinfo-so-primary"});
        assert_eq!(
            reconcile_primary_scaled_object(Some(&live), &desired, false),
            None
        );
        live["spec"]["maxReplicaCount"] = json!(10);
        live["metadata"]["labels"]["stale"] = json!("x");
        assert_eq!(
            reconcile_primary_scaled_object(Some(&live), &desired, true),
            None,
            "never updated while initializing"
        );
        let updated =
            reconcile_primary_scaled_object(Some(&live), &desired, false).expect("differs");
        assert_eq!(updated["spec"], desired["spec"]);
        assert_eq!(updated["metadata"]["labels"], desired["metadata"]["labels"]);
        assert_eq!(updated["metadata"]["resourceVersion"], "7");
        assert_eq!(updated["status"], live["status"]);
    }

    #[test]
    fn pausing_and_resuming_toggle_the_paused_replicas_annotation() {
        let mut scaled = scaled_object();
        assert!(is_paused(&scaled));
        assert_eq!(
            resume_patch(),
            json!({"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": null}}})
        );
        scaled["metadata"]["annotations"] = json!({});
        assert!(!is_paused(&scaled));
        assert_eq!(
            pause_patch(),
            json!({"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": "0"}}})
        );
        assert_eq!(scaled_object_min_replica_count(&scaled), Some(2));
        assert_eq!(scaled_object_min_replica_count(&json!({})), None);
    }

    fn hpa(annotations: &str) -> HorizontalPodAutoscaler {
        serde_saphyr::from_str(&format!(
            "
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: podinfo
  namespace: test
  labels: {{app: podinfo}}
  annotations: {annotations}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  minReplicas: 2
  maxReplicas: 4
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {{type: Utilization, averageUtilization: 99}}
"
        ))
        .expect("valid HPA")
    }

    #[test]
    fn a_primary_hpa_with_annotations_is_not_rewritten_every_tick() {
        let canary = canary(
            "  autoscalerRef:\n    apiVersion: autoscaling/v2\n    kind: HorizontalPodAutoscaler\n    name: podinfo\n",
        );
        let target = hpa("{kubectl.kubernetes.io/last-applied-configuration: '{}'}");
        let desired = primary_hpa(&canary, &target, &Options::default()).expect("valid");
        assert_eq!(
            desired.metadata.annotations, None,
            "no include prefix, no annotations"
        );
        let mut live = desired.clone();
        live.metadata.resource_version = Some("3".into());
        assert_eq!(reconcile_primary_hpa(Some(&live), &desired, false), None);
    }

    #[test]
    fn the_primary_hpa_is_updated_when_bounds_or_metrics_change_but_not_while_initializing() {
        let canary = canary(
            "  autoscalerRef:\n    apiVersion: autoscaling/v2\n    kind: HorizontalPodAutoscaler\n    name: podinfo\n",
        );
        let desired = primary_hpa(&canary, &hpa("{}"), &Options::default()).expect("valid");
        let mut live = desired.clone();
        if let Some(spec) = live.spec.as_mut() {
            spec.max_replicas = 9;
            spec.metrics = None;
        }
        assert_eq!(reconcile_primary_hpa(Some(&live), &desired, true), None);
        let updated = reconcile_primary_hpa(Some(&live), &desired, false).expect("differs");
        assert_eq!(updated.spec, desired.spec);

        // minReplicas unset and 1 are the same.
        let mut one = desired.clone();
        let mut unset = desired.clone();
        if let (Some(one), Some(unset)) = (one.spec.as_mut(), unset.spec.as_mut()) {
            one.min_replicas = Some(1);
            unset.min_replicas = None;
        }
        assert_eq!(reconcile_primary_hpa(Some(&unset), &one, false), None);
        assert_eq!(hpa_min_replicas(&one), Some(1));
    }
}
