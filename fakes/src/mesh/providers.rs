//! The routing objects of every provider but Istio, Gateway API and
//! kubernetes, stored as the live controller (`controller/live/src/cluster/
//! routing.rs`) writes them: each port method calls the same `weir_routers`
//! function with the same inputs, so the stored objects are the ones a
//! cluster would hold.
//!
//! ```text
//!   reconcile  ──▶ user objects synthesised once ──▶ router's reconcile ──▶ stored
//!   set_routes ──▶ stored object ──▶ router's set_routes ──────────────────▶ stored
//!   routes     ──▶ stored object ──▶ router's routes (Flagger's GetRoutes)
//!   Knative    ──▶ after every write, the fake Knative controller fills `status`
//! ```
//!
//! Inputs the live controller reads from the cluster are made up from the
//! Canary, as plausible user objects:
//!
//! * **nginx, skipper**: the Ingress named by `spec.ingressRef`, with one rule
//!   sending every path (`/`, `Prefix`) of any host to the apex Service on
//!   `spec.service.port`.
//! * **apisix**: the ApisixRoute named by `spec.routeRef`, with one HTTP route
//!   (`/*`) whose single backend is the apex Service.
//! * **gloo**: the Services' selectors, `app: <target>-primary` and
//!   `app: <target>` (Flagger's first selector label); an `upstreamRef` is
//!   read as an Upstream without settings, so nothing is copied from it.
//! * **appmesh:v1beta2**: pods are selected by the `app` label.
//! * **knative**: the target's Knative Service, created by the user before the
//!   Canary, with revision `<target>-00001`. Knative itself is reduced to what
//!   the router reads: after every write `status.traffic` mirrors
//!   `spec.traffic` (the latest revision's name filled in, all traffic to the
//!   latest revision when `spec.traffic` is empty), and
//!   `latestCreatedRevisionName` / `latestReadyRevisionName` name the newest
//!   revision. A new revision is created when the Canary's
//!   `status.lastAppliedSpec` changes (the engine's record of the target's
//!   spec), so it appears when the engine sees the change, one tick after
//!   Knative would. Promotion (moving `flagger.app/primary-revision` to the
//!   latest revision) is the workloads port's job in Flagger and is not done
//!   here.
//!
//! User objects are created once and never changed by the fake, as a user
//! would leave them; `edit_object` changes them like any other object.
//! The controller flags are their defaults: `-ingress-annotations-prefix
//! nginx.ingress.kubernetes.io`, no `-ingress-class`.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use weir_api::{Canary, Provider};
use weir_engine::ports::{PortError, Routes};
use weir_routers::appmesh::{RouterRole, VirtualNodeRole, v1beta1, v1beta2};
use weir_routers::{apisix, contour, gloo, knative, kuma, nginx, skipper, smi, traefik};

use super::router_error;

/// `-ingress-annotations-prefix` of the simulated controller (the default).
pub(super) const INGRESS_ANNOTATIONS_PREFIX: &str = nginx::DEFAULT_ANNOTATIONS_PREFIX;
/// `-ingress-class` of the simulated controller: unset, as by default.
const INGRESS_CLASS: &str = "";
/// The pod label the simulated workloads are selected by: the first of
/// Flagger's default `-selector-labels`.
const SELECTOR_LABEL: &str = "app";
/// Knative names a Service's revisions `<service>-00001`, `<service>-00002`, ...
const FIRST_KNATIVE_REVISION: u32 = 1;

/// A stored object, whatever its type: serialized for listings and edits.
pub(super) trait Stored: std::fmt::Debug {
    /// The object as the API server would return it.
    fn to_json(&self) -> Result<Value, serde_json::Error>;
    /// Replaces the object with `value`, which must still be one.
    fn replace_from(&mut self, value: Value) -> Result<(), serde_json::Error>;
}

impl<T: Serialize + DeserializeOwned + std::fmt::Debug> Stored for T {
    fn to_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn replace_from(&mut self, value: Value) -> Result<(), serde_json::Error> {
        *self = serde_json::from_value(value)?;
        Ok(())
    }
}

