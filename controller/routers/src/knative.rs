//! Knative: the target `serving.knative.dev/v1` Service splits its own
//! traffic between the revision last promoted and the latest one (semantics
//! §9.3, §12.5).
//!
//! ```text
//!   Service <targetRef.name>   (the user's; weir only edits two things)
//!   metadata.annotations[flagger.app/primary-revision] = <primary revision>
//!   spec.traffic:
//!   - latestRevision: true          percent: c   ← the canary: newest revision
//!   - revisionName: <primary rev.>  percent: p   ← the primary: pinned revision
//! ```
//!
//! There are no generated Services or workloads: the "primary" is the
//! revision named in the annotation, which promotion moves to the latest
//! revision. Reconcile records the latest created revision there the first
//! time; `GetRoutes` reads what Knative reports in `status.traffic`, so it
//! lags `set_routes` until Knative has reconciled the Service. `finalize`
//! removes the annotation and leaves the traffic as it is.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **No revision, no annotation.** Flagger records an empty revision name
//!   when Knative has not created a revision yet, and never corrects it, so
//!   every later `SetRoutes` writes an invalid traffic target. weir reports
//!   an error until there is a revision.
//! * **The primary is the pinned traffic target,** while the latest
//!   revision is another one. Knative also names the revision of the
//!   `latestRevision` target in `status.traffic`, and Flagger reads whichever
//!   target names the primary first. A target without `latestRevision` is
//!   not latest (Flagger dereferences it and panics).
//! * **When the primary is the latest revision** (before the first analysis,
//!   and right after a promotion moved the annotation), every target
//!   reaching it counts for the primary and the canary has 0%; the old
//!   primary's pinned target, still in the status until the split is
//!   rewritten, counts for neither. The promotion then moves on to routing
//!   everything to the primary.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use weir_api::Canary;
use weir_engine::ports::Routes;

/// `apiVersion` of Knative Services.
pub const API_VERSION: &str = "serving.knative.dev/v1";
/// The annotation holding the name of the revision that serves as primary.
pub const PRIMARY_REVISION_ANNOTATION: &str = "flagger.app/primary-revision";

/// Why a Knative Service could not be updated or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KnativeError {
    /// The Service has no primary revision annotation: it was never reconciled.
    #[error(
        "Knative Service {name}.{namespace} annotation {PRIMARY_REVISION_ANNOTATION} not found"
    )]
    MissingAnnotation { name: String, namespace: String },
    /// Knative has not created a revision for the Service yet.
    #[error(
        "Knative Service {name}.{namespace} has no revision yet (status.latestCreatedRevisionName is empty)"
    )]
    NoRevision { name: String, namespace: String },
    /// `status.traffic` lacks the latest revision or the primary revision.
    #[error(
        "Knative Service {name}.{namespace} traffic spec invalid: status.traffic has no {missing} target"
    )]
    InvalidTraffic {
        name: String,
        namespace: String,
        /// `latestRevision` or the primary revision's name.
        missing: String,
    },
    /// A traffic target in `status.traffic` has no percent.
    #[error("Knative Service {name}.{namespace} {role} revision traffic percent does not exist")]
    MissingPercent {
        name: String,
        namespace: String,
        /// `primary` or `canary`.
        role: String,
    },
}

/// A Knative Service, as far as the router reads and writes it. Metadata is
/// kept whole; the revision template and the status fields the router does
/// not read are kept as opaque JSON.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KnativeService {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ServiceSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ServiceStatus>,
}

/// The revision template and the traffic split.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ServiceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// Empty means all traffic to the latest ready revision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<TrafficTarget>,
}

/// What Knative reports about the Service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Conditions, URL, address, observed generation, ...
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ready_revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_created_revision_name: Option<String>,
    /// The split Knative has applied, with revision names resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<TrafficTarget>,
}

