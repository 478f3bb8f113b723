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

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
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
    (condition_status(phase), condition_message(phase, kind))
}

/// The `Promoted` condition's status for a phase.
fn condition_status(phase: CanaryPhase) -> ConditionStatus {
    match phase {
        CanaryPhase::Initialized | CanaryPhase::Succeeded => ConditionStatus::True,
        CanaryPhase::Failed => ConditionStatus::False,
        CanaryPhase::Unset
        | CanaryPhase::Initializing
        | CanaryPhase::Waiting
        | CanaryPhase::WaitingPromotion
        | CanaryPhase::Progressing
        | CanaryPhase::Promoting
        | CanaryPhase::Finalising
        | CanaryPhase::Terminating
        | CanaryPhase::Terminated => ConditionStatus::Unknown,
    }
}

/// The `Promoted` condition's message for a phase.
fn condition_message(phase: CanaryPhase, kind: TargetKind) -> String {
    let kind = kind.as_str();
    match phase {
        CanaryPhase::Unset | CanaryPhase::Initializing => {
            format!("New {kind} detected, starting initialization.")
        }
        CanaryPhase::Initialized => format!("{kind} initialization completed."),
        CanaryPhase::Waiting | CanaryPhase::WaitingPromotion => "Waiting for approval.".to_owned(),
        CanaryPhase::Progressing => {
            "New revision detected, progressing canary analysis.".to_owned()
        }
        CanaryPhase::Promoting => {
            "Canary analysis completed, starting primary rolling update.".to_owned()
        }
        CanaryPhase::Finalising => {
            "Canary analysis completed, routing all traffic to primary.".to_owned()
        }
        CanaryPhase::Succeeded => {
            "Canary analysis completed successfully, promotion finished.".to_owned()
        }
        CanaryPhase::Failed => format!("Canary analysis failed, {kind} scaled to zero."),
        // Flagger falls back to the initialization message here (§18 #17).
        CanaryPhase::Terminating => format!("Canary is being deleted, reverting the {kind}."),
        CanaryPhase::Terminated => format!("Canary deleted, the {kind} was reverted."),
    }
}

/// Replaces the `Promoted` condition when its status or reason changes,
/// keeping `lastTransitionTime` while the status stays the same (Flagger's
/// `MakeStatusConditions`).
pub fn update_condition(status: &mut CanaryStatus, kind: TargetKind, now: Timestamp) {
    let condition_status = condition_status(status.phase);
    let reason = status.phase.as_str();
    let current = status
        .conditions
        .iter()
        .find(|condition| condition.r#type == PROMOTED_CONDITION);
    // Every status write ends here, and the condition rarely changes: the
    // message is only built for a new condition.
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
        reason: reason.to_owned(),
        message: condition_message(status.phase, kind),
    }];
}

/// The `checksum` field of webhook payloads: a short hash of the tracked
/// configs and applied spec, so a gate can tell revisions apart.
///
/// Flagger hashes a Go `spew` dump with FNV-32a and encodes the decimal digits
/// with `SafeEncodeString`; we hash canonical JSON the same way, so values have
/// Flagger's shape but differ from Go Flagger's for the same revision.
///
/// The JSON is `{"lastAppliedSpec":…,"trackedConfigs":…}` (keys sorted, as
/// in a `serde_json` object), streamed into the hash rather than built: every
/// webhook call computes it.
pub fn checksum(status: &CanaryStatus) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Input<'a> {
        last_applied_spec: &'a str,
        tracked_configs: Option<&'a BTreeMap<String, String>>,
    }
    let mut hash = Fnv32a::default();
    let input = Input {
        last_applied_spec: &status.last_applied_spec,
        tracked_configs: status.tracked_configs.as_ref(),
    };
    // Cannot fail: the writer never does, and the map's keys are strings.
    let _ = serde_json::to_writer(&mut hash, &input);
    safe_encode_decimal(hash.0)
}

/// FNV-32a over everything written to it.
struct Fnv32a(u32);

impl Default for Fnv32a {
    fn default() -> Self {
        Fnv32a(0x811c_9dc5)
    }
}

impl std::io::Write for Fnv32a {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        const PRIME: u32 = 0x0100_0193;
        self.0 = bytes.iter().fold(self.0, |hash, byte| {
            (hash ^ u32::from(*byte)).wrapping_mul(PRIME)
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Kubernetes' `rand.SafeEncodeString` of `value`'s decimal digits: maps each
/// byte onto an alphabet without vowels, so hashes never spell words.
fn safe_encode_decimal(value: u32) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut digits = [0_u8; 10];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        // `rest % 10` is a single digit.
        digits[start] = b'0' + u8::try_from(rest % 10).unwrap_or_default();
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    digits[start..]
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The checksum as first written: JSON built with `json!`, then hashed.
    fn checksum_via_json_value(status: &CanaryStatus) -> String {
        let input = serde_json::json!({
            "trackedConfigs": status.tracked_configs,
            "lastAppliedSpec": status.last_applied_spec,
        })
        .to_string();
        let hash = input.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        });
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        hash.to_string()
            .bytes()
            .map(|byte| char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]))
            .collect()
    }

    #[test]
    fn the_streamed_checksum_equals_the_checksum_of_the_json_document() {
        let configs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        let specs = ["", "a", "5f7b9c6d8", "quote \" back\\slash \u{1} ünï\n"];
        let tracked = [
            None,
            Some(configs(&[])),
            Some(configs(&[("configmap/settings", "1111")])),
            Some(configs(&[("secret/z", "2"), ("configmap/a", "\"1\"")])),
        ];
        for spec in specs {
            for tracked_configs in &tracked {
                let status = CanaryStatus {
                    last_applied_spec: spec.into(),
                    tracked_configs: tracked_configs.clone(),
                    ..CanaryStatus::default()
                };
                assert_eq!(
                    checksum(&status),
                    checksum_via_json_value(&status),
                    "{status:?}"
                );
            }
        }
    }

    #[test]
    fn condition_for_pairs_status_and_message() {
        assert_eq!(
            condition_for(CanaryPhase::Failed, TargetKind::Deployment),
            (
                ConditionStatus::False,
                "Canary analysis failed, Deployment scaled to zero.".to_owned()
            )
        );
        assert_eq!(
            condition_for(CanaryPhase::Initialized, TargetKind::DaemonSet).0,
            ConditionStatus::True
        );
    }
}
