//! Direct access to the store: seeding, reading and editing without HTTP.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, WatchEvent, WatchParams};
use serde_json::json;
use weir_fakes_kube::{Store, StoreError};

use crate::{NAMESPACE, PATIENCE, config_map, deployment, start};

#[tokio::test]
async fn seeded_objects_are_served_with_their_status() {
    let (server, client) = start().await;
    let mut seeded = deployment("podinfo", 2, "podinfo:1");
    seeded.status =
        serde_json::from_value(json!({"observedGeneration": 1, "replicas": 2})).expect("a status");
    let stored = server.store().create(&seeded).expect("seed");
    assert_eq!(stored["metadata"]["generation"], 1);
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    let served = api.get("podinfo").await.expect("get");
    assert_eq!(served.status.and_then(|status| status.replicas), Some(2));
    let typed: Deployment = server
        .store()
        .get(NAMESPACE, "podinfo")
        .expect("a known kind")
        .expect("the object");
    assert_eq!(typed.uid(), served.metadata.uid);
}

#[tokio::test]
async fn direct_edits_are_seen_by_watches() {
    let (server, client) = start().await;
    server
        .store()
        .create(&config_map("edited", json!({})))
        .expect("seed");
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let version = server.store().resource_version().to_string();
    let mut stream = api
        .watch(&WatchParams::default(), &version)
        .await
        .expect("the watch starts")
        .boxed();
    let edited = server
        .store()
        .edit::<ConfigMap>(NAMESPACE, "edited", |object| {
            object
                .data
                .get_or_insert_default()
                .insert("key".to_string(), "edited".to_string());
        })
        .expect("edit");
    assert_eq!(
        edited
            .data
            .and_then(|data| data.get("key").cloned())
            .as_deref(),
        Some("edited")
    );
    match tokio::time::timeout(PATIENCE, stream.next()).await {
        Ok(Some(Ok(WatchEvent::Modified(object)))) => {
            assert_eq!(
                object
                    .data
                    .and_then(|data| data.get("key").cloned())
                    .as_deref(),
                Some("edited")
            );
        }
        other => panic!("expected a MODIFIED event, got {other:?}"),
    }
    server
        .store()
        .delete("v1", "ConfigMap", NAMESPACE, "edited")
        .expect("delete");
    match tokio::time::timeout(PATIENCE, stream.next()).await {
        Ok(Some(Ok(WatchEvent::Deleted(object)))) => assert_eq!(object.name_any(), "edited"),
        other => panic!("expected a DELETED event, got {other:?}"),
    }
}

#[tokio::test]
async fn put_creates_or_overwrites_whatever_the_version() {
    let store = Store::new();
    let first = store
        .put(&config_map("put", json!({"v": "1"})))
        .expect("create");
    let second = store
        .put(&config_map("put", json!({"v": "2"})))
        .expect("overwrite");
    assert_eq!(first["metadata"]["uid"], second["metadata"]["uid"]);
    assert_eq!(second["metadata"]["labels"]["v"], "2");
    let all = store.list::<ConfigMap>(None).expect("list");
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn unregistered_kinds_and_malformed_objects_are_refused() {
    let store = Store::new();
    let unknown = store.get_value("example.com/v1", "Widget", NAMESPACE, "a");
    assert!(matches!(unknown, Err(StoreError::UnknownKind { .. })));
    let no_kind = store.create(&json!({"metadata": {"name": "a"}}));
    assert!(matches!(no_kind, Err(StoreError::NotAnObject { .. })));
    let invalid = store
        .create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "UPPER"}}));
    assert!(matches!(invalid, Err(StoreError::Api(_))));
}

#[tokio::test]
async fn wait_for_returns_once_the_condition_holds() {
    let store = Store::new();
    let writer = store.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        writer
            .create(&config_map("late", json!({})))
            .expect("create");
    });
    let appeared = store
        .wait_for(PATIENCE, |store| {
            matches!(
                store.get_value("v1", "ConfigMap", NAMESPACE, "late"),
                Ok(Some(_))
            )
        })
        .await;
    assert!(appeared);
    task.await.expect("the writer finishes");
    let never = store
        .wait_for(Duration::from_millis(20), |store| {
            matches!(
                store.get_value("v1", "ConfigMap", NAMESPACE, "never"),
                Ok(Some(_))
            )
        })
        .await;
    assert!(!never);
}
