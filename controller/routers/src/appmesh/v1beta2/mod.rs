//! Flagger's `appmesh:v1beta2` router: App Mesh controller v1 objects
//! (`appmesh.k8s.aws/v1beta2`), where VirtualNodes select pods and
//! VirtualServices point at separate VirtualRouters. See the
//! [parent module](super) for the model.

mod types;

pub use types::{
    API_VERSION, AccessLog, Backend, DnsServiceDiscovery, Duration, FileAccessLog,
    HeaderMatchMethod, HttpRetryPolicy, HttpRoute, HttpRouteAction, HttpRouteHeader,
    HttpRouteMatch, HttpTimeout, Listener, ListenerTimeout, Logging, PortMapping, Reference, Route,
    ServiceDiscovery, VirtualNode, VirtualNodeSpec, VirtualRouter, VirtualRouterListener,
    VirtualRouterServiceProvider, VirtualRouterSpec, VirtualService, VirtualServiceBackend,
    VirtualServiceProvider, VirtualServiceSpec, WeightedTarget,
};

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use weir_api::Canary;
use weir_engine::ports::Routes;

use super::{
    AB_ROUTE_PRIORITY, ACCESS_LOG_PATH, AppMeshError, DEFAULT_ROUTE_PRIORITY, RouterRole,
    TOTAL_WEIGHT, Weights, access_log_enabled, annotations, header_conditions, merged_annotations,
    percent, protocol, retry, route_prefix, timeout_millis, weights_from,
};
use crate::metadata::ObjectMetadata;

/// Backends given as ARNs name virtual services in other meshes or accounts.
const ARN_PREFIX: &str = "arn:aws";
/// Kubernetes' DNS suffix; the trailing dot makes the name absolute.
const SERVICE_DNS_SUFFIX: &str = "svc.cluster.local.";
/// App Mesh's unit for the durations Flagger writes.
const MILLISECONDS: &str = "ms";

/// Which pods a VirtualNode selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// The `<target>-primary` pods, node `<apex>-primary`.
    Primary,
    /// The target's pods, node `<apex>-canary`.
    Canary,
}

/// `<apex>-primary` or `<apex>-canary`.
pub fn virtual_node_name(canary: &Canary, workload: Workload) -> String {
    let names = canary.spec.service_names();
    match workload {
        Workload::Primary => names.primary,
        Workload::Canary => names.canary,
    }
}

/// The VirtualNode for `workload`. `selector_label` is the pod label the
/// workloads are selected by (`app`, `name`, ...: the first of Flagger's
/// `-selector-labels` the target uses).
pub fn virtual_node(
    canary: &Canary,
    workload: Workload,
    selector_label: &str,
) -> Result<VirtualNode, AppMeshError> {
    let name = virtual_node_name(canary, workload);
    let pods = match workload {
        Workload::Primary => canary.spec.primary_workload_name(),
        Workload::Canary => canary.spec.target_ref.name.clone(),
    };
    let logging = access_log_enabled(canary).then(|| Logging {
        access_log: Some(AccessLog {
            file: Some(FileAccessLog {
                path: ACCESS_LOG_PATH.to_owned(),
            }),
        }),
    });
    let timeout = request_timeout(canary)?;
    Ok(VirtualNode {
        api_version: API_VERSION.to_owned(),
        kind: "VirtualNode".to_owned(),
        metadata: metadata(&name, canary, false),
        spec: VirtualNodeSpec {
            aws_name: None,
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(selector_label.to_owned(), pods)])),
                match_expressions: None,
            }),
            listeners: vec![Listener {
                port_mapping: port_mapping(canary),
                timeout: timeout.map(|timeout| ListenerTimeout {
                    http: Some(timeout),
                }),
            }],
            service_discovery: Some(ServiceDiscovery {
                aws_cloud_map: None,
                dns: Some(DnsServiceDiscovery {
                    hostname: format!("{name}.{}.{SERVICE_DNS_SUFFIX}", canary.namespace()),
                }),
            }),
            backends: canary
                .spec
                .service
                .backends
                .iter()
                .map(|backend| Backend {
                    virtual_service: if backend.starts_with(ARN_PREFIX) {
                        VirtualServiceBackend {
                            virtual_service_arn: Some(backend.clone()),
                            ..VirtualServiceBackend::default()
                        }
                    } else {
                        VirtualServiceBackend {
                            virtual_service_ref: Some(Reference {
                                namespace: None,
                                name: backend.clone(),
                            }),
                            ..VirtualServiceBackend::default()
                        }
                    },
                })
                .collect(),
            backend_defaults: None,
            logging,
            mesh_ref: None,
        },
    })
}

