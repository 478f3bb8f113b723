//! The engine's `Routing` port over the Kubernetes API: the three Services
//! from `weir-workloads` and the provider's routing objects from
//! `weir-routers`, read and written as dynamic objects.
//!
//! ```text
//!   reconcile_services / reconcile_apex ──▶ <apex>-primary, <apex>-canary, <apex> Services (cluster)
//!   reconcile_mesh / set_routes ──▶ GET object ──▶ typed (weir-routers) ──▶ router function
//!                                      ▲                                         │ differs?
//!                                      └──── 409: read again ◀── PUT / POST ◀────┘
//!   routes ──▶ GET object ──▶ router's GetRoutes
//!   finalize ──▶ apex Service reverted; Istio spec restored, Skipper's Ingress
//!                deleted, Knative annotation removed
//! ```
//!
//! The routers are pure functions over typed objects; this module only
//! moves objects between them and the API server. A write happens only when
//! the router's object differs from the live one (compared as the router
//! models it), and a write replaces the router-modelled fields while
//! keeping the rest of the live object: `resourceVersion` (so a concurrent
//! edit is a conflict, retried with the newer object, never overwritten),
//! owner references, `status`. Objects created here are owned by the
//! Canary, so deleting it deletes them, except Kuma's TrafficRoutes
//! (cluster-scoped) and anything in a separate mesh cluster
//! (`-kubeconfig-service-mesh`), whose owner would not exist there.
//!
//! Services always go to the workload cluster; routing objects go to the
//! mesh cluster, which is the same one unless `-kubeconfig-service-mesh`
//! says otherwise.

use std::fmt::Display;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{PodSpec, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::core::ApiResource;
use kube::core::gvk::GroupVersion;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use weir_api::{Canary, Provider, TargetKind};
use weir_engine::ports::{PortError, Routes, Routing};
use weir_http::Bridge;
use weir_routers::appmesh::{self, RouterRole, VirtualNodeRole};
use weir_routers::{
    apisix, contour, gateway_api, gloo, istio, knative, kubernetes, kuma, nginx, skipper, smi,
    traefik,
};
use weir_workloads::services::{reconcile_service, revert_apex_service, service};
use weir_workloads::{Options, SelectorLabel, ServiceRole};

use super::failed;
use super::workloads::PodWorkload;
use crate::status::{conflict_delays, is_conflict};

/// The controller flags routing depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingSettings {
    /// `-mesh-provider`, for Canaries without `spec.provider`.
    pub mesh_provider: Provider,
    /// `-ingress-annotations-prefix` (NGINX).
    pub ingress_annotations_prefix: String,
    /// `-ingress-class` (Contour's `ingressClassName`).
    pub ingress_class: Option<String>,
    /// Whether created routing objects are owned by the Canary: false when
    /// they live in another cluster than the Canary.
    pub owner_references: bool,
}

/// The Routing port for one tick.
#[derive(Clone)]
pub struct KubeRouting {
    client: kube::Client,
    mesh_client: kube::Client,
    bridge: Bridge,
    options: Options,
    settings: RoutingSettings,
}

impl std::fmt::Debug for KubeRouting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeRouting")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn router_error(error: impl Display) -> PortError {
    PortError::new(error.to_string())
}

/// Where a routing object lives.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ObjectKey {
    api_version: String,
    kind: String,
    /// Empty for cluster-scoped objects (Kuma's TrafficRoute).
    namespace: String,
    name: String,
}

