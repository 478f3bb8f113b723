//! The fake kubelet rolls Deployments and DaemonSets out.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use weir_fakes_kube::{FakeKubelet, KubeletOptions, Readiness, Store, Workload};

use crate::{NAMESPACE, PATIENCE, deployment, start};

/// Long enough to observe the progressing state first, short enough to
/// keep the tests fast.
const ROLLOUT: Duration = Duration::from_millis(300);

fn kubelet(store: &Store) -> FakeKubelet {
    FakeKubelet::start(
        store,
        KubeletOptions {
            ready_after: ROLLOUT,
            nodes: 2,
        },
    )
    .expect("the kubelet starts")
}

fn status(store: &Store, kind: &str, name: &str) -> Value {
    store
        .get_value("apps/v1", kind, NAMESPACE, name)
        .expect("a known kind")
        .and_then(|object| object.get("status").cloned())
        .unwrap_or(Value::Null)
}

fn condition_reason(status: &Value, kind: &str) -> Option<String> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|condition| condition["type"] == kind)
        .and_then(|condition| condition["reason"].as_str())
        .map(str::to_string)
}

/// Waits for the Deployment's status to satisfy `condition`.
async fn wait_for_status(store: &Store, name: &str, condition: impl Fn(&Value) -> bool) -> Value {
    let held = store
        .wait_for(PATIENCE, |store| {
            condition(&status(store, "Deployment", name))
        })
        .await;
    let current = status(store, "Deployment", name);
    assert!(held, "the status never satisfied the condition: {current}");
    current
}

fn is_ready(status: &Value, generation: i64, replicas: i64) -> bool {
    status["observedGeneration"] == generation
        && status["updatedReplicas"] == replicas
        && status["availableReplicas"] == replicas
        && status["replicas"] == replicas
        && condition_reason(status, "Progressing").as_deref() == Some("NewReplicaSetAvailable")
}

#[tokio::test]
async fn a_new_deployment_progresses_then_becomes_ready() {
    let (server, client) = start().await;
    let _kubelet = kubelet(server.store());
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &deployment("podinfo", 2, "podinfo:1"),
    )
    .await
    .expect("create");
    let progressing = wait_for_status(server.store(), "podinfo", |status| {
        status["observedGeneration"] == 1
    })
    .await;
    assert_eq!(
        condition_reason(&progressing, "Progressing").as_deref(),
        Some("ReplicaSetUpdated")
    );
    assert_eq!(
        condition_reason(&progressing, "Available").as_deref(),
        Some("MinimumReplicasUnavailable")
    );
    assert_eq!(progressing["updatedReplicas"], 2);
    assert_eq!(
        progressing.get("availableReplicas"),
        None,
        "zero counts are omitted"
    );

    let ready = wait_for_status(server.store(), "podinfo", |status| is_ready(status, 1, 2)).await;
    assert_eq!(
        condition_reason(&ready, "Available").as_deref(),
        Some("MinimumReplicasAvailable")
    );
    assert_eq!(ready["readyReplicas"], 2);
    let typed = api.get_status("podinfo").await.expect("typed status");
    let conditions = typed
        .status
        .and_then(|status| status.conditions)
        .expect("conditions");
    assert!(
        conditions
            .iter()
            .all(|condition| condition.status == "True")
    );
}

#[tokio::test]
async fn a_template_change_starts_the_rollout_over() {
    let (server, client) = start().await;
    let _kubelet = kubelet(server.store());
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &deployment("podinfo", 2, "podinfo:1"),
    )
    .await
    .expect("create");
    wait_for_status(server.store(), "podinfo", |status| is_ready(status, 1, 2)).await;

    api.patch(
        "podinfo",
        &PatchParams::default(),
        &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "podinfo", "image": "podinfo:2"}
        ]}}}})),
    )
    .await
    .expect("new image");
    let rolling = wait_for_status(server.store(), "podinfo", |status| {
        status["observedGeneration"] == 2
    })
    .await;
    // The old pods still serve while the new ones start.
    assert_eq!(rolling["replicas"], 4);
    assert_eq!(rolling["updatedReplicas"], 2);
    assert_eq!(rolling["availableReplicas"], 2);
    assert_eq!(
        condition_reason(&rolling, "Progressing").as_deref(),
        Some("ReplicaSetUpdated")
    );
    assert_eq!(
        condition_reason(&rolling, "Available").as_deref(),
        Some("MinimumReplicasAvailable")
    );

    wait_for_status(server.store(), "podinfo", |status| is_ready(status, 2, 2)).await;
}

