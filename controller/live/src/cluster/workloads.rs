//! The engine's `Workloads` and `Scalers` ports over the Kubernetes API:
//! reads with kube-rs, decisions by `weir-workloads`, writes with kube-rs.
//!
//! ```text
//!   ensure_primary: target ─▶ configs it references ─▶ TrackedConfigs ─▶ <name>-primary copies
//!                          └▶ <target>-primary (created once)
//!   state / revision: the Deployment or DaemonSet as it is now
//!   promote: copies upserted, primary replaced from the target (conflicts retried)
//!   scale_to_zero / scale_from_zero / revert: merge patches on the target
//!   scalers: <hpa>-primary HPA or ScaledObject; KEDA pause and resume
//! ```
//!
//! Service targets (`targetRef.kind: Service`, no workload to roll out)
//! get the copies Flagger's ServiceController makes: `<target>-canary`,
//! updated every tick, and `<target>-primary`, created once and replaced by
//! the target's spec on promotion. They are always ready.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PodSpec, Secret, Service};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use weir_api::canary::AutoscalerKind;
use weir_api::{Canary, TargetKind};
use weir_engine::ports::{PortError, Revision, Role, Scalers, WorkloadState, Workloads};
use weir_http::Bridge;
use weir_routers::knative;
use weir_workloads::configs::{ConfigKind, ConfigObject, primary_config_name};
use weir_workloads::{
    FoundConfigs, Options, SelectorLabel, TrackedConfigs, WorkloadError, config_references,
};

use super::failed;
use crate::status::{conflict_delays, is_conflict};

/// The Workloads and Scalers ports for one tick.
#[derive(Clone)]
pub struct KubeWorkloads {
    client: kube::Client,
    bridge: Bridge,
    options: Options,
}

impl std::fmt::Debug for KubeWorkloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeWorkloads")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn workload_error(error: WorkloadError) -> PortError {
    PortError::new(error.to_string())
}

/// A random `flagger-id`: a new value in the primary's pod template makes
/// Kubernetes roll the primary even when nothing else changed.
fn flagger_id() -> String {
    let letters = crate::random_letters(32);
    // The shape of a UUID v4, as Flagger writes it.
    format!(
        "{}-{}-4{}-a{}-{}",
        &letters[0..8],
        &letters[8..12],
        &letters[12..15],
        &letters[15..18],
        &letters[18..30]
    )
}

impl KubeWorkloads {
    pub fn new(client: kube::Client, bridge: Bridge, options: Options) -> KubeWorkloads {
        KubeWorkloads {
            client,
            bridge,
            options,
        }
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn get<K>(&self, kind: &str, namespace: &str, name: &str) -> Result<K, PortError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        self.api::<K>(namespace)
            .get_opt(name)
            .await
            .map_err(|error| failed("get query", kind, name, namespace, error))?
            .ok_or_else(|| failed("get query", kind, name, namespace, "not found"))
    }

    async fn get_opt<K>(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<K>, PortError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        self.api::<K>(namespace)
            .get_opt(name)
            .await
            .map_err(|error| failed("get query", kind, name, namespace, error))
    }