impl ObjectKey {
    fn new(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectKey {
        ObjectKey {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The key of an object a router generated.
    fn of(object: &impl Serialize) -> Result<ObjectKey, PortError> {
        let value = serde_json::to_value(object).map_err(router_error)?;
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(ObjectKey {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
        })
    }

    fn api(&self, client: &kube::Client) -> Result<Api<DynamicObject>, PortError> {
        let version: GroupVersion = self.api_version.parse().map_err(|error| {
            PortError::new(format!(
                "{} {}: invalid apiVersion {:?}: {error}",
                self.kind, self.name, self.api_version
            ))
        })?;
        let resource = ApiResource::from_gvk(&version.with_kind(&self.kind));
        Ok(if self.namespace.is_empty() {
            Api::all_with(client.clone(), &resource)
        } else {
            Api::namespaced_with(client.clone(), &self.namespace, &resource)
        })
    }

    fn failed(&self, action: &str, error: impl Display) -> PortError {
        failed(action, &self.kind, &self.name, &self.namespace, error)
    }
}

/// A live object, as its router models it and as it is stored.
struct Live<T> {
    typed: T,
    stored: DynamicObject,
}

/// The top-level fields a router owns: everything but the type, the
/// metadata (of which only labels and annotations are the router's) and
/// the status (the mesh's).
fn router_fields(value: &Value) -> impl Iterator<Item = (&String, &Value)> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| !matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
}

/// `stored` with the router's fields, labels and annotations from `desired`.
fn merged(stored: &DynamicObject, desired: &Value) -> Result<DynamicObject, PortError> {
    let mut value = serde_json::to_value(stored).map_err(router_error)?;
    let Some(object) = value.as_object_mut() else {
        return Err(PortError::new("a stored object that is not a JSON object"));
    };
    let status = object.remove("status");
    object.retain(|key, _| matches!(key.as_str(), "apiVersion" | "kind" | "metadata"));
    for (key, field) in router_fields(desired) {
        object.insert(key.clone(), field.clone());
    }
    if let Some(status) = status {
        object.insert("status".to_owned(), status);
    }
    for field in ["labels", "annotations"] {
        let wanted = desired
            .pointer(&format!("/metadata/{field}"))
            .cloned()
            .filter(|value| value.as_object().is_some_and(|map| !map.is_empty()));
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            match wanted {
                Some(wanted) => metadata.insert(field.to_owned(), wanted),
                None => metadata.remove(field),
            };
        }
    }
    serde_json::from_value(value).map_err(router_error)
}

/// A new object from `desired`: its name, namespace, labels, annotations and
/// router fields only (a router may build it from a user's object, whose
/// identity and ownership must not be copied).
fn fresh(
    desired: &Value,
    owner: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
) -> Result<DynamicObject, PortError> {
    let mut object = serde_json::Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(value) = desired.get(key) {
            object.insert(key.to_owned(), value.clone());
        }
    }
    let mut metadata = serde_json::Map::new();
    for field in ["name", "namespace", "labels", "annotations"] {
        if let Some(value) = desired
            .pointer(&format!("/metadata/{field}"))
            .filter(|value| !value.is_null() && value.as_str() != Some(""))
        {
            metadata.insert(field.to_owned(), value.clone());
        }
    }
    if let Some(owner) = owner {
        metadata.insert(
            "ownerReferences".to_owned(),
            serde_json::to_value([owner]).map_err(router_error)?,
        );
    }
    object.insert("metadata".to_owned(), Value::Object(metadata));
    for (key, field) in router_fields(desired) {
        object.insert(key.clone(), field.clone());
    }
    serde_json::from_value(Value::Object(object)).map_err(router_error)
}

impl KubeRouting {
    pub fn new(
        client: kube::Client,
        mesh_client: kube::Client,
        bridge: Bridge,
        options: Options,
        settings: RoutingSettings,
    ) -> KubeRouting {
        KubeRouting {
            client,
            mesh_client,
            bridge,
            options,
            settings,
        }
    }

    fn provider(&self, canary: &Canary) -> Provider {
        canary.spec.provider.unwrap_or(self.settings.mesh_provider)
    }

    fn ingress_class(&self) -> &str {
        self.settings.ingress_class.as_deref().unwrap_or_default()
    }

    // ------------------------------------------------------------ Services

    /// The target's selector label and pod spec; `None` for targets without
    /// pods of their own (Service and Knative targets), whose Services
    /// Flagger leaves alone.
    async fn target_pods(
        &self,
        canary: &Canary,
    ) -> Result<Option<(SelectorLabel, PodSpec)>, PortError> {
        match canary.spec.target_ref.kind {
            TargetKind::Deployment => self.target_pods_of::<Deployment>(canary).await.map(Some),
            TargetKind::DaemonSet => self.target_pods_of::<DaemonSet>(canary).await.map(Some),
            TargetKind::Service => Ok(None),
        }
    }

    async fn target_pods_of<W: PodWorkload>(
        &self,
        canary: &Canary,
    ) -> Result<(SelectorLabel, PodSpec), PortError> {
        let namespace = canary.namespace();
        let name = &canary.spec.target_ref.name;
        let target = Api::<W>::namespaced(self.client.clone(), namespace)
            .get(name)
            .await
            .map_err(|error| failed("get query", W::KIND, name, namespace, error))?;
        let selector = target.selector_label(&self.options).map_err(router_error)?;
        Ok((selector, target.pod_spec().cloned().unwrap_or_default()))
    }

    /// Creates or updates the Services `roles` (Flagger's
    /// `reconcileService`), reading the target once for all of them.
    async fn reconcile_services_of(
        &self,
        canary: &Canary,
        roles: &[ServiceRole],
    ) -> Result<(), PortError> {
        let Some((selector, pod_spec)) = self.target_pods(canary).await? else {
            return Ok(());
        };
        for role in roles {
            self.reconcile_service(canary, *role, &selector, &pod_spec)
                .await?;
        }
        Ok(())
    }

    async fn reconcile_service(
        &self,
        canary: &Canary,
        role: ServiceRole,
        selector: &SelectorLabel,
        pod_spec: &PodSpec,
    ) -> Result<(), PortError> {
        let namespace = canary.namespace();
        let name = role.name(canary);
        let api = Api::<Service>::namespaced(self.client.clone(), namespace);
        let desired = service(canary, role, selector, pod_spec).map_err(router_error)?;
        let mut delays = conflict_delays();
        loop {
            let existing = api
                .get_opt(&name)
                .await
                .map_err(|error| failed("get query", "service", &name, namespace, error))?;
            let Some(write) = reconcile_service(existing.as_ref(), &desired, canary) else {
                return Ok(());
            };
            let result = match existing {
                Some(_) => api.replace(&name, &PostParams::default(), &write).await,
                None => api.create(&PostParams::default(), &write).await,
            };
            match result {
                Ok(_) => return Ok(()),
                Err(error) if is_conflict(&error) => match delays.next() {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(failed("update", "service", &name, namespace, error)),
                },
                Err(error) => return Err(failed("update", "service", &name, namespace, error)),
            }
        }
    }