/// What the simulated cluster stores for one provider.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ProviderObjects {
    /// Istio, Gateway API and kubernetes: `Objects` holds theirs.
    Elsewhere,
    /// linkerd, osm and `smi:*`: the TrafficSplit `<apex>`.
    Smi {
        flavor: smi::Flavor,
        split: Option<Box<smi::TrafficSplit>>,
    },
    /// The user's Ingress and the canary Ingress, by name.
    Nginx {
        ingresses: BTreeMap<String, Ingress>,
    },
    /// The user's Ingress and the canary Ingress, by name.
    Skipper {
        ingresses: BTreeMap<String, Ingress>,
    },
    /// The HTTPProxy `<apex>`.
    Contour {
        proxy: Option<Box<contour::HttpProxy>>,
    },
    /// The TraefikService `<apex>`.
    Traefik {
        service: Option<Box<traefik::TraefikService>>,
    },
    /// The primary and canary Upstreams by name, and the RouteTable `<apex>`.
    Gloo {
        upstreams: BTreeMap<String, gloo::Upstream>,
        table: Option<Box<gloo::RouteTable>>,
    },
    /// The user's ApisixRoute and the canary ApisixRoute, by name.
    Apisix {
        routes: BTreeMap<String, apisix::ApisixRoute>,
    },
    /// The cluster-scoped TrafficRoute `<apex>`.
    Kuma {
        route: Option<Box<kuma::TrafficRoute>>,
    },
    /// VirtualNodes and VirtualServices (with their routers), by name.
    AppMeshV1beta1 {
        nodes: BTreeMap<String, v1beta1::VirtualNode>,
        services: BTreeMap<String, v1beta1::VirtualService>,
    },
    /// VirtualNodes, VirtualRouters and VirtualServices, by name.
    AppMeshV1beta2 {
        nodes: BTreeMap<String, v1beta2::VirtualNode>,
        routers: BTreeMap<String, v1beta2::VirtualRouter>,
        services: BTreeMap<String, v1beta2::VirtualService>,
    },
    /// The target's Knative Service and the fake Knative's revision count.
    Knative {
        service: Option<Box<knative::KnativeService>>,
        /// Revisions created so far; the newest is the latest created one.
        revisions: u32,
        /// The Canary's `status.lastAppliedSpec` last seen (empty before).
        target_spec: String,
    },
}

/// Calls `$visit(kind, name, object)` for every stored object; `object` is
/// `&T` or `&mut T` as `$objects` is borrowed.
macro_rules! for_each_object {
    ($objects:expr, $visit:ident) => {
        match $objects {
            ProviderObjects::Elsewhere => {}
            ProviderObjects::Smi { split, .. } => {
                if let Some(split) = split {
                    let name = split.metadata.name.clone();
                    $visit("TrafficSplit", name, split);
                }
            }
            ProviderObjects::Nginx { ingresses } | ProviderObjects::Skipper { ingresses } => {
                for (name, ingress) in ingresses {
                    $visit("Ingress", name.clone(), ingress);
                }
            }
            ProviderObjects::Contour { proxy } => {
                if let Some(proxy) = proxy {
                    let name = proxy.metadata.name.clone();
                    $visit("HTTPProxy", name, proxy);
                }
            }
            ProviderObjects::Traefik { service } => {
                if let Some(service) = service {
                    let name = service.metadata.name.clone();
                    $visit("TraefikService", name, service);
                }
            }
            ProviderObjects::Gloo { upstreams, table } => {
                for (name, upstream) in upstreams {
                    $visit("Upstream", name.clone(), upstream);
                }
                if let Some(table) = table {
                    let name = table.metadata.name.clone();
                    $visit("RouteTable", name, table);
                }
            }
            ProviderObjects::Apisix { routes } => {
                for (name, route) in routes {
                    $visit("ApisixRoute", name.clone(), route);
                }
            }
            ProviderObjects::Kuma { route } => {
                if let Some(route) = route {
                    let name = route.metadata.name.clone();
                    $visit("TrafficRoute", name, route);
                }
            }
            ProviderObjects::AppMeshV1beta1 { nodes, services } => {
                for (name, node) in nodes {
                    $visit("VirtualNode", name.clone(), node);
                }
                for (name, service) in services {
                    $visit("VirtualService", name.clone(), service);
                }
            }
            ProviderObjects::AppMeshV1beta2 {
                nodes,
                routers,
                services,
            } => {
                for (name, node) in nodes {
                    $visit("VirtualNode", name.clone(), node);
                }
                for (name, router) in routers {
                    $visit("VirtualRouter", name.clone(), router);
                }
                for (name, service) in services {
                    $visit("VirtualService", name.clone(), service);
                }
            }
            ProviderObjects::Knative { service, .. } => {
                if let Some(service) = service {
                    let name = service.metadata.name.clone().unwrap_or_default();
                    $visit("Service", name, service);
                }
            }
        }
    };
}