    async fn merge_patch<K>(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<(), PortError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        self.api::<K>(namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map(drop)
            .map_err(|error| failed("patch", kind, name, namespace, error))
    }

    /// The configs `pod_spec` references that are tracked, read now.
    async fn tracked(
        &self,
        namespace: &str,
        pod_spec: Option<&PodSpec>,
    ) -> Result<TrackedConfigs, PortError> {
        let Some(pod_spec) = pod_spec.filter(|_| self.options.config_tracking) else {
            return Ok(TrackedConfigs::none());
        };
        let references = config_references(pod_spec);
        let mut found = FoundConfigs::default();
        let names: BTreeSet<(ConfigKind, String)> = references
            .iter()
            .map(|reference| (reference.kind, reference.name.clone()))
            .collect();
        for (kind, name) in names {
            match kind {
                ConfigKind::ConfigMap => {
                    if let Some(config_map) = self
                        .get_opt::<ConfigMap>("configmap", namespace, &name)
                        .await?
                    {
                        found.add_config_map(config_map);
                    }
                }
                ConfigKind::Secret => {
                    if let Some(secret) = self.get_opt::<Secret>("secret", namespace, &name).await?
                    {
                        found.add_secret(secret);
                    }
                }
            }
        }
        TrackedConfigs::track(&references, &found, namespace).map_err(workload_error)
    }

    /// Creates or replaces the `-primary` copies of the tracked configs.
    async fn upsert_primary_configs(
        &self,
        canary: &Canary,
        tracked: &TrackedConfigs,
    ) -> Result<(), PortError> {
        let namespace = canary.namespace();
        let mut existing = FoundConfigs::default();
        for config in tracked.configs() {
            let name = primary_config_name(&config.name);
            match config.kind {
                ConfigKind::ConfigMap => {
                    if let Some(copy) = self
                        .get_opt::<ConfigMap>("configmap", namespace, &name)
                        .await?
                    {
                        existing.add_config_map(copy);
                    }
                }
                ConfigKind::Secret => {
                    if let Some(copy) = self.get_opt::<Secret>("secret", namespace, &name).await? {
                        existing.add_secret(copy);
                    }
                }
            }
        }
        let copies = tracked
            .primary_copies(canary, &self.options, &existing)
            .map_err(workload_error)?;
        for copy in copies {
            match copy {
                ConfigObject::ConfigMap(config_map) => {
                    self.upsert("configmap", namespace, config_map).await?;
                }
                ConfigObject::Secret(secret) => self.upsert("secret", namespace, secret).await?,
            }
        }
        Ok(())
    }

    /// Creates `object`, or replaces it when it carries the resourceVersion
    /// of an existing one.
    async fn upsert<K>(&self, kind: &str, namespace: &str, object: K) -> Result<(), PortError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api = self.api::<K>(namespace);
        let name = object.meta().name.clone().unwrap_or_default();
        let result = if object.meta().resource_version.is_some() {
            api.replace(&name, &PostParams::default(), &object).await
        } else {
            api.create(&PostParams::default(), &object).await
        };
        result
            .map(drop)
            .map_err(|error| failed("upsert", kind, &name, namespace, error))
    }

    /// Reads the latest `name`, builds its replacement and writes it; a
    /// concurrent write (409) starts over with the newer object, as
    /// client-go's `RetryOnConflict`.
    async fn replace_latest<K>(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        build: impl Fn(K) -> Result<K, PortError>,
    ) -> Result<(), PortError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api = self.api::<K>(namespace);
        let mut delays = conflict_delays();
        loop {
            let latest: K = self.get(kind, namespace, name).await?;
            let replacement = build(latest)?;
            match api
                .replace(name, &PostParams::default(), &replacement)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if is_conflict(&error) => match delays.next() {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(failed("update", kind, name, namespace, error)),
                },
                Err(error) => return Err(failed("update", kind, name, namespace, error)),
            }
        }
    }

    /// The minimum replicas of the target's autoscaler, if it has one.
    async fn autoscaler_min_replicas(&self, canary: &Canary) -> Result<Option<i32>, PortError> {
        let Some(reference) = &canary.spec.autoscaler_ref else {
            return Ok(None);
        };
        let namespace = canary.namespace();
        Ok(match reference.kind {
            AutoscalerKind::HorizontalPodAutoscaler => self
                .get_opt::<HorizontalPodAutoscaler>("hpa", namespace, &reference.name)
                .await?
                .as_ref()
                .and_then(weir_workloads::autoscalers::hpa_min_replicas),
            AutoscalerKind::ScaledObject => self
                .scaled_object(namespace, &reference.name)
                .await?
                .as_ref()
                .and_then(weir_workloads::autoscalers::scaled_object_min_replica_count),
        })
    }

    fn scaled_objects(&self, namespace: &str) -> Api<DynamicObject> {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "keda.sh",
            "v1alpha1",
            "ScaledObject",
        ));
        Api::namespaced_with(self.client.clone(), namespace, &resource)
    }

    async fn scaled_object(&self, namespace: &str, name: &str) -> Result<Option<Value>, PortError> {
        let object = self
            .scaled_objects(namespace)
            .get_opt(name)
            .await
            .map_err(|error| failed("get query", "scaledobject", name, namespace, error))?;
        object
            .map(serde_json::to_value)
            .transpose()
            .map_err(|error| failed("decode", "scaledobject", name, namespace, error))
    }

    /// The Service copies of a Service target: `<target>-canary` follows
    /// the target every tick, `<target>-primary` is created once.
    async fn ensure_service_copies(&self, canary: &Canary) -> Result<(), PortError> {
        let namespace = canary.namespace();
        let target_name = &canary.spec.target_ref.name;
        let target: Service = self.get("service", namespace, target_name).await?;
        for (suffix, follow) in [("canary", true), ("primary", false)] {
            let name = format!("{target_name}-{suffix}");
            let existing: Option<Service> = self.get_opt("service", namespace, &name).await?;
            if existing.is_some() && !follow {
                continue;
            }
            let copy = service_copy(canary, &target, &name, existing.as_ref())?;
            if existing
                .as_ref()
                .is_some_and(|existing| existing.spec == copy.spec)
            {
                continue;
            }
            self.upsert("service", namespace, copy).await?;
        }
        Ok(())
    }
}

