//! Deployment targets: the primary Deployment, its promotion, and the
//! replica counts of scaling the target to zero and back (semantics §12.1).
//!
//! ```text
//!   target podinfo (app: podinfo)            primary podinfo-primary (app: podinfo-primary)
//!   ┌──────────────────────────────┐  create  ┌──────────────────────────────────────────┐
//!   │ spec.template ───────────────┼────────▶ │ template: configs → -primary, selectors   │
//!   │ replicas, strategy, ...      │ promote  │ → primary pods, flagger-id: <new id>      │
//!   └──────────────────────────────┘────────▶ └──────────────────────────────────────────┘
//!   scaled to 0 between analyses,             owned by the Canary
//!   scaled up for one
//! ```
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Annotations on create follow the include prefixes.** Flagger copies
//!   every target annotation (but Flux's) when it creates the primary, and
//!   only the `-include-label-prefix` ones when it promotes, so annotations
//!   such as kubectl's last-applied configuration sit on the primary until
//!   the first promotion removes them. weir applies the include prefixes on
//!   both.
//! * **Reverting compares replica counts.** Flagger's `Finalize` compares
//!   two pointers and so always writes; weir returns a count only when the
//!   target's differs from the primary's.
//! * **A missing primary scales the target to one replica** when the target
//!   has none; Flagger fails the call instead.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::{Value, json};
use weir_api::Canary;

use crate::configs::TrackedConfigs;
use crate::error::WorkloadError;
use crate::metadata::{
    canary_owner_reference, name_of, non_empty, primary_labels, primary_template_annotations,
};
use crate::options::{Options, SelectorLabel};
use crate::pod_spec::primary_pod_spec;

/// How Flagger names Deployments in messages.
const KIND: &str = "deployment";

/// The Deployment's `spec`, or an error naming it.
fn spec_of(deployment: &Deployment) -> Result<&DeploymentSpec, WorkloadError> {
    deployment.spec.as_ref().ok_or_else(|| {
        let (name, namespace) = name_of(&deployment.metadata);
        WorkloadError::MissingSpec {
            kind: KIND,
            name,
            namespace,
        }
    })
}

/// The target's selector label (Flagger's `getSelectorLabel`).
pub fn selector_label(
    deployment: &Deployment,
    options: &Options,
) -> Result<SelectorLabel, WorkloadError> {
    let spec = spec_of(deployment)?;
    let (name, namespace) = name_of(&deployment.metadata);
    options.selector_label(spec.selector.match_labels.as_ref(), KIND, &name, &namespace)
}

/// The primary Deployment `<target>-primary` for a new Canary (Flagger's
/// `createPrimaryDeployment`). `flagger_id` is a fresh UUID the caller
/// generates; `tracked` says which configs have `-primary` copies.
pub fn primary_deployment(
    canary: &Canary,
    target: &Deployment,
    tracked: &TrackedConfigs,
    options: &Options,
    flagger_id: &str,
) -> Result<Deployment, WorkloadError> {
    let spec = spec_of(target)?;
    let selector = selector_label(target, options)?;
    let replicas = spec.replicas.filter(|replicas| *replicas > 0).unwrap_or(1);
    Ok(Deployment {
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
        spec: Some(DeploymentSpec {
            progress_deadline_seconds: spec.progress_deadline_seconds,
            min_ready_seconds: spec.min_ready_seconds,
            revision_history_limit: spec.revision_history_limit,
            replicas: Some(replicas),
            strategy: spec.strategy.clone(),
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    selector.key.clone(),
                    selector.primary_value(),
                )])),
                match_expressions: None,
            },
            template: primary_template(&spec.template, tracked, &selector, flagger_id),
            ..DeploymentSpec::default()
        }),
        status: None,
    })
}

/// The primary after promoting the target into it (Flagger's `Promote`):
/// the existing `primary` with the target's rollout settings, replicas
/// (unless an autoscaler owns them), pod template and include-prefix
/// metadata. The selector stays: it is immutable.
pub fn promote_deployment(
    canary: &Canary,
    target: &Deployment,
    primary: &Deployment,
    tracked: &TrackedConfigs,
    options: &Options,
    flagger_id: &str,
) -> Result<Deployment, WorkloadError> {
    let target_spec = spec_of(target)?;
    let selector = selector_label(target, options)?;
    let mut promoted = primary.clone();
    let spec = promoted.spec.get_or_insert_with(DeploymentSpec::default);
    spec.progress_deadline_seconds = target_spec.progress_deadline_seconds;
    spec.min_ready_seconds = target_spec.min_ready_seconds;
    spec.revision_history_limit = target_spec.revision_history_limit;
    spec.strategy = target_spec.strategy.clone();
    if canary.spec.autoscaler_ref.is_none() {
        spec.replicas = target_spec.replicas;
    }
    spec.template = primary_template(&target_spec.template, tracked, &selector, flagger_id);
    promoted.metadata.labels = Some(primary_labels(
        Some(&options.include_by_prefix(target.metadata.labels.as_ref())),
        &selector,
    ));
    promoted.metadata.annotations =
        non_empty(options.include_by_prefix(target.metadata.annotations.as_ref()));
    Ok(promoted)
}

