//! SMI: a `split.smi-spec.io` TrafficSplit `<apex>` (semantics §9.3), written
//! for `linkerd` and `smi:v1alpha1` (v1alpha1), `osm` and `smi:v1alpha2`
//! (v1alpha2), and `smi:v1alpha3` (v1alpha3).
//!
//! ```text
//!   clients ──▶ spec.service (hosts[0], else <apex>)
//!                   │  the mesh splits by weight
//!                   ├──▶ <apex>-canary   weight c
//!                   └──▶ <apex>-primary  weight p
//! ```
//!
//! The backends are listed canary first, as Flagger writes them. SMI has no
//! request matching and no mirroring: A/B testing and mirroring are not
//! available, and `routes` never reports a mirror. When the target mesh is
//! Istio and `spec.service.gateways` is set, the TrafficSplit carries the
//! gateways in the annotation [`ISTIO_GATEWAYS_ANNOTATION`] for Istio's SMI
//! adapter. weir's provider names (Flagger's CRD enum) never select Istio as
//! the target mesh; callers that do (Flagger's `smi:v1alpha1:istio` flag
//! value) build a [`Flavor`] themselves.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Reconcile keeps the traffic split.** Flagger ignores weights when it
//!   compares, but when anything else changed it writes 0/100 back, moving
//!   all traffic to the primary in the middle of an analysis.
//! * **The TrafficSplit carries the apex metadata and the Flux annotations**
//!   like every other router object; Flagger's SMI routers write only the
//!   Istio annotation, so Flux reverts their weight changes. Annotations
//!   other controllers add are kept.
//! * **Unreadable weights are errors.** Flagger reads a `v1alpha1` weight that
//!   is not a whole number (`"500m"`) as 0 without a word; weir names the
//!   backend and its weight.

mod types;

pub use types::{TrafficSplit, TrafficSplitBackend, TrafficSplitSpec, Weight};

use weir_api::{Canary, Provider};
use weir_engine::ports::Routes;

use crate::metadata::ObjectMetadata;

/// Where Istio's SMI adapter reads the gateways a split applies to.
pub const ISTIO_GATEWAYS_ANNOTATION: &str =
    "VirtualService.v1alpha3.networking.istio.io/spec.gateways";

/// The TrafficSplit API versions Flagger writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// Weights are quantities (`"100"`).
    V1alpha1,
    /// Integer weights; a zero weight is left out, as Go's `omitempty` does.
    V1alpha2,
    /// Integer weights, always written.
    V1alpha3,
}

impl Version {
    pub fn api_version(self) -> &'static str {
        match self {
            Version::V1alpha1 => "split.smi-spec.io/v1alpha1",
            Version::V1alpha2 => "split.smi-spec.io/v1alpha2",
            Version::V1alpha3 => "split.smi-spec.io/v1alpha3",
        }
    }

    /// A backend weight as this version serializes it.
    fn weight(self, percent: i32) -> Option<Weight> {
        match self {
            Version::V1alpha1 => Some(Weight::Quantity(percent.to_string())),
            Version::V1alpha2 if percent == 0 => None,
            Version::V1alpha2 | Version::V1alpha3 => Some(Weight::Integer(percent.into())),
        }
    }
}

/// The mesh that reads the TrafficSplit. Only Istio changes what is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetMesh {
    Linkerd,
    /// Open Service Mesh.
    Osm,
    /// Istio's SMI adapter: gets [`ISTIO_GATEWAYS_ANNOTATION`].
    Istio,
    /// `smi:v1alphaN` without a mesh.
    Unnamed,
}

/// Which TrafficSplit version a provider writes, and for which mesh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flavor {
    pub version: Version,
    pub target_mesh: TargetMesh,
}

impl Flavor {
    /// The flavor of an SMI provider, `None` for any other provider.
    pub fn of(provider: Provider) -> Option<Flavor> {
        let (version, target_mesh) = match provider {
            Provider::Linkerd => (Version::V1alpha1, TargetMesh::Linkerd),
            Provider::SmiV1alpha1 => (Version::V1alpha1, TargetMesh::Unnamed),
            Provider::Osm => (Version::V1alpha2, TargetMesh::Osm),
            Provider::SmiV1alpha2 => (Version::V1alpha2, TargetMesh::Unnamed),
            Provider::SmiV1alpha3 => (Version::V1alpha3, TargetMesh::Unnamed),
            _ => return None,
        };
        Some(Flavor {
            version,
            target_mesh,
        })
    }
}