/// A share of the Service's traffic, by revision name or for the latest one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TrafficTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_revision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The revision recorded as primary, if any.
pub fn primary_revision(service: &KnativeService) -> Option<&str> {
    service
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(PRIMARY_REVISION_ANNOTATION))
        .map(String::as_str)
}

/// Flagger's `Reconcile`: records the latest created revision as primary
/// unless a primary is recorded already. Returns `service` unchanged then;
/// the traffic split is never touched here.
pub fn reconcile(
    service: &KnativeService,
    canary: &Canary,
) -> Result<KnativeService, KnativeError> {
    if primary_revision(service).is_some() {
        return Ok(service.clone());
    }
    let latest = service
        .status
        .as_ref()
        .and_then(|status| status.latest_created_revision_name.as_deref())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| KnativeError::NoRevision {
            name: canary.spec.target_ref.name.clone(),
            namespace: canary.namespace().to_owned(),
        })?;
    let mut updated = service.clone();
    updated
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(PRIMARY_REVISION_ANNOTATION.to_owned(), latest.to_owned());
    Ok(updated)
}

/// Flagger's `SetRoutes`: replaces `spec.traffic` with the latest revision
/// at the canary's weight and the primary revision at the primary's.
pub fn set_routes(
    service: &KnativeService,
    canary: &Canary,
    routes: Routes,
) -> Result<KnativeService, KnativeError> {
    let primary = primary_revision(service)
        .ok_or_else(|| missing_annotation(canary))?
        .to_owned();
    let mut updated = service.clone();
    updated.spec.traffic = vec![
        TrafficTarget {
            latest_revision: Some(true),
            percent: Some(i64::from(routes.canary)),
            ..TrafficTarget::default()
        },
        TrafficTarget {
            revision_name: Some(primary),
            percent: Some(i64::from(routes.primary)),
            ..TrafficTarget::default()
        },
    ];
    Ok(updated)
}

/// Flagger's `GetRoutes`, from `status.traffic`: the canary's percent is the
/// latest revision's, the primary's that of the target pinning the primary
/// revision. Knative cannot mirror.
pub fn routes(service: &KnativeService, canary: &Canary) -> Result<Routes, KnativeError> {
    let primary = primary_revision(service).ok_or_else(|| missing_annotation(canary))?;
    let traffic = service
        .status
        .as_ref()
        .map(|status| status.traffic.as_slice())
        .unwrap_or_default();
    let is_latest = |target: &TrafficTarget| target.latest_revision == Some(true);
    let invalid = |missing: &str| KnativeError::InvalidTraffic {
        name: canary.spec.target_ref.name.clone(),
        namespace: canary.namespace().to_owned(),
        missing: missing.to_owned(),
    };
    let percent = |target: &TrafficTarget, role: &str| {
        target
            .percent
            .map(|percent| i32::try_from(percent.clamp(0, 100)).unwrap_or_default())
            .ok_or_else(|| KnativeError::MissingPercent {
                name: canary.spec.target_ref.name.clone(),
                namespace: canary.namespace().to_owned(),
                role: role.to_owned(),
            })
    };
    let latest = service
        .status
        .as_ref()
        .and_then(|status| status.latest_created_revision_name.as_deref());
    if latest == Some(primary) {
        // The primary is the latest revision (before the first analysis,
        // and right after a promotion, until the split is rewritten):
        // every target that reaches it serves the primary, and there is no
        // canary. The pinned target of the previous primary, still in the
        // status during a promotion, serves neither.
        let serving: Vec<&TrafficTarget> = traffic
            .iter()
            .filter(|target| is_latest(target) || target.revision_name.as_deref() == Some(primary))
            .collect();
        if serving.is_empty() {
            return Err(invalid(primary));
        }
        let mut primary_percent = 0;
        for target in serving {
            let role = if is_latest(target) {
                "canary"
            } else {
                "primary"
            };
            primary_percent += percent(target, role)?;
        }
        return Ok(Routes {
            primary: primary_percent.min(100),
            canary: 0,
            mirrored: false,
        });
    }
    let canary_target = traffic
        .iter()
        .find(|target| is_latest(target))
        .ok_or_else(|| invalid("latestRevision"))?;
    let primary_target = traffic
        .iter()
        .find(|target| !is_latest(target) && target.revision_name.as_deref() == Some(primary))
        .ok_or_else(|| invalid(primary))?;
    Ok(Routes {
        primary: percent(primary_target, "primary")?,
        canary: percent(canary_target, "canary")?,
        mirrored: false,
    })
}

