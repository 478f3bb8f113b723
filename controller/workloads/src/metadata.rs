//! Labels, annotations and owner references shared by every generated object.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use weir_api::Canary;

use crate::error::WorkloadError;
use crate::options::SelectorLabel;

/// Keys containing this belong to Flux; Flagger never copies them to the
/// objects it generates, so Flux does not think it owns them.
pub const TOOLKIT_MARKER: &str = "toolkit.fluxcd.io";
/// Flux's kustomize-controller must not revert the Services weir manages.
pub const KUSTOMIZE_RECONCILE: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// Flux's helm-controller drift detection must not revert them either.
pub const HELM_DRIFT_DETECTION: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// The value both Flux annotations get.
pub const FLUX_DISABLED: &str = "disabled";
/// Pod template annotation with a fresh id on every primary write, so that
/// a promotion always rolls the primary's pods (Flagger's `makeAnnotations`).
pub const FLAGGER_ID: &str = "flagger-id";
/// `kubectl apply` records the applied object here; reverting an apex
/// Service restores its selector from it.
pub const KUBECTL_LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Owner references point at the Canary with this apiVersion and kind.
pub const CANARY_API_VERSION: &str = weir_api::API_VERSION;
/// The kind in owner references to a Canary.
pub const CANARY_KIND: &str = "Canary";

/// The controller owner reference to `canary` (Go's `NewControllerRef`):
/// deleting the Canary garbage-collects the object.
pub fn canary_owner_reference(canary: &Canary) -> Result<OwnerReference, WorkloadError> {
    let uid = canary
        .metadata
        .uid
        .clone()
        .filter(|uid| !uid.is_empty())
        .ok_or_else(|| WorkloadError::MissingCanaryUid {
            name: canary.name().to_owned(),
            namespace: canary.namespace().to_owned(),
        })?;
    Ok(OwnerReference {
        api_version: CANARY_API_VERSION.to_owned(),
        kind: CANARY_KIND.to_owned(),
        name: canary.name().to_owned(),
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// Whether `metadata`'s controller is a Canary (any name), and whether it is
/// `canary` (Flagger's `isOwnedByCanary`, which compares kind and name).
pub fn canary_controller(metadata: &ObjectMeta, canary: &Canary) -> (bool, bool) {
    let controller = metadata
        .owner_references
        .iter()
        .flatten()
        .find(|owner| owner.controller == Some(true));
    match controller {
        Some(owner) if owner.kind == CANARY_KIND => (true, owner.name == canary.name()),
        _ => (false, false),
    }
}

/// `entries` without Flux's keys (Flagger's `filterMetadata`).
pub(crate) fn without_toolkit_keys(
    entries: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .flatten()
        .filter(|(key, _)| !key.contains(TOOLKIT_MARKER))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// `labels` without Flux's keys, with the selector label set to the
/// primary's value (Flagger's `makePrimaryLabels`).
pub(crate) fn primary_labels(
    labels: Option<&BTreeMap<String, String>>,
    selector: &SelectorLabel,
) -> BTreeMap<String, String> {
    let mut primary = without_toolkit_keys(labels);
    primary.insert(selector.key.clone(), selector.primary_value());
    primary
}

/// Pod template annotations of the primary: the target's without Flux's
/// keys, with a new `flagger-id`.
pub(crate) fn primary_template_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    flagger_id: &str,
) -> BTreeMap<String, String> {
    let mut primary = without_toolkit_keys(annotations);
    primary.insert(FLAGGER_ID.to_owned(), flagger_id.to_owned());
    primary
}

/// `None` for an empty map: Kubernetes omits empty maps, and comparisons
/// with objects read back must not see a difference.
pub(crate) fn non_empty(map: BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then_some(map)
}

/// The object's name and namespace, empty when unset (for messages).
pub(crate) fn name_of(metadata: &ObjectMeta) -> (String, String) {
    (
        metadata.name.clone().unwrap_or_default(),
        metadata.namespace.clone().unwrap_or_default(),
    )
}
