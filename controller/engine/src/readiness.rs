//! Is a workload ready, still rolling out, or stuck?
//!
//! [`judge`] reproduces Flagger's `isDeploymentReady` / DaemonSet checks on a
//! snapshot of the workload. [`apply_progress_deadline`] then adds the
//! deadline Flagger is missing (semantics §18 #20): a workload that makes no
//! progress (same updated and available replica counts) for
//! `progressDeadlineSeconds` is stuck. Flagger measures DaemonSet deadlines from
//! the Canary's `lastTransitionTime`, which any status write refreshes, and has
//! no deadline at all for some stalled Deployments, so canaries can wait
//! forever. The anchor lives in `status.workloadWait`, so a restarted
//! controller keeps counting from the same moment.
//!
//! Flagger also means to hold the analysis while the primary is scaled to zero,
//! but compares pointers and never does (§18 #2). We keep that: KEDA scales
//! idle primaries to zero on purpose, and those canaries work today.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use weir_api::WorkloadWait;

use crate::ports::{DaemonSetState, DeploymentState, Role, WorkloadState};

/// The verdict on a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Still rolling out; check again next tick.
    Waiting(String),
    /// Will not become ready: the progress deadline passed.
    Stuck(String),
}

/// Judges a workload snapshot like Flagger does.
///
/// `ready_threshold` is the percentage of updated replicas that must be
/// available (`primaryReadyThreshold` / `canaryReadyThreshold`).
pub fn judge(
    state: &WorkloadState,
    role: Role,
    namespace: &str,
    ready_threshold: i32,
    deadline: Duration,
    now: Timestamp,
) -> Readiness {
    match state {
        WorkloadState::AlwaysReady => Readiness::Ready,
        WorkloadState::Flag { ready: true, .. } => Readiness::Ready,
        WorkloadState::Flag { name, ready: false } => Readiness::Waiting(format!(
            "{} not ready: revision is not ready",
            describe(role, "revision", name, namespace)
        )),
        WorkloadState::Deployment(deployment) => {
            match deployment_readiness(deployment, ready_threshold, deadline, now) {
                Readiness::Ready => Readiness::Ready,
                Readiness::Waiting(message) => Readiness::Waiting(format!(
                    "{} not ready: {message}",
                    describe(role, "deployment", &deployment.name, namespace)
                )),
                Readiness::Stuck(message) => Readiness::Stuck(format!(
                    "{} not ready: {message}",
                    describe(role, "deployment", &deployment.name, namespace)
                )),
            }
        }
        WorkloadState::DaemonSet(daemon_set) => {
            match daemon_set_readiness(daemon_set, ready_threshold) {
                Readiness::Ready => Readiness::Ready,
                Readiness::Waiting(message) | Readiness::Stuck(message) => {
                    Readiness::Waiting(format!(
                        "{} not ready: {message}",
                        describe(role, "daemonset", &daemon_set.name, namespace)
                    ))
                }
            }
        }
    }
}

/// Flagger names the canary with its kind and the primary without.
fn describe(role: Role, kind: &str, name: &str, namespace: &str) -> String {
    match role {
        Role::Primary => format!("{name}.{namespace}"),
        Role::Canary => format!("canary {kind} {name}.{namespace}"),
    }
}

/// `int(float32(count) * threshold / 100)`, as Flagger computes it.
fn ready_count(count: i32, ready_threshold: i32) -> i32 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let ready = (count as f32 * ready_threshold as f32 / 100.0) as i32;
    ready
}

fn deployment_readiness(
    deployment: &DeploymentState,
    ready_threshold: i32,
    deadline: Duration,
    now: Timestamp,
) -> Readiness {
    if deployment.generation > deployment.observed_generation {
        return Readiness::Waiting(
            "waiting for rollout to finish: observed deployment generation less than desired generation".to_owned(),
        );
    }
    // Kubernetes says the rollout is stuck when the Available condition has
    // been False (MinimumReplicasUnavailable) for longer than the deadline.
    let stalled = deployment.has_progressing_condition
        && deployment.unavailable_since.is_some_and(|since| {
            let limit = i64::try_from(deadline.as_secs()).unwrap_or(i64::MAX);
            now.as_second().saturating_sub(since.as_second()) > limit
        });
    let waiting = |message: String| {
        if stalled {
            Readiness::Stuck(message)
        } else {
            Readiness::Waiting(message)
        }
    };
    if deployment.progress_deadline_exceeded {
        return Readiness::Stuck(format!(
            "deployment {:?} exceeded its progress deadline",
            deployment.name
        ));
    }
    if let Some(desired) = deployment.desired_replicas
        && deployment.updated_replicas < desired
    {
        return waiting(format!(
            "waiting for rollout to finish: {} out of {desired} new replicas have been updated",
            deployment.updated_replicas
        ));
    }
    if deployment.replicas > deployment.updated_replicas {
        return waiting(format!(
            "waiting for rollout to finish: {} old replicas are pending termination",
            deployment.replicas - deployment.updated_replicas
        ));
    }
    let ready_updated = ready_count(deployment.updated_replicas, ready_threshold);
    if deployment.available_replicas < ready_updated {
        return waiting(format!(
            "waiting for rollout to finish: {} of {} (readyThreshold {ready_threshold}%) updated replicas are available",
            deployment.available_replicas, deployment.updated_replicas
        ));
    }
    Readiness::Ready
}