/// A copy of the Service `target` named `name`, owned by the Canary,
/// keeping the cluster-assigned fields of `existing`.
fn service_copy(
    canary: &Canary,
    target: &Service,
    name: &str,
    existing: Option<&Service>,
) -> Result<Service, PortError> {
    let mut spec = target.spec.clone().unwrap_or_default();
    // Cluster-assigned addresses belong to each Service.
    spec.cluster_ip = existing.and_then(|existing| existing.spec.as_ref()?.cluster_ip.clone());
    spec.cluster_ips = existing.and_then(|existing| existing.spec.as_ref()?.cluster_ips.clone());
    Ok(Service {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(canary.namespace().to_owned()),
            labels: target.metadata.labels.clone(),
            owner_references: Some(vec![
                weir_workloads::metadata::canary_owner_reference(canary).map_err(workload_error)?,
            ]),
            resource_version: existing
                .and_then(|existing| existing.metadata.resource_version.clone()),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    })
}

/// What tells a Deployment target from a DaemonSet target; the ports'
/// methods that treat both alike are written once over it.
pub(super) trait PodWorkload:
    kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
    + Clone
    + serde::Serialize
    + serde::de::DeserializeOwned
    + std::fmt::Debug
{
    /// The kind in messages (`deployment`, `daemonset`).
    const KIND: &'static str;

    fn pod_spec(&self) -> Option<&PodSpec>;

    /// The label that selects the target's pods.
    fn selector_label(&self, options: &Options) -> Result<SelectorLabel, WorkloadError>;

    /// The primary for a new Canary.
    fn primary(
        canary: &Canary,
        target: &Self,
        tracked: &TrackedConfigs,
        options: &Options,
        flagger_id: &str,
    ) -> Result<Self, WorkloadError>;

    /// `primary` with the target's template copied in.
    fn promoted(
        canary: &Canary,
        target: &Self,
        primary: &Self,
        tracked: &TrackedConfigs,
        options: &Options,
        flagger_id: &str,
    ) -> Result<Self, WorkloadError>;

    fn revision(target: &Self, tracked: Option<&TrackedConfigs>)
    -> Result<Revision, WorkloadError>;
}

impl PodWorkload for Deployment {
    const KIND: &'static str = "deployment";

    fn pod_spec(&self) -> Option<&PodSpec> {
        self.spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
    }