impl ProviderObjects {
    /// Nothing stored yet for `provider`.
    pub(super) fn new(provider: Provider) -> ProviderObjects {
        if let Some(flavor) = smi::Flavor::of(provider) {
            return ProviderObjects::Smi {
                flavor,
                split: None,
            };
        }
        match provider {
            Provider::Nginx => ProviderObjects::Nginx {
                ingresses: BTreeMap::new(),
            },
            Provider::Skipper => ProviderObjects::Skipper {
                ingresses: BTreeMap::new(),
            },
            Provider::Contour => ProviderObjects::Contour { proxy: None },
            Provider::Traefik => ProviderObjects::Traefik { service: None },
            Provider::Gloo => ProviderObjects::Gloo {
                upstreams: BTreeMap::new(),
                table: None,
            },
            Provider::Apisix => ProviderObjects::Apisix {
                routes: BTreeMap::new(),
            },
            Provider::Kuma => ProviderObjects::Kuma { route: None },
            Provider::AppMesh => ProviderObjects::AppMeshV1beta1 {
                nodes: BTreeMap::new(),
                services: BTreeMap::new(),
            },
            Provider::AppMeshV1beta2 => ProviderObjects::AppMeshV1beta2 {
                nodes: BTreeMap::new(),
                routers: BTreeMap::new(),
                services: BTreeMap::new(),
            },
            Provider::Knative => ProviderObjects::Knative {
                service: None,
                revisions: FIRST_KNATIVE_REVISION,
                target_spec: String::new(),
            },
            Provider::Istio
            | Provider::GatewayApiV1
            | Provider::GatewayApiV1beta1
            | Provider::Kubernetes
            | Provider::Linkerd
            | Provider::Osm
            | Provider::SmiV1alpha1
            | Provider::SmiV1alpha2
            | Provider::SmiV1alpha3 => ProviderObjects::Elsewhere,
        }
    }