    /// Gives a user's apex Service its selector back (`revertOnDeletion`).
    async fn revert_apex(&self, canary: &Canary) -> Result<(), PortError> {
        let Some((selector, pod_spec)) = self.target_pods(canary).await? else {
            return Ok(());
        };
        let namespace = canary.namespace();
        let name = ServiceRole::Apex.name(canary);
        let api = Api::<Service>::namespaced(self.client.clone(), namespace);
        let Some(existing) = api
            .get_opt(&name)
            .await
            .map_err(|error| failed("get query", "service", &name, namespace, error))?
        else {
            return Ok(());
        };
        if let Some(reverted) =
            revert_apex_service(&existing, canary, &selector, &pod_spec).map_err(router_error)?
        {
            api.replace(&name, &PostParams::default(), &reverted)
                .await
                .map_err(|error| failed("update", "service", &name, namespace, error))?;
        }
        Ok(())
    }

    // ------------------------------------------------------ routing objects

    async fn read<T: DeserializeOwned>(
        &self,
        client: &kube::Client,
        key: &ObjectKey,
    ) -> Result<Option<Live<T>>, PortError> {
        let Some(stored) = key
            .api(client)?
            .get_opt(&key.name)
            .await
            .map_err(|error| key.failed("get query", error))?
        else {
            return Ok(None);
        };
        let value = serde_json::to_value(&stored).map_err(router_error)?;
        let typed = serde_json::from_value(value)
            .map_err(|error| key.failed("decode", format!("not a valid {}: {error}", key.kind)))?;
        Ok(Some(Live { typed, stored }))
    }

    async fn read_required<T: DeserializeOwned>(
        &self,
        client: &kube::Client,
        key: &ObjectKey,
    ) -> Result<T, PortError> {
        self.read(client, key)
            .await?
            .map(|live| live.typed)
            .ok_or_else(|| key.failed("get query", "not found"))
    }

    /// Reads `key`, builds what it should be from the live object (`None`
    /// when there is none) and writes that when it differs; a concurrent
    /// write starts over with the newer object. `owned`: whether a created
    /// object gets the Canary as its owner.
    async fn apply<T: Serialize + DeserializeOwned>(
        &self,
        client: &kube::Client,
        canary: &Canary,
        key: &ObjectKey,
        owned: bool,
        build: impl Fn(Option<&T>) -> Result<T, PortError>,
    ) -> Result<(), PortError> {
        let api = key.api(client)?;
        let owner = if owned && self.settings.owner_references {
            Some(weir_workloads::metadata::canary_owner_reference(canary).map_err(router_error)?)
        } else {
            None
        };
        let mut delays = conflict_delays();
        loop {
            let live = self.read::<T>(client, key).await?;
            let desired = build(live.as_ref().map(|live| &live.typed))?;
            let desired = serde_json::to_value(&desired).map_err(router_error)?;
            let result = match &live {
                Some(live) => {
                    let current = serde_json::to_value(&live.typed).map_err(router_error)?;
                    if current == desired {
                        return Ok(());
                    }
                    let object = merged(&live.stored, &desired)?;
                    api.replace(&key.name, &PostParams::default(), &object)
                        .await
                }
                None => {
                    let object = fresh(&desired, owner.as_ref())?;
                    api.create(&PostParams::default(), &object).await
                }
            };
            match result {
                Ok(_) => return Ok(()),
                Err(error) if is_conflict(&error) => match delays.next() {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(key.failed("update", error)),
                },
                Err(error) => {
                    let action = if live.is_some() { "update" } else { "create" };
                    return Err(key.failed(action, error));
                }
            }
        }
    }

    /// `apply` for an object that must exist already (set_routes).
    async fn update<T: Serialize + DeserializeOwned>(
        &self,
        client: &kube::Client,
        canary: &Canary,
        key: &ObjectKey,
        build: impl Fn(&T) -> Result<T, PortError>,
    ) -> Result<(), PortError> {
        self.apply(client, canary, key, false, |live: Option<&T>| match live {
            Some(live) => build(live),
            None => Err(key.failed("get query", "not found")),
        })
        .await
    }

    // ---------------------------------------------------- keys per provider

    fn virtual_service_key(canary: &Canary) -> ObjectKey {
        ObjectKey::new(
            istio::API_VERSION,
            "VirtualService",
            canary.namespace(),
            &canary.spec.service_names().apex,
        )
    }

    fn http_route_key(canary: &Canary, version: gateway_api::Version) -> ObjectKey {
        ObjectKey::new(
            version.api_version(),
            "HTTPRoute",
            canary.namespace(),
            &canary.spec.service_names().apex,
        )
    }