    fn selector_label(&self, options: &Options) -> Result<SelectorLabel, WorkloadError> {
        weir_workloads::deployment::selector_label(self, options)
    }

    fn primary(
        canary: &Canary,
        target: &Self,
        tracked: &TrackedConfigs,
        options: &Options,
        flagger_id: &str,
    ) -> Result<Self, WorkloadError> {
        weir_workloads::deployment::primary_deployment(canary, target, tracked, options, flagger_id)
    }

    fn promoted(
        canary: &Canary,
        target: &Self,
        primary: &Self,
        tracked: &TrackedConfigs,
        options: &Options,
        flagger_id: &str,
    ) -> Result<Self, WorkloadError> {
        weir_workloads::deployment::promote_deployment(
            canary, target, primary, tracked, options, flagger_id,
        )
    }

    fn revision(
        target: &Self,
        tracked: Option<&TrackedConfigs>,
    ) -> Result<Revision, WorkloadError> {
        weir_workloads::revision::deployment_revision(target, tracked)
    }
}

impl PodWorkload for DaemonSet {
    const KIND: &'static str = "daemonset";

    fn pod_spec(&self) -> Option<&PodSpec> {
        self.spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
    }

    fn selector_label(&self, options: &Options) -> Result<SelectorLabel, WorkloadError> {
        weir_workloads::daemon_set::selector_label(self, options)
    }

    fn primary(
        canary: &Canary,
        target: &Self,
        tracked: &TrackedConfigs,
        options: &Options,
        flagger_id: &str,
    ) -> Result<Self, WorkloadError> {
        weir_workloads::daemon_set::primary_daemon_set(canary, target, tracked, options, flagger_id)
    }

    fn promoted(
        _canary: &Canary,
        target: &Self,
        primary: &Self,
        tracked: &TrackedConfigs,
        options: &Options,
        flagger_id: &str,
    ) -> Result<Self, WorkloadError> {
        weir_workloads::daemon_set::promote_daemon_set(
            target, primary, tracked, options, flagger_id,
        )
    }

    fn revision(
        target: &Self,
        tracked: Option<&TrackedConfigs>,
    ) -> Result<Revision, WorkloadError> {
        weir_workloads::revision::daemon_set_revision(target, tracked)
    }
}

impl KubeWorkloads {
    /// Creates `<target>-primary` (and its config copies) once.
    async fn ensure_primary_of<W: PodWorkload>(&self, canary: &Canary) -> Result<(), PortError> {
        let namespace = canary.namespace();
        let target: W = self
            .get(W::KIND, namespace, &canary.spec.target_ref.name)
            .await?;
        let primary_name = canary.spec.primary_workload_name();
        if self
            .get_opt::<W>(W::KIND, namespace, &primary_name)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let tracked = self.tracked(namespace, target.pod_spec()).await?;
        self.upsert_primary_configs(canary, &tracked).await?;
        let primary = W::primary(canary, &target, &tracked, &self.options, &flagger_id())
            .map_err(workload_error)?;
        self.upsert(W::KIND, namespace, primary).await
    }

    /// The target's template hash and tracked config checksums.
    async fn revision_of<W: PodWorkload>(&self, canary: &Canary) -> Result<Revision, PortError> {
        let namespace = canary.namespace();
        let target: W = self
            .get(W::KIND, namespace, &canary.spec.target_ref.name)
            .await?;
        let tracked = self.tracked(namespace, target.pod_spec()).await?;
        W::revision(&target, self.options.config_tracking.then_some(&tracked))
            .map_err(workload_error)
    }

    /// Copies the target's template (and configs) to the primary.
    async fn promote_of<W: PodWorkload>(&self, canary: &Canary) -> Result<(), PortError> {
        let namespace = canary.namespace();
        let target: W = self
            .get(W::KIND, namespace, &canary.spec.target_ref.name)
            .await?;
        let tracked = self.tracked(namespace, target.pod_spec()).await?;
        self.upsert_primary_configs(canary, &tracked).await?;
        let flagger_id = flagger_id();
        self.replace_latest::<W>(
            W::KIND,
            namespace,
            &canary.spec.primary_workload_name(),
            |primary| {
                W::promoted(
                    canary,
                    &target,
                    &primary,
                    &tracked,
                    &self.options,
                    &flagger_id,
                )
                .map_err(workload_error)
            },
        )
        .await
    }
}

