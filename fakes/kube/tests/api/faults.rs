//! Injected faults and the request log.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use weir_fakes_kube::Fault;

use crate::{NAMESPACE, api_status, config_map, deployment, start};

#[tokio::test]
async fn injected_conflicts_fail_the_next_writes_then_stop() {
    let (server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    server.fail_next_writes("ConfigMap", 2, Fault::Conflict);
    for attempt in 1..=2 {
        let status = api_status(
            api.create(&PostParams::default(), &config_map("retried", json!({})))
                .await
                .expect_err("an injected conflict"),
        );
        assert_eq!(
            (status.code, status.reason.as_str()),
            (409, "Conflict"),
            "attempt {attempt}"
        );
    }
    api.create(&PostParams::default(), &config_map("retried", json!({})))
        .await
        .expect("the third attempt succeeds");
    // Reads are never failed.
    api.get("retried").await.expect("get");
}

#[tokio::test]
async fn status_faults_fail_only_status_writes() {
    let (server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &deployment("podinfo", 1, "podinfo:1"),
    )
    .await
    .expect("create");
    server.fail_next_status_writes("Deployment", 1, Fault::InternalError);
    api.patch(
        "podinfo",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
    )
    .await
    .expect("object writes are not failed");
    let status_patch = Patch::Merge(json!({"status": {"replicas": 1}}));
    let status = api_status(
        api.patch_status("podinfo", &PatchParams::default(), &status_patch)
            .await
            .expect_err("an injected internal error"),
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError")
    );
    api.patch_status("podinfo", &PatchParams::default(), &status_patch)
        .await
        .expect("the next status write succeeds");
}

#[tokio::test]
async fn requests_are_recorded_with_method_path_content_type_and_status() {
    let (server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    server.clear_requests();
    api.create(&PostParams::default(), &config_map("recorded", json!({})))
        .await
        .expect("create");
    api.patch(
        "recorded",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "patched"}})),
    )
    .await
    .expect("patch");
    let _ = api.get("missing").await;
    let requests = server.requests();
    let summary: Vec<(String, String, Option<String>, u16)> = requests
        .iter()
        .map(|request| {
            (
                request.method.to_string(),
                request.path.clone(),
                request.content_type.clone(),
                request.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "POST".to_string(),
                "/api/v1/namespaces/test/configmaps".to_string(),
                Some("application/json".to_string()),
                201
            ),
            (
                "PATCH".to_string(),
                "/api/v1/namespaces/test/configmaps/recorded".to_string(),
                Some("application/merge-patch+json".to_string()),
                200
            ),
            (
                "GET".to_string(),
                "/api/v1/namespaces/test/configmaps/missing".to_string(),
                None,
                404
            ),
        ]
    );
}
