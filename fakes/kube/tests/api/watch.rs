//! Watches: kube-runtime's watcher, raw `Api::watch`, 410 recovery,
//! selectors, bookmarks and streaming lists.

use std::fmt::Debug;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event};
use serde_json::json;

use crate::{NAMESPACE, PATIENCE, config_map, start};

/// The next item of a stream, failing the test if none comes in time.
async fn next<S, T>(stream: &mut S) -> T
where
    S: Stream<Item = T> + Unpin,
    T: Debug,
{
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an item within the patience")
        .expect("the stream has not ended")
}

/// Describes a watcher event as `kind name data-key`, to compare sequences.
fn describe(event: &Event<ConfigMap>) -> String {
    let value = |object: &ConfigMap| {
        object
            .data
            .as_ref()
            .and_then(|data| data.get("key"))
            .cloned()
            .unwrap_or_default()
    };
    match event {
        Event::Init => "Init".to_string(),
        Event::InitApply(object) => format!("InitApply {} {}", object.name_any(), value(object)),
        Event::InitDone => "InitDone".to_string(),
        Event::Apply(object) => format!("Apply {} {}", object.name_any(), value(object)),
        Event::Delete(object) => format!("Delete {}", object.name_any()),
    }
}

#[tokio::test]
async fn the_watcher_sees_objects_added_modified_and_deleted() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let mut events = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(describe(&next(&mut events).await.expect("no watch error")));
    }
    api.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("create");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "changed"}})),
    )
    .await
    .expect("patch");
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    for _ in 0..3 {
        seen.push(describe(&next(&mut events).await.expect("no watch error")));
    }
    assert_eq!(
        seen,
        vec![
            "Init",
            "InitDone",
            "Apply a value",
            "Apply a changed",
            "Delete a"
        ]
    );
}

#[tokio::test]
async fn the_watcher_lists_again_after_a_410() {
    let (server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let mut events = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    assert_eq!(describe(&next(&mut events).await.expect("Init")), "Init");
    assert_eq!(
        describe(&next(&mut events).await.expect("InitDone")),
        "InitDone"
    );
    api.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("create");
    assert_eq!(
        describe(&next(&mut events).await.expect("Apply")),
        "Apply a value"
    );

    server.store().expire_watches();
    server
        .store()
        .create(&config_map("b", json!({})))
        .expect("create directly");
    match next(&mut events).await {
        Err(watcher::Error::WatchError(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 watch error, got {other:?}"),
    }
    let mut relisted = Vec::new();
    for _ in 0..4 {
        relisted.push(describe(&next(&mut events).await.expect("no watch error")));
    }
    assert_eq!(
        relisted,
        vec!["Init", "InitApply a value", "InitApply b value", "InitDone"]
    );
}

#[tokio::test]
async fn a_watch_from_a_forgotten_version_gets_an_expired_error_event() {
    let (server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let old_version = server.store().resource_version();
    api.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("create");
    server.store().expire_watches();
    let mut stream = api
        .watch(&WatchParams::default(), &old_version.to_string())
        .await
        .expect("the watch starts")
        .boxed();
    match next(&mut stream).await.expect("an event") {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected an ERROR event, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("the stream ends")
            .is_none()
    );
}

#[tokio::test]
async fn a_label_selected_watch_sees_objects_enter_and_leave_the_selection() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let version = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("a list version");
    let mut stream = api
        .watch(&WatchParams::default().labels("app=podinfo"), &version)
        .await
        .expect("the watch starts")
        .boxed();
    api.create(&PostParams::default(), &config_map("x", json!({})))
        .await
        .expect("create unlabelled");
    for labels in [json!({"app": "podinfo"}), json!({"app": "other"})] {
        api.patch(
            "x",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": labels}})),
        )
        .await
        .expect("relabel");
    }
    api.create(
        &PostParams::default(),
        &config_map("y", json!({"app": "podinfo"})),
    )
    .await
    .expect("create labelled");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match next(&mut stream).await.expect("an event") {
            WatchEvent::Added(object) => seen.push(format!("ADDED {}", object.name_any())),
            WatchEvent::Modified(object) => seen.push(format!("MODIFIED {}", object.name_any())),
            WatchEvent::Deleted(object) => seen.push(format!("DELETED {}", object.name_any())),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(status) => panic!("unexpected error event {status:?}"),
        }
    }
    assert_eq!(seen, vec!["ADDED x", "DELETED x", "ADDED y"]);
}

#[tokio::test]
async fn a_watch_ends_with_a_bookmark_when_it_times_out() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    api.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("create");
    let mut stream = api
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .expect("the watch starts")
        .boxed();
    match next(&mut stream).await.expect("an event") {
        WatchEvent::Added(object) => assert_eq!(object.name_any(), "a"),
        other => panic!("expected the existing object first, got {other:?}"),
    }
    match next(&mut stream).await.expect("an event") {
        WatchEvent::Bookmark(bookmark) => assert!(!bookmark.metadata.resource_version.is_empty()),
        other => panic!("expected a bookmark, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("the stream ends")
            .is_none()
    );
}

#[tokio::test]
async fn streaming_lists_start_with_the_current_objects() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    for name in ["a", "b"] {
        api.create(&PostParams::default(), &config_map(name, json!({})))
            .await
            .expect("create");
    }
    let mut events =
        watcher::watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(describe(&next(&mut events).await.expect("no watch error")));
    }
    assert_eq!(
        seen,
        vec!["Init", "InitApply a value", "InitApply b value", "InitDone"]
    );
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(
        describe(&next(&mut events).await.expect("no watch error")),
        "Delete a"
    );
}

#[tokio::test]
async fn the_metadata_watcher_sees_partial_objects() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    api.create(
        &PostParams::default(),
        &config_map("a", json!({"app": "podinfo"})),
    )
    .await
    .expect("create");
    let metadata: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(api.into_client(), NAMESPACE);
    let mut events = watcher::watcher(metadata, watcher::Config::default()).boxed();
    let mut names = Vec::new();
    loop {
        match next(&mut events).await.expect("no watch error") {
            Event::InitApply(object) => {
                assert_eq!(
                    object.labels().get("app").map(String::as_str),
                    Some("podinfo")
                );
                names.push(object.name_any());
            }
            Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(names, vec!["a"]);
}
