//! The Kubernetes objects weir derives from a Canary's target, as pure
//! functions (Flagger's `pkg/canary` workload controllers and its default
//! Kubernetes router).
//!
//! Nothing here talks to Kubernetes: the live controller reads objects with
//! kube-rs, calls these functions, and writes what they return; the
//! simulator and the tests pass plain values. Randomness (the `flagger-id`
//! that forces a primary rollout) is a parameter for the same reason.
//!
//! ```text
//!   Canary ─targetRef─▶ Deployment/DaemonSet podinfo ─references─▶ ConfigMaps, Secrets
//!     │                        │                                        │
//!     │            Options::selector_label (app: podinfo)     configs::TrackedConfigs
//!     │                        │                                  │ checksums ─▶ status.trackedConfigs
//!     │                        ▼                                  ▼
//!     ├─▶ deployment / daemon_set: podinfo-primary ◀── renamed ── <name>-primary copies
//!     │     (create, promote, scale patches, revert)
//!     ├─▶ revision: w1-<hash of spec.template> ─▶ status.lastAppliedSpec, engine Revision
//!     ├─▶ services: podinfo, podinfo-primary, podinfo-canary (update and revert rules)
//!     ├─▶ autoscalers: <hpa>-primary HPA or ScaledObject, KEDA pause/resume
//!     └─▶ readiness: DeploymentState / DaemonSetState for the engine
//! ```
//!
//! Functions that create an object return it whole; functions that update
//! take the live object and return the object to write, or `None` when
//! nothing differs, so the controller writes only on change. Scaling is
//! expressed as JSON merge patches, which touch one field and need no
//! resourceVersion.
//!
//! The specification is `flagger-semantics.md` §3 (Services), §12
//! (workloads, config tracking, scalers), §13 (annotations) and §2.5 (hash).
//! Where weir differs from Flagger, on purpose, the module concerned says
//! so; in short:
//!
//! * the revision hash is weir's own (`revision`), marked so that a
//!   Flagger-written status can be adopted without an analysis;
//! * config references default to mandatory as in Kubernetes, and
//!   ConfigMap `binaryData` counts in checksums (`configs`);
//! * selector renaming in the primary pod spec follows the selector label,
//!   not the Deployment name (`pod_spec`);
//! * primary annotations follow `-include-label-prefix` on create as on
//!   promotion (`deployment`, `daemon_set`);
//! * the DaemonSet scale-to-zero key never reaches the primary, and the
//!   update strategy is checked on promotion too (`daemon_set`);
//! * Services get deterministic port order and no port clashes
//!   (`services`);
//! * primary autoscalers are compared with what weir writes, so they are
//!   not rewritten every tick (`autoscalers`).

pub mod autoscalers;
pub mod configs;
pub mod daemon_set;
pub mod deployment;
pub mod error;
pub mod metadata;
pub mod options;
pub mod pod_spec;
pub mod readiness;
pub mod revision;
pub mod services;

pub use configs::{
    ConfigKind, ConfigObject, ConfigReference, FoundConfigs, SkipReason, SkippedConfig,
    TrackedConfig, TrackedConfigs, config_references, has_config_changed,
};
pub use error::WorkloadError;
pub use options::{Options, SelectorLabel};
pub use revision::{is_weir_hash, pod_template_hash};
pub use services::ServiceRole;

#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use weir_api::Canary;

    /// A Canary `podinfo` in `test` targeting Deployment `podinfo`; `spec`
    /// goes below `spec:` after `targetRef` (two-space indent).
    pub(crate) fn canary(spec: &str) -> Canary {
        let yaml = format!(
            "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\n  namespace: test\n  uid: 2a9c1f4e-0000-4000-8000-000000000001\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: podinfo\n{spec}"
        );
        serde_saphyr::from_str(&yaml)
            .unwrap_or_else(|error| panic!("invalid test canary: {error}\n{yaml}"))
    }

    fn metadata(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("test".to_owned()),
            ..ObjectMeta::default()
        }
    }

    pub(crate) fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            metadata: metadata(name),
            data: Some(
                data.iter()
                    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                    .collect(),
            ),
            ..ConfigMap::default()
        }
    }

    pub(crate) fn secret(name: &str, secret_type: &str, data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: metadata(name),
            type_: Some(secret_type.to_owned()),
            data: Some(
                data.iter()
                    .map(|(key, value)| ((*key).to_owned(), ByteString(value.as_bytes().to_vec())))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Secret::default()
        }
    }
}