    /// Flagger's `Reconcile`, as `reconcile_mesh_objects` in the live
    /// controller runs it.
    pub(super) fn reconcile(&mut self, canary: &Canary) -> Result<(), PortError> {
        match self {
            ProviderObjects::Elsewhere => Ok(()),
            ProviderObjects::Smi { flavor, split } => {
                let reconciled = smi::reconcile(split.as_deref(), canary, *flavor);
                *split = Some(Box::new(reconciled));
                Ok(())
            }
            ProviderObjects::Nginx { ingresses } => {
                let user = user_ingress(ingresses, canary)?;
                let name = nginx::canary_ingress_name(canary).map_err(router_error)?;
                let reconciled = nginx::reconcile(
                    ingresses.get(&name),
                    canary,
                    &user,
                    INGRESS_ANNOTATIONS_PREFIX,
                )
                .map_err(router_error)?;
                ingresses.insert(name, reconciled);
                Ok(())
            }
            ProviderObjects::Skipper { ingresses } => {
                let user = user_ingress(ingresses, canary)?;
                let name = skipper::canary_ingress_name(canary).map_err(router_error)?;
                let reconciled = skipper::reconcile(ingresses.get(&name), &user, canary)
                    .map_err(router_error)?;
                ingresses.insert(name, reconciled);
                Ok(())
            }
            ProviderObjects::Contour { proxy } => {
                let reconciled = contour::reconcile(proxy.as_deref(), canary, INGRESS_CLASS)
                    .map_err(router_error)?;
                *proxy = Some(Box::new(reconciled));
                Ok(())
            }
            ProviderObjects::Traefik { service } => {
                *service = Some(Box::new(traefik::reconcile(service.as_deref(), canary)));
                Ok(())
            }
            ProviderObjects::Gloo { upstreams, table } => {
                for (backend, pods) in [
                    (gloo::Backend::Primary, canary.spec.primary_workload_name()),
                    (gloo::Backend::Canary, canary.spec.target_ref.name.clone()),
                ] {
                    let selector = BTreeMap::from([(SELECTOR_LABEL.to_owned(), pods)]);
                    let inputs = gloo::UpstreamInputs {
                        service_selector: &selector,
                        config: None,
                        include_label_prefixes: &[],
                    };
                    let name = gloo::upstream_name(canary, backend);
                    let reconciled =
                        gloo::reconcile_upstream(upstreams.get(&name), canary, backend, &inputs);
                    upstreams.insert(name, reconciled);
                }
                let reconciled = gloo::reconcile(table.as_deref(), canary).map_err(router_error)?;
                *table = Some(Box::new(reconciled));
                Ok(())
            }
            ProviderObjects::Apisix { routes } => {
                let user = user_apisix_route(routes, canary)?;
                let name = apisix::canary_route_name(canary).map_err(router_error)?;
                let reconciled =
                    apisix::reconcile(routes.get(&name), &user, canary).map_err(router_error)?;
                routes.insert(name, reconciled);
                Ok(())
            }
            ProviderObjects::Kuma { route } => {
                let reconciled = kuma::reconcile(route.as_deref(), canary).map_err(router_error)?;
                *route = Some(Box::new(reconciled));
                Ok(())
            }
            ProviderObjects::AppMeshV1beta1 { nodes, services } => {
                for role in [
                    VirtualNodeRole::Apex,
                    VirtualNodeRole::Primary,
                    VirtualNodeRole::Canary,
                ] {
                    let name = role.name(canary);
                    let reconciled =
                        v1beta1::reconcile_virtual_node(nodes.get(&name), canary, role)
                            .map_err(router_error)?;
                    nodes.insert(name, reconciled);
                }
                for role in [RouterRole::Apex, RouterRole::Canary] {
                    let name = v1beta1::virtual_service_name(canary, role);
                    let reconciled =
                        v1beta1::reconcile_virtual_service(services.get(&name), canary, role)
                            .map_err(router_error)?;
                    services.insert(name, reconciled);
                }
                Ok(())
            }
            ProviderObjects::AppMeshV1beta2 {
                nodes,
                routers,
                services,
            } => {
                for workload in [v1beta2::Workload::Primary, v1beta2::Workload::Canary] {
                    let name = v1beta2::virtual_node_name(canary, workload);
                    let reconciled = v1beta2::reconcile_virtual_node(
                        nodes.get(&name),
                        canary,
                        workload,
                        SELECTOR_LABEL,
                    )
                    .map_err(router_error)?;
                    nodes.insert(name, reconciled);
                }
                for role in [RouterRole::Apex, RouterRole::Canary] {
                    let name = role.name(canary);
                    let reconciled =
                        v1beta2::reconcile_virtual_router(routers.get(&name), canary, role)
                            .map_err(router_error)?;
                    routers.insert(name, reconciled);
                    let name = v1beta2::virtual_service(canary, role).metadata.name;
                    let reconciled =
                        v1beta2::reconcile_virtual_service(services.get(&name), canary, role);
                    services.insert(name, reconciled);
                }
                Ok(())
            }
            ProviderObjects::Knative {
                service, revisions, ..
            } => {
                // The user's Service: there before the Canary, never created by weir.
                let current = service.get_or_insert_with(|| Box::new(user_knative_service(canary)));
                let mut reconciled = knative::reconcile(current, canary).map_err(router_error)?;
                knative_controller(&mut reconciled, *revisions);
                **current = reconciled;
                Ok(())
            }
        }
    }