impl Workloads for KubeWorkloads {
    fn ensure_primary(&mut self, canary: &Canary) -> Result<(), PortError> {
        if is_knative(canary) {
            return self.bridge.run(self.knative_initialize(canary));
        }
        self.bridge.run(async {
            match canary.spec.target_ref.kind {
                TargetKind::Deployment => self.ensure_primary_of::<Deployment>(canary).await,
                TargetKind::DaemonSet => self.ensure_primary_of::<DaemonSet>(canary).await,
                TargetKind::Service => self.ensure_service_copies(canary).await,
            }
        })
    }

    fn state(&mut self, canary: &Canary, role: Role) -> Result<WorkloadState, PortError> {
        if is_knative(canary) {
            return self.bridge.run(self.knative_state(canary, role));
        }
        let namespace = canary.namespace();
        let name = match role {
            Role::Primary => canary.spec.primary_workload_name(),
            Role::Canary => canary.spec.target_ref.name.clone(),
        };
        self.bridge.run(async {
            Ok(match canary.spec.target_ref.kind {
                TargetKind::Deployment => {
                    WorkloadState::Deployment(weir_workloads::readiness::deployment_state(
                        &self
                            .get::<Deployment>("deployment", namespace, &name)
                            .await?,
                    ))
                }
                TargetKind::DaemonSet => {
                    WorkloadState::DaemonSet(weir_workloads::readiness::daemon_set_state(
                        &self.get::<DaemonSet>("daemonset", namespace, &name).await?,
                    ))
                }
                TargetKind::Service => WorkloadState::AlwaysReady,
            })
        })
    }

    fn revision(&mut self, canary: &Canary) -> Result<Revision, PortError> {
        if is_knative(canary) {
            return self.bridge.run(self.knative_revision(canary));
        }
        let namespace = canary.namespace();
        let name = &canary.spec.target_ref.name;
        self.bridge.run(async {
            match canary.spec.target_ref.kind {
                TargetKind::Deployment => self.revision_of::<Deployment>(canary).await,
                TargetKind::DaemonSet => self.revision_of::<DaemonSet>(canary).await,
                TargetKind::Service => {
                    let target: Service = self.get("service", namespace, name).await?;
                    let spec = serde_json::to_value(&target.spec)
                        .map_err(|error| failed("hash", "service", name, namespace, error))?;
                    Ok(Revision {
                        spec_hash: weir_workloads::revision::json_hash(&spec),
                        tracked_configs: None,
                    })
                }
            }
        })
    }

    fn promote(&mut self, canary: &Canary) -> Result<(), PortError> {
        if is_knative(canary) {
            return self.bridge.run(self.knative_promote(canary));
        }
        let namespace = canary.namespace();
        let target_name = &canary.spec.target_ref.name;
        let primary_name = canary.spec.primary_workload_name();
        self.bridge.run(async {
            match canary.spec.target_ref.kind {
                TargetKind::Deployment => self.promote_of::<Deployment>(canary).await,
                TargetKind::DaemonSet => self.promote_of::<DaemonSet>(canary).await,
                TargetKind::Service => {
                    let target: Service = self.get("service", namespace, target_name).await?;
                    let existing: Option<Service> =
                        self.get_opt("service", namespace, &primary_name).await?;
                    let copy = service_copy(canary, &target, &primary_name, existing.as_ref())?;
                    self.upsert("service", namespace, copy).await
                }
            }
        })
    }

