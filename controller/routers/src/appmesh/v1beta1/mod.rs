//! Flagger's `appmesh` router: App Mesh controller v0.x objects
//! (`appmesh.k8s.aws/v1beta1`), where a VirtualService embeds its router
//! and routes. See the [parent module](super) for the model.

mod types;

pub use types::{
    API_VERSION, AccessLog, Backend, DnsServiceDiscovery, FileAccessLog, HeaderMatchMethod,
    HttpRetryPolicy, HttpRoute, HttpRouteAction, HttpRouteHeader, HttpRouteMatch, Listener,
    Logging, PortMapping, Route, ServiceDiscovery, VirtualNode, VirtualNodeSpec, VirtualRouter,
    VirtualRouterListener, VirtualService, VirtualServiceBackend, VirtualServiceSpec,
    WeightedTarget,
};

use weir_api::Canary;
use weir_engine::ports::Routes;

use super::{
    AB_ROUTE_PRIORITY, ACCESS_LOG_PATH, AppMeshError, DEFAULT_ROUTE_PRIORITY, RouterRole,
    TOTAL_WEIGHT, VirtualNodeRole, Weights, access_log_enabled, annotations, header_conditions,
    merged_annotations, percent, protocol, retry, route_prefix, weights_from,
};
use crate::metadata::ObjectMetadata;

/// The VirtualNode for `role`: the apex node resolves to the primary
/// Service, the others to their own.
pub fn virtual_node(canary: &Canary, role: VirtualNodeRole) -> Result<VirtualNode, AppMeshError> {
    let mesh_name = mesh_name(canary)?;
    let names = canary.spec.service_names();
    let service = &canary.spec.service;
    let host = match role {
        VirtualNodeRole::Apex | VirtualNodeRole::Primary => names.primary,
        VirtualNodeRole::Canary => names.canary,
    };
    let logging = access_log_enabled(canary).then(|| Logging {
        access_log: Some(AccessLog {
            file: Some(FileAccessLog {
                path: ACCESS_LOG_PATH.to_owned(),
            }),
        }),
    });
    Ok(VirtualNode {
        api_version: API_VERSION.to_owned(),
        kind: "VirtualNode".to_owned(),
        metadata: metadata(&role.name(canary), canary, false),
        spec: VirtualNodeSpec {
            mesh_name,
            listeners: vec![Listener {
                port_mapping: port_mapping(canary),
                health_check: None,
            }],
            service_discovery: Some(ServiceDiscovery {
                cloud_map: None,
                dns: Some(DnsServiceDiscovery {
                    host_name: format!("{host}.{}", canary.namespace()),
                }),
            }),
            backends: service
                .backends
                .iter()
                .map(|backend| Backend {
                    virtual_service: VirtualServiceBackend {
                        virtual_service_name: backend.clone(),
                    },
                })
                .collect(),
            logging,
        },
    })
}