    /// Flagger's `SetRoutes`, as `write_routes` in the live controller runs
    /// it: the object must exist.
    pub(super) fn set_routes(&mut self, canary: &Canary, routes: Routes) -> Result<(), PortError> {
        let apex = canary.spec.service_names().apex;
        let namespace = canary.namespace();
        match self {
            ProviderObjects::Elsewhere => Ok(()),
            ProviderObjects::Smi { flavor, split } => {
                let existing = required(split.as_deref(), "TrafficSplit", &apex, namespace)?;
                let updated = smi::set_routes(existing, canary, routes, *flavor);
                *split = Some(Box::new(updated));
                Ok(())
            }
            ProviderObjects::Nginx { ingresses } => {
                let name = nginx::canary_ingress_name(canary).map_err(router_error)?;
                let existing = required(ingresses.get(&name), "Ingress", &name, namespace)?;
                let updated =
                    nginx::set_routes(existing, canary, routes, INGRESS_ANNOTATIONS_PREFIX)
                        .map_err(router_error)?;
                ingresses.insert(name, updated);
                Ok(())
            }
            ProviderObjects::Skipper { ingresses } => {
                let name = skipper::canary_ingress_name(canary).map_err(router_error)?;
                let existing = required(ingresses.get(&name), "Ingress", &name, namespace)?;
                let updated = skipper::set_routes(existing, canary, routes);
                ingresses.insert(name, updated);
                Ok(())
            }
            ProviderObjects::Contour { proxy } => {
                let existing = required(proxy.as_deref(), "HTTPProxy", &apex, namespace)?;
                let updated = contour::set_routes(existing, canary, routes, INGRESS_CLASS)
                    .map_err(router_error)?;
                *proxy = Some(Box::new(updated));
                Ok(())
            }
            ProviderObjects::Traefik { service } => {
                let existing = required(service.as_deref(), "TraefikService", &apex, namespace)?;
                let updated =
                    traefik::set_routes(existing, canary, routes).map_err(router_error)?;
                *service = Some(Box::new(updated));
                Ok(())
            }
            ProviderObjects::Gloo { table, .. } => {
                let existing = required(table.as_deref(), "RouteTable", &apex, namespace)?;
                let updated = gloo::set_routes(existing, canary, routes).map_err(router_error)?;
                *table = Some(Box::new(updated));
                Ok(())
            }
            ProviderObjects::Apisix { routes: stored } => {
                let name = apisix::canary_route_name(canary).map_err(router_error)?;
                let existing = required(stored.get(&name), "ApisixRoute", &name, namespace)?;
                let updated = apisix::set_routes(existing, canary, routes).map_err(router_error)?;
                stored.insert(name, updated);
                Ok(())
            }
            ProviderObjects::Kuma { route } => {
                // Cluster-scoped: no namespace in the key.
                let existing = required(route.as_deref(), "TrafficRoute", &apex, "")?;
                let updated = kuma::set_routes(existing, canary, routes).map_err(router_error)?;
                *route = Some(Box::new(updated));
                Ok(())
            }
            ProviderObjects::AppMeshV1beta1 { services, .. } => {
                let name = v1beta1::virtual_service_name(canary, RouterRole::Apex);
                let existing = required(services.get(&name), "VirtualService", &name, namespace)?;
                let updated =
                    v1beta1::set_routes(existing, canary, routes).map_err(router_error)?;
                services.insert(name, updated);
                Ok(())
            }
            ProviderObjects::AppMeshV1beta2 { routers, .. } => {
                let existing = required(routers.get(&apex), "VirtualRouter", &apex, namespace)?;
                let updated =
                    v1beta2::set_routes(existing, canary, routes).map_err(router_error)?;
                routers.insert(apex, updated);
                Ok(())
            }
            ProviderObjects::Knative {
                service, revisions, ..
            } => {
                let target = &canary.spec.target_ref.name;
                let existing = required(service.as_deref(), "Service", target, namespace)?;
                let mut updated =
                    knative::set_routes(existing, canary, routes).map_err(router_error)?;
                knative_controller(&mut updated, *revisions);
                *service = Some(Box::new(updated));
                Ok(())
            }
        }
    }