    fn scale_to_zero(&mut self, canary: &Canary) -> Result<(), PortError> {
        // Knative scales revisions itself.
        if is_knative(canary) {
            return Ok(());
        }
        let namespace = canary.namespace();
        let name = &canary.spec.target_ref.name;
        self.bridge.run(async {
            match canary.spec.target_ref.kind {
                TargetKind::Deployment => {
                    self.merge_patch::<Deployment>(
                        "deployment",
                        namespace,
                        name,
                        &weir_workloads::deployment::scale_patch(0),
                    )
                    .await
                }
                TargetKind::DaemonSet => {
                    let target: DaemonSet = self.get("daemonset", namespace, name).await?;
                    match weir_workloads::daemon_set::scale_to_zero_patch(&target) {
                        Some(patch) => {
                            self.merge_patch::<DaemonSet>("daemonset", namespace, name, &patch)
                                .await
                        }
                        None => Ok(()),
                    }
                }
                TargetKind::Service => Ok(()),
            }
        })
    }

    fn scale_from_zero(&mut self, canary: &Canary) -> Result<(), PortError> {
        if is_knative(canary) {
            return Ok(());
        }
        let namespace = canary.namespace();
        let name = &canary.spec.target_ref.name;
        self.bridge.run(async {
            match canary.spec.target_ref.kind {
                TargetKind::Deployment => {
                    let target: Deployment = self.get("deployment", namespace, name).await?;
                    let primary: Option<Deployment> = self
                        .get_opt(
                            "deployment",
                            namespace,
                            &canary.spec.primary_workload_name(),
                        )
                        .await?;
                    let minimum = self.autoscaler_min_replicas(canary).await?;
                    let replicas = weir_workloads::deployment::scale_from_zero_replicas(
                        canary,
                        &target,
                        primary.as_ref(),
                        minimum,
                    );
                    self.merge_patch::<Deployment>(
                        "deployment",
                        namespace,
                        name,
                        &weir_workloads::deployment::scale_patch(replicas),
                    )
                    .await
                }
                TargetKind::DaemonSet => {
                    let target: DaemonSet = self.get("daemonset", namespace, name).await?;
                    match weir_workloads::daemon_set::scale_from_zero_patch(&target) {
                        Some(patch) => {
                            self.merge_patch::<DaemonSet>("daemonset", namespace, name, &patch)
                                .await
                        }
                        None => Ok(()),
                    }
                }
                TargetKind::Service => Ok(()),
            }
        })
    }

    fn revert(&mut self, canary: &Canary) -> Result<(), PortError> {
        if is_knative(canary) {
            return Ok(());
        }
        let namespace = canary.namespace();
        let name = &canary.spec.target_ref.name;
        match canary.spec.target_ref.kind {
            TargetKind::Deployment => self.bridge.run(async {
                let target: Deployment = self.get("deployment", namespace, name).await?;
                let primary: Option<Deployment> = self
                    .get_opt(
                        "deployment",
                        namespace,
                        &canary.spec.primary_workload_name(),
                    )
                    .await?;
                let minimum = self.autoscaler_min_replicas(canary).await?;
                match weir_workloads::deployment::revert_replicas(
                    canary,
                    &target,
                    primary.as_ref(),
                    minimum,
                ) {
                    Some(replicas) => {
                        self.merge_patch::<Deployment>(
                            "deployment",
                            namespace,
                            name,
                            &weir_workloads::deployment::scale_patch(replicas),
                        )
                        .await
                    }
                    None => Ok(()),
                }
            }),
            // Flagger's DaemonSet finalizer scales the target back up.
            TargetKind::DaemonSet => self.scale_from_zero(canary),
            TargetKind::Service => Ok(()),
        }
    }
}

/// Whether the target is a Knative Service (`serving.knative.dev`), whose
/// revisions are the primary and the canary (Flagger's KnativeController).
fn is_knative(canary: &Canary) -> bool {
    canary.spec.target_ref.kind == TargetKind::Service
        && canary
            .spec
            .target_ref
            .api_version
            .starts_with("serving.knative.dev/")
}

