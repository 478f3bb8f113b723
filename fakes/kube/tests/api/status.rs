//! The status subresource: `/status` writes change only the status, object
//! writes keep it.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::{NAMESPACE, api_status, deployment, start};

#[tokio::test]
async fn a_create_drops_the_status_of_a_type_with_a_status_subresource() {
    let (_server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    let mut object = deployment("podinfo", 1, "podinfo:1");
    object.status = serde_json::from_value(json!({"replicas": 7})).expect("a status");
    let created = api
        .create(&PostParams::default(), &object)
        .await
        .expect("create");
    assert!(created.status.is_none());
}

#[tokio::test]
async fn status_writes_leave_the_spec_alone() {
    let (_server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &deployment("podinfo", 1, "podinfo:1"),
    )
    .await
    .expect("create");
    let patched = api
        .patch_status(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "spec": {"replicas": 9},
                "status": {"observedGeneration": 1, "replicas": 1},
            })),
        )
        .await
        .expect("status patch");
    assert_eq!(
        patched.spec.as_ref().and_then(|spec| spec.replicas),
        Some(1)
    );
    assert_eq!(
        patched.status.as_ref().and_then(|status| status.replicas),
        Some(1)
    );
    assert_eq!(patched.metadata.generation, Some(1));

    let mut replacement = patched.clone();
    if let Some(spec) = replacement.spec.as_mut() {
        spec.replicas = Some(5);
    }
    if let Some(status) = replacement.status.as_mut() {
        status.ready_replicas = Some(1);
    }
    let replaced = api
        .replace_status("podinfo", &PostParams::default(), &replacement)
        .await
        .expect("status replace");
    assert_eq!(
        replaced.spec.as_ref().and_then(|spec| spec.replicas),
        Some(1)
    );
    assert_eq!(
        replaced
            .status
            .as_ref()
            .and_then(|status| status.ready_replicas),
        Some(1)
    );
    let fetched = api.get_status("podinfo").await.expect("get status");
    assert_eq!(fetched.status, replaced.status);
}

#[tokio::test]
async fn object_writes_leave_the_status_alone() {
    let (_server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &deployment("podinfo", 1, "podinfo:1"),
    )
    .await
    .expect("create");
    let with_status = api
        .patch_status(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1}})),
        )
        .await
        .expect("status patch");
    let mut replacement = with_status.clone();
    if let Some(spec) = replacement.spec.as_mut() {
        spec.replicas = Some(3);
    }
    replacement.status = serde_json::from_value(json!({"replicas": 99})).expect("a status");
    let replaced = api
        .replace("podinfo", &PostParams::default(), &replacement)
        .await
        .expect("replace");
    assert_eq!(
        replaced.spec.as_ref().and_then(|spec| spec.replicas),
        Some(3)
    );
    assert_eq!(
        replaced.status.as_ref().and_then(|status| status.replicas),
        Some(1)
    );
    assert_eq!(replaced.metadata.generation, Some(2));
    let patched = api
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 42}})),
        )
        .await
        .expect("patch of the object");
    assert_eq!(
        patched.status.as_ref().and_then(|status| status.replicas),
        Some(1)
    );
}

#[tokio::test]
async fn types_without_a_status_subresource_have_no_status_path() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &crate::config_map("plain", json!({})),
    )
    .await
    .expect("create");
    let status = api_status(api.get_status("plain").await.expect_err("no status path"));
    assert_eq!(status.code, 404);
}