fn daemon_set_readiness(daemon_set: &DaemonSetState, ready_threshold: i32) -> Readiness {
    let desired = daemon_set.desired_number_scheduled;
    if daemon_set.updated_number_scheduled < desired {
        return Readiness::Waiting(format!(
            "waiting for rollout to finish: {} out of {desired} new pods have been updated",
            daemon_set.updated_number_scheduled
        ));
    }
    let ready = ready_count(desired, ready_threshold);
    if daemon_set.number_available < ready {
        return Readiness::Waiting(format!(
            "waiting for rollout to finish: {} of {desired} (readyThreshold {ready_threshold}%) updated pods are available",
            daemon_set.number_available
        ));
    }
    Readiness::Ready
}

/// Progress counters and the workload's name, for the deadline anchor.
fn progress(state: &WorkloadState) -> Option<(&str, i32, i32)> {
    match state {
        WorkloadState::Deployment(deployment) => Some((
            deployment.name.as_str(),
            deployment.updated_replicas,
            deployment.available_replicas,
        )),
        WorkloadState::DaemonSet(daemon_set) => Some((
            daemon_set.name.as_str(),
            daemon_set.updated_number_scheduled,
            daemon_set.number_available,
        )),
        WorkloadState::Flag { name, .. } => Some((name.as_str(), 0, 0)),
        WorkloadState::AlwaysReady => None,
    }
}