    /// Flagger's `GetRoutes`, read from the stored object by the router's
    /// own function, as `read_routes` in the live controller does.
    pub(super) fn routes(&self, canary: &Canary) -> Result<Routes, PortError> {
        let apex = canary.spec.service_names().apex;
        let namespace = canary.namespace();
        match self {
            ProviderObjects::Elsewhere => Ok(Routes::ALL_PRIMARY),
            ProviderObjects::Smi { split, .. } => {
                let split = required(split.as_deref(), "TrafficSplit", &apex, namespace)?;
                smi::routes(split, canary).map_err(router_error)
            }
            ProviderObjects::Nginx { ingresses } => {
                let name = nginx::canary_ingress_name(canary).map_err(router_error)?;
                let ingress = required(ingresses.get(&name), "Ingress", &name, namespace)?;
                nginx::routes(ingress, canary, INGRESS_ANNOTATIONS_PREFIX).map_err(router_error)
            }
            ProviderObjects::Skipper { ingresses } => {
                let name = skipper::canary_ingress_name(canary).map_err(router_error)?;
                let ingress = required(ingresses.get(&name), "Ingress", &name, namespace)?;
                skipper::routes(ingress, canary).map_err(router_error)
            }
            ProviderObjects::Contour { proxy } => {
                let proxy = required(proxy.as_deref(), "HTTPProxy", &apex, namespace)?;
                contour::routes(proxy, canary).map_err(router_error)
            }
            ProviderObjects::Traefik { service } => {
                let service = required(service.as_deref(), "TraefikService", &apex, namespace)?;
                traefik::routes(service, canary).map_err(router_error)
            }
            ProviderObjects::Gloo { table, .. } => {
                let table = required(table.as_deref(), "RouteTable", &apex, namespace)?;
                gloo::routes(table, canary).map_err(router_error)
            }
            ProviderObjects::Apisix { routes } => {
                let name = apisix::canary_route_name(canary).map_err(router_error)?;
                let route = required(routes.get(&name), "ApisixRoute", &name, namespace)?;
                apisix::routes(route, canary).map_err(router_error)
            }
            ProviderObjects::Kuma { route } => {
                let route = required(route.as_deref(), "TrafficRoute", &apex, "")?;
                kuma::routes(route, canary).map_err(router_error)
            }
            ProviderObjects::AppMeshV1beta1 { services, .. } => {
                let name = v1beta1::virtual_service_name(canary, RouterRole::Apex);
                let service = required(services.get(&name), "VirtualService", &name, namespace)?;
                v1beta1::routes(service, canary).map_err(router_error)
            }
            ProviderObjects::AppMeshV1beta2 { routers, .. } => {
                let router = required(routers.get(&apex), "VirtualRouter", &apex, namespace)?;
                v1beta2::routes(router, canary).map_err(router_error)
            }
            ProviderObjects::Knative { service, .. } => {
                let target = &canary.spec.target_ref.name;
                let service = required(service.as_deref(), "Service", target, namespace)?;
                knative::routes(service, canary).map_err(router_error)
            }
        }
    }