    fn traffic_split_key(canary: &Canary, flavor: smi::Flavor) -> ObjectKey {
        ObjectKey::new(
            flavor.version.api_version(),
            "TrafficSplit",
            canary.namespace(),
            &canary.spec.service_names().apex,
        )
    }

    fn apex_key(canary: &Canary, api_version: &str, kind: &str) -> ObjectKey {
        ObjectKey::new(
            api_version,
            kind,
            canary.namespace(),
            &canary.spec.service_names().apex,
        )
    }

    fn ingress_key(canary: &Canary, name: &str) -> ObjectKey {
        ObjectKey::new("networking.k8s.io/v1", "Ingress", canary.namespace(), name)
    }

    /// The user's Ingress named by `spec.ingressRef`.
    fn ingress_ref_key(canary: &Canary) -> Result<ObjectKey, PortError> {
        let reference = canary.spec.ingress_ref.as_ref().ok_or_else(|| {
            PortError::new(format!(
                "canary {}.{}: the {} provider needs spec.ingressRef",
                canary.name(),
                canary.namespace(),
                canary.spec.provider.map_or("ingress", Provider::as_str),
            ))
        })?;
        Ok(Self::ingress_key(canary, &reference.name))
    }

    fn apisix_route_key(canary: &Canary) -> Result<ObjectKey, PortError> {
        let reference = canary.spec.route_ref.as_ref().ok_or_else(|| {
            PortError::new(format!(
                "canary {}.{}: the apisix provider needs spec.routeRef",
                canary.name(),
                canary.namespace()
            ))
        })?;
        Ok(ObjectKey::new(
            &reference.api_version,
            "ApisixRoute",
            canary.namespace(),
            &reference.name,
        ))
    }

    fn knative_key(canary: &Canary) -> ObjectKey {
        ObjectKey::new(
            knative::API_VERSION,
            "Service",
            canary.namespace(),
            &canary.spec.target_ref.name,
        )
    }

    fn kuma_key(canary: &Canary) -> ObjectKey {
        ObjectKey::new(
            kuma::API_VERSION,
            "TrafficRoute",
            "",
            &canary.spec.service_names().apex,
        )
    }

    // ------------------------------------------------ reconcile per provider

    async fn reconcile_istio(&self, canary: &Canary) -> Result<(), PortError> {
        let mesh = &self.mesh_client;
        for rule in istio::destination_rules(canary) {
            let key = ObjectKey::of(&rule)?;
            self.apply(
                mesh,
                canary,
                &key,
                true,
                |live: Option<&istio::DestinationRule>| {
                    Ok(match live {
                        Some(live) => istio::DestinationRule {
                            spec: rule.spec.clone(),
                            ..live.clone()
                        },
                        None => rule.clone(),
                    })
                },
            )
            .await?;
        }
        let key = Self::virtual_service_key(canary);
        self.apply(mesh, canary, &key, true, |live| {
            istio::reconcile(live, canary).map_err(router_error)
        })
        .await
    }

    async fn reconcile_gloo(&self, canary: &Canary) -> Result<(), PortError> {
        let mesh = &self.mesh_client;
        let config = match &canary.spec.upstream_ref {
            Some(reference) => {
                let namespace = reference
                    .namespace
                    .as_deref()
                    .filter(|namespace| !namespace.is_empty())
                    .unwrap_or(canary.namespace());
                let key = ObjectKey::new(
                    &reference.api_version,
                    "Upstream",
                    namespace,
                    &reference.name,
                );
                Some(self.read_required::<gloo::Upstream>(mesh, &key).await?)
            }
            None => None,
        };
        for (backend, role) in [
            (gloo::Backend::Primary, ServiceRole::Primary),
            (gloo::Backend::Canary, ServiceRole::Canary),
        ] {
            let service_name = role.name(canary);
            let namespace = canary.namespace();
            let selector = Api::<Service>::namespaced(self.client.clone(), namespace)
                .get(&service_name)
                .await
                .map_err(|error| failed("get query", "service", &service_name, namespace, error))?
                .spec
                .and_then(|spec| spec.selector)
                .unwrap_or_default();
            let inputs = gloo::UpstreamInputs {
                service_selector: &selector,
                config: config.as_ref(),
                include_label_prefixes: &self.options.include_label_prefixes,
            };
            let key = ObjectKey::new(
                gloo::UPSTREAM_API_VERSION,
                "Upstream",
                namespace,
                &gloo::upstream_name(canary, backend),
            );
            self.apply(mesh, canary, &key, true, |live| {
                Ok(gloo::reconcile_upstream(live, canary, backend, &inputs))
            })
            .await?;
        }
        let key = Self::apex_key(canary, gloo::ROUTE_TABLE_API_VERSION, "RouteTable");
        self.apply(mesh, canary, &key, true, |live| {
            gloo::reconcile(live, canary).map_err(router_error)
        })
        .await
    }

