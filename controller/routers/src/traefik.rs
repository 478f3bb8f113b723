//! Traefik: a `traefik.io/v1alpha1` TraefikService `<apex>` that balances
//! between the primary and canary Services by weight (semantics §9.3).
//!
//! ```text
//!   IngressRoute (the user's) ──▶ TraefikService <apex>
//!                                   weighted.services:
//!                                   - <apex>-primary  weight p
//!                                   - <apex>-canary   weight c   (only when c > 0)
//! ```
//!
//! Traefik has no request matching here: A/B testing and mirroring are not
//! available. `routes` reads the primary's weight and gives the canary the
//! rest of 100, as Flagger does; `set_routes` refuses a split with no traffic
//! anywhere.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **The primary's weight is always written.** Flagger's Go type drops a
//!   zero weight (`omitempty`), and Traefik reads a missing weight as 1, so
//!   with all traffic on the canary (blue/green, promotion) the primary still
//!   gets one request in 101. weir writes `weight: 0`, which Traefik skips.
//! * **Reconcile keeps the traffic split.** Flagger writes 100/0 back when
//!   anything but the weights changed, in the middle of an analysis.
//!   Annotations other controllers add are kept.
//! * **A TraefikService without the primary is an error** in `routes`;
//!   Flagger reports 0/0 without one, which the engine cannot act on.

use serde::{Deserialize, Serialize};
use weir_api::Canary;
use weir_engine::ports::Routes;

use crate::metadata::ObjectMetadata;

/// `apiVersion` of the TraefikService Flagger writes.
pub const API_VERSION: &str = "traefik.io/v1alpha1";

/// A TraefikService: a load balancer over other services.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TraefikService {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    pub spec: TraefikServiceSpec,
}

/// Flagger writes only the weighted round robin.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TraefikServiceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<WeightedRoundRobin>,
}

/// A weighted round robin over Kubernetes Services.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightedRoundRobin {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<WeightedService>,
}

/// One Service of the round robin.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightedService {
    pub name: String,
    pub namespace: String,
    pub port: i32,
    /// Traefik reads a missing weight as 1 and skips a weight of 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Why a TraefikService could not be written or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TraefikError {
    /// `set_routes` with 0/0: every request would fail.
    #[error("TraefikService {name}.{namespace} update failed: no valid weights")]
    NoValidWeights { name: String, namespace: String },
    /// The TraefikService does not balance to the primary.
    #[error(
        "TraefikService {name}.{namespace} services not found: no {primary} in weighted.services"
    )]
    ServicesNotFound {
        name: String,
        namespace: String,
        primary: String,
    },
}

/// The TraefikService `set_routes` writes for `routes`, built from scratch.
pub fn traefik_service(canary: &Canary, routes: Routes) -> TraefikService {
    TraefikService {
        api_version: API_VERSION.to_owned(),
        kind: "TraefikService".to_owned(),
        metadata: ObjectMetadata::apex(canary),
        spec: TraefikServiceSpec {
            weighted: Some(WeightedRoundRobin {
                services: services(canary, routes),
            }),
        },
    }
}

/// Flagger's `SetRoutes`: the existing TraefikService with the weighted
/// services replaced; an error for 0/0.
pub fn set_routes(
    existing: &TraefikService,
    canary: &Canary,
    routes: Routes,
) -> Result<TraefikService, TraefikError> {
    if routes.primary == 0 && routes.canary == 0 {
        return Err(TraefikError::NoValidWeights {
            name: canary.spec.service_names().apex,
            namespace: canary.namespace().to_owned(),
        });
    }
    let mut updated = existing.clone();
    updated
        .spec
        .weighted
        .get_or_insert_with(WeightedRoundRobin::default)
        .services = services(canary, routes);
    Ok(updated)
}

/// Flagger's `Reconcile`: creates the TraefikService with all traffic on the
/// primary, or updates what differs from the Canary while keeping the
/// existing split. Returns `existing` unchanged when nothing differs.
pub fn reconcile(existing: Option<&TraefikService>, canary: &Canary) -> TraefikService {
    let initial = traefik_service(canary, Routes::ALL_PRIMARY);
    let Some(existing) = existing else {
        return initial;
    };
    let mut annotations = initial.metadata.annotations.clone();
    for (key, value) in &existing.metadata.annotations {
        annotations
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
    let spec_differs = comparable(&existing.spec, canary) != comparable(&initial.spec, canary);
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
        // Not a TraefikService weir wrote: start from the primary.
        let current = routes(existing, canary).unwrap_or(Routes::ALL_PRIMARY);
        updated.spec = traefik_service(canary, current).spec;
    }
    updated
}