    /// Flagger's `Finalize`: Skipper's canary Ingress is deleted, Knative's
    /// primary revision annotation removed; the rest stays.
    pub(super) fn finalize(&mut self, canary: &Canary) -> Result<(), PortError> {
        match self {
            ProviderObjects::Skipper { ingresses } => {
                let deletion = skipper::finalize(canary).map_err(router_error)?;
                ingresses.remove(&deletion.name);
                Ok(())
            }
            ProviderObjects::Knative {
                service: Some(service),
                revisions,
                ..
            } => {
                if let Some(mut finalized) = knative::finalize(service) {
                    knative_controller(&mut finalized, *revisions);
                    **service = finalized;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Knative creates a revision when the target's spec changes; the
    /// engine records that change in `status.lastAppliedSpec`. Returns
    /// whether anything changed.
    pub(super) fn observe_target(&mut self, canary: &Canary) -> bool {
        let ProviderObjects::Knative {
            service,
            revisions,
            target_spec,
        } = self
        else {
            return false;
        };
        let applied = canary
            .status
            .as_ref()
            .map(|status| status.last_applied_spec.as_str())
            .unwrap_or_default();
        if applied.is_empty() || applied == target_spec.as_str() {
            return false;
        }
        // The first spec recorded is the revision the Service started with.
        if !target_spec.is_empty() {
            *revisions += 1;
            if let Some(service) = service {
                knative_controller(service, *revisions);
            }
        }
        applied.clone_into(target_spec);
        true
    }

    /// Every stored object as `(kind, name, object)`, in no particular order.
    pub(super) fn list(&self) -> Vec<(&'static str, String, Value)> {
        let mut listed = Vec::new();
        let mut visit = |kind: &'static str, name: String, object: &dyn Stored| {
            // The routers' types always serialize; `null` would only hide a bug there.
            listed.push((kind, name, object.to_json().unwrap_or_default()));
        };
        for_each_object!(self, visit);
        listed
    }

    /// Edits the stored object `kind`/`name` through its JSON form. Returns
    /// false if there is none, an error if the edited JSON is no longer such
    /// an object (the object is then unchanged).
    pub(super) fn edit(
        &mut self,
        kind: &str,
        name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<bool, serde_json::Error> {
        let mut edit = Some(edit);
        let mut result = Ok(false);
        let mut visit =
            |object_kind: &'static str, object_name: String, object: &mut dyn Stored| {
                if object_kind != kind || object_name != name {
                    return;
                }
                let Some(edit) = edit.take() else {
                    return;
                };
                result = object.to_json().and_then(|mut value| {
                    edit(&mut value);
                    object.replace_from(value).map(|()| true)
                });
            };
        for_each_object!(self, visit);
        result
    }
}

/// `object`, or the error the live controller reports for a missing one.
fn required<'a, T>(
    object: Option<&'a T>,
    kind: &str,
    name: &str,
    namespace: &str,
) -> Result<&'a T, PortError> {
    object.ok_or_else(|| {
        PortError::new(format!(
            "{kind} {name}.{namespace} get query error: not found"
        ))
    })
}

/// The user's Ingress named by `spec.ingressRef`, made up the first time.
fn user_ingress(
    ingresses: &mut BTreeMap<String, Ingress>,
    canary: &Canary,
) -> Result<Ingress, PortError> {
    let reference = canary
        .spec
        .ingress_ref
        .as_ref()
        .filter(|reference| !reference.name.is_empty())
        .ok_or_else(|| {
            PortError::new(format!(
                "canary {}.{}: the {} provider needs spec.ingressRef",
                canary.name(),
                canary.namespace(),
                canary.spec.provider.map_or("ingress", Provider::as_str),
            ))
        })?;
    let ingress = ingresses
        .entry(reference.name.clone())
        .or_insert_with(|| Ingress {
            metadata: ObjectMeta {
                name: Some(reference.name.clone()),
                namespace: Some(canary.namespace().to_owned()),
                ..ObjectMeta::default()
            },
            spec: Some(IngressSpec {
                rules: Some(vec![IngressRule {
                    host: None,
                    http: Some(HTTPIngressRuleValue {
                        paths: vec![HTTPIngressPath {
                            path: Some("/".to_owned()),
                            path_type: "Prefix".to_owned(),
                            backend: IngressBackend {
                                resource: None,
                                service: Some(IngressServiceBackend {
                                    name: canary.spec.service_names().apex,
                                    port: Some(ServiceBackendPort {
                                        name: None,
                                        number: Some(canary.spec.service.port),
                                    }),
                                }),
                            },
                        }],
                    }),
                }]),
                ..IngressSpec::default()
            }),
            status: None,
        });
    Ok(ingress.clone())
}

/// The user's ApisixRoute named by `spec.routeRef`, made up the first time.
fn user_apisix_route(
    routes: &mut BTreeMap<String, apisix::ApisixRoute>,
    canary: &Canary,
) -> Result<apisix::ApisixRoute, PortError> {
    let reference = canary
        .spec
        .route_ref
        .as_ref()
        .filter(|reference| !reference.name.is_empty())
        .ok_or_else(|| {
            PortError::new(format!(
                "canary {}.{}: the apisix provider needs spec.routeRef",
                canary.name(),
                canary.namespace()
            ))
        })?;
    let apex = canary.spec.service_names().apex;
    let route = routes
        .entry(reference.name.clone())
        .or_insert_with(|| apisix::ApisixRoute {
            api_version: apisix::API_VERSION.to_owned(),
            kind: "ApisixRoute".to_owned(),
            metadata: weir_routers::ObjectMetadata::named(&reference.name, canary),
            spec: apisix::ApisixRouteSpec {
                http: vec![apisix::ApisixRouteHttp {
                    name: apex.clone(),
                    r#match: apisix::ApisixRouteHttpMatch {
                        paths: vec!["/*".to_owned()],
                        ..apisix::ApisixRouteHttpMatch::default()
                    },
                    backends: vec![apisix::ApisixRouteHttpBackend {
                        service_name: apex,
                        service_port: IntOrString::Int(canary.spec.service.port),
                        resolve_granularity: String::new(),
                        weight: None,
                        subset: String::new(),
                    }],
                    ..apisix::ApisixRouteHttp::default()
                }],
                stream: Vec::new(),
            },
        });
    Ok(route.clone())
}