/// Knative targets (semantics §12.5): the revision recorded in the
/// Service's `flagger.app/primary-revision` annotation is the primary, the
/// latest created revision is the canary, and Knative itself runs and
/// scales both.
impl KubeWorkloads {
    fn knative_api(&self, namespace: &str, kind: &str) -> Api<DynamicObject> {
        let resource =
            ApiResource::from_gvk(&GroupVersionKind::gvk("serving.knative.dev", "v1", kind));
        Api::namespaced_with(self.client.clone(), namespace, &resource)
    }

    async fn knative_service(&self, canary: &Canary) -> Result<knative::KnativeService, PortError> {
        let namespace = canary.namespace();
        let name = &canary.spec.target_ref.name;
        let object = self
            .knative_api(namespace, "Service")
            .get(name)
            .await
            .map_err(|error| failed("get query", "knative service", name, namespace, error))?;
        serde_json::to_value(object)
            .and_then(serde_json::from_value)
            .map_err(|error| failed("decode", "knative service", name, namespace, error))
    }

    /// Writes `service` (its resourceVersion makes a concurrent edit a
    /// conflict; the next tick tries again).
    async fn write_knative(&self, service: &knative::KnativeService) -> Result<(), PortError> {
        let namespace = service.metadata.namespace.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        let object: DynamicObject = serde_json::to_value(service)
            .and_then(serde_json::from_value)
            .map_err(|error| failed("encode", "knative service", &name, &namespace, error))?;
        self.knative_api(&namespace, "Service")
            .replace(&name, &PostParams::default(), &object)
            .await
            .map(drop)
            .map_err(|error| failed("update", "knative service", &name, &namespace, error))
    }

    fn latest_revision(
        canary: &Canary,
        service: &knative::KnativeService,
    ) -> Result<String, PortError> {
        service
            .status
            .as_ref()
            .and_then(|status| status.latest_created_revision_name.clone())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                failed(
                    "revision query",
                    "knative service",
                    &canary.spec.target_ref.name,
                    canary.namespace(),
                    "no revision created yet",
                )
            })
    }

    /// Records the current revision as the primary, with all traffic on it.
    async fn knative_initialize(&self, canary: &Canary) -> Result<(), PortError> {
        let service = self.knative_service(canary).await?;
        if knative::primary_revision(&service).is_some() {
            return Ok(());
        }
        let annotated = knative::reconcile(&service, canary)
            .map_err(|error| PortError::new(error.to_string()))?;
        let routed =
            knative::set_routes(&annotated, canary, weir_engine::ports::Routes::ALL_PRIMARY)
                .map_err(|error| PortError::new(error.to_string()))?;
        self.write_knative(&routed).await
    }

    async fn knative_state(&self, canary: &Canary, role: Role) -> Result<WorkloadState, PortError> {
        let service = self.knative_service(canary).await?;
        let name = match role {
            Role::Primary => knative::primary_revision(&service)
                .map(str::to_owned)
                .ok_or_else(|| {
                    failed(
                        "revision query",
                        "knative service",
                        &canary.spec.target_ref.name,
                        canary.namespace(),
                        format!("no {} annotation", knative::PRIMARY_REVISION_ANNOTATION),
                    )
                })?,
            Role::Canary => Self::latest_revision(canary, &service)?,
        };
        let namespace = canary.namespace();
        let revision = self
            .knative_api(namespace, "Revision")
            .get_opt(&name)
            .await
            .map_err(|error| failed("get query", "knative revision", &name, namespace, error))?;
        let ready = revision.is_some_and(|revision| {
            revision.data["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|condition| condition["type"] == "Ready" && condition["status"] == "True")
        });
        Ok(WorkloadState::Flag { name, ready })
    }

    async fn knative_revision(&self, canary: &Canary) -> Result<Revision, PortError> {
        let service = self.knative_service(canary).await?;
        let latest = Self::latest_revision(canary, &service)?;
        Ok(Revision {
            spec_hash: weir_workloads::revision::json_hash(&Value::String(latest)),
            tracked_configs: None,
        })
    }

    async fn knative_promote(&self, canary: &Canary) -> Result<(), PortError> {
        let mut service = self.knative_service(canary).await?;
        let latest = Self::latest_revision(canary, &service)?;
        service
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(knative::PRIMARY_REVISION_ANNOTATION.to_owned(), latest);
        self.write_knative(&service).await
    }
}