/// The primary's pod template for the target's: selector label set to the
/// primary's value, a new `flagger-id`, and the primary pod spec.
pub(crate) fn primary_template(
    template: &PodTemplateSpec,
    tracked: &TrackedConfigs,
    selector: &SelectorLabel,
    flagger_id: &str,
) -> PodTemplateSpec {
    let metadata = template.metadata.clone().unwrap_or_default();
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(primary_labels(metadata.labels.as_ref(), selector)),
            annotations: Some(primary_template_annotations(
                metadata.annotations.as_ref(),
                flagger_id,
            )),
            ..ObjectMeta::default()
        }),
        spec: template
            .spec
            .as_ref()
            .map(|spec| primary_pod_spec(spec, tracked, selector)),
    }
}

/// The merge patch that sets a Deployment's replicas (`ScaleToZero` is
/// `scale_patch(0)`). A merge patch needs no resourceVersion and leaves
/// every other field alone.
pub fn scale_patch(replicas: i32) -> Value {
    json!({ "spec": { "replicas": replicas } })
}

/// How many replicas the target gets for an analysis (Flagger's
/// `ScaleFromZero`): its own count if positive; else, without an
/// autoscaler, the primary's if positive; else, with one, the autoscaler's
/// minimum if above 1 (HPA `minReplicas`, ScaledObject `minReplicaCount`,
/// see `autoscalers`); else 1.
pub fn scale_from_zero_replicas(
    canary: &Canary,
    target: &Deployment,
    primary: Option<&Deployment>,
    autoscaler_min_replicas: Option<i32>,
) -> i32 {
    let positive = |replicas: Option<i32>| replicas.filter(|replicas| *replicas > 0);
    let replicas_of = |deployment: &Deployment| deployment.spec.as_ref()?.replicas;
    if let Some(replicas) = positive(replicas_of(target)) {
        return replicas;
    }
    let fallback = if canary.spec.autoscaler_ref.is_none() {
        positive(primary.and_then(replicas_of))
    } else {
        autoscaler_min_replicas.filter(|replicas| *replicas > 1)
    };
    fallback.unwrap_or(1)
}

