//! Skipper: a canary Ingress `<ingressRef>-canary`, a copy of the Ingress
//! named by `spec.ingressRef` whose apex backends are split between primary
//! and canary by Skipper annotations (semantics §9.3).
//!
//! ```text
//!   Ingress <ingressRef>  (user's, untouched)      Ingress <ingressRef>-canary
//!   path /  → <apex>                    ─copy─▶     path /  → <apex>-primary
//!                                                   path /  → <apex>-canary
//!   annotations:
//!     zalando.org/backend-weights:   {"<apex>-canary":c,"<apex>-primary":p}
//!     zalando.org/skipper-predicate: Weight(100) && <user's predicates>
//!                                    False() && <user's predicates>   (c = 0)
//! ```
//!
//! Both Ingresses match the same requests; `Weight(100)` makes Skipper
//! prefer the canary Ingress's routes, which split by the backend weights.
//! When the canary gets nothing, `False()` replaces `Weight(100)` and
//! disables the copy, so requests take the user's Ingress again (to the apex
//! Service, i.e. the primary). `finalize` deletes the copy.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **An Ingress without the apex backend is an error.** Flagger's check
//!   compares two pointers and never fires, so it writes a canary Ingress
//!   that routes nothing weir can shift.
//! * **Reconcile keeps the traffic split** (and whether the copy is
//!   disabled). Flagger rewrites the annotations with 100/0 when the spec
//!   changed, in the middle of an analysis, and ignores changed labels or
//!   annotations of the user's Ingress; weir follows them.
//! * **The copy carries only what describes routing**: the user's labels
//!   and annotations, except `kubectl.kubernetes.io/last-applied-configuration`
//!   (which describes the user's Ingress, not the copy), plus the Flux
//!   opt-out annotations (Flagger adds them on updates only). Flagger copies
//!   the whole metadata, uid and owner references included.
//! * **Rules without `http` are skipped** (Flagger dereferences them).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use weir_api::Canary;
use weir_engine::ports::Routes;

use crate::metadata::{
    FLUX_DISABLED, HELM_DRIFT_DETECTION, KUBECTL_LAST_APPLIED, KUSTOMIZE_RECONCILE,
};

/// The annotation holding the backends' weights as a JSON object.
pub const BACKEND_WEIGHTS_ANNOTATION: &str = "zalando.org/backend-weights";
/// The annotation holding the routes' predicates, joined by `&&`.
pub const PREDICATE_ANNOTATION: &str = "zalando.org/skipper-predicate";
/// Flagger deletes the canary Ingress with this grace period.
pub const DELETE_GRACE_PERIOD_SECONDS: i64 = 2;
/// Makes the canary Ingress's routes win over the user's identical ones.
const CANARY_ROUTE_WEIGHT: &str = "Weight(100)";
/// Disables the canary Ingress's routes.
const CANARY_ROUTE_DISABLED: &str = "False()";

/// Why the canary Ingress could not be generated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkipperError {
    /// `spec.ingressRef` is missing or has no name.
    #[error("spec.ingressRef: ingress selector is empty")]
    MissingIngressRef,
    /// No path of the user's Ingress has the apex Service as its backend.
    #[error("backend {backend} not found in ingress {ingress}.{namespace}")]
    BackendNotFound {
        backend: String,
        ingress: String,
        namespace: String,
    },
    /// The canary Ingress has no backend weights annotation.
    #[error("ingress {name}.{namespace} has no {BACKEND_WEIGHTS_ANNOTATION} annotation")]
    MissingWeights { name: String, namespace: String },
    /// The backend weights annotation is not a JSON object of whole numbers.
    #[error("ingress {name}.{namespace} {BACKEND_WEIGHTS_ANNOTATION} is not valid: {reason}")]
    InvalidWeights {
        name: String,
        namespace: String,
        reason: String,
    },
    /// The backend weights annotation has no weight for a Service.
    #[error("ingress {name}.{namespace} could not get weights[{service}]")]
    MissingWeight {
        name: String,
        namespace: String,
        service: String,
    },
}

/// An object to delete, as `finalize` reports it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Deletion {
    pub name: String,
    pub namespace: String,
    /// Flagger gives the Ingress controller two seconds.
    pub grace_period_seconds: i64,
}

/// `<ingressRef>-canary`.
pub fn canary_ingress_name(canary: &Canary) -> Result<String, SkipperError> {
    let reference = canary
        .spec
        .ingress_ref
        .as_ref()
        .filter(|reference| !reference.name.is_empty())
        .ok_or(SkipperError::MissingIngressRef)?;
    Ok(format!("{}-canary", reference.name))
}

