//! Kuma: a cluster-scoped `kuma.io/v1alpha1` TrafficRoute `<apex>` that
//! splits the apex service's traffic between primary and canary (semantics
//! §9.3).
//!
//! ```text
//!   TrafficRoute <apex>            (no namespace, mesh from the Canary's
//!   ├─ sources:      kuma.io/service: *       kuma.io/mesh annotation)
//!   ├─ destinations: kuma.io/service: <apex>_<ns>_svc_<port>
//!   └─ conf.split:   <apex>-primary_<ns>_svc_<port>  weight p
//!                    <apex>-canary_<ns>_svc_<port>   weight c
//! ```
//!
//! Kuma names a Kubernetes service `<name>_<namespace>_svc_<port>`; every
//! data plane proxy in the mesh sends the apex service's traffic through the
//! split. `GetRoutes` reads the primary's weight and gives the canary the rest
//! of 100. The object is not owned by the Canary ([`OWNED_BY_CANARY`]).
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Reconcile keeps the traffic split.** Flagger rewrites the split with
//!   100/0 when the destinations changed, in the middle of an analysis. weir
//!   also updates labels, annotations and the mesh when they changed; Flagger
//!   sets them on creation only.
//! * **The apex labels are applied** (`spec.service.apex.labels`); Flagger
//!   applies only the apex annotations. Without apex annotations the object
//!   gets Flagger's `<port>.service.kuma.io: http`, which Kuma ignores on a
//!   TrafficRoute, and the Flux opt-out annotations in any case.
//! * **A split with no traffic, or a negative weight, is refused**: Kuma
//!   would ignore every destination and fail all requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weir_api::Canary;
use weir_engine::ports::Routes;

use crate::metadata::ObjectMetadata;

/// `apiVersion` of Kuma's TrafficRoutes.
pub const API_VERSION: &str = "kuma.io/v1alpha1";
/// The Canary annotation naming the mesh the TrafficRoute belongs to.
pub const MESH_ANNOTATION: &str = "kuma.io/mesh";
/// The mesh when the Canary does not name one (Kuma's default mesh).
pub const DEFAULT_MESH: &str = "default";
/// A cluster-scoped object cannot be owned by a namespaced Canary: the
/// garbage collector would treat the owner as missing and delete it.
pub const OWNED_BY_CANARY: bool = false;
/// The tag Kuma identifies services by.
const SERVICE_TAG: &str = "kuma.io/service";
/// Weights are percentages: the canary gets what the primary does not.
const TOTAL_WEIGHT: i32 = 100;

/// Why a TrafficRoute could not be generated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KumaError {
    /// The split does not send anything to the primary service.
    #[error("TrafficRoute {name} does not contain routes for {primary} and {canary}")]
    NoRoutes {
        name: String,
        primary: String,
        canary: String,
    },
    /// `set_routes` was asked for a split that routes nothing, or a negative weight.
    #[error(
        "TrafficRoute {name} update failed: no valid weights (primary {primary}, canary {canary})"
    )]
    InvalidWeights {
        name: String,
        primary: i32,
        canary: i32,
    },
}

/// A Kuma TrafficRoute (cluster-scoped: `metadata.namespace` is empty).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoute {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mesh: String,
    #[serde(default)]
    pub spec: TrafficRouteSpec,
}

/// Which traffic the route applies to, and where it goes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficRouteSpec {
    /// The data plane proxies sending the traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Selector>,
    /// The services the traffic is addressed to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<Selector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf: Option<TrafficRouteConf>,
}

/// Tags to match (`*` matches any value).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub r#match: BTreeMap<String, String>,
}

/// The weighted destinations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficRouteConf {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split: Vec<TrafficRouteSplit>,
}

/// A destination and its relative weight (0 means ignored).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficRouteSplit {
    /// Always written, like Go's `json:"weight"`.
    #[serde(default)]
    pub weight: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub destination: BTreeMap<String, String>,
}

/// The mesh named by the Canary's `kuma.io/mesh` annotation, or `default`.
pub fn mesh(canary: &Canary) -> String {
    canary
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(MESH_ANNOTATION))
        .cloned()
        .unwrap_or_else(|| DEFAULT_MESH.to_owned())
}