/// Flagger's `GetRoutes`: the primary's weight, and the rest of 100 for the
/// canary; never mirrored.
pub fn routes(service: &TraefikService, canary: &Canary) -> Result<Routes, TraefikError> {
    let names = canary.spec.service_names();
    let primary = service
        .spec
        .weighted
        .iter()
        .flat_map(|weighted| &weighted.services)
        .find(|service| service.name == names.primary)
        .ok_or_else(|| TraefikError::ServicesNotFound {
            name: names.apex.clone(),
            namespace: canary.namespace().to_owned(),
            primary: names.primary.clone(),
        })?;
    // Flagger leaves a zero weight out (Go's `omitempty`); a TraefikService
    // it wrote with all traffic on the canary reads as it meant it.
    let primary_weight = primary.weight.unwrap_or(0);
    Ok(Routes {
        primary: primary_weight,
        canary: 100 - primary_weight,
        mirrored: false,
    })
}

fn services(canary: &Canary, routes: Routes) -> Vec<WeightedService> {
    let names = canary.spec.service_names();
    let service = |name: String, weight: i32| WeightedService {
        name,
        namespace: canary.namespace().to_owned(),
        port: canary.spec.service.port,
        weight: Some(weight),
    };
    let mut services = vec![service(names.primary, routes.primary)];
    // A canary entry without weight would get Traefik's default of 1.
    if routes.canary > 0 {
        services.push(service(names.canary, routes.canary));
    }
    services
}

/// The spec as reconcile compares it: without weights and without the
/// canary entry, which only `set_routes` manages.
fn comparable(spec: &TraefikServiceSpec, canary: &Canary) -> TraefikServiceSpec {
    let canary_name = canary.spec.service_names().canary;
    let mut spec = spec.clone();
    if let Some(weighted) = &mut spec.weighted {
        weighted
            .services
            .retain(|service| service.name != canary_name);
        for service in &mut weighted.services {
            service.weight = None;
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const SERVICE: &str = "  service:\n    port: 80\n    targetPort: 9898\n";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    fn weights(service: &TraefikService) -> Vec<(String, Option<i32>)> {
        service
            .spec
            .weighted
            .iter()
            .flat_map(|weighted| &weighted.services)
            .map(|service| (service.name.clone(), service.weight))
            .collect()
    }

    #[test]
    fn reconcile_creates_the_service_with_only_the_primary() {
        let canary = canary(SERVICE, "  phase: Initializing\n");
        let created = reconcile(None, &canary);
        assert_eq!(
            weights(&created),
            [("podinfo-primary".to_owned(), Some(100))]
        );
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn the_canary_entry_appears_only_with_traffic_and_the_primary_keeps_a_zero_weight() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        let created = reconcile(None, &canary);
        let shifted = set_routes(&created, &canary, split(80, 20)).expect("set");
        assert_eq!(
            weights(&shifted),
            [
                ("podinfo-primary".to_owned(), Some(80)),
                ("podinfo-canary".to_owned(), Some(20))
            ]
        );
        assert_eq!(routes(&shifted, &canary), Ok(split(80, 20)));

        let promoted = set_routes(&created, &canary, Routes::ALL_CANARY).expect("set");
        assert_eq!(
            weights(&promoted),
            [
                ("podinfo-primary".to_owned(), Some(0)),
                ("podinfo-canary".to_owned(), Some(100))
            ]
        );
        assert_eq!(routes(&promoted, &canary), Ok(Routes::ALL_CANARY));
    }

    #[test]
    fn set_routes_refuses_a_split_without_traffic() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        let created = reconcile(None, &canary);
        let error = set_routes(&created, &canary, split(0, 0)).expect_err("0/0");
        assert_eq!(
            error.to_string(),
            "TraefikService podinfo.test update failed: no valid weights"
        );
    }

    #[test]
    fn reconcile_keeps_the_weights_of_an_existing_service() {
        let mut canary = canary(SERVICE, "  phase: Progressing\n");
        let created = reconcile(None, &canary);
        let shifted = set_routes(&created, &canary, split(60, 40)).expect("set");
        assert_eq!(reconcile(Some(&shifted), &canary), shifted);

        canary.spec.service.port = 8080;
        let updated = reconcile(Some(&shifted), &canary);
        assert!(
            updated
                .spec
                .weighted
                .iter()
                .flat_map(|weighted| &weighted.services)
                .all(|service| service.port == 8080)
        );
        assert_eq!(routes(&updated, &canary), Ok(split(60, 40)));
    }

    #[test]
    fn routes_fail_without_the_primary() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        let mut written = reconcile(None, &canary);
        written.spec.weighted = None;
        let error = routes(&written, &canary).expect_err("no primary");
        assert_eq!(
            error.to_string(),
            "TraefikService podinfo.test services not found: no podinfo-primary in weighted.services"
        );
    }

    #[test]
    fn a_primary_without_weight_reads_as_zero_as_flagger_wrote_it() {
        let canary = canary(SERVICE, "  phase: Progressing\n");
        let mut written = reconcile(None, &canary);
        if let Some(weighted) = &mut written.spec.weighted {
            weighted.services[0].weight = None;
        }
        assert_eq!(routes(&written, &canary), Ok(Routes::ALL_CANARY));
    }
}
