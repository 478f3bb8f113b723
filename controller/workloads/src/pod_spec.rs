//! The primary's pod spec: the target's, pointed at the primary's configs
//! and pods.
//!
//! Two things differ from the target's pod spec:
//!
//! * tracked ConfigMap and Secret references name the `-primary` copies
//!   (volumes, projected sources, `env[].valueFrom`, `envFrom`, in containers
//!   and init containers);
//! * `topologySpreadConstraints` and `podAntiAffinity` label selectors that
//!   select the target's pods by the selector label select the primary's
//!   pods instead, so that the primary spreads against itself as the target
//!   did.
//!
//! Where weir differs from Flagger, on purpose: Flagger renames a selector
//! value when its key is any of the `-selector-labels` candidates and the
//! value equals the target's *name*. Only the selector label differs between
//! the two workloads' pods, so weir renames values of the selector label
//! that equal its value: a selector on another candidate key would select no
//! pod after Flagger's renaming, and a selector label whose value is not the
//! Deployment's name would keep selecting the canary's pods.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::configs::{TrackedConfigs, rename_tracked_configs};
use crate::options::SelectorLabel;

/// The primary's pod spec for the target's `spec` (Flagger's
/// `getPrimaryDeploymentTemplateSpec`).
pub fn primary_pod_spec(
    spec: &PodSpec,
    tracked: &TrackedConfigs,
    selector: &SelectorLabel,
) -> PodSpec {
    let mut primary = spec.clone();
    rename_tracked_configs(&mut primary, tracked);
    for constraint in primary.topology_spread_constraints.iter_mut().flatten() {
        select_primary_pods(constraint.label_selector.as_mut(), selector);
    }
    let anti_affinity = primary
        .affinity
        .as_mut()
        .and_then(|affinity| affinity.pod_anti_affinity.as_mut());
    if let Some(anti_affinity) = anti_affinity {
        let preferred = anti_affinity
            .preferred_during_scheduling_ignored_during_execution
            .iter_mut()
            .flatten();
        for weighted in preferred {
            select_primary_pods(weighted.pod_affinity_term.label_selector.as_mut(), selector);
        }
        let required = anti_affinity
            .required_during_scheduling_ignored_during_execution
            .iter_mut()
            .flatten();
        for term in required {
            select_primary_pods(term.label_selector.as_mut(), selector);
        }
    }
    primary
}

/// Points a label selector that selects the target's pods at the primary's.
fn select_primary_pods(label_selector: Option<&mut LabelSelector>, selector: &SelectorLabel) {
    let Some(label_selector) = label_selector else {
        return;
    };
    if let Some(value) = label_selector
        .match_labels
        .as_mut()
        .and_then(|labels| labels.get_mut(&selector.key))
        && *value == selector.value
    {
        *value = selector.primary_value();
    }
    let expressions = label_selector.match_expressions.iter_mut().flatten();
    for expression in expressions.filter(|expression| expression.key == selector.key) {
        for value in expression.values.iter_mut().flatten() {
            if *value == selector.value {
                *value = selector.primary_value();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector() -> SelectorLabel {
        SelectorLabel {
            key: "app".into(),
            value: "podinfo".into(),
        }
    }

    #[test]
    fn spread_and_anti_affinity_selectors_on_the_target_pods_select_the_primary_pods() {
        let spec: PodSpec = serde_saphyr::from_str(
            "
containers: []
topologySpreadConstraints:
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: DoNotSchedule
  labelSelector:
    matchLabels: {app: podinfo, tier: web}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchExpressions:
          - {key: app, operator: In, values: [podinfo, other]}
          - {key: name, operator: In, values: [podinfo]}
    requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels: {app: other}
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels: {app: podinfo}
",
        )
        .expect("valid pod spec");
        let primary = primary_pod_spec(&spec, &TrackedConfigs::none(), &selector());
        let spread = primary.topology_spread_constraints.as_ref().expect("kept")[0]
            .label_selector
            .as_ref()
            .expect("selector");
        let labels = spread.match_labels.as_ref().expect("labels");
        assert_eq!(labels["app"], "podinfo-primary");
        assert_eq!(
            labels["tier"], "web",
            "other labels are the same on both workloads"
        );

        let affinity = primary.affinity.as_ref().expect("kept");
        let anti = affinity.pod_anti_affinity.as_ref().expect("kept");
        let preferred = &anti
            .preferred_during_scheduling_ignored_during_execution
            .as_ref()
            .expect("kept")[0];
        let expressions = preferred
            .pod_affinity_term
            .label_selector
            .as_ref()
            .and_then(|selector| selector.match_expressions.as_ref())
            .expect("expressions");
        assert_eq!(
            expressions[0].values.as_deref(),
            Some(&["podinfo-primary".to_owned(), "other".to_owned()][..])
        );
        assert_eq!(
            expressions[1].values.as_deref(),
            Some(&["podinfo".to_owned()][..]),
            "only the selector label differs between canary and primary pods"
        );
        let required = &anti
            .required_during_scheduling_ignored_during_execution
            .as_ref()
            .expect("kept")[0];
        assert_eq!(
            required
                .label_selector
                .as_ref()
                .and_then(|s| s.match_labels.as_ref())
                .expect("labels")["app"],
            "other",
            "other applications' pods are left alone"
        );
        assert_eq!(
            affinity.pod_affinity,
            spec.affinity.as_ref().expect("set").pod_affinity,
            "pod affinity (not anti-affinity) is left alone, as in Flagger"
        );
    }
}