    async fn reconcile_app_mesh_v1beta1(&self, canary: &Canary) -> Result<(), PortError> {
        use appmesh::v1beta1;
        let mesh = &self.mesh_client;
        for role in [
            VirtualNodeRole::Apex,
            VirtualNodeRole::Primary,
            VirtualNodeRole::Canary,
        ] {
            let key = ObjectKey::new(
                v1beta1::API_VERSION,
                "VirtualNode",
                canary.namespace(),
                &role.name(canary),
            );
            self.apply(mesh, canary, &key, true, |live| {
                v1beta1::reconcile_virtual_node(live, canary, role).map_err(router_error)
            })
            .await?;
        }
        for role in [RouterRole::Apex, RouterRole::Canary] {
            let key = ObjectKey::new(
                v1beta1::API_VERSION,
                "VirtualService",
                canary.namespace(),
                &v1beta1::virtual_service_name(canary, role),
            );
            self.apply(mesh, canary, &key, true, |live| {
                v1beta1::reconcile_virtual_service(live, canary, role).map_err(router_error)
            })
            .await?;
        }
        Ok(())
    }

    async fn reconcile_app_mesh_v1beta2(&self, canary: &Canary) -> Result<(), PortError> {
        use appmesh::v1beta2::{self, Workload};
        let mesh = &self.mesh_client;
        // The VirtualNodes select pods by the target's selector label; a
        // target without pods of its own falls back to the first candidate.
        let selector_label = match self.target_pods(canary).await? {
            Some((selector, _)) => selector.key,
            None => self
                .options
                .selector_labels
                .first()
                .cloned()
                .unwrap_or_default(),
        };
        for workload in [Workload::Primary, Workload::Canary] {
            let key = ObjectKey::new(
                v1beta2::API_VERSION,
                "VirtualNode",
                canary.namespace(),
                &v1beta2::virtual_node_name(canary, workload),
            );
            self.apply(mesh, canary, &key, true, |live| {
                v1beta2::reconcile_virtual_node(live, canary, workload, &selector_label)
                    .map_err(router_error)
            })
            .await?;
        }
        for role in [RouterRole::Apex, RouterRole::Canary] {
            let key = ObjectKey::new(
                v1beta2::API_VERSION,
                "VirtualRouter",
                canary.namespace(),
                &role.name(canary),
            );
            self.apply(mesh, canary, &key, true, |live| {
                v1beta2::reconcile_virtual_router(live, canary, role).map_err(router_error)
            })
            .await?;
            let key = ObjectKey::of(&v1beta2::virtual_service(canary, role))?;
            self.apply(mesh, canary, &key, true, |live| {
                Ok(v1beta2::reconcile_virtual_service(live, canary, role))
            })
            .await?;
        }
        Ok(())
    }

    async fn reconcile_mesh_objects(&self, canary: &Canary) -> Result<(), PortError> {
        let mesh = &self.mesh_client;
        let provider = self.provider(canary);
        if let Some(version) = gateway_api::Version::of(provider) {
            let key = Self::http_route_key(canary, version);
            return self
                .apply(mesh, canary, &key, true, |live| {
                    gateway_api::reconcile(live, canary, version).map_err(router_error)
                })
                .await;
        }
        if let Some(flavor) = smi::Flavor::of(provider) {
            let key = Self::traffic_split_key(canary, flavor);
            return self
                .apply(mesh, canary, &key, true, |live| {
                    Ok(smi::reconcile(live, canary, flavor))
                })
                .await;
        }
        match provider {
            Provider::Istio => self.reconcile_istio(canary).await,
            Provider::Kubernetes => Ok(()),
            Provider::Nginx => {
                let apex: Ingress = self
                    .read_required(mesh, &Self::ingress_ref_key(canary)?)
                    .await?;
                let name = nginx::canary_ingress_name(canary).map_err(router_error)?;
                let prefix = &self.settings.ingress_annotations_prefix;
                self.apply(
                    mesh,
                    canary,
                    &Self::ingress_key(canary, &name),
                    true,
                    |live| nginx::reconcile(live, canary, &apex, prefix).map_err(router_error),
                )
                .await
            }
            Provider::Skipper => {
                let apex: Ingress = self
                    .read_required(mesh, &Self::ingress_ref_key(canary)?)
                    .await?;
                let name = skipper::canary_ingress_name(canary).map_err(router_error)?;
                self.apply(
                    mesh,
                    canary,
                    &Self::ingress_key(canary, &name),
                    true,
                    |live| skipper::reconcile(live, &apex, canary).map_err(router_error),
                )
                .await
            }
            Provider::Contour => {
                let key = Self::apex_key(canary, contour::API_VERSION, "HTTPProxy");
                self.apply(mesh, canary, &key, true, |live| {
                    contour::reconcile(live, canary, self.ingress_class()).map_err(router_error)
                })
                .await
            }
            Provider::Traefik => {
                let key = Self::apex_key(canary, traefik::API_VERSION, "TraefikService");
                self.apply(mesh, canary, &key, true, |live| {
                    Ok(traefik::reconcile(live, canary))
                })
                .await
            }
            Provider::Gloo => self.reconcile_gloo(canary).await,
            Provider::Apisix => {
                let route: apisix::ApisixRoute = self
                    .read_required(mesh, &Self::apisix_route_key(canary)?)
                    .await?;
                let name = apisix::canary_route_name(canary).map_err(router_error)?;
                let key = ObjectKey::new(
                    apisix::API_VERSION,
                    "ApisixRoute",
                    canary.namespace(),
                    &name,
                );
                self.apply(mesh, canary, &key, true, |live| {
                    apisix::reconcile(live, &route, canary).map_err(router_error)
                })
                .await
            }
            Provider::Kuma => {
                self.apply(
                    mesh,
                    canary,
                    &Self::kuma_key(canary),
                    kuma::OWNED_BY_CANARY,
                    |live| kuma::reconcile(live, canary).map_err(router_error),
                )
                .await
            }
            Provider::AppMesh => self.reconcile_app_mesh_v1beta1(canary).await,
            Provider::AppMeshV1beta2 => self.reconcile_app_mesh_v1beta2(canary).await,
            Provider::Knative => {
                // The user's Knative Service: never created here.
                self.update(mesh, canary, &Self::knative_key(canary), |live| {
                    knative::reconcile(live, canary).map_err(router_error)
                })
                .await
            }
            Provider::GatewayApiV1
            | Provider::GatewayApiV1beta1
            | Provider::Linkerd
            | Provider::Osm
            | Provider::SmiV1alpha1
            | Provider::SmiV1alpha2
            | Provider::SmiV1alpha3 => unreachable!("handled above"),
        }
    }

