//! The four patch types, as kube-rs sends them.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::{NAMESPACE, api_status, config_map, deployment, start};

#[tokio::test]
async fn merge_patches_set_and_remove_fields() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &config_map("settings", json!({"keep": "1", "drop": "1"})),
    )
    .await
    .expect("create");
    let patched = api
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"labels": {"drop": null, "added": "1"}},
                "data": {"other": "2"},
            })),
        )
        .await
        .expect("merge patch");
    let labels: Vec<&str> = patched.labels().keys().map(String::as_str).collect();
    assert_eq!(labels, vec!["added", "keep"]);
    let data = patched.data.expect("data");
    assert_eq!(data.get("key").map(String::as_str), Some("value"));
    assert_eq!(data.get("other").map(String::as_str), Some("2"));
}

#[tokio::test]
async fn json_patches_apply_in_order_and_a_failed_test_changes_nothing() {
    let (_server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    let created = api
        .create(
            &PostParams::default(),
            &deployment("podinfo", 1, "podinfo:1"),
        )
        .await
        .expect("create");
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 2},
    ]))
    .expect("a JSON patch");
    let patched = api
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await
        .expect("JSON patch");
    assert_eq!(
        patched.spec.as_ref().and_then(|spec| spec.replicas),
        Some(2)
    );

    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
    ]))
    .expect("a JSON patch");
    let status = api_status(
        api.patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Json::<()>(failing),
        )
        .await
        .expect_err("the test fails"),
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    let current = api.get("podinfo").await.expect("get");
    assert_eq!(
        current.spec.as_ref().and_then(|spec| spec.replicas),
        Some(2)
    );
    assert_ne!(current.resource_version(), created.resource_version());
}

#[tokio::test]
async fn a_json_patch_testing_for_null_finalizers_adds_the_first_one() {
    // kube-runtime's finalizer helper sends exactly this.
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    api.create(&PostParams::default(), &config_map("owned", json!({})))
        .await
        .expect("create");
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["weir.dev/finalizer"]},
    ]))
    .expect("a JSON patch");
    let patched = api
        .patch("owned", &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .expect("finalizer added");
    assert_eq!(patched.finalizers(), ["weir.dev/finalizer".to_string()]);
}

#[tokio::test]
async fn strategic_merge_patches_are_applied_as_merge_patches() {
    let (_server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &deployment("podinfo", 1, "podinfo:1"),
    )
    .await
    .expect("create");
    let patched = api
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"replicas": 4}})),
        )
        .await
        .expect("strategic merge patch");
    let spec = patched.spec.expect("spec");
    assert_eq!(spec.replicas, Some(4));
    assert_eq!(
        spec.template.spec.expect("pod spec").containers[0]
            .image
            .as_deref(),
        Some("podinfo:1")
    );
    assert_eq!(patched.metadata.generation, Some(2));
}

#[tokio::test]
async fn server_side_apply_creates_then_merges() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let params = PatchParams::apply("weir").force();
    let applied = api
        .patch(
            "applied",
            &params,
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "applied"},
                "data": {"a": "1"},
            })),
        )
        .await
        .expect("apply creates");
    assert!(applied.uid().is_some());
    let reapplied = api
        .patch(
            "applied",
            &params,
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "applied"},
                "data": {"b": "2"},
            })),
        )
        .await
        .expect("apply merges");
    let data = reapplied.data.as_ref().expect("data");
    assert_eq!(data.get("b").map(String::as_str), Some("2"));
    // No field ownership: what the manager no longer applies stays.
    assert_eq!(data.get("a").map(String::as_str), Some("1"));
    assert_eq!(reapplied.uid(), applied.uid());
}

#[tokio::test]
async fn server_side_apply_requires_a_field_manager() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let status = api_status(
        api.patch(
            "applied",
            &PatchParams::default(),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}}),
            ),
        )
        .await
        .expect_err("no field manager"),
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
}

#[tokio::test]
async fn a_patch_carrying_a_stale_resource_version_conflicts() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let created = api
        .create(&PostParams::default(), &config_map("guarded", json!({})))
        .await
        .expect("create");
    api.patch(
        "guarded",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "newer"}})),
    )
    .await
    .expect("an unguarded patch");
    let status = api_status(
        api.patch(
            "guarded",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"resourceVersion": created.resource_version()},
                "data": {"key": "stale"},
            })),
        )
        .await
        .expect_err("a guarded patch on a stale version"),
    );
    assert_eq!(status.code, 409);
}

#[tokio::test]
async fn patching_a_missing_object_is_not_found() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let status = api_status(
        api.patch(
            "missing",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {}})),
        )
        .await
        .expect_err("missing"),
    );
    assert_eq!(status.code, 404);
}