#[tokio::test]
async fn a_never_ready_deployment_stays_progressing() {
    let (server, client) = start().await;
    let kubelet = kubelet(server.store());
    kubelet.set_readiness(Workload::deployment(NAMESPACE, "stuck"), Readiness::Never);
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(&PostParams::default(), &deployment("stuck", 1, "podinfo:1"))
        .await
        .expect("create");
    wait_for_status(server.store(), "stuck", |status| {
        status["observedGeneration"] == 1
    })
    .await;
    tokio::time::sleep(ROLLOUT * 2).await;
    let status = status(server.store(), "Deployment", "stuck");
    assert_eq!(
        condition_reason(&status, "Progressing").as_deref(),
        Some("ReplicaSetUpdated")
    );
    assert_eq!(status.get("availableReplicas"), None);

    kubelet.clear_readiness(&Workload::deployment(NAMESPACE, "stuck"));
    wait_for_status(server.store(), "stuck", |status| is_ready(status, 1, 1)).await;
}

#[tokio::test]
async fn a_deployment_can_exceed_its_progress_deadline() {
    let (server, client) = start().await;
    let kubelet = kubelet(server.store());
    kubelet.set_readiness(
        Workload::deployment(NAMESPACE, "late"),
        Readiness::ProgressDeadlineExceeded {
            after: Duration::from_millis(50),
        },
    );
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(&PostParams::default(), &deployment("late", 1, "podinfo:1"))
        .await
        .expect("create");
    let failed = wait_for_status(server.store(), "late", |status| {
        condition_reason(status, "Progressing").as_deref() == Some("ProgressDeadlineExceeded")
    })
    .await;
    let progressing = failed["conditions"]
        .as_array()
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|condition| condition["type"] == "Progressing")
        })
        .expect("a Progressing condition");
    assert_eq!(progressing["status"], "False");
    assert_eq!(failed["observedGeneration"], 1);
}

#[tokio::test]
async fn scaling_to_zero_completes_at_once() {
    let (server, client) = start().await;
    let kubelet = kubelet(server.store());
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &deployment("podinfo", 1, "podinfo:1"),
    )
    .await
    .expect("create");
    wait_for_status(server.store(), "podinfo", |status| is_ready(status, 1, 1)).await;
    kubelet.set_readiness(Workload::deployment(NAMESPACE, "podinfo"), Readiness::Never);
    api.patch(
        "podinfo",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 0}})),
    )
    .await
    .expect("scale to zero");
    let scaled = wait_for_status(server.store(), "podinfo", |status| {
        status["observedGeneration"] == 2
    })
    .await;
    assert_eq!(scaled.get("replicas"), None);
    assert_eq!(
        condition_reason(&scaled, "Progressing").as_deref(),
        Some("NewReplicaSetAvailable")
    );
}

#[tokio::test]
async fn a_seeded_status_for_the_current_generation_is_left_alone() {
    let (server, _client) = start().await;
    let mut seeded = deployment("seeded", 3, "podinfo:1");
    seeded.status = serde_json::from_value(
        json!({"observedGeneration": 1, "replicas": 3, "availableReplicas": 1}),
    )
    .expect("a status");
    server.store().create(&seeded).expect("seed");
    let _kubelet = kubelet(server.store());
    tokio::time::sleep(ROLLOUT * 2).await;
    let status = status(server.store(), "Deployment", "seeded");
    assert_eq!(
        status,
        json!({"observedGeneration": 1, "replicas": 3, "availableReplicas": 1})
    );
}

#[tokio::test]
async fn daemon_sets_become_ready_on_the_nodes_they_select() {
    let (server, client) = start().await;
    let _kubelet = kubelet(server.store());
    let api: Api<DaemonSet> = Api::namespaced(client, NAMESPACE);
    let daemon_set: DaemonSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": NAMESPACE},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "agent:1"}]},
            },
        },
    }))
    .expect("a DaemonSet");
    api.create(&PostParams::default(), &daemon_set)
        .await
        .expect("create");
    let ready = |store: &Store| {
        let status = status(store, "DaemonSet", "agent");
        status["observedGeneration"] == 1
            && status["desiredNumberScheduled"] == 2
            && status["updatedNumberScheduled"] == 2
            && status["numberAvailable"] == 2
    };
    assert!(server.store().wait_for(PATIENCE, ready).await);

    // Flagger scales a DaemonSet to zero with a node selector no node has.
    api.patch(
        "agent",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {"nodeSelector": {"flagger.app/scale-to-zero": "true"}}}}})),
    )
    .await
    .expect("scale to zero");
    let scaled_down = |store: &Store| {
        let status = status(store, "DaemonSet", "agent");
        status["observedGeneration"] == 2 && status["desiredNumberScheduled"] == 0
    };
    assert!(server.store().wait_for(PATIENCE, scaled_down).await);
}