/// Flagger's `Finalize`: the Service without the primary revision
/// annotation, or `None` when it has none (nothing to update).
pub fn finalize(service: &KnativeService) -> Option<KnativeService> {
    primary_revision(service)?;
    let mut updated = service.clone();
    if let Some(annotations) = updated.metadata.annotations.as_mut() {
        annotations.remove(PRIMARY_REVISION_ANNOTATION);
    }
    // An empty map is not written, like Go's `omitempty`.
    updated
        .metadata
        .annotations
        .take_if(|annotations| annotations.is_empty());
    Some(updated)
}

fn missing_annotation(canary: &Canary) -> KnativeError {
    KnativeError::MissingAnnotation {
        name: canary.spec.target_ref.name.clone(),
        namespace: canary.namespace().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const KNATIVE: &str = "  provider: knative
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
";

    fn service(annotation: Option<&str>, latest: Option<&str>) -> KnativeService {
        let mut service: KnativeService = serde_json::from_value(serde_json::json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "podinfo", "namespace": "test", "uid": "1234"},
            "spec": {"template": {"spec": {"containers": [{"image": "podinfo:6.0.1"}]}}},
            "status": {"observedGeneration": 2, "url": "http://podinfo.test.example.com"}
        }))
        .expect("service");
        if let Some(revision) = annotation {
            service.metadata.annotations = Some(BTreeMap::from([(
                PRIMARY_REVISION_ANNOTATION.to_owned(),
                revision.to_owned(),
            )]));
        }
        if let Some(status) = service.status.as_mut() {
            status.latest_created_revision_name = latest.map(str::to_owned);
        }
        service
    }

    fn target(revision: &str, latest: Option<bool>, percent: Option<i64>) -> TrafficTarget {
        TrafficTarget {
            revision_name: Some(revision.to_owned()),
            latest_revision: latest,
            percent,
            ..TrafficTarget::default()
        }
    }

    #[test]
    fn reconcile_records_the_latest_revision_as_primary_once() {
        let canary = canary(KNATIVE, "  phase: Initializing\n");
        let first = reconcile(&service(None, Some("podinfo-00001")), &canary).expect("reconcile");
        assert_eq!(primary_revision(&first), Some("podinfo-00001"));
        assert_eq!(first.metadata.uid.as_deref(), Some("1234"));

        let mut newer = first.clone();
        if let Some(status) = newer.status.as_mut() {
            status.latest_created_revision_name = Some("podinfo-00002".to_owned());
        }
        assert_eq!(reconcile(&newer, &canary), Ok(newer.clone()));
    }

    #[test]
    fn reconcile_waits_for_a_first_revision() {
        let canary = canary(KNATIVE, "  phase: Initializing\n");
        let error = reconcile(&service(None, None), &canary).expect_err("no revision");
        assert_eq!(
            error.to_string(),
            "Knative Service podinfo.test has no revision yet (status.latestCreatedRevisionName is empty)"
        );
    }

    #[test]
    fn set_routes_splits_between_latest_and_primary_revisions() {
        let canary = canary(KNATIVE, "  phase: Progressing\n");
        let written = set_routes(
            &service(Some("podinfo-00001"), Some("podinfo-00002")),
            &canary,
            Routes {
                primary: 70,
                canary: 30,
                mirrored: false,
            },
        )
        .expect("set routes");
        assert_eq!(
            written.spec.traffic,
            [
                TrafficTarget {
                    latest_revision: Some(true),
                    percent: Some(30),
                    ..TrafficTarget::default()
                },
                TrafficTarget {
                    revision_name: Some("podinfo-00001".to_owned()),
                    percent: Some(70),
                    ..TrafficTarget::default()
                },
            ]
        );
        assert!(written.spec.template.is_some());
    }

    #[test]
    fn set_routes_and_routes_need_the_annotation() {
        let canary = canary(KNATIVE, "  phase: Progressing\n");
        let unreconciled = service(None, Some("podinfo-00001"));
        assert!(matches!(
            set_routes(&unreconciled, &canary, Routes::ALL_PRIMARY),
            Err(KnativeError::MissingAnnotation { .. })
        ));
        assert_eq!(
            routes(&unreconciled, &canary).map_err(|error| error.to_string()),
            Err(
                "Knative Service podinfo.test annotation flagger.app/primary-revision not found"
                    .to_owned()
            )
        );
    }

    #[test]
    fn routes_read_the_status_and_the_pinned_primary_target() {
        let canary = canary(KNATIVE, "  phase: Progressing\n");
        let mut promoted = service(Some("podinfo-00002"), Some("podinfo-00002"));
        if let Some(status) = promoted.status.as_mut() {
            status.traffic = vec![
                target("podinfo-00002", Some(true), Some(0)),
                target("podinfo-00002", Some(false), Some(100)),
            ];
        }
        assert_eq!(routes(&promoted, &canary), Ok(Routes::ALL_PRIMARY));

        let mut progressing = service(Some("podinfo-00001"), Some("podinfo-00002"));
        if let Some(status) = progressing.status.as_mut() {
            status.traffic = vec![
                target("podinfo-00002", Some(true), Some(20)),
                target("podinfo-00001", None, Some(80)),
            ];
        }
        assert_eq!(
            routes(&progressing, &canary),
            Ok(Routes {
                primary: 80,
                canary: 20,
                mirrored: false
            })
        );
    }

    #[test]
    fn right_after_a_promotion_the_latest_target_serves_the_primary_and_the_old_pin_nothing() {
        let canary = canary(KNATIVE, "  phase: Promoting\n");
        let mut promoting = service(Some("podinfo-00002"), Some("podinfo-00002"));
        if let Some(status) = promoting.status.as_mut() {
            status.traffic = vec![
                target("podinfo-00002", Some(true), Some(50)),
                target("podinfo-00001", Some(false), Some(50)),
            ];
        }
        assert_eq!(
            routes(&promoting, &canary),
            Ok(Routes {
                primary: 50,
                canary: 0,
                mirrored: false
            })
        );
    }

    #[test]
    fn routes_fail_until_knative_reports_both_targets_with_percents() {
        let canary = canary(KNATIVE, "  phase: Progressing\n");
        let mut pending = service(Some("podinfo-00001"), Some("podinfo-00001"));
        assert!(matches!(
            routes(&pending, &canary),
            Err(KnativeError::InvalidTraffic { .. })
        ));
        if let Some(status) = pending.status.as_mut() {
            status.traffic = vec![
                target("podinfo-00001", Some(true), None),
                target("podinfo-00001", Some(false), Some(100)),
            ];
        }
        assert_eq!(
            routes(&pending, &canary).map_err(|error| error.to_string()),
            Err(
                "Knative Service podinfo.test canary revision traffic percent does not exist"
                    .to_owned()
            )
        );
    }

    #[test]
    fn finalize_removes_only_the_annotation() {
        let canary = canary(KNATIVE, "  phase: Succeeded\n");
        let reconciled = service(Some("podinfo-00001"), Some("podinfo-00001"));
        let routed = set_routes(&reconciled, &canary, Routes::ALL_PRIMARY).expect("set routes");
        let finalized = finalize(&routed).expect("annotation removed");
        assert_eq!(primary_revision(&finalized), None);
        assert_eq!(finalized.spec.traffic, routed.spec.traffic);
        assert_eq!(finalize(&finalized), None);
    }
}