/// Creates the VirtualNode, or updates an existing one whose spec (but
/// `awsName` and `meshRef`, which the App Mesh controller fills in) or
/// annotations differ; returns `existing` unchanged when nothing differs.
pub fn reconcile_virtual_node(
    existing: Option<&VirtualNode>,
    canary: &Canary,
    workload: Workload,
    selector_label: &str,
) -> Result<VirtualNode, AppMeshError> {
    let mut desired = virtual_node(canary, workload, selector_label)?;
    let Some(existing) = existing else {
        return Ok(desired);
    };
    desired.spec.aws_name.clone_from(&existing.spec.aws_name);
    desired.spec.mesh_ref.clone_from(&existing.spec.mesh_ref);
    let annotations = merged_annotations(
        &existing.metadata.annotations,
        &desired.metadata.annotations,
    );
    if existing.spec == desired.spec && existing.metadata.annotations == annotations {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.spec = desired.spec;
    updated.metadata.annotations = annotations;
    Ok(updated)
}

/// The apex VirtualRouter `set_routes` writes for `routes`, built from scratch.
pub fn virtual_router(canary: &Canary, routes: Routes) -> Result<VirtualRouter, AppMeshError> {
    build_router(
        canary,
        RouterRole::Apex,
        weights_from(routes.primary, routes.canary),
    )
}

/// Flagger's `reconcileVirtualRouter`: creates the VirtualRouter for `role`
/// (the apex one with all traffic on the primary), or updates what differs
/// from the Canary while keeping the apex split, `awsName` and `meshRef`.
/// Returns `existing` unchanged when nothing differs.
pub fn reconcile_virtual_router(
    existing: Option<&VirtualRouter>,
    canary: &Canary,
    role: RouterRole,
) -> Result<VirtualRouter, AppMeshError> {
    let initial = build_router(canary, role, role.initial_weights())?;
    let Some(existing) = existing else {
        return Ok(initial);
    };
    let mut desired = match role {
        RouterRole::Apex => match routes(existing, canary) {
            Ok(current) => {
                build_router(canary, role, weights_from(current.primary, current.canary))?
            }
            // Not a router weir wrote: start from the primary.
            Err(_) => initial,
        },
        RouterRole::Canary => initial,
    };
    desired.spec.aws_name.clone_from(&existing.spec.aws_name);
    desired.spec.mesh_ref.clone_from(&existing.spec.mesh_ref);
    let annotations = merged_annotations(
        &existing.metadata.annotations,
        &desired.metadata.annotations,
    );
    if existing.spec == desired.spec && existing.metadata.annotations == annotations {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.spec = desired.spec;
    updated.metadata.annotations = annotations;
    Ok(updated)
}

/// The VirtualService `<apex>` or `<apex>-canary`, provided by the router
/// of the same name; the apex one carries the gateway annotations.
pub fn virtual_service(canary: &Canary, role: RouterRole) -> VirtualService {
    let name = role.name(canary);
    VirtualService {
        api_version: API_VERSION.to_owned(),
        kind: "VirtualService".to_owned(),
        metadata: metadata(&name, canary, role == RouterRole::Apex),
        spec: VirtualServiceSpec {
            aws_name: None,
            provider: Some(VirtualServiceProvider {
                virtual_node: None,
                virtual_router: Some(VirtualRouterServiceProvider {
                    virtual_router_ref: Some(Reference {
                        namespace: None,
                        name,
                    }),
                    virtual_router_arn: None,
                }),
            }),
            mesh_ref: None,
        },
    }
}

/// Creates the VirtualService, or updates an existing one whose provider or
/// annotations differ (keeping `awsName` and `meshRef`); returns `existing`
/// unchanged when nothing differs.
pub fn reconcile_virtual_service(
    existing: Option<&VirtualService>,
    canary: &Canary,
    role: RouterRole,
) -> VirtualService {
    let mut desired = virtual_service(canary, role);
    let Some(existing) = existing else {
        return desired;
    };
    desired.spec.aws_name.clone_from(&existing.spec.aws_name);
    desired.spec.mesh_ref.clone_from(&existing.spec.mesh_ref);
    let annotations = merged_annotations(
        &existing.metadata.annotations,
        &desired.metadata.annotations,
    );
    if existing.spec == desired.spec && existing.metadata.annotations == annotations {
        return existing.clone();
    }
    let mut updated = existing.clone();
    updated.spec = desired.spec;
    updated.metadata.annotations = annotations;
    updated
}

/// Flagger's `SetRoutes`: the apex VirtualRouter with the targets of its
/// first route (the A/B route, with A/B testing) set to `routes`.
pub fn set_routes(
    existing: &VirtualRouter,
    canary: &Canary,
    routes: Routes,
) -> Result<VirtualRouter, AppMeshError> {
    let mut updated = existing.clone();
    let action = updated
        .spec
        .routes
        .first_mut()
        .and_then(|route| route.http_route.as_mut())
        .map(|http| &mut http.action)
        .ok_or_else(|| routes_not_found(canary))?;
    *action = targets(canary, weights_from(routes.primary, routes.canary));
    Ok(updated)
}

/// Flagger's `GetRoutes`: the weights of the two targets of the apex
/// router's first route. App Mesh cannot mirror.
pub fn routes(router: &VirtualRouter, canary: &Canary) -> Result<Routes, AppMeshError> {
    let targets = router
        .spec
        .routes
        .first()
        .and_then(|route| route.http_route.as_ref())
        .map(|http| http.action.weighted_targets.as_slice())
        .filter(|targets| targets.len() == 2)
        .ok_or_else(|| routes_not_found(canary))?;
    let names = canary.spec.service_names();
    let weight = |node: &str| {
        targets
            .iter()
            .filter(|target| {
                target
                    .virtual_node_ref
                    .as_ref()
                    .is_some_and(|reference| reference.name == node)
            })
            .map(|target| percent(target.weight))
            .next_back()
            .unwrap_or_default()
    };
    let primary = weight(&names.primary);
    let canary_weight = weight(&names.canary);
    if primary == 0 && canary_weight == 0 {
        return Err(AppMeshError::NoRoutes {
            kind: "VirtualRouter".to_owned(),
            name: names.apex,
            primary: names.primary,
            canary: names.canary,
        });
    }
    Ok(Routes {
        primary,
        canary: canary_weight,
        mirrored: false,
    })
}

fn routes_not_found(canary: &Canary) -> AppMeshError {
    AppMeshError::RoutesNotFound {
        kind: "VirtualRouter".to_owned(),
        name: canary.spec.service_names().apex,
    }
}

fn metadata(name: &str, canary: &Canary, gateway: bool) -> ObjectMetadata {
    let mut metadata = ObjectMetadata::named(name, canary);
    metadata.annotations = annotations(canary, gateway);
    metadata
}

/// The container port: `targetPort` when it is a number, else `port`.
fn port_mapping(canary: &Canary) -> PortMapping {
    let service = &canary.spec.service;
    let port = match service.target_port {
        Some(IntOrString::Int(port)) if port > 0 => port,
        _ => service.port,
    };
    PortMapping {
        port: i64::from(port),
        protocol: protocol(canary).to_owned(),
    }
}

fn request_timeout(canary: &Canary) -> Result<Option<HttpTimeout>, AppMeshError> {
    Ok(timeout_millis(canary)?.map(|millis| HttpTimeout {
        per_request: Some(Duration {
            unit: MILLISECONDS.to_owned(),
            value: millis,
        }),
        idle: None,
    }))
}

/// Canary first, then primary, as Flagger writes them.
fn targets(canary: &Canary, weights: Weights) -> HttpRouteAction {
    let names = canary.spec.service_names();
    let target = |name: String, weight: i64| WeightedTarget {
        virtual_node_ref: Some(Reference {
            namespace: None,
            name,
        }),
        virtual_node_arn: None,
        weight,
    };
    HttpRouteAction {
        weighted_targets: vec![
            target(names.canary, weights.canary),
            target(names.primary, weights.primary),
        ],
    }
}

fn build_router(
    canary: &Canary,
    role: RouterRole,
    weights: Weights,
) -> Result<VirtualRouter, AppMeshError> {
    let router_name = role.name(canary);
    let prefix = route_prefix(canary);
    let timeout = request_timeout(canary)?;
    let retry_policy = retry(canary)?.map(|retry| HttpRetryPolicy {
        http_retry_events: retry.events,
        tcp_retry_events: Vec::new(),
        max_retries: retry.attempts,
        per_retry_timeout: Duration {
            unit: MILLISECONDS.to_owned(),
            value: retry.per_try_timeout_millis,
        },
    });
    let http = |headers: Vec<HttpRouteHeader>, action: HttpRouteAction| HttpRoute {
        r#match: HttpRouteMatch {
            headers,
            prefix: prefix.clone(),
            ..HttpRouteMatch::default()
        },
        action,
        retry_policy: retry_policy.clone(),
        timeout: timeout.clone(),
    };
    let route = |name: String, http: HttpRoute, priority: Option<i64>| Route {
        name,
        http_route: Some(http),
        priority,
        ..Route::default()
    };
    let routes = if role == RouterRole::Apex && !canary.spec.analysis().r#match.is_empty() {
        let headers = header_conditions(canary)?
            .into_iter()
            .map(|condition| HttpRouteHeader {
                name: condition.name,
                r#match: Some(HeaderMatchMethod {
                    exact: condition.exact,
                    prefix: condition.prefix,
                    range: None,
                    regex: condition.regex,
                    suffix: condition.suffix,
                }),
                invert: None,
            })
            .collect();
        let primary_only = HttpRouteAction {
            weighted_targets: vec![WeightedTarget {
                virtual_node_ref: Some(Reference {
                    namespace: None,
                    name: canary.spec.service_names().primary,
                }),
                virtual_node_arn: None,
                weight: TOTAL_WEIGHT,
            }],
        };
        vec![
            route(
                format!("{router_name}-a"),
                http(headers, targets(canary, weights)),
                Some(AB_ROUTE_PRIORITY),
            ),
            route(
                format!("{router_name}-b"),
                http(Vec::new(), primary_only),
                Some(DEFAULT_ROUTE_PRIORITY),
            ),
        ]
    } else {
        vec![route(
            router_name.clone(),
            http(Vec::new(), targets(canary, weights)),
            None,
        )]
    };
    Ok(VirtualRouter {
        api_version: API_VERSION.to_owned(),
        kind: "VirtualRouter".to_owned(),
        metadata: metadata(&router_name, canary, false),
        spec: VirtualRouterSpec {
            aws_name: None,
            listeners: vec![VirtualRouterListener {
                port_mapping: port_mapping(canary),
            }],
            routes,
            mesh_ref: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const APP_MESH: &str = "  provider: appmesh:v1beta2
  service:
    port: 9898
    timeout: 15s
    backends:
    - backend1
    - arn:aws:appmesh:eu-west-1:12345678910:mesh/my-mesh/virtualService/backend2
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 5
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    #[test]
    fn nodes_select_the_workload_pods_and_resolve_their_service() {
        let canary = canary(APP_MESH, "  phase: Initializing\n");
        let primary = virtual_node(&canary, Workload::Primary, "app").expect("node");
        assert_eq!(primary.metadata.name, "podinfo-primary");
        assert_eq!(
            primary
                .spec
                .pod_selector
                .as_ref()
                .and_then(|selector| selector.match_labels.clone()),
            Some(BTreeMap::from([(
                "app".to_owned(),
                "podinfo-primary".to_owned()
            )]))
        );
        assert_eq!(
            primary
                .spec
                .service_discovery
                .as_ref()
                .and_then(|discovery| discovery.dns.as_ref())
                .map(|dns| dns.hostname.as_str()),
            Some("podinfo-primary.test.svc.cluster.local.")
        );
        assert_eq!(
            primary.spec.listeners[0]
                .timeout
                .as_ref()
                .and_then(|timeout| timeout.http.as_ref())
                .and_then(|http| http.per_request.as_ref())
                .map(|duration| duration.value),
            Some(15_000)
        );
        let backends = &primary.spec.backends;
        assert!(backends[0].virtual_service.virtual_service_ref.is_some());
        assert!(backends[1].virtual_service.virtual_service_arn.is_some());
        let canary_node = virtual_node(&canary, Workload::Canary, "app").expect("node");
        assert_eq!(
            canary_node
                .spec
                .pod_selector
                .and_then(|selector| selector.match_labels),
            Some(BTreeMap::from([("app".to_owned(), "podinfo".to_owned())]))
        );
    }

    #[test]
    fn reconcile_keeps_what_the_app_mesh_controller_filled_in() {
        let canary = canary(APP_MESH, "  phase: Initializing\n");
        let mut node =
            reconcile_virtual_node(None, &canary, Workload::Primary, "app").expect("node");
        node.spec.aws_name = Some("podinfo-primary_test".to_owned());
        node.spec.mesh_ref = Some(serde_json::json!({"name": "global", "uid": "1"}));
        assert_eq!(
            reconcile_virtual_node(Some(&node), &canary, Workload::Primary, "app"),
            Ok(node.clone())
        );
        let mut router = reconcile_virtual_router(None, &canary, RouterRole::Apex).expect("router");
        router.spec.aws_name = Some("podinfo_test".to_owned());
        let shifted = set_routes(&router, &canary, split(95, 5)).expect("set routes");
        assert_eq!(
            reconcile_virtual_router(Some(&shifted), &canary, RouterRole::Apex),
            Ok(shifted.clone())
        );
        let mut service = reconcile_virtual_service(None, &canary, RouterRole::Apex);
        service.spec.aws_name = Some("podinfo.test".to_owned());
        assert_eq!(
            reconcile_virtual_service(Some(&service), &canary, RouterRole::Apex),
            service
        );
    }

    #[test]
    fn reconcile_keeps_the_apex_weights_when_the_route_changes() {
        let mut canary = canary(APP_MESH, "  phase: Progressing\n");
        let created = reconcile_virtual_router(None, &canary, RouterRole::Apex).expect("router");
        let shifted = set_routes(&created, &canary, split(60, 40)).expect("set routes");
        canary.spec.service.timeout = Some("30s".to_owned());
        let updated =
            reconcile_virtual_router(Some(&shifted), &canary, RouterRole::Apex).expect("router");
        assert_eq!(routes(&updated, &canary), Ok(split(60, 40)));
        assert_eq!(
            updated.spec.routes[0]
                .http_route
                .as_ref()
                .and_then(|http| http.timeout.as_ref())
                .and_then(|timeout| timeout.per_request.as_ref())
                .map(|duration| duration.value),
            Some(30_000)
        );
    }

    #[test]
    fn the_canary_router_sends_everything_to_the_canary() {
        let canary = canary(APP_MESH, "  phase: Initializing\n");
        let router = reconcile_virtual_router(None, &canary, RouterRole::Canary).expect("router");
        assert_eq!(router.metadata.name, "podinfo-canary");
        let targets: Vec<(String, i64)> = router.spec.routes[0]
            .http_route
            .iter()
            .flat_map(|http| &http.action.weighted_targets)
            .map(|target| {
                (
                    target
                        .virtual_node_ref
                        .as_ref()
                        .map(|reference| reference.name.clone())
                        .unwrap_or_default(),
                    target.weight,
                )
            })
            .collect();
        assert_eq!(
            targets,
            [
                ("podinfo-canary".to_owned(), 100),
                ("podinfo-primary".to_owned(), 0)
            ]
        );
        let service = virtual_service(&canary, RouterRole::Canary);
        assert!(
            !service
                .metadata
                .annotations
                .keys()
                .any(|key| key.starts_with("gateway.appmesh.k8s.aws/"))
        );
    }

    #[test]
    fn routes_fail_on_a_router_without_a_weighted_first_route() {
        let canary = canary(APP_MESH, "  phase: Progressing\n");
        let mut router = virtual_router(&canary, Routes::ALL_PRIMARY).expect("router");
        router.spec.routes.clear();
        assert_eq!(
            routes(&router, &canary).map_err(|error| error.to_string()),
            Err("VirtualRouter routes podinfo not found".to_owned())
        );
        let empty = virtual_router(&canary, split(0, 0)).expect("router");
        assert_eq!(
            routes(&empty, &canary).map_err(|error| error.to_string()),
            Err("VirtualRouter podinfo does not contain routes for podinfo-primary and podinfo-canary".to_owned())
        );
    }

    #[test]
    fn the_container_port_is_the_numeric_target_port() {
        let named = canary(
            "  service:\n    port: 80\n    targetPort: http\n    portName: grpc-web\n",
            "  phase: Initializing\n",
        );
        assert_eq!(
            port_mapping(&named),
            PortMapping {
                port: 80,
                protocol: "grpc".to_owned()
            }
        );
        let numbered = canary(
            "  service:\n    port: 80\n    targetPort: 9898\n",
            "  phase: Initializing\n",
        );
        assert_eq!(port_mapping(&numbered).port, 9898);
    }
}
