//! Status transitions, the `Promoted` condition and revision comparison.
//!
//! These mirror Flagger's status writers (`SyncStatus`, `SetStatusPhase`)
//! with two documented differences:
//!
//! * `WaitingPromotion` keeps `canaryWeight` and `iterations` (Flagger zeroes
//!   the weight and sets `iterations - 1` while traffic stays where it was,
//!   semantics §18 #14), so the printed weight is the real one and no
//!   iteration is re-run while a promotion gate is closed;
//! * a rollback keeps `failedChecks` (Flagger resets it to 0), so a Failed
//!   canary shows how many checks failed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use weir_api::status::{ConditionStatus, PROMOTED_CONDITION};
use weir_api::{CanaryCondition, CanaryPhase, CanaryStatus, TargetKind};

use crate::ports::Revision;

/// Flagger's `HasTargetChanged`: a never-recorded spec counts as changed, and a
/// target reverted to the last promoted spec does not (users revert by hand
/// and rely on this, semantics §18 #30).
pub fn has_target_changed(status: &CanaryStatus, revision: &Revision) -> bool {
    if status.last_applied_spec.is_empty() {
        return true;
    }
    if revision.spec_hash == status.last_promoted_spec {
        return false;
    }
    revision.spec_hash != status.last_applied_spec
}

/// Flagger's `HaveDependenciesChanged`: a tracked ConfigMap or Secret appeared,
/// disappeared or changed.
pub fn have_configs_changed(status: &CanaryStatus, revision: &Revision) -> bool {
    let current = revision.tracked_configs.as_ref();
    match (current, status.tracked_configs.as_ref()) {
        (None, _) => false,
        (Some(current), None) => !current.is_empty(),
        (Some(current), Some(tracked)) => current != tracked,
    }
}

/// Whether the target or its configs differ from what the status recorded.
pub fn has_revision_changed(status: &CanaryStatus, revision: &Revision) -> bool {
    has_target_changed(status, revision) || have_configs_changed(status, revision)
}

/// Flagger's `SyncStatus`: sets the counters verbatim and records the revision.
pub fn sync(
    status: &mut CanaryStatus,
    phase: CanaryPhase,
    counters: Counters,
    revision: &Revision,
) {
    status.phase = phase;
    status.canary_weight = counters.canary_weight;
    status.failed_checks = counters.failed_checks;
    status.iterations = counters.iterations;
    status.last_applied_spec = revision.spec_hash.clone();
    if phase == CanaryPhase::Initialized {
        status.last_promoted_spec = revision.spec_hash.clone();
    }
    if revision.tracked_configs.is_some() {
        status.tracked_configs = revision.tracked_configs.clone();
    }
}

/// The counters `SyncStatus` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub canary_weight: i32,
    pub failed_checks: i32,
    pub iterations: i32,
}

/// Flagger's `SetStatusPhase`.
pub fn set_phase(status: &mut CanaryStatus, phase: CanaryPhase) {
    status.phase = phase;
    if !matches!(
        phase,
        CanaryPhase::Progressing
            | CanaryPhase::Waiting
            | CanaryPhase::Promoting
            | CanaryPhase::WaitingPromotion
    ) {
        status.canary_weight = 0;
        status.iterations = 0;
    }
    if matches!(phase, CanaryPhase::Initialized | CanaryPhase::Succeeded) {
        status.last_promoted_spec = status.last_applied_spec.clone();
    }
}

/// The `Promoted` condition's status and message for a phase.
pub fn condition_for(phase: CanaryPhase, kind: TargetKind) -> (ConditionStatus, String) {
    let kind = kind.as_str();
    match phase {
        CanaryPhase::Unset | CanaryPhase::Initializing => (
            ConditionStatus::Unknown,
            format!("New {kind} detected, starting initialization."),
        ),
        CanaryPhase::Initialized => (
            ConditionStatus::True,
            format!("{kind} initialization completed."),
        ),
        CanaryPhase::Waiting | CanaryPhase::WaitingPromotion => {
            (ConditionStatus::Unknown, "Waiting for approval.".to_owned())
        }
        CanaryPhase::Progressing => (
            ConditionStatus::Unknown,
            "New revision detected, progressing canary analysis.".to_owned(),
        ),
        CanaryPhase::Promoting => (
            ConditionStatus::Unknown,
            "Canary analysis completed, starting primary rolling update.".to_owned(),
        ),
        CanaryPhase::Finalising => (
            ConditionStatus::Unknown,
            "Canary analysis completed, routing all traffic to primary.".to_owned(),
        ),
        CanaryPhase::Succeeded => (
            ConditionStatus::True,
            "Canary analysis completed successfully, promotion finished.".to_owned(),
        ),
        CanaryPhase::Failed => (
            ConditionStatus::False,
            format!("Canary analysis failed, {kind} scaled to zero."),
        ),
        // Flagger falls back to the initialization message here (§18 #17).
        CanaryPhase::Terminating => (
            ConditionStatus::Unknown,
            format!("Canary is being deleted, reverting the {kind}."),
        ),
        CanaryPhase::Terminated => (
            ConditionStatus::Unknown,
            format!("Canary deleted, the {kind} was reverted."),
        ),
    }
}