impl Scalers for KubeWorkloads {
    fn reconcile_primary(&mut self, canary: &Canary, initializing: bool) -> Result<(), PortError> {
        let Some(reference) = &canary.spec.autoscaler_ref else {
            return Ok(());
        };
        let namespace = canary.namespace();
        let primary_name =
            weir_workloads::autoscalers::primary_autoscaler_name(canary).map_err(workload_error)?;
        self.bridge.run(async {
            match reference.kind {
                AutoscalerKind::HorizontalPodAutoscaler => {
                    let target: HorizontalPodAutoscaler =
                        self.get("hpa", namespace, &reference.name).await?;
                    let existing: Option<HorizontalPodAutoscaler> =
                        self.get_opt("hpa", namespace, &primary_name).await?;
                    let desired =
                        weir_workloads::autoscalers::primary_hpa(canary, &target, &self.options)
                            .map_err(workload_error)?;
                    match weir_workloads::autoscalers::reconcile_primary_hpa(
                        existing.as_ref(),
                        &desired,
                        initializing,
                    ) {
                        Some(object) => self.upsert("hpa", namespace, object).await,
                        None => Ok(()),
                    }
                }
                AutoscalerKind::ScaledObject => {
                    let target = self
                        .scaled_object(namespace, &reference.name)
                        .await?
                        .ok_or_else(|| {
                            failed(
                                "get query",
                                "scaledobject",
                                &reference.name,
                                namespace,
                                "not found",
                            )
                        })?;
                    let existing = self.scaled_object(namespace, &primary_name).await?;
                    let desired = weir_workloads::autoscalers::primary_scaled_object(
                        canary,
                        &target,
                        &self.options,
                    )
                    .map_err(workload_error)?;
                    let Some(object) = weir_workloads::autoscalers::reconcile_primary_scaled_object(
                        existing.as_ref(),
                        &desired,
                        initializing,
                    ) else {
                        return Ok(());
                    };
                    let object: DynamicObject =
                        serde_json::from_value(object).map_err(|error| {
                            failed("encode", "scaledobject", &primary_name, namespace, error)
                        })?;
                    let api = self.scaled_objects(namespace);
                    let result = if object.metadata.resource_version.is_some() {
                        api.replace(&primary_name, &PostParams::default(), &object)
                            .await
                    } else {
                        api.create(&PostParams::default(), &object).await
                    };
                    result.map(drop).map_err(|error| {
                        failed("upsert", "scaledobject", &primary_name, namespace, error)
                    })
                }
            }
        })
    }

    fn pause_target(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.patch_target_scaler(canary, weir_workloads::autoscalers::pause_patch())
    }

    fn resume_target(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.patch_target_scaler(canary, weir_workloads::autoscalers::resume_patch())
    }
}

impl KubeWorkloads {
    /// KEDA ScaledObjects are paused with an annotation; HPAs need nothing
    /// (an HPA does not scale a Deployment with zero replicas, §18 #28).
    fn patch_target_scaler(&mut self, canary: &Canary, patch: Value) -> Result<(), PortError> {
        let Some(reference) = &canary.spec.autoscaler_ref else {
            return Ok(());
        };
        if reference.kind != AutoscalerKind::ScaledObject {
            return Ok(());
        }
        let namespace = canary.namespace();
        self.bridge.run(async {
            self.scaled_objects(namespace)
                .patch(
                    &reference.name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .map(drop)
                .map_err(|error| failed("patch", "scaledobject", &reference.name, namespace, error))
        })
    }
}