/// The canary Ingress for `routes`, built from the user's Ingress. With the
/// canary at 0 the copy is disabled, as `set_routes` writes it.
pub fn canary_ingress(
    apex_ingress: &Ingress,
    canary: &Canary,
    routes: Routes,
) -> Result<Ingress, SkipperError> {
    copy(apex_ingress, canary, routes, routes.canary == 0)
}

/// Flagger's `Reconcile`: creates the canary Ingress with all traffic on the
/// primary (and enabled, so Skipper takes its routes), or updates what
/// differs from the user's Ingress while keeping the existing weights.
/// Returns `existing` unchanged when nothing differs.
pub fn reconcile(
    existing: Option<&Ingress>,
    apex_ingress: &Ingress,
    canary: &Canary,
) -> Result<Ingress, SkipperError> {
    let Some(existing) = existing else {
        return copy(apex_ingress, canary, Routes::ALL_PRIMARY, false);
    };
    // Not a copy weir wrote: start from the primary.
    let current = routes(existing, canary).unwrap_or(Routes::ALL_PRIMARY);
    let disabled = annotation(&existing.metadata, PREDICATE_ANNOTATION)
        .and_then(|predicate| predicate.split("&&").next())
        .is_some_and(|first| first.trim() == CANARY_ROUTE_DISABLED);
    let desired = copy(apex_ingress, canary, current, disabled)?;
    if existing.spec == desired.spec
        && existing.metadata.labels == desired.metadata.labels
        && existing.metadata.annotations == desired.metadata.annotations
    {
        return Ok(existing.clone());
    }
    let mut updated = existing.clone();
    updated.spec = desired.spec;
    updated.metadata.labels = desired.metadata.labels;
    updated.metadata.annotations = desired.metadata.annotations;
    Ok(updated)
}

/// Flagger's `SetRoutes`: the canary Ingress with new backend weights, and
/// disabled when the canary gets nothing.
pub fn set_routes(existing: &Ingress, canary: &Canary, routes: Routes) -> Ingress {
    let mut updated = existing.clone();
    let annotations = updated
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    write_annotations(annotations, canary, routes, routes.canary == 0);
    updated
}

/// Flagger's `GetRoutes`: the primary's and canary's backend weights.
/// Skipper cannot mirror.
pub fn routes(ingress: &Ingress, canary: &Canary) -> Result<Routes, SkipperError> {
    let names = canary.spec.service_names();
    let name = ingress.metadata.name.clone().unwrap_or_default();
    let namespace = canary.namespace().to_owned();
    let text = annotation(&ingress.metadata, BACKEND_WEIGHTS_ANNOTATION).ok_or_else(|| {
        SkipperError::MissingWeights {
            name: name.clone(),
            namespace: namespace.clone(),
        }
    })?;
    let weights: BTreeMap<String, i32> =
        serde_json::from_str(text).map_err(|error| SkipperError::InvalidWeights {
            name: name.clone(),
            namespace: namespace.clone(),
            reason: error.to_string(),
        })?;
    let weight = |service: &str| {
        weights
            .get(service)
            .copied()
            .ok_or_else(|| SkipperError::MissingWeight {
                name: name.clone(),
                namespace: namespace.clone(),
                service: service.to_owned(),
            })
    };
    Ok(Routes {
        primary: weight(&names.primary)?,
        canary: weight(&names.canary)?,
        mirrored: false,
    })
}

/// Flagger's `Finalize`: the canary Ingress to delete.
pub fn finalize(canary: &Canary) -> Result<Deletion, SkipperError> {
    Ok(Deletion {
        name: canary_ingress_name(canary)?,
        namespace: canary.namespace().to_owned(),
        grace_period_seconds: DELETE_GRACE_PERIOD_SECONDS,
    })
}