/// Applies the no-progress deadline to a `Waiting` verdict and returns the
/// anchor to keep in status (`None` once the workload is ready).
pub fn apply_progress_deadline(
    readiness: Readiness,
    state: &WorkloadState,
    anchor: Option<&WorkloadWait>,
    deadline: Duration,
    now: Timestamp,
) -> (Readiness, Option<WorkloadWait>) {
    let name = progress(state).map(|(name, _, _)| name);
    let Readiness::Waiting(message) = readiness else {
        // Readiness clears this workload's anchor (not the other workload's);
        // a stuck verdict keeps it for the record until the rollback.
        let keep = match readiness {
            Readiness::Ready => anchor.filter(|anchor| Some(anchor.workload.as_str()) != name),
            _ => anchor,
        };
        return (readiness, keep.cloned());
    };
    let Some((name, updated, available)) = progress(state) else {
        return (Readiness::Waiting(message), anchor.cloned());
    };
    let same_rollout = anchor.filter(|anchor| {
        anchor.workload == name
            && anchor.updated_replicas == updated
            && anchor.available_replicas == available
    });
    let Some(anchor) = same_rollout else {
        let fresh = WorkloadWait {
            workload: name.to_owned(),
            since: Time(now),
            updated_replicas: updated,
            available_replicas: available,
        };
        return (Readiness::Waiting(message), Some(fresh));
    };
    let waited = now.as_second().saturating_sub(anchor.since.0.as_second());
    if waited > i64::try_from(deadline.as_secs()).unwrap_or(i64::MAX) {
        let stuck = format!(
            "{message}; no progress for {waited}s (progressDeadlineSeconds {})",
            deadline.as_secs()
        );
        return (Readiness::Stuck(stuck), Some(anchor.clone()));
    }
    (Readiness::Waiting(message), Some(anchor.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINE: Duration = Duration::from_secs(600);

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("valid time")
    }

    fn deployment(desired: i32, replicas: i32, updated: i32, available: i32) -> WorkloadState {
        WorkloadState::Deployment(DeploymentState {
            name: "podinfo".into(),
            generation: 2,
            observed_generation: 2,
            desired_replicas: Some(desired),
            replicas,
            updated_replicas: updated,
            available_replicas: available,
            has_progressing_condition: true,
            ..DeploymentState::default()
        })
    }

    fn verdict(state: &WorkloadState, threshold: i32) -> Readiness {
        judge(state, Role::Canary, "test", threshold, DEADLINE, at(0))
    }

    #[test]
    fn a_fully_rolled_out_deployment_is_ready() {
        assert_eq!(verdict(&deployment(3, 3, 3, 3), 100), Readiness::Ready);
    }

    #[test]
    fn waiting_messages_follow_flagger() {
        assert_eq!(
            verdict(&deployment(3, 3, 1, 1), 100),
            Readiness::Waiting(
                "canary deployment podinfo.test not ready: waiting for rollout to finish: 1 out of 3 new replicas have been updated".into()
            )
        );
        assert_eq!(
            verdict(&deployment(3, 4, 3, 3), 100),
            Readiness::Waiting(
                "canary deployment podinfo.test not ready: waiting for rollout to finish: 1 old replicas are pending termination".into()
            )
        );
    }

    #[test]
    fn ready_threshold_lowers_the_available_replicas_needed() {
        let state = deployment(4, 4, 4, 2);
        assert!(matches!(verdict(&state, 100), Readiness::Waiting(_)));
        assert_eq!(verdict(&state, 50), Readiness::Ready);
    }

    #[test]
    fn kubernetes_progress_deadline_exceeded_is_stuck() {
        let WorkloadState::Deployment(mut state) = deployment(3, 3, 1, 1) else {
            unreachable!()
        };
        state.progress_deadline_exceeded = true;
        assert!(matches!(
            verdict(&WorkloadState::Deployment(state), 100),
            Readiness::Stuck(message) if message.contains("exceeded its progress deadline")
        ));
    }

    #[test]
    fn minimum_replicas_unavailable_past_the_deadline_is_stuck() {
        let WorkloadState::Deployment(mut state) = deployment(3, 3, 3, 1) else {
            unreachable!()
        };
        state.unavailable_since = Some(at(-601));
        assert!(matches!(
            verdict(&WorkloadState::Deployment(state.clone()), 100),
            Readiness::Stuck(_)
        ));
        state.unavailable_since = Some(at(-599));
        assert!(matches!(
            verdict(&WorkloadState::Deployment(state), 100),
            Readiness::Waiting(_)
        ));
    }

    #[test]
    fn daemon_sets_wait_for_updated_and_available_pods() {
        let state = WorkloadState::DaemonSet(DaemonSetState {
            name: "agent".into(),
            desired_number_scheduled: 4,
            updated_number_scheduled: 4,
            number_available: 3,
        });
        assert!(
            matches!(verdict(&state, 100), Readiness::Waiting(message) if message.contains("3 of 4 (readyThreshold 100%)"))
        );
        assert_eq!(verdict(&state, 75), Readiness::Ready);
    }

    #[test]
    fn no_progress_for_the_deadline_is_stuck_but_progress_resets_the_clock() {
        let state = deployment(3, 3, 1, 1);
        let waiting = || Readiness::Waiting("waiting".into());
        let (verdict, anchor) = apply_progress_deadline(waiting(), &state, None, DEADLINE, at(0));
        assert_eq!(verdict, waiting());
        let anchor = anchor.expect("anchored");
        assert_eq!(anchor.since, Time(at(0)));

        let (verdict, kept) =
            apply_progress_deadline(waiting(), &state, Some(&anchor), DEADLINE, at(600));
        assert_eq!(verdict, waiting(), "exactly the deadline is still in time");
        assert_eq!(kept.as_ref(), Some(&anchor));

        let (verdict, _) =
            apply_progress_deadline(waiting(), &state, Some(&anchor), DEADLINE, at(601));
        assert!(
            matches!(verdict, Readiness::Stuck(message) if message.contains("no progress for 601s"))
        );

        let progressed = deployment(3, 3, 2, 1);
        let (verdict, moved) =
            apply_progress_deadline(waiting(), &progressed, Some(&anchor), DEADLINE, at(601));
        assert_eq!(verdict, waiting());
        assert_eq!(moved.expect("re-anchored").since, Time(at(601)));
    }

    #[test]
    fn readiness_of_one_workload_keeps_the_other_workloads_anchor() {
        let anchor = WorkloadWait {
            workload: "podinfo".into(),
            since: Time(at(0)),
            updated_replicas: 1,
            available_replicas: 1,
        };
        let WorkloadState::Deployment(mut primary) = deployment(3, 3, 3, 3) else {
            unreachable!()
        };
        primary.name = "podinfo-primary".into();
        let (_, kept) = apply_progress_deadline(
            Readiness::Ready,
            &WorkloadState::Deployment(primary),
            Some(&anchor),
            DEADLINE,
            at(5),
        );
        assert_eq!(kept, Some(anchor));
    }

    #[test]
    fn readiness_clears_the_anchor() {
        let anchor = WorkloadWait {
            workload: "podinfo".into(),
            since: Time(at(0)),
            updated_replicas: 1,
            available_replicas: 1,
        };
        let (verdict, kept) = apply_progress_deadline(
            Readiness::Ready,
            &deployment(3, 3, 3, 3),
            Some(&anchor),
            DEADLINE,
            at(5),
        );
        assert_eq!((verdict, kept), (Readiness::Ready, None));
    }
}