/// `revertOnDeletion`: the replica count to give the target back (Flagger's
/// `Finalize`): the primary's (1 when unset) when it differs from the
/// target's; without a primary, [`scale_from_zero_replicas`]. `None` when
/// nothing needs writing.
pub fn revert_replicas(
    canary: &Canary,
    target: &Deployment,
    primary: Option<&Deployment>,
    autoscaler_min_replicas: Option<i32>,
) -> Option<i32> {
    let current = target.spec.as_ref().and_then(|spec| spec.replicas);
    let wanted = match primary {
        None => scale_from_zero_replicas(canary, target, None, autoscaler_min_replicas),
        Some(primary) => primary
            .spec
            .as_ref()
            .and_then(|spec| spec.replicas)
            .unwrap_or(1),
    };
    (current != Some(wanted)).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const AUTOSCALED: &str = "  autoscalerRef:\n    apiVersion: autoscaling/v2\n    kind: HorizontalPodAutoscaler\n    name: podinfo\n";

    fn deployment(name: &str, replicas: Option<i32>) -> Deployment {
        let mut deployment: Deployment = serde_saphyr::from_str(&format!(
            "
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: test
spec:
  selector:
    matchLabels: {{app: podinfo}}
  template:
    metadata:
      labels: {{app: podinfo}}
    spec:
      containers:
      - name: podinfod
        image: ghcr.io/stefanprodan/podinfo:6.0.0
"
        ))
        .expect("valid deployment");
        if let Some(spec) = deployment.spec.as_mut() {
            spec.replicas = replicas;
        }
        deployment
    }

    #[test]
    fn scaling_from_zero_keeps_the_targets_own_replicas() {
        let canary = canary("");
        let primary = deployment("podinfo-primary", Some(4));
        let target = deployment("podinfo", Some(3));
        assert_eq!(
            scale_from_zero_replicas(&canary, &target, Some(&primary), None),
            3
        );
    }

    #[test]
    fn without_an_autoscaler_a_target_at_zero_gets_the_primarys_replicas() {
        let canary = canary("");
        let target = deployment("podinfo", Some(0));
        let primary = deployment("podinfo-primary", Some(4));
        assert_eq!(
            scale_from_zero_replicas(&canary, &target, Some(&primary), Some(9)),
            4
        );
        let idle_primary = deployment("podinfo-primary", Some(0));
        assert_eq!(
            scale_from_zero_replicas(&canary, &target, Some(&idle_primary), None),
            1
        );
        assert_eq!(scale_from_zero_replicas(&canary, &target, None, None), 1);
    }

    #[test]
    fn with_an_autoscaler_a_target_at_zero_gets_its_minimum_above_one() {
        let canary = canary(AUTOSCALED);
        let target = deployment("podinfo", Some(0));
        let primary = deployment("podinfo-primary", Some(4));
        assert_eq!(
            scale_from_zero_replicas(&canary, &target, Some(&primary), Some(2)),
            2
        );
        assert_eq!(
            scale_from_zero_replicas(&canary, &target, Some(&primary), Some(1)),
            1,
            "the primary's count is not used when an autoscaler owns replicas"
        );
        assert_eq!(
            scale_from_zero_replicas(&canary, &target, Some(&primary), None),
            1
        );
        let unset = deployment("podinfo", None);
        assert_eq!(scale_from_zero_replicas(&canary, &unset, None, Some(3)), 3);
    }

    #[test]
    fn reverting_gives_the_target_the_primarys_replicas_only_when_they_differ() {
        let canary = canary("");
        let target = deployment("podinfo", Some(0));
        assert_eq!(
            revert_replicas(
                &canary,
                &target,
                Some(&deployment("podinfo-primary", Some(3))),
                None
            ),
            Some(3)
        );
        assert_eq!(
            revert_replicas(
                &canary,
                &target,
                Some(&deployment("podinfo-primary", None)),
                None
            ),
            Some(1),
            "an unset primary count means one replica"
        );
        let scaled = deployment("podinfo", Some(3));
        assert_eq!(
            revert_replicas(
                &canary,
                &scaled,
                Some(&deployment("podinfo-primary", Some(3))),
                None
            ),
            None
        );
        assert_eq!(
            revert_replicas(&canary, &target, None, None),
            Some(1),
            "without a primary the target scales from zero"
        );
    }

    #[test]
    fn the_scale_patch_sets_only_replicas() {
        assert_eq!(scale_patch(0), serde_json::json!({"spec": {"replicas": 0}}));
    }

    #[test]
    fn a_new_primary_runs_at_least_one_replica() {
        let canary = canary("");
        let options = Options::default();
        for replicas in [None, Some(0)] {
            let primary = primary_deployment(
                &canary,
                &deployment("podinfo", replicas),
                &TrackedConfigs::none(),
                &options,
                "id",
            )
            .expect("valid target");
            assert_eq!(primary.spec.and_then(|spec| spec.replicas), Some(1));
        }
    }

    #[test]
    fn promotion_copies_replicas_unless_an_autoscaler_owns_them() {
        let options = Options::default();
        let target = deployment("podinfo", Some(5));
        let primary = deployment("podinfo-primary", Some(2));
        let replicas = |canary: &Canary| {
            promote_deployment(
                canary,
                &target,
                &primary,
                &TrackedConfigs::none(),
                &options,
                "id",
            )
            .expect("valid")
            .spec
            .and_then(|spec| spec.replicas)
        };
        assert_eq!(replicas(&canary("")), Some(5));
        assert_eq!(replicas(&canary(AUTOSCALED)), Some(2));
    }

    #[test]
    fn a_target_without_a_selector_label_cannot_get_a_primary() {
        let mut target = deployment("podinfo", Some(1));
        if let Some(spec) = target.spec.as_mut() {
            spec.selector.match_labels = Some(BTreeMap::from([("tier".into(), "web".into())]));
        }
        let error = primary_deployment(
            &canary(""),
            &target,
            &TrackedConfigs::none(),
            &Options::default(),
            "id",
        )
        .expect_err("no selector label");
        assert!(
            error.to_string().contains(
                "spec.selector.matchLabels must contain one of [app name app.kubernetes.io/name]"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_canary_without_uid_cannot_own_a_primary() {
        let mut canary = canary("");
        canary.metadata.uid = None;
        let error = primary_deployment(
            &canary,
            &deployment("podinfo", Some(1)),
            &TrackedConfigs::none(),
            &Options::default(),
            "id",
        )
        .expect_err("owner references need a uid");
        assert_eq!(
            error,
            WorkloadError::MissingCanaryUid {
                name: "podinfo".into(),
                namespace: "test".into()
            }
        );
    }
}