    // ------------------------------------------------- routes per provider

    async fn read_routes(&self, canary: &Canary) -> Result<Routes, PortError> {
        let mesh = &self.mesh_client;
        let provider = self.provider(canary);
        if let Some(version) = gateway_api::Version::of(provider) {
            let route = self
                .read_required(mesh, &Self::http_route_key(canary, version))
                .await?;
            return gateway_api::routes(&route, canary, version).map_err(router_error);
        }
        if let Some(flavor) = smi::Flavor::of(provider) {
            let split = self
                .read_required(mesh, &Self::traffic_split_key(canary, flavor))
                .await?;
            return smi::routes(&split, canary).map_err(router_error);
        }
        match provider {
            Provider::Istio => {
                let virtual_service = self
                    .read_required(mesh, &Self::virtual_service_key(canary))
                    .await?;
                istio::routes(&virtual_service, canary).map_err(router_error)
            }
            Provider::Kubernetes => Ok(kubernetes::routes(canary)),
            Provider::Nginx => {
                let name = nginx::canary_ingress_name(canary).map_err(router_error)?;
                let ingress = self
                    .read_required(mesh, &Self::ingress_key(canary, &name))
                    .await?;
                nginx::routes(&ingress, canary, &self.settings.ingress_annotations_prefix)
                    .map_err(router_error)
            }
            Provider::Skipper => {
                let name = skipper::canary_ingress_name(canary).map_err(router_error)?;
                let ingress = self
                    .read_required(mesh, &Self::ingress_key(canary, &name))
                    .await?;
                skipper::routes(&ingress, canary).map_err(router_error)
            }
            Provider::Contour => {
                let key = Self::apex_key(canary, contour::API_VERSION, "HTTPProxy");
                contour::routes(&self.read_required(mesh, &key).await?, canary)
                    .map_err(router_error)
            }
            Provider::Traefik => {
                let key = Self::apex_key(canary, traefik::API_VERSION, "TraefikService");
                traefik::routes(&self.read_required(mesh, &key).await?, canary)
                    .map_err(router_error)
            }
            Provider::Gloo => {
                let key = Self::apex_key(canary, gloo::ROUTE_TABLE_API_VERSION, "RouteTable");
                gloo::routes(&self.read_required(mesh, &key).await?, canary).map_err(router_error)
            }
            Provider::Apisix => {
                let name = apisix::canary_route_name(canary).map_err(router_error)?;
                let key = ObjectKey::new(
                    apisix::API_VERSION,
                    "ApisixRoute",
                    canary.namespace(),
                    &name,
                );
                apisix::routes(&self.read_required(mesh, &key).await?, canary).map_err(router_error)
            }
            Provider::Kuma => kuma::routes(
                &self.read_required(mesh, &Self::kuma_key(canary)).await?,
                canary,
            )
            .map_err(router_error),
            Provider::AppMesh => {
                use appmesh::v1beta1;
                let key = ObjectKey::new(
                    v1beta1::API_VERSION,
                    "VirtualService",
                    canary.namespace(),
                    &v1beta1::virtual_service_name(canary, RouterRole::Apex),
                );
                v1beta1::routes(&self.read_required(mesh, &key).await?, canary)
                    .map_err(router_error)
            }
            Provider::AppMeshV1beta2 => {
                use appmesh::v1beta2;
                let key = ObjectKey::new(
                    v1beta2::API_VERSION,
                    "VirtualRouter",
                    canary.namespace(),
                    &RouterRole::Apex.name(canary),
                );
                v1beta2::routes(&self.read_required(mesh, &key).await?, canary)
                    .map_err(router_error)
            }
            Provider::Knative => knative::routes(
                &self.read_required(mesh, &Self::knative_key(canary)).await?,
                canary,
            )
            .map_err(router_error),
            Provider::GatewayApiV1
            | Provider::GatewayApiV1beta1
            | Provider::Linkerd
            | Provider::Osm
            | Provider::SmiV1alpha1
            | Provider::SmiV1alpha2
            | Provider::SmiV1alpha3 => unreachable!("handled above"),
        }
    }

