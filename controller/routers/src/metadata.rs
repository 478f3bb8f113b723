//! The slice of Kubernetes object metadata routers read and write.
//!
//! Routers own their objects' labels and annotations (`spec.service.apex`
//! metadata plus the Flux opt-out annotations); everything else in
//! `metadata` (uid, resourceVersion, owner references) belongs to whoever
//! stores the object, so it is not modelled here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weir_api::Canary;

/// Flux must not revert the objects weir manages (Flagger's `filterMetadata`).
pub const KUSTOMIZE_RECONCILE: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// Helm's drift detection must not revert them either.
pub const HELM_DRIFT_DETECTION: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// The value both Flux annotations get.
pub const FLUX_DISABLED: &str = "disabled";
/// `kubectl apply` records the applied object here; Flagger restores from it.
pub const KUBECTL_LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Where Flagger keeps the spec of a VirtualService it took over.
pub const ORIGINAL_CONFIGURATION: &str = "flagger.kubernetes.io/original-configuration";

/// Name, namespace, labels, annotations and (for status checks) generation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMetadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Set by the API server; Gateway API readiness compares it with the
    /// generation the Gateway observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

impl ObjectMetadata {
    /// Metadata with only a name, in the Canary's namespace.
    pub fn named(name: &str, canary: &Canary) -> ObjectMetadata {
        ObjectMetadata {
            name: name.to_owned(),
            namespace: canary.namespace().to_owned(),
            ..ObjectMetadata::default()
        }
    }

    /// The apex object's metadata: `spec.service.apex` labels and annotations,
    /// plus the annotations that keep Flux from reverting weir's changes.
    pub fn apex(canary: &Canary) -> ObjectMetadata {
        let names = canary.spec.service_names();
        let mut metadata = ObjectMetadata::named(&names.apex, canary);
        if let Some(apex) = &canary.spec.service.apex {
            metadata.labels.clone_from(&apex.labels);
            metadata.annotations.clone_from(&apex.annotations);
        }
        metadata
            .annotations
            .insert(KUSTOMIZE_RECONCILE.to_owned(), FLUX_DISABLED.to_owned());
        metadata
            .annotations
            .insert(HELM_DRIFT_DETECTION.to_owned(), FLUX_DISABLED.to_owned());
        metadata
    }
}