/// Replaces the `Promoted` condition when its status or reason changes,
/// keeping `lastTransitionTime` while the status stays the same (Flagger's
/// `MakeStatusConditions`).
pub fn update_condition(status: &mut CanaryStatus, kind: TargetKind, now: Timestamp) {
    let (condition_status, message) = condition_for(status.phase, kind);
    let reason = status.phase.as_str().to_owned();
    let current = status
        .conditions
        .iter()
        .find(|condition| condition.r#type == PROMOTED_CONDITION);
    if current.is_some_and(|current| current.status == condition_status && current.reason == reason)
    {
        return;
    }
    let last_transition_time = match current {
        Some(current) if current.status == condition_status => current.last_transition_time.clone(),
        _ => Some(Time(now)),
    };
    status.conditions = vec![CanaryCondition {
        r#type: PROMOTED_CONDITION.to_owned(),
        status: condition_status,
        last_update_time: Some(Time(now)),
        last_transition_time,
        reason,
        message,
    }];
}

/// The `checksum` field of webhook payloads: a short hash of the tracked
/// configs and applied spec, so a gate can tell revisions apart.
///
/// Flagger hashes a Go `spew` dump with FNV-32a and encodes the decimal digits
/// with `SafeEncodeString`; we hash canonical JSON the same way, so values have
/// Flagger's shape but differ from Go Flagger's for the same revision.
pub fn checksum(status: &CanaryStatus) -> String {
    let input = serde_json::json!({
        "trackedConfigs": status.tracked_configs,
        "lastAppliedSpec": status.last_applied_spec,
    })
    .to_string();
    safe_encode(&fnv32a(input.as_bytes()).to_string())
}

fn fnv32a(bytes: &[u8]) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(PRIME)
    })
}

/// Kubernetes' `rand.SafeEncodeString`: maps each byte onto an alphabet
/// without vowels, so hashes never spell words.
fn safe_encode(text: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    text.bytes()
        .map(|byte| char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn revision(hash: &str) -> Revision {
        Revision {
            spec_hash: hash.into(),
            tracked_configs: Some(BTreeMap::new()),
        }
    }

    #[test]
    fn target_change_ignores_a_revert_to_the_promoted_spec() {
        let status = CanaryStatus {
            last_applied_spec: "b".into(),
            last_promoted_spec: "a".into(),
            ..CanaryStatus::default()
        };
        assert!(!has_target_changed(&status, &revision("a")));
        assert!(!has_target_changed(&status, &revision("b")));
        assert!(has_target_changed(&status, &revision("c")));
        assert!(has_target_changed(&CanaryStatus::default(), &revision("a")));
    }

    #[test]
    fn config_changes_are_detected_by_checksum_and_count() {
        let mut status = CanaryStatus::default();
        let mut current = revision("a");
        assert!(
            !have_configs_changed(&status, &current),
            "nothing tracked, nothing referenced"
        );
        current
            .tracked_configs
            .as_mut()
            .expect("tracked")
            .insert("configmap/settings".into(), "1111".into());
        assert!(have_configs_changed(&status, &current));
        status.tracked_configs = current.tracked_configs.clone();
        assert!(!have_configs_changed(&status, &current));
        current
            .tracked_configs
            .as_mut()
            .expect("tracked")
            .insert("configmap/settings".into(), "2222".into());
        assert!(have_configs_changed(&status, &current));
    }

    #[test]
    fn waiting_promotion_keeps_the_weight_and_iterations() {
        let mut status = CanaryStatus {
            canary_weight: 50,
            iterations: 3,
            ..CanaryStatus::default()
        };
        set_phase(&mut status, CanaryPhase::WaitingPromotion);
        assert_eq!((status.canary_weight, status.iterations), (50, 3));
        set_phase(&mut status, CanaryPhase::Finalising);
        assert_eq!((status.canary_weight, status.iterations), (0, 0));
    }

    #[test]
    fn succeeded_records_the_promoted_spec() {
        let mut status = CanaryStatus {
            last_applied_spec: "new".into(),
            last_promoted_spec: "old".into(),
            ..CanaryStatus::default()
        };
        set_phase(&mut status, CanaryPhase::Succeeded);
        assert_eq!(status.last_promoted_spec, "new");
    }

    #[test]
    fn the_condition_changes_only_when_status_or_reason_changes() {
        let t0 = Timestamp::from_second(1_800_000_000).expect("time");
        let t1 = Timestamp::from_second(1_800_000_060).expect("time");
        let mut status = CanaryStatus {
            phase: CanaryPhase::Progressing,
            ..CanaryStatus::default()
        };
        update_condition(&mut status, TargetKind::Deployment, t0);
        let first = status.conditions[0].clone();
        assert_eq!(first.reason, "Progressing");
        update_condition(&mut status, TargetKind::Deployment, t1);
        assert_eq!(status.conditions[0], first, "same phase: untouched");
        status.phase = CanaryPhase::Promoting;
        update_condition(&mut status, TargetKind::Deployment, t1);
        assert_eq!(status.conditions[0].reason, "Promoting");
        assert_eq!(
            status.conditions[0].last_transition_time, first.last_transition_time,
            "Unknown → Unknown keeps the transition time"
        );
        status.phase = CanaryPhase::Succeeded;
        update_condition(&mut status, TargetKind::Deployment, t1);
        assert_eq!(status.conditions[0].last_transition_time, Some(Time(t1)));
        assert_eq!(status.conditions[0].status, ConditionStatus::True);
    }

    #[test]
    fn checksums_differ_between_revisions_and_use_the_safe_alphabet() {
        let a = checksum(&CanaryStatus {
            last_applied_spec: "a".into(),
            ..CanaryStatus::default()
        });
        let b = checksum(&CanaryStatus {
            last_applied_spec: "b".into(),
            ..CanaryStatus::default()
        });
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{a}"
        );
    }
}