/// The target's Knative Service as a user creates it: all traffic to the
/// latest revision, which Knative has created.
fn user_knative_service(canary: &Canary) -> knative::KnativeService {
    let name = canary.spec.target_ref.name.clone();
    let mut service = knative::KnativeService {
        api_version: knative::API_VERSION.to_owned(),
        kind: "Service".to_owned(),
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(canary.namespace().to_owned()),
            ..ObjectMeta::default()
        },
        spec: knative::ServiceSpec {
            template: Some(serde_json::json!({
                "spec": {"containers": [{"image": format!("{name}:simulated")}]}
            })),
            traffic: Vec::new(),
        },
        status: None,
    };
    knative_controller(&mut service, FIRST_KNATIVE_REVISION);
    service
}

/// `<service>-00001`: Knative's name for a Service's `number`th revision.
pub(super) fn knative_revision_name(service: &str, number: u32) -> String {
    format!("{service}-{number:05}")
}

/// What Knative's controller writes to `status` once it has reconciled the
/// Service, as far as the router reads it.
fn knative_controller(service: &mut knative::KnativeService, revisions: u32) {
    let latest = knative_revision_name(
        service.metadata.name.as_deref().unwrap_or_default(),
        revisions,
    );
    let traffic = if service.spec.traffic.is_empty() {
        vec![knative::TrafficTarget {
            latest_revision: Some(true),
            revision_name: Some(latest.clone()),
            percent: Some(100),
            ..knative::TrafficTarget::default()
        }]
    } else {
        service
            .spec
            .traffic
            .iter()
            .map(|target| {
                let mut applied = target.clone();
                if target.latest_revision == Some(true) {
                    applied.revision_name = Some(latest.clone());
                }
                applied
            })
            .collect()
    };
    let status = service
        .status
        .get_or_insert_with(knative::ServiceStatus::default);
    status.latest_created_revision_name = Some(latest.clone());
    status.latest_ready_revision_name = Some(latest);
    status.traffic = traffic;
}