/// Why a TrafficSplit's traffic split could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmiError {
    /// Neither the primary nor the canary has a weight (Flagger's message).
    #[error("TrafficSplit {name}.{namespace} does not contain routes for {primary} and {canary}")]
    NoRoutes {
        name: String,
        namespace: String,
        primary: String,
        canary: String,
    },
    /// A weight that is not a whole number, or out of range.
    #[error(
        "TrafficSplit {name}.{namespace} backend {service} has weight {weight}, which is not a whole percentage"
    )]
    InvalidWeight {
        name: String,
        namespace: String,
        service: String,
        weight: String,
    },
}

/// The TrafficSplit `set_routes` writes for `routes`, built from scratch.
pub fn traffic_split(canary: &Canary, routes: Routes, flavor: Flavor) -> TrafficSplit {
    let service = &canary.spec.service;
    let names = canary.spec.service_names();
    let mut metadata = ObjectMetadata::apex(canary);
    if flavor.target_mesh == TargetMesh::Istio && !service.gateways.is_empty() {
        // Serializing a list of strings cannot fail.
        if let Ok(gateways) = serde_json::to_string(&service.gateways) {
            metadata
                .annotations
                .insert(ISTIO_GATEWAYS_ANNOTATION.to_owned(), gateways);
        }
    }
    let host = service
        .hosts
        .first()
        .cloned()
        .unwrap_or_else(|| names.apex.clone());
    TrafficSplit {
        api_version: flavor.version.api_version().to_owned(),
        kind: "TrafficSplit".to_owned(),
        metadata,
        spec: TrafficSplitSpec {
            service: host,
            backends: backends(canary, routes, flavor.version),
            matches: Vec::new(),
        },
    }
}

/// Flagger's `SetRoutes`: the existing TrafficSplit with new backends; the
/// service, metadata and any `matches` stay.
pub fn set_routes(
    existing: &TrafficSplit,
    canary: &Canary,
    routes: Routes,
    flavor: Flavor,
) -> TrafficSplit {
    let mut updated = existing.clone();
    updated.spec.backends = backends(canary, routes, flavor.version);
    updated
}