/// Creates the VirtualNode, or updates an existing one whose spec or
/// annotations differ; returns `existing` unchanged when nothing differs.
pub fn reconcile_virtual_node(
    existing: Option<&VirtualNode>,
    canary: &Canary,
    role: VirtualNodeRole,
) -> Result<VirtualNode, AppMeshError> {
    let desired = virtual_node(canary, role)?;
    let Some(existing) = existing else {
        return Ok(desired);
    };
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

/// `<apex>.<ns>` or `<apex>-canary.<ns>`: v1beta1 VirtualServices are named
/// after the DNS name they serve.
pub fn virtual_service_name(canary: &Canary, role: RouterRole) -> String {
    format!("{}.{}", role.name(canary), canary.namespace())
}

/// The apex VirtualService `set_routes` writes for `routes`, built from scratch.
pub fn virtual_service(canary: &Canary, routes: Routes) -> Result<VirtualService, AppMeshError> {
    build(
        canary,
        RouterRole::Apex,
        weights_from(routes.primary, routes.canary),
    )
}

/// Flagger's `reconcileVirtualService`: creates the VirtualService for
/// `role` (the apex one with all traffic on the primary), or updates what
/// differs from the Canary while keeping the apex split. Returns `existing`
/// unchanged when nothing differs.
pub fn reconcile_virtual_service(
    existing: Option<&VirtualService>,
    canary: &Canary,
    role: RouterRole,
) -> Result<VirtualService, AppMeshError> {
    let initial = build(canary, role, role.initial_weights())?;
    let Some(existing) = existing else {
        return Ok(initial);
    };
    let desired = match role {
        RouterRole::Apex => match routes(existing, canary) {
            Ok(current) => build(canary, role, weights_from(current.primary, current.canary))?,
            // Not a VirtualService weir wrote: start from the primary.
            Err(_) => initial,
        },
        RouterRole::Canary => initial,
    };
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

/// Flagger's `SetRoutes`: the apex VirtualService with the targets of its
/// first route (the A/B route, with A/B testing) set to `routes`.
pub fn set_routes(
    existing: &VirtualService,
    canary: &Canary,
    routes: Routes,
) -> Result<VirtualService, AppMeshError> {
    let mut updated = existing.clone();
    let action = updated
        .spec
        .routes
        .first_mut()
        .and_then(|route| route.http.as_mut())
        .map(|http| &mut http.action)
        .ok_or_else(|| routes_not_found(canary))?;
    *action = targets(canary, weights_from(routes.primary, routes.canary));
    Ok(updated)
}

/// Flagger's `GetRoutes`: the weights of the two targets of the apex
/// VirtualService's first route. App Mesh cannot mirror.
pub fn routes(virtual_service: &VirtualService, canary: &Canary) -> Result<Routes, AppMeshError> {
    let targets = virtual_service
        .spec
        .routes
        .first()
        .and_then(|route| route.http.as_ref())
        .map(|http| http.action.weighted_targets.as_slice())
        .filter(|targets| targets.len() == 2)
        .ok_or_else(|| routes_not_found(canary))?;
    let names = canary.spec.service_names();
    let weight = |node: &str| {
        targets
            .iter()
            .filter(|target| target.virtual_node_name == node)
            .map(|target| percent(target.weight))
            .next_back()
            .unwrap_or_default()
    };
    let primary = weight(&names.primary);
    let canary_weight = weight(&names.canary);
    if primary == 0 && canary_weight == 0 {
        return Err(AppMeshError::NoRoutes {
            kind: "VirtualService".to_owned(),
            name: virtual_service_name(canary, RouterRole::Apex),
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

fn mesh_name(canary: &Canary) -> Result<String, AppMeshError> {
    canary
        .spec
        .service
        .mesh_name
        .clone()
        .filter(|name| !name.is_empty())
        .ok_or(AppMeshError::MissingMeshName)
}

fn routes_not_found(canary: &Canary) -> AppMeshError {
    AppMeshError::RoutesNotFound {
        kind: "VirtualService".to_owned(),
        name: virtual_service_name(canary, RouterRole::Apex),
    }
}

fn metadata(name: &str, canary: &Canary, gateway: bool) -> ObjectMetadata {
    let mut metadata = ObjectMetadata::named(name, canary);
    metadata.annotations = annotations(canary, gateway);
    metadata
}

fn port_mapping(canary: &Canary) -> PortMapping {
    PortMapping {
        port: i64::from(canary.spec.service.port),
        protocol: protocol(canary).to_owned(),
    }
}

/// Canary first, then primary, as Flagger writes them.
fn targets(canary: &Canary, weights: Weights) -> HttpRouteAction {
    let names = canary.spec.service_names();
    HttpRouteAction {
        weighted_targets: vec![
            WeightedTarget {
                virtual_node_name: names.canary,
                weight: weights.canary,
            },
            WeightedTarget {
                virtual_node_name: names.primary,
                weight: weights.primary,
            },
        ],
    }
}

fn build(
    canary: &Canary,
    role: RouterRole,
    weights: Weights,
) -> Result<VirtualService, AppMeshError> {
    let mesh_name = mesh_name(canary)?;
    let router_name = role.name(canary);
    let prefix = route_prefix(canary);
    let retry_policy = retry(canary)?.map(|retry| HttpRetryPolicy {
        per_retry_timeout_millis: Some(retry.per_try_timeout_millis),
        max_retries: Some(retry.attempts),
        http_retry_events: retry.events,
        tcp_retry_events: Vec::new(),
    });
    let http = |headers: Vec<HttpRouteHeader>, action: HttpRouteAction| HttpRoute {
        r#match: HttpRouteMatch {
            prefix: prefix.clone(),
            headers,
            ..HttpRouteMatch::default()
        },
        action,
        retry_policy: retry_policy.clone(),
    };
    let routes = if role == RouterRole::Apex && !canary.spec.analysis().r#match.is_empty() {
        let headers = header_conditions(canary)?
            .into_iter()
            .map(|condition| HttpRouteHeader {
                name: condition.name,
                invert: None,
                r#match: Some(HeaderMatchMethod {
                    exact: condition.exact,
                    prefix: condition.prefix,
                    range: None,
                    regex: condition.regex,
                    suffix: condition.suffix,
                }),
            })
            .collect();
        let names = canary.spec.service_names();
        vec![
            Route {
                name: format!("{router_name}-a"),
                http: Some(http(headers, targets(canary, weights))),
                tcp: None,
                priority: Some(AB_ROUTE_PRIORITY),
            },
            Route {
                name: format!("{router_name}-b"),
                http: Some(http(
                    Vec::new(),
                    HttpRouteAction {
                        weighted_targets: vec![WeightedTarget {
                            virtual_node_name: names.primary,
                            weight: TOTAL_WEIGHT,
                        }],
                    },
                )),
                tcp: None,
                priority: Some(DEFAULT_ROUTE_PRIORITY),
            },
        ]
    } else {
        vec![Route {
            name: router_name.clone(),
            http: Some(http(Vec::new(), targets(canary, weights))),
            tcp: None,
            priority: None,
        }]
    };
    Ok(VirtualService {
        api_version: API_VERSION.to_owned(),
        kind: "VirtualService".to_owned(),
        metadata: metadata(
            &virtual_service_name(canary, role),
            canary,
            role == RouterRole::Apex,
        ),
        spec: VirtualServiceSpec {
            mesh_name,
            virtual_router: Some(VirtualRouter {
                name: router_name,
                listeners: vec![VirtualRouterListener {
                    port_mapping: port_mapping(canary),
                }],
            }),
            routes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const APP_MESH: &str = "  provider: appmesh
  service:
    port: 9898
    meshName: global
    backends:
    - backend.test
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    #[test]
    fn every_object_needs_a_mesh_name() {
        let canary = canary("  service:\n    port: 9898\n", "  phase: Initializing\n");
        assert_eq!(
            virtual_node(&canary, VirtualNodeRole::Apex),
            Err(AppMeshError::MissingMeshName)
        );
        assert_eq!(
            reconcile_virtual_service(None, &canary, RouterRole::Apex),
            Err(AppMeshError::MissingMeshName)
        );
    }

    #[test]
    fn the_apex_node_resolves_to_the_primary_service() {
        let canary = canary(APP_MESH, "  phase: Initializing\n");
        let apex = virtual_node(&canary, VirtualNodeRole::Apex).expect("node");
        let host = |node: &VirtualNode| {
            node.spec
                .service_discovery
                .as_ref()
                .and_then(|discovery| discovery.dns.as_ref())
                .map(|dns| dns.host_name.clone())
        };
        assert_eq!(apex.metadata.name, "podinfo");
        assert_eq!(host(&apex).as_deref(), Some("podinfo-primary.test"));
        let canary_node = virtual_node(&canary, VirtualNodeRole::Canary).expect("node");
        assert_eq!(host(&canary_node).as_deref(), Some("podinfo-canary.test"));
        assert_eq!(canary_node.spec.backends.len(), 1);
        assert_eq!(canary_node.spec.logging, None);
    }

    #[test]
    fn reconcile_creates_routers_with_all_traffic_on_their_side() {
        let canary = canary(APP_MESH, "  phase: Initializing\n");
        let apex = reconcile_virtual_service(None, &canary, RouterRole::Apex).expect("apex");
        assert_eq!(apex.metadata.name, "podinfo.test");
        assert_eq!(routes(&apex, &canary), Ok(Routes::ALL_PRIMARY));
        let canary_service =
            reconcile_virtual_service(None, &canary, RouterRole::Canary).expect("canary");
        assert_eq!(canary_service.metadata.name, "podinfo-canary.test");
        assert_eq!(canary_service.spec.routes[0].name, "podinfo-canary");
        assert_eq!(
            canary_service.spec.routes[0]
                .http
                .as_ref()
                .map(|http| http.action.weighted_targets[0].weight),
            Some(100)
        );
    }

    #[test]
    fn reconcile_keeps_the_apex_weights_and_follows_the_canary() {
        let mut canary = canary(APP_MESH, "  phase: Progressing\n");
        let created = reconcile_virtual_service(None, &canary, RouterRole::Apex).expect("apex");
        let shifted = set_routes(&created, &canary, split(70, 30)).expect("set routes");
        assert_eq!(
            reconcile_virtual_service(Some(&shifted), &canary, RouterRole::Apex),
            Ok(shifted.clone())
        );
        canary.spec.service.hosts = vec!["app.example.com".to_owned()];
        let updated =
            reconcile_virtual_service(Some(&shifted), &canary, RouterRole::Apex).expect("apex");
        assert_eq!(routes(&updated, &canary), Ok(split(70, 30)));
        assert_eq!(
            updated
                .metadata
                .annotations
                .get("gateway.appmesh.k8s.aws/domain")
                .map(String::as_str),
            Some("app.example.com,")
        );
    }

    #[test]
    fn routes_need_two_targets_with_some_weight() {
        let canary = canary(APP_MESH, "  phase: Progressing\n");
        let mut apex = virtual_service(&canary, split(0, 0)).expect("apex");
        assert_eq!(
            routes(&apex, &canary).map_err(|error| error.to_string()),
            Err("VirtualService podinfo.test does not contain routes for podinfo-primary and podinfo-canary".to_owned())
        );
        apex.spec.routes.clear();
        assert_eq!(
            routes(&apex, &canary).map_err(|error| error.to_string()),
            Err("VirtualService routes podinfo.test not found".to_owned())
        );
        assert!(set_routes(&apex, &canary, Routes::ALL_PRIMARY).is_err());
    }

    #[test]
    fn ab_testing_routes_matching_headers_first() {
        let canary = canary(
            "  service:
    port: 9898
    meshName: global
  analysis:
    iterations: 10
    match:
    - headers:
        x-canary:
          exact: insider
",
            "  phase: Progressing\n",
        );
        let apex = virtual_service(&canary, Routes::ALL_CANARY).expect("apex");
        let names: Vec<(&str, Option<i64>)> = apex
            .spec
            .routes
            .iter()
            .map(|route| (route.name.as_str(), route.priority))
            .collect();
        assert_eq!(names, [("podinfo-a", Some(10)), ("podinfo-b", Some(20))]);
        assert_eq!(routes(&apex, &canary), Ok(Routes::ALL_CANARY));
        let canary_service =
            reconcile_virtual_service(None, &canary, RouterRole::Canary).expect("canary");
        assert_eq!(canary_service.spec.routes.len(), 1);
    }
}