/// The TrafficRoute `set_routes` writes for `routes`, built from scratch.
pub fn traffic_route(canary: &Canary, routes: Routes) -> Result<TrafficRoute, KumaError> {
    let names = canary.spec.service_names();
    if (routes.primary == 0 && routes.canary == 0) || routes.primary < 0 || routes.canary < 0 {
        return Err(KumaError::InvalidWeights {
            name: names.apex,
            primary: routes.primary,
            canary: routes.canary,
        });
    }
    let mut metadata = ObjectMetadata::apex(canary);
    metadata.namespace.clear();
    let apex_annotations = canary
        .spec
        .service
        .apex
        .as_ref()
        .is_some_and(|apex| !apex.annotations.is_empty());
    if !apex_annotations {
        metadata.annotations.insert(
            format!("{}.service.kuma.io", canary.spec.service.port),
            "http".to_owned(),
        );
    }
    Ok(TrafficRoute {
        api_version: API_VERSION.to_owned(),
        kind: "TrafficRoute".to_owned(),
        metadata,
        mesh: mesh(canary),
        spec: spec(canary, routes),
    })
}

/// Flagger's `Reconcile`: creates the TrafficRoute with all traffic on the
/// primary, or updates what differs from the Canary while keeping the
/// existing split. Returns `existing` unchanged when nothing differs.
pub fn reconcile(
    existing: Option<&TrafficRoute>,
    canary: &Canary,
) -> Result<TrafficRoute, KumaError> {
    let desired = traffic_route(canary, Routes::ALL_PRIMARY)?;
    let Some(existing) = existing else {
        return Ok(desired);
    };
    // Not a route weir wrote: start from the primary.
    let current = routes(existing, canary).unwrap_or(Routes::ALL_PRIMARY);
    let spec = spec(canary, current);
    // Annotations other controllers add stay.
    let mut annotations = existing.metadata.annotations.clone();
    annotations.extend(desired.metadata.annotations);
    if existing.spec == spec
        && existing.mesh == desired.mesh
        && existing.metadata.labels == desired.metadata.labels
        && existing.metadata.annotations == annotations
    {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.spec = spec;
    updated.mesh = desired.mesh;
    updated.metadata.labels = desired.metadata.labels;
    updated.metadata.annotations = annotations;
    Ok(updated)
}

/// Flagger's `SetRoutes`: the existing TrafficRoute with a new split.
pub fn set_routes(
    existing: &TrafficRoute,
    canary: &Canary,
    routes: Routes,
) -> Result<TrafficRoute, KumaError> {
    let generated = traffic_route(canary, routes)?;
    let mut updated = existing.clone();
    updated.spec.conf = generated.spec.conf;
    Ok(updated)
}

/// Flagger's `GetRoutes`: the weight of the split entry whose service is the
/// primary (the last one, if several); the canary gets the rest of 100.
pub fn routes(route: &TrafficRoute, canary: &Canary) -> Result<Routes, KumaError> {
    let names = canary.spec.service_names();
    let primary = route
        .spec
        .conf
        .iter()
        .flat_map(|conf| &conf.split)
        .rfind(|split| {
            split
                .destination
                .get(SERVICE_TAG)
                .and_then(|service| service.split('_').next())
                == Some(names.primary.as_str())
        })
        .map(|split| {
            // Weights are percentages here; a larger relative weight reads as all traffic.
            i32::try_from(split.weight)
                .unwrap_or(TOTAL_WEIGHT)
                .min(TOTAL_WEIGHT)
        });
    match primary {
        Some(primary) => Ok(Routes {
            primary,
            canary: TOTAL_WEIGHT - primary,
            mirrored: false,
        }),
        None => Err(KumaError::NoRoutes {
            name: names.apex,
            primary: names.primary,
            canary: names.canary,
        }),
    }
}

/// `<service>_<namespace>_svc_<port>`: Kuma's name for a Kubernetes service.
fn kuma_service(service: &str, canary: &Canary) -> String {
    format!(
        "{service}_{}_svc_{}",
        canary.namespace(),
        canary.spec.service.port
    )
}

fn tag(value: String) -> BTreeMap<String, String> {
    BTreeMap::from([(SERVICE_TAG.to_owned(), value)])
}

fn spec(canary: &Canary, routes: Routes) -> TrafficRouteSpec {
    let names = canary.spec.service_names();
    let weight = |value: i32| u32::try_from(value).unwrap_or_default();
    TrafficRouteSpec {
        sources: vec![Selector {
            r#match: tag("*".to_owned()),
        }],
        destinations: vec![Selector {
            r#match: tag(kuma_service(&names.apex, canary)),
        }],
        conf: Some(TrafficRouteConf {
            split: vec![
                TrafficRouteSplit {
                    weight: weight(routes.primary),
                    destination: tag(kuma_service(&names.primary, canary)),
                },
                TrafficRouteSplit {
                    weight: weight(routes.canary),
                    destination: tag(kuma_service(&names.canary, canary)),
                },
            ],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const PROGRESSIVE: &str = "  provider: kuma
  service:
    port: 9898
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
    fn reconcile_creates_a_cluster_scoped_route_in_the_default_mesh() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        assert_eq!(created.metadata.name, "podinfo");
        assert_eq!(created.metadata.namespace, "");
        assert_eq!(created.mesh, "default");
        assert_eq!(
            created.metadata.annotations.get("9898.service.kuma.io"),
            Some(&"http".to_owned())
        );
        assert_eq!(
            created.spec.destinations[0].r#match.get("kuma.io/service"),
            Some(&"podinfo_test_svc_9898".to_owned())
        );
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn the_mesh_comes_from_the_canary_annotation() {
        let mut canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        canary.metadata.annotations = Some(BTreeMap::from([(
            MESH_ANNOTATION.to_owned(),
            "payments".to_owned(),
        )]));
        assert_eq!(mesh(&canary), "payments");
        let created = reconcile(None, &canary).expect("reconcile");
        assert_eq!(created.mesh, "payments");
    }

    #[test]
    fn reconcile_keeps_the_weights_and_follows_a_new_port() {
        let mut canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(70, 30)).expect("set routes");
        assert_eq!(reconcile(Some(&shifted), &canary), Ok(shifted.clone()));

        canary.spec.service.port = 8080;
        let updated = reconcile(Some(&shifted), &canary).expect("reconcile");
        assert_eq!(routes(&updated, &canary), Ok(split(70, 30)));
        assert_eq!(
            updated.spec.destinations[0].r#match.get("kuma.io/service"),
            Some(&"podinfo_test_svc_8080".to_owned())
        );
    }

    #[test]
    fn routes_give_the_canary_what_the_primary_does_not_get() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut route = traffic_route(&canary, split(40, 60)).expect("traffic route");
        if let Some(conf) = route.spec.conf.as_mut() {
            conf.split[1].weight = 7;
        }
        assert_eq!(routes(&route, &canary), Ok(split(40, 60)));
    }

    #[test]
    fn routes_fail_without_a_primary_destination() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut route = traffic_route(&canary, Routes::ALL_PRIMARY).expect("traffic route");
        route.spec.conf = None;
        assert_eq!(
            routes(&route, &canary).map_err(|error| error.to_string()),
            Err("TrafficRoute podinfo does not contain routes for podinfo-primary and podinfo-canary".to_owned())
        );
    }

    #[test]
    fn set_routes_refuses_a_split_without_traffic() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        assert!(matches!(
            set_routes(&created, &canary, split(0, 0)),
            Err(KumaError::InvalidWeights { .. })
        ));
        assert!(set_routes(&created, &canary, split(-1, 101)).is_err());
    }

    #[test]
    fn apex_annotations_replace_the_default_port_annotation() {
        let canary = canary(
            "  service:
    port: 9898
    apex:
      labels:
        team: payments
      annotations:
        9898.service.kuma.io/protocol: http
",
            "  phase: Initializing\n",
        );
        let created = reconcile(None, &canary).expect("reconcile");
        assert!(
            !created
                .metadata
                .annotations
                .contains_key("9898.service.kuma.io")
        );
        assert_eq!(
            created
                .metadata
                .annotations
                .get("9898.service.kuma.io/protocol"),
            Some(&"http".to_owned())
        );
        assert_eq!(
            created.metadata.labels.get("team"),
            Some(&"payments".to_owned())
        );
    }
}