/// Flagger's `Reconcile`: creates the TrafficSplit with all traffic on the
/// primary, or updates what differs from the Canary while keeping the
/// existing split. Returns `existing` unchanged when nothing differs.
pub fn reconcile(existing: Option<&TrafficSplit>, canary: &Canary, flavor: Flavor) -> TrafficSplit {
    let initial = traffic_split(canary, Routes::ALL_PRIMARY, flavor);
    let Some(existing) = existing else {
        return initial;
    };
    let mut annotations = initial.metadata.annotations.clone();
    for (key, value) in &existing.metadata.annotations {
        annotations
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
    let spec_differs = existing.api_version != initial.api_version
        || without_weights(&existing.spec) != without_weights(&initial.spec);
    if !spec_differs
        && existing.metadata.labels == initial.metadata.labels
        && existing.metadata.annotations == annotations
    {
        return existing.clone();
    }
    let mut updated = existing.clone();
    updated.metadata.labels = initial.metadata.labels;
    updated.metadata.annotations = annotations;
    if spec_differs {
        // A split weir cannot read (or a foreign one) starts from the primary.
        let current = routes(existing, canary).unwrap_or(Routes::ALL_PRIMARY);
        updated.api_version = initial.api_version;
        updated.spec = traffic_split(canary, current, flavor).spec;
    }
    updated
}

/// Flagger's `GetRoutes`: the weights of the primary and canary backends
/// (a missing weight is 0); never mirrored.
pub fn routes(split: &TrafficSplit, canary: &Canary) -> Result<Routes, SmiError> {
    let names = canary.spec.service_names();
    let invalid = |backend: &TrafficSplitBackend, weight: String| SmiError::InvalidWeight {
        name: split.metadata.name.clone(),
        namespace: split.metadata.namespace.clone(),
        service: backend.service.clone(),
        weight,
    };
    let mut primary = 0;
    let mut canary_weight = 0;
    for backend in &split.spec.backends {
        let weight = match &backend.weight {
            None => 0,
            Some(weight) => weight
                .whole()
                .and_then(|whole| i32::try_from(whole).ok())
                .filter(|whole| *whole >= 0)
                .ok_or_else(|| invalid(backend, weight_text(weight)))?,
        };
        if backend.service == names.primary {
            primary = weight;
        }
        if backend.service == names.canary {
            canary_weight = weight;
        }
    }
    if primary == 0 && canary_weight == 0 {
        return Err(SmiError::NoRoutes {
            name: names.apex,
            namespace: canary.namespace().to_owned(),
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

fn weight_text(weight: &Weight) -> String {
    match weight {
        Weight::Integer(value) => value.to_string(),
        Weight::Quantity(text) => format!("{text:?}"),
    }
}

fn backends(canary: &Canary, routes: Routes, version: Version) -> Vec<TrafficSplitBackend> {
    let names = canary.spec.service_names();
    vec![
        TrafficSplitBackend {
            service: names.canary,
            weight: version.weight(routes.canary),
        },
        TrafficSplitBackend {
            service: names.primary,
            weight: version.weight(routes.primary),
        },
    ]
}

/// The spec as Flagger's reconcile compares it.
fn without_weights(spec: &TrafficSplitSpec) -> TrafficSplitSpec {
    let mut spec = spec.clone();
    for backend in &mut spec.backends {
        backend.weight = None;
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;
    use k8s_openapi::api::core::v1::TypedLocalObjectReference;

    const SERVICE: &str = "  service:\n    port: 9898\n";

    const LINKERD: Flavor = Flavor {
        version: Version::V1alpha1,
        target_mesh: TargetMesh::Linkerd,
    };

    const ALL_VERSIONS: [Flavor; 3] = [
        LINKERD,
        Flavor {
            version: Version::V1alpha2,
            target_mesh: TargetMesh::Osm,
        },
        Flavor {
            version: Version::V1alpha3,
            target_mesh: TargetMesh::Unnamed,
        },
    ];

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    #[test]
    fn providers_select_the_traffic_split_version_flagger_uses() {
        let versions: Vec<(Provider, Option<Version>)> = Provider::ALL
            .into_iter()
            .map(|provider| (provider, Flavor::of(provider).map(|flavor| flavor.version)))
            .filter(|(_, version)| version.is_some())
            .collect();
        assert_eq!(
            versions,
            [
                (Provider::Linkerd, Some(Version::V1alpha1)),
                (Provider::Osm, Some(Version::V1alpha2)),
                (Provider::SmiV1alpha1, Some(Version::V1alpha1)),
                (Provider::SmiV1alpha2, Some(Version::V1alpha2)),
                (Provider::SmiV1alpha3, Some(Version::V1alpha3)),
            ]
        );
    }

    #[test]
    fn routes_read_back_what_set_routes_wrote_in_every_version() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        for flavor in ALL_VERSIONS {
            let created = reconcile(None, &canary, flavor);
            assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
            for weights in [split(95, 5), split(50, 50), Routes::ALL_CANARY] {
                let written = set_routes(&created, &canary, weights, flavor);
                assert_eq!(routes(&written, &canary), Ok(weights), "{flavor:?}");
            }
        }
    }

    #[test]
    fn reconcile_keeps_the_weights_of_an_existing_split() {
        let mut canary = canary(SERVICE, "  phase: Progressing\n");
        for flavor in ALL_VERSIONS {
            let created = reconcile(None, &canary, flavor);
            let shifted = set_routes(&created, &canary, split(70, 30), flavor);
            assert_eq!(reconcile(Some(&shifted), &canary, flavor), shifted);

            canary.spec.service.hosts = vec!["podinfo.test.svc.cluster.local".to_owned()];
            let updated = reconcile(Some(&shifted), &canary, flavor);
            assert_eq!(updated.spec.service, "podinfo.test.svc.cluster.local");
            assert_eq!(routes(&updated, &canary), Ok(split(70, 30)));
            canary.spec.service.hosts.clear();
        }
    }

    #[test]
    fn reconcile_keeps_annotations_other_controllers_added() {
        let canary = canary(SERVICE, "  phase: Initializing\n");
        let mut created = reconcile(None, &canary, LINKERD);
        created.metadata.annotations.insert(
            "argocd.argoproj.io/tracking-id".to_owned(),
            "app".to_owned(),
        );
        assert_eq!(reconcile(Some(&created), &canary, LINKERD), created);
    }

    #[test]
    fn reconcile_starts_a_foreign_split_from_the_primary() {
        let canary = canary(SERVICE, "  phase: Initializing\n");
        let mut foreign = reconcile(None, &canary, LINKERD);
        foreign.spec.backends = vec![TrafficSplitBackend {
            service: "legacy".to_owned(),
            weight: Some(Weight::Quantity("100".to_owned())),
        }];
        let taken = reconcile(Some(&foreign), &canary, LINKERD);
        assert_eq!(routes(&taken, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn routes_fail_when_neither_backend_has_weight() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        let mut written = reconcile(None, &canary, LINKERD);
        written
            .spec
            .backends
            .retain(|backend| backend.service == "podinfo-canary");
        let error = routes(&written, &canary).expect_err("no routes");
        assert_eq!(
            error.to_string(),
            "TrafficSplit podinfo.test does not contain routes for podinfo-primary and podinfo-canary"
        );
    }

    #[test]
    fn routes_fail_on_a_weight_that_is_not_a_whole_percentage() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        let mut written = reconcile(None, &canary, LINKERD);
        written.spec.backends[0].weight = Some(Weight::Quantity("500m".to_owned()));
        let error = routes(&written, &canary).expect_err("fractional weight");
        assert_eq!(
            error.to_string(),
            "TrafficSplit podinfo.test backend podinfo-canary has weight \"500m\", which is not a whole percentage"
        );
    }

    #[test]
    fn v1alpha2_leaves_zero_weights_out_and_reads_them_as_zero() {
        let canary = canary(SERVICE, "  phase: Initializing\n");
        let flavor = Flavor {
            version: Version::V1alpha2,
            target_mesh: TargetMesh::Osm,
        };
        let created = reconcile(None, &canary, flavor);
        assert_eq!(created.spec.backends[0].weight, None);
        let json = serde_json::to_value(&created).expect("json");
        assert_eq!(
            json["spec"]["backends"][0],
            serde_json::json!({"service": "podinfo-canary"})
        );
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn only_the_istio_target_mesh_gets_the_gateways_annotation() {
        let canary = canary(
            "  service:\n    port: 9898\n    gateways:\n    - public-gateway\n    - mesh\n",
            "  phase: Initializing\n",
        );
        let istio = Flavor {
            version: Version::V1alpha1,
            target_mesh: TargetMesh::Istio,
        };
        assert_eq!(
            traffic_split(&canary, Routes::ALL_PRIMARY, istio)
                .metadata
                .annotations
                .get(ISTIO_GATEWAYS_ANNOTATION)
                .map(String::as_str),
            Some(r#"["public-gateway","mesh"]"#)
        );
        assert!(
            !traffic_split(&canary, Routes::ALL_PRIMARY, LINKERD)
                .metadata
                .annotations
                .contains_key(ISTIO_GATEWAYS_ANNOTATION)
        );
    }

    #[test]
    fn set_routes_keeps_the_service_metadata_and_matches() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        let flavor = Flavor {
            version: Version::V1alpha3,
            target_mesh: TargetMesh::Unnamed,
        };
        let mut existing = reconcile(None, &canary, flavor);
        existing.spec.matches = vec![route_group()];
        existing.spec.service = "custom".to_owned();
        let written = set_routes(&existing, &canary, split(80, 20), flavor);
        assert_eq!(written.spec.matches, existing.spec.matches);
        assert_eq!(written.spec.service, "custom");
        assert_eq!(written.metadata, existing.metadata);
        // Reconcile writes the spec Flagger writes: no matches.
        assert!(
            reconcile(Some(&written), &canary, flavor)
                .spec
                .matches
                .is_empty()
        );
    }

    fn route_group() -> TypedLocalObjectReference {
        TypedLocalObjectReference {
            api_group: Some("specs.smi-spec.io".to_owned()),
            kind: "HTTPRouteGroup".to_owned(),
            name: "podinfo-routes".to_owned(),
        }
    }
}
