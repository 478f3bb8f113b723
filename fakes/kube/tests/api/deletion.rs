//! Deletion: finalizers, preconditions, owner-reference garbage
//! collection, orphaning and namespaces.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;

use crate::{NAMESPACE, api_status, config_map, deployment, start};

fn owned_by(mut object: ConfigMap, owners: &[&ConfigMap]) -> ConfigMap {
    object.metadata.owner_references = Some(
        owners
            .iter()
            .map(|owner| {
                serde_json::from_value(json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": owner.name_any(),
                    "uid": owner.uid().unwrap_or_default(),
                }))
                .expect("an owner reference")
            })
            .collect(),
    );
    object
}

#[tokio::test]
async fn finalizers_keep_an_object_until_they_are_removed() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let mut object = config_map("guarded", json!({}));
    object.metadata.finalizers = Some(vec!["weir.dev/cleanup".to_string()]);
    api.create(&PostParams::default(), &object)
        .await
        .expect("create");

    let answered = api
        .delete("guarded", &DeleteParams::default())
        .await
        .expect("delete")
        .left()
        .expect("the object, not a Status");
    assert!(answered.metadata.deletion_timestamp.is_some());
    let pending = api.get("guarded").await.expect("still there");
    assert!(pending.metadata.deletion_timestamp.is_some());

    let status = api_status(
        api.patch(
            "guarded",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["weir.dev/cleanup", "another"]}})),
        )
        .await
        .expect_err("no new finalizers while deleting"),
    );
    assert_eq!(status.code, 422);

    api.patch(
        "guarded",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("finalizer removed");
    assert!(api.get_opt("guarded").await.expect("get_opt").is_none());
}

#[tokio::test]
async fn delete_preconditions_must_match() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let created = api
        .create(&PostParams::default(), &config_map("guarded", json!({})))
        .await
        .expect("create");
    let stale = DeleteParams::default().preconditions(Preconditions {
        resource_version: Some("1".to_string()),
        uid: None,
    });
    let status = api_status(
        api.delete("guarded", &stale)
            .await
            .expect_err("stale precondition"),
    );
    assert_eq!(status.code, 409);
    let current = DeleteParams::default().preconditions(Preconditions {
        resource_version: created.resource_version(),
        uid: created.uid(),
    });
    api.delete("guarded", &current)
        .await
        .expect("matching preconditions");
}

#[tokio::test]
async fn dependents_are_collected_when_their_last_owner_is_removed() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let post = PostParams::default();
    let owner = api
        .create(&post, &config_map("owner", json!({})))
        .await
        .expect("owner");
    let other_owner = api
        .create(&post, &config_map("other-owner", json!({})))
        .await
        .expect("other owner");
    api.create(
        &post,
        &owned_by(config_map("only-child", json!({})), &[&owner]),
    )
    .await
    .expect("dependent");
    api.create(
        &post,
        &owned_by(
            config_map("shared-child", json!({})),
            &[&owner, &other_owner],
        ),
    )
    .await
    .expect("dependent with two owners");
    let mut finalized = owned_by(config_map("finalized-child", json!({})), &[&owner]);
    finalized.metadata.finalizers = Some(vec!["weir.dev/cleanup".to_string()]);
    api.create(&post, &finalized)
        .await
        .expect("dependent with a finalizer");
    api.create(
        &post,
        &owned_by(
            config_map("grandchild", json!({})),
            &[&api.get("only-child").await.expect("child")],
        ),
    )
    .await
    .expect("dependent of a dependent");

    api.delete("owner", &DeleteParams::default())
        .await
        .expect("delete owner");

    assert!(api.get_opt("only-child").await.expect("get_opt").is_none());
    assert!(api.get_opt("grandchild").await.expect("get_opt").is_none());
    let shared = api
        .get("shared-child")
        .await
        .expect("kept by its other owner");
    let owners: Vec<String> = shared
        .owner_references()
        .iter()
        .map(|owner| owner.name.clone())
        .collect();
    assert_eq!(owners, vec!["other-owner"]);
    let finalizing = api
        .get("finalized-child")
        .await
        .expect("kept by its finalizer");
    assert!(finalizing.metadata.deletion_timestamp.is_some());
}

#[tokio::test]
async fn orphaned_dependents_stay_without_their_owner_reference() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let post = PostParams::default();
    let owner = api
        .create(&post, &config_map("owner", json!({})))
        .await
        .expect("owner");
    api.create(&post, &owned_by(config_map("child", json!({})), &[&owner]))
        .await
        .expect("dependent");
    api.delete("owner", &DeleteParams::orphan())
        .await
        .expect("delete owner");
    let child = api.get("child").await.expect("orphan kept");
    assert!(child.owner_references().is_empty());
}

#[tokio::test]
async fn deleting_a_namespace_deletes_what_it_contains() {
    let (_server, client) = start().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE},
    }))
    .expect("a namespace");
    let created = namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create namespace");
    assert_eq!(
        created.status.and_then(|status| status.phase).as_deref(),
        Some("Active")
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    deployments
        .create(
            &PostParams::default(),
            &deployment("podinfo", 1, "podinfo:1"),
        )
        .await
        .expect("create deployment");
    let elsewhere: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut kept = config_map("kept", json!({}));
    kept.metadata.namespace = Some("default".to_string());
    elsewhere
        .create(&PostParams::default(), &kept)
        .await
        .expect("create elsewhere");

    namespaces
        .delete(NAMESPACE, &DeleteParams::default())
        .await
        .expect("delete namespace");
    assert!(
        deployments
            .get_opt("podinfo")
            .await
            .expect("get_opt")
            .is_none()
    );
    assert!(elsewhere.get_opt("kept").await.expect("get_opt").is_some());
}

#[tokio::test]
async fn delete_collection_deletes_the_selected_objects() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    for (name, labels) in [
        ("a", json!({"app": "podinfo"})),
        ("b", json!({"app": "podinfo"})),
        ("c", json!({})),
    ] {
        api.create(&PostParams::default(), &config_map(name, labels))
            .await
            .expect("create");
    }
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &kube::api::ListParams::default().labels("app=podinfo"),
        )
        .await
        .expect("delete collection");
    let list = deleted.left().expect("the deleted objects, not a Status");
    let names: Vec<String> = list.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, vec!["a", "b"]);
    let left: Vec<String> = api
        .list(&kube::api::ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(left, vec!["c"]);
}
