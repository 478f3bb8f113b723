//! What the engine's readiness check reads from a workload's status
//! (`weir_engine::readiness`, semantics §6.7).
//!
//! Missing status fields count as zero, as Go's zero values do in Flagger.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, DeploymentCondition};
use weir_engine::ports::{DaemonSetState, DeploymentState};

/// The Deployment condition whose presence arms the stall check.
pub const PROGRESSING: &str = "Progressing";
/// The condition that says whether enough replicas are available.
pub const AVAILABLE: &str = "Available";
/// Kubernetes gave up on the rollout (`progressDeadlineSeconds`).
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
/// `Available=False` for lack of replicas; its `lastUpdateTime` dates the stall.
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// The readiness snapshot of a Deployment.
pub fn deployment_state(deployment: &Deployment) -> DeploymentState {
    let status = deployment.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let condition = |kind: &str| -> Option<&DeploymentCondition> {
        conditions.iter().find(|condition| condition.type_ == kind)
    };
    let progressing = condition(PROGRESSING);
    let unavailable_since = condition(AVAILABLE)
        .filter(|available| {
            available.status == "False"
                && available.reason.as_deref() == Some(MINIMUM_REPLICAS_UNAVAILABLE)
        })
        .and_then(|available| available.last_update_time.as_ref())
        .map(|time| time.0);
    DeploymentState {
        name: deployment.metadata.name.clone().unwrap_or_default(),
        generation: deployment.metadata.generation.unwrap_or_default(),
        observed_generation: status.observed_generation.unwrap_or_default(),
        desired_replicas: deployment.spec.as_ref().and_then(|spec| spec.replicas),
        replicas: status.replicas.unwrap_or_default(),
        updated_replicas: status.updated_replicas.unwrap_or_default(),
        available_replicas: status.available_replicas.unwrap_or_default(),
        progress_deadline_exceeded: progressing.and_then(|condition| condition.reason.as_deref())
            == Some(PROGRESS_DEADLINE_EXCEEDED),
        has_progressing_condition: progressing.is_some(),
        unavailable_since,
    }
}

/// The readiness snapshot of a DaemonSet.
pub fn daemon_set_state(daemon_set: &DaemonSet) -> DaemonSetState {
    let status = daemon_set.status.clone().unwrap_or_default();
    DaemonSetState {
        name: daemon_set.metadata.name.clone().unwrap_or_default(),
        desired_number_scheduled: status.desired_number_scheduled,
        updated_number_scheduled: status.updated_number_scheduled.unwrap_or_default(),
        number_available: status.number_available.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn deployment(status: &str) -> Deployment {
        serde_saphyr::from_str(&format!(
            "
apiVersion: apps/v1
kind: Deployment
metadata: {{name: podinfo, namespace: test, generation: 3}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: podinfo}}}}
  template: {{}}
status: {status}
"
        ))
        .expect("valid deployment")
    }

    #[test]
    fn a_stalled_rollout_reports_when_replicas_became_unavailable() {
        let state = deployment(
            "
  observedGeneration: 2
  replicas: 3
  updatedReplicas: 1
  availableReplicas: 1
  conditions:
  - type: Available
    status: \"False\"
    reason: MinimumReplicasUnavailable
    lastUpdateTime: \"2026-01-02T03:04:05Z\"
  - type: Progressing
    status: \"True\"
    reason: ReplicaSetUpdated
",
        );
        assert_eq!(
            deployment_state(&state),
            DeploymentState {
                name: "podinfo".into(),
                generation: 3,
                observed_generation: 2,
                desired_replicas: Some(2),
                replicas: 3,
                updated_replicas: 1,
                available_replicas: 1,
                progress_deadline_exceeded: false,
                has_progressing_condition: true,
                unavailable_since: Some(
                    "2026-01-02T03:04:05Z"
                        .parse::<Timestamp>()
                        .expect("valid time")
                ),
            }
        );
    }

    #[test]
    fn an_exceeded_progress_deadline_is_read_from_the_progressing_reason() {
        let state = deployment(
            "
  conditions:
  - {type: Progressing, status: \"False\", reason: ProgressDeadlineExceeded}
  - {type: Available, status: \"True\", reason: MinimumReplicasAvailable, lastUpdateTime: \"2026-01-02T03:04:05Z\"}
",
        );
        let state = deployment_state(&state);
        assert!(state.progress_deadline_exceeded);
        assert_eq!(
            state.unavailable_since, None,
            "available replicas are no stall"
        );
    }

    #[test]
    fn a_workload_without_status_reads_as_zeros() {
        let state = deployment_state(&deployment("null"));
        assert_eq!(state.replicas, 0);
        assert!(!state.has_progressing_condition);
        let daemon_set = DaemonSet::default();
        assert_eq!(daemon_set_state(&daemon_set), DaemonSetState::default());
    }

    #[test]
    fn daemon_set_counts_come_from_its_status() {
        let daemon_set: DaemonSet = serde_saphyr::from_str(
            "
metadata: {name: podinfo-ds}
status:
  currentNumberScheduled: 3
  desiredNumberScheduled: 3
  numberMisscheduled: 0
  numberReady: 2
  updatedNumberScheduled: 3
  numberAvailable: 2
",
        )
        .expect("valid daemon set");
        assert_eq!(
            daemon_set_state(&daemon_set),
            DaemonSetState {
                name: "podinfo-ds".into(),
                desired_number_scheduled: 3,
                updated_number_scheduled: 3,
                number_available: 2,
            }
        );
    }
}