/// The user's Ingress with every path to the apex Service pointed at the
/// primary and repeated for the canary, and the Skipper annotations.
fn copy(
    apex_ingress: &Ingress,
    canary: &Canary,
    routes: Routes,
    disabled: bool,
) -> Result<Ingress, SkipperError> {
    let name = canary_ingress_name(canary)?;
    let names = canary.spec.service_names();
    let mut spec = apex_ingress.spec.clone().unwrap_or_default();
    let mut found = false;
    for rule in spec.rules.iter_mut().flatten() {
        let Some(http) = rule.http.as_mut() else {
            continue;
        };
        let mut canary_paths = Vec::new();
        for path in &mut http.paths {
            if let Some(service) = path.backend.service.as_mut()
                && service.name == names.apex
            {
                service.name.clone_from(&names.primary);
                let mut canary_path = path.clone();
                if let Some(service) = canary_path.backend.service.as_mut() {
                    service.name.clone_from(&names.canary);
                }
                canary_paths.push(canary_path);
                found = true;
            }
        }
        http.paths.extend(canary_paths);
    }
    if !found {
        return Err(SkipperError::BackendNotFound {
            backend: names.apex,
            ingress: apex_ingress.metadata.name.clone().unwrap_or_default(),
            namespace: canary.namespace().to_owned(),
        });
    }
    let mut annotations = apex_ingress
        .metadata
        .annotations
        .clone()
        .unwrap_or_default();
    annotations.remove(KUBECTL_LAST_APPLIED);
    for key in [KUSTOMIZE_RECONCILE, HELM_DRIFT_DETECTION] {
        annotations.insert(key.to_owned(), FLUX_DISABLED.to_owned());
    }
    write_annotations(&mut annotations, canary, routes, disabled);
    Ok(Ingress {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(canary.namespace().to_owned()),
            labels: apex_ingress.metadata.labels.clone(),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

/// Flagger's `makeAnnotations`, plus `False()` when the copy is disabled.
fn write_annotations(
    annotations: &mut BTreeMap<String, String>,
    canary: &Canary,
    routes: Routes,
    disabled: bool,
) {
    let names = canary.spec.service_names();
    let weights = BTreeMap::from([
        (names.primary, routes.primary),
        (names.canary, routes.canary),
    ]);
    // Sorted keys and no spaces, as Go's encoding/json writes a map.
    let json = serde_json::Value::from(
        weights
            .into_iter()
            .map(|(service, weight)| (service, serde_json::Value::from(weight)))
            .collect::<serde_json::Map<_, _>>(),
    )
    .to_string();
    annotations.insert(BACKEND_WEIGHTS_ANNOTATION.to_owned(), json);
    let first = if disabled {
        CANARY_ROUTE_DISABLED
    } else {
        CANARY_ROUTE_WEIGHT
    };
    let predicate = insert_predicate(
        annotations
            .get(PREDICATE_ANNOTATION)
            .map(String::as_str)
            .unwrap_or_default(),
        first,
    );
    annotations.insert(PREDICATE_ANNOTATION.to_owned(), predicate);
}

/// Flagger's `insertPredicate`: `first`, then the other predicates of `raw`
/// without weir's own.
fn insert_predicate(raw: &str, first: &str) -> String {
    let mut predicates = vec![first];
    predicates.extend(raw.split("&&").map(str::trim).filter(|predicate| {
        !predicate.is_empty()
            && *predicate != CANARY_ROUTE_WEIGHT
            && *predicate != CANARY_ROUTE_DISABLED
    }));
    predicates.join(" && ")
}

fn annotation<'a>(metadata: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(key))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const SKIPPER: &str = "  provider: skipper
  ingressRef:
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    name: podinfo
  service:
    port: 80
    targetPort: 9898
  analysis:
    interval: 10s
    threshold: 10
    stepWeight: 10
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    fn apex_ingress() -> Ingress {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "podinfo",
                "namespace": "test",
                "uid": "abcd",
                "labels": {"app": "podinfo"},
                "annotations": {
                    "kubernetes.io/ingress.class": "skipper",
                    "zalando.org/skipper-predicate": "Path(\"/\")",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}"
                }
            },
            "spec": {"rules": [
                {"host": "app.example.com", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix",
                     "backend": {"service": {"name": "podinfo", "port": {"number": 80}}}},
                    {"path": "/other", "pathType": "Prefix",
                     "backend": {"service": {"name": "other", "port": {"number": 80}}}}
                ]}},
                {"host": "no-http.example.com"}
            ]}
        }))
        .expect("ingress")
    }

    fn backends(ingress: &Ingress) -> Vec<String> {
        ingress
            .spec
            .iter()
            .flat_map(|spec| spec.rules.iter().flatten())
            .flat_map(|rule| rule.http.iter())
            .flat_map(|http| &http.paths)
            .filter_map(|path| path.backend.service.as_ref())
            .map(|service| service.name.clone())
            .collect()
    }

    #[test]
    fn reconcile_copies_the_ingress_with_the_apex_backend_split() {
        let canary = canary(SKIPPER, "  phase: Initializing\n");
        let created = reconcile(None, &apex_ingress(), &canary).expect("reconcile");
        assert_eq!(created.metadata.name.as_deref(), Some("podinfo-canary"));
        assert_eq!(created.metadata.uid, None);
        assert_eq!(
            backends(&created),
            ["podinfo-primary", "other", "podinfo-canary"]
        );
        assert_eq!(
            annotation(&created.metadata, PREDICATE_ANNOTATION),
            Some("Weight(100) && Path(\"/\")")
        );
        assert_eq!(
            annotation(&created.metadata, BACKEND_WEIGHTS_ANNOTATION),
            Some("{\"podinfo-canary\":0,\"podinfo-primary\":100}")
        );
        assert_eq!(annotation(&created.metadata, KUBECTL_LAST_APPLIED), None);
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn set_routes_disables_the_copy_when_the_canary_gets_nothing() {
        let canary = canary(SKIPPER, "  phase: Progressing\n");
        let created = reconcile(None, &apex_ingress(), &canary).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(80, 20));
        assert_eq!(
            annotation(&shifted.metadata, PREDICATE_ANNOTATION),
            Some("Weight(100) && Path(\"/\")")
        );
        let idle = set_routes(&shifted, &canary, Routes::ALL_PRIMARY);
        assert_eq!(
            annotation(&idle.metadata, PREDICATE_ANNOTATION),
            Some("False() && Path(\"/\")")
        );
        let resumed = set_routes(&idle, &canary, split(90, 10));
        assert_eq!(
            annotation(&resumed.metadata, PREDICATE_ANNOTATION),
            Some("Weight(100) && Path(\"/\")")
        );
        assert_eq!(routes(&resumed, &canary), Ok(split(90, 10)));
    }

    #[test]
    fn reconcile_keeps_the_weights_and_the_disabled_state() {
        let canary = canary(SKIPPER, "  phase: Progressing\n");
        let apex = apex_ingress();
        let created = reconcile(None, &apex, &canary).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(70, 30));
        assert_eq!(
            reconcile(Some(&shifted), &apex, &canary),
            Ok(shifted.clone())
        );
        let idle = set_routes(&shifted, &canary, Routes::ALL_PRIMARY);
        assert_eq!(reconcile(Some(&idle), &apex, &canary), Ok(idle.clone()));

        let mut changed = apex.clone();
        if let Some(annotations) = changed.metadata.annotations.as_mut() {
            annotations.insert(
                "zalando.org/skipper-filter".to_owned(),
                "compress()".to_owned(),
            );
        }
        let updated = reconcile(Some(&shifted), &changed, &canary).expect("reconcile");
        assert_eq!(
            annotation(&updated.metadata, "zalando.org/skipper-filter"),
            Some("compress()")
        );
        assert_eq!(routes(&updated, &canary), Ok(split(70, 30)));
    }

    #[test]
    fn an_ingress_without_the_apex_backend_is_an_error() {
        let canary = canary(SKIPPER, "  phase: Initializing\n");
        let mut apex = apex_ingress();
        if let Some(spec) = apex.spec.as_mut() {
            spec.rules = None;
        }
        assert_eq!(
            reconcile(None, &apex, &canary).map_err(|error| error.to_string()),
            Err("backend podinfo not found in ingress podinfo.test".to_owned())
        );
    }

    #[test]
    fn reconcile_needs_an_ingress_ref() {
        let canary = canary("  service:\n    port: 80\n", "  phase: Initializing\n");
        assert_eq!(
            reconcile(None, &apex_ingress(), &canary),
            Err(SkipperError::MissingIngressRef)
        );
        assert_eq!(finalize(&canary), Err(SkipperError::MissingIngressRef));
    }

    #[test]
    fn routes_fail_without_valid_weights_for_both_services() {
        let canary = canary(SKIPPER, "  phase: Progressing\n");
        let mut ingress = reconcile(None, &apex_ingress(), &canary).expect("reconcile");
        let set = |ingress: &mut Ingress, value: &str| {
            if let Some(annotations) = ingress.metadata.annotations.as_mut() {
                annotations.insert(BACKEND_WEIGHTS_ANNOTATION.to_owned(), value.to_owned());
            }
        };
        set(&mut ingress, "{\"podinfo-primary\":100}");
        assert!(matches!(
            routes(&ingress, &canary),
            Err(SkipperError::MissingWeight { .. })
        ));
        set(
            &mut ingress,
            "{\"podinfo-primary\":0.5,\"podinfo-canary\":0.5}",
        );
        assert!(matches!(
            routes(&ingress, &canary),
            Err(SkipperError::InvalidWeights { .. })
        ));
        ingress.metadata.annotations = None;
        assert_eq!(
            routes(&ingress, &canary).map_err(|error| error.to_string()),
            Err(
                "ingress podinfo-canary.test has no zalando.org/backend-weights annotation"
                    .to_owned()
            )
        );
    }

    #[test]
    fn finalize_deletes_the_canary_ingress_after_two_seconds() {
        let canary = canary(SKIPPER, "  phase: Succeeded\n");
        assert_eq!(
            finalize(&canary),
            Ok(Deletion {
                name: "podinfo-canary".to_owned(),
                namespace: "test".to_owned(),
                grace_period_seconds: 2,
            })
        );
    }

    #[test]
    fn insert_predicate_puts_its_predicate_first_and_drops_weirs_old_ones() {
        assert_eq!(insert_predicate("", "Weight(100)"), "Weight(100)");
        assert_eq!(
            insert_predicate("False() && Host(/x/) &&  && Weight(100)", "Weight(100)"),
            "Weight(100) && Host(/x/)"
        );
    }
}