    async fn write_routes(&self, canary: &Canary, routes: Routes) -> Result<(), PortError> {
        let mesh = &self.mesh_client;
        let provider = self.provider(canary);
        if let Some(version) = gateway_api::Version::of(provider) {
            let key = Self::http_route_key(canary, version);
            return self
                .update(mesh, canary, &key, |live| {
                    gateway_api::set_routes(live, canary, routes, version).map_err(router_error)
                })
                .await;
        }
        if let Some(flavor) = smi::Flavor::of(provider) {
            let key = Self::traffic_split_key(canary, flavor);
            return self
                .update(mesh, canary, &key, |live| {
                    Ok(smi::set_routes(live, canary, routes, flavor))
                })
                .await;
        }
        match provider {
            Provider::Istio => {
                self.update(mesh, canary, &Self::virtual_service_key(canary), |live| {
                    Ok(istio::set_routes(live, canary, routes))
                })
                .await
            }
            Provider::Kubernetes => Ok(()),
            Provider::Nginx => {
                let name = nginx::canary_ingress_name(canary).map_err(router_error)?;
                let prefix = &self.settings.ingress_annotations_prefix;
                self.update(mesh, canary, &Self::ingress_key(canary, &name), |live| {
                    nginx::set_routes(live, canary, routes, prefix).map_err(router_error)
                })
                .await
            }
            Provider::Skipper => {
                let name = skipper::canary_ingress_name(canary).map_err(router_error)?;
                self.update(mesh, canary, &Self::ingress_key(canary, &name), |live| {
                    Ok(skipper::set_routes(live, canary, routes))
                })
                .await
            }
            Provider::Contour => {
                let key = Self::apex_key(canary, contour::API_VERSION, "HTTPProxy");
                self.update(mesh, canary, &key, |live| {
                    contour::set_routes(live, canary, routes, self.ingress_class())
                        .map_err(router_error)
                })
                .await
            }
            Provider::Traefik => {
                let key = Self::apex_key(canary, traefik::API_VERSION, "TraefikService");
                self.update(mesh, canary, &key, |live| {
                    traefik::set_routes(live, canary, routes).map_err(router_error)
                })
                .await
            }
            Provider::Gloo => {
                let key = Self::apex_key(canary, gloo::ROUTE_TABLE_API_VERSION, "RouteTable");
                self.update(mesh, canary, &key, |live| {
                    gloo::set_routes(live, canary, routes).map_err(router_error)
                })
                .await
            }
            Provider::Apisix => {
                let name = apisix::canary_route_name(canary).map_err(router_error)?;
                let key = ObjectKey::new(
                    apisix::API_VERSION,
                    "ApisixRoute",
                    canary.namespace(),
                    &name,
                );
                self.update(mesh, canary, &key, |live| {
                    apisix::set_routes(live, canary, routes).map_err(router_error)
                })
                .await
            }
            Provider::Kuma => {
                self.update(mesh, canary, &Self::kuma_key(canary), |live| {
                    kuma::set_routes(live, canary, routes).map_err(router_error)
                })
                .await
            }
            Provider::AppMesh => {
                use appmesh::v1beta1;
                let key = ObjectKey::new(
                    v1beta1::API_VERSION,
                    "VirtualService",
                    canary.namespace(),
                    &v1beta1::virtual_service_name(canary, RouterRole::Apex),
                );
                self.update(mesh, canary, &key, |live| {
                    v1beta1::set_routes(live, canary, routes).map_err(router_error)
                })
                .await
            }
            Provider::AppMeshV1beta2 => {
                use appmesh::v1beta2;
                let key = ObjectKey::new(
                    v1beta2::API_VERSION,
                    "VirtualRouter",
                    canary.namespace(),
                    &RouterRole::Apex.name(canary),
                );
                self.update(mesh, canary, &key, |live| {
                    v1beta2::set_routes(live, canary, routes).map_err(router_error)
                })
                .await
            }
            Provider::Knative => {
                self.update(mesh, canary, &Self::knative_key(canary), |live| {
                    knative::set_routes(live, canary, routes).map_err(router_error)
                })
                .await
            }
            Provider::GatewayApiV1
            | Provider::GatewayApiV1beta1
            | Provider::Linkerd
            | Provider::Osm
            | Provider::SmiV1alpha1
            | Provider::SmiV1alpha2
            | Provider::SmiV1alpha3 => unreachable!("handled above"),
        }
    }

    async fn finalize_mesh(&self, canary: &Canary) -> Result<(), PortError> {
        let mesh = &self.mesh_client;
        match self.provider(canary) {
            Provider::Istio => {
                let key = Self::virtual_service_key(canary);
                let Some(live) = self.read::<istio::VirtualService>(mesh, &key).await? else {
                    return Ok(());
                };
                let Some(original) = istio::finalize(&live.typed).map_err(router_error)? else {
                    tracing::warn!(
                        "{}.{}: no original configuration recorded; the VirtualService stays as it is",
                        key.name,
                        key.namespace
                    );
                    return Ok(());
                };
                self.update(mesh, canary, &key, |live: &istio::VirtualService| {
                    Ok(istio::VirtualService {
                        spec: original.clone(),
                        ..live.clone()
                    })
                })
                .await
            }
            Provider::Skipper => {
                let deletion = skipper::finalize(canary).map_err(router_error)?;
                let key = Self::ingress_key(canary, &deletion.name);
                let parameters = DeleteParams {
                    grace_period_seconds: u32::try_from(deletion.grace_period_seconds).ok(),
                    ..DeleteParams::default()
                };
                match key.api(mesh)?.delete(&key.name, &parameters).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                    Err(error) => Err(key.failed("delete", error)),
                }
            }
            Provider::Knative => {
                let key = Self::knative_key(canary);
                self.update(mesh, canary, &key, |live: &knative::KnativeService| {
                    Ok(knative::finalize(live).unwrap_or_else(|| live.clone()))
                })
                .await
            }
            // Flagger's other routers have nothing to give back.
            _ => Ok(()),
        }
    }
}

impl Routing for KubeRouting {
    fn reconcile_services(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.bridge
            .run(self.reconcile_services_of(canary, &[ServiceRole::Canary, ServiceRole::Primary]))
    }

    fn reconcile_apex(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.bridge
            .run(self.reconcile_services_of(canary, &[ServiceRole::Apex]))
    }

    fn reconcile_mesh(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.bridge.run(self.reconcile_mesh_objects(canary))
    }

    fn routes(&mut self, canary: &Canary) -> Result<Routes, PortError> {
        self.bridge.run(self.read_routes(canary))
    }

    fn set_routes(&mut self, canary: &Canary, routes: Routes) -> Result<(), PortError> {
        self.bridge.run(self.write_routes(canary, routes))
    }

    fn finalize(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.bridge.run(async {
            self.revert_apex(canary).await?;
            self.finalize_mesh(canary).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(value: Value) -> DynamicObject {
        serde_json::from_value(value).expect("a dynamic object")
    }

    #[test]
    fn a_write_keeps_identity_ownership_and_status_and_replaces_the_router_fields() {
        let live = stored(json!({
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {
                "name": "podinfo", "namespace": "test", "resourceVersion": "42",
                "uid": "u-1", "labels": {"old": "label"},
                "ownerReferences": [{"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo", "uid": "c-1"}]
            },
            "spec": {"hosts": ["podinfo"], "exportTo": ["."]},
            "status": {"observedGeneration": 3}
        }));
        let desired = json!({
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {"name": "podinfo", "namespace": "test", "annotations": {"a": "b"}},
            "spec": {"hosts": ["podinfo", "app.example.com"]}
        });
        let written = serde_json::to_value(merged(&live, &desired).expect("merged")).expect("json");
        assert_eq!(written["metadata"]["resourceVersion"], "42");
        assert_eq!(written["metadata"]["ownerReferences"][0]["uid"], "c-1");
        assert_eq!(written["metadata"]["annotations"], json!({"a": "b"}));
        assert!(
            written["metadata"].get("labels").is_none(),
            "labels are the router's: {written}"
        );
        assert_eq!(written["spec"], desired["spec"]);
        assert_eq!(written["status"], json!({"observedGeneration": 3}));
    }

    #[test]
    fn a_created_object_takes_nothing_from_the_user_object_it_was_copied_from() {
        let owner = weir_workloads::metadata::canary_owner_reference(&serde_json::from_value::<Canary>(json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test", "uid": "c-1"},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}, "service": {"port": 80}}
        })).expect("canary"))
        .expect("owner");
        let desired = json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "podinfo-canary", "namespace": "test", "resourceVersion": "7", "uid": "i-1",
                "annotations": {"nginx.ingress.kubernetes.io/canary": "true"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Foo", "name": "user", "uid": "u"}]
            },
            "spec": {"rules": []},
            "status": {"loadBalancer": {}}
        });
        let created =
            serde_json::to_value(fresh(&desired, Some(&owner)).expect("fresh")).expect("json");
        assert_eq!(
            created,
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "podinfo-canary", "namespace": "test",
                    "annotations": {"nginx.ingress.kubernetes.io/canary": "true"},
                    "ownerReferences": [serde_json::to_value(&owner).expect("owner json")]
                },
                "spec": {"rules": []}
            })
        );
    }

    #[test]
    fn cluster_scoped_objects_have_no_namespace_in_their_key() {
        let key = ObjectKey::of(&json!({
            "apiVersion": "kuma.io/v1alpha1", "kind": "TrafficRoute",
            "metadata": {"name": "podinfo"}
        }))
        .expect("key");
        assert_eq!(
            key,
            ObjectKey::new("kuma.io/v1alpha1", "TrafficRoute", "", "podinfo")
        );
    }
}
