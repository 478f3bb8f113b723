//! Create, get, list, replace and delete through typed kube-rs `Api`s.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use crate::{NAMESPACE, api_status, config_map, deployment, start};

fn names(list: &kube::api::ObjectList<ConfigMap>) -> Vec<String> {
    list.items.iter().map(ResourceExt::name_any).collect()
}

#[tokio::test]
async fn config_maps_are_created_read_replaced_and_deleted() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let created = api
        .create(
            &PostParams::default(),
            &config_map("settings", json!({"app": "podinfo"})),
        )
        .await
        .expect("create");
    assert!(!created.uid().unwrap_or_default().is_empty());
    assert!(created.creation_timestamp().is_some());
    assert_eq!(created.metadata.generation, Some(1));
    let first_version = created.resource_version().expect("a resource version");

    let mut fetched = api.get("settings").await.expect("get");
    assert_eq!(fetched.data, created.data);
    fetched
        .data
        .get_or_insert_default()
        .insert("key".to_string(), "changed".to_string());
    let replaced = api
        .replace("settings", &PostParams::default(), &fetched)
        .await
        .expect("replace with the current resourceVersion");
    let second_version = replaced.resource_version().expect("a resource version");
    assert!(
        second_version.parse::<u64>().expect("numeric")
            > first_version.parse::<u64>().expect("numeric")
    );
    assert_eq!(replaced.uid(), created.uid());
    assert_eq!(replaced.creation_timestamp(), created.creation_timestamp());

    api.delete("settings", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(api.get_opt("settings").await.expect("get_opt").is_none());
}

#[tokio::test]
async fn lists_filter_by_label_and_field_selectors() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    for (name, labels) in [
        ("a", json!({"app": "podinfo", "tier": "1"})),
        ("b", json!({"app": "other"})),
        ("c", json!({})),
    ] {
        api.create(&PostParams::default(), &config_map(name, labels))
            .await
            .expect("create");
    }
    let cases = [
        ("app=podinfo", vec!["a"]),
        ("app==podinfo", vec!["a"]),
        ("app!=podinfo", vec!["b", "c"]),
        ("app in (podinfo, other)", vec!["a", "b"]),
        ("app notin (podinfo)", vec!["b", "c"]),
        ("app", vec!["a", "b"]),
        ("!app", vec!["c"]),
        ("app=podinfo,tier>0", vec!["a"]),
    ];
    for (selector, expected) in cases {
        let list = api
            .list(&ListParams::default().labels(selector))
            .await
            .expect("list");
        assert_eq!(names(&list), expected, "labelSelector {selector:?}");
        assert!(list.metadata.resource_version.is_some());
    }
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .expect("list by field");
    assert_eq!(names(&by_name), vec!["b"]);
    let error = api
        .list(&ListParams::default().fields("data.key=value"))
        .await
        .expect_err("unsupported field");
    let status = api_status(error);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    let error = api
        .list(&ListParams::default().labels("app in podinfo"))
        .await
        .expect_err("malformed selector");
    assert_eq!(api_status(error).code, 400);
}

#[tokio::test]
async fn lists_span_namespaces_and_come_in_pages() {
    let (_server, client) = start().await;
    for namespace in ["one", "two"] {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        for name in ["x", "y"] {
            let mut object = config_map(name, json!({}));
            object.metadata.namespace = Some(namespace.to_string());
            api.create(&PostParams::default(), &object)
                .await
                .expect("create");
        }
    }
    let all: Api<ConfigMap> = Api::all(client);
    let everything = all.list(&ListParams::default()).await.expect("list all");
    let keys: Vec<(String, String)> = everything
        .items
        .iter()
        .map(|object| (object.namespace().unwrap_or_default(), object.name_any()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("one".to_string(), "x".to_string()),
            ("one".to_string(), "y".to_string()),
            ("two".to_string(), "x".to_string()),
            ("two".to_string(), "y".to_string()),
        ]
    );

    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(3);
    loop {
        let page = all.list(&params).await.expect("list a page");
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(ResourceExt::name_any));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => {
                assert_eq!(page.metadata.remaining_item_count, Some(1));
                params = ListParams::default().limit(3).continue_token(&token);
            }
            _ => break,
        }
    }
    assert_eq!(seen, vec!["x", "y", "x", "y"]);
}

#[tokio::test]
async fn creating_an_existing_object_is_already_exists() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let object = config_map("twice", json!({}));
    api.create(&PostParams::default(), &object)
        .await
        .expect("first create");
    let status = api_status(
        api.create(&PostParams::default(), &object)
            .await
            .expect_err("second create"),
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );
    assert_eq!(status.message, "configmaps \"twice\" already exists");
}

#[tokio::test]
async fn a_stale_replace_is_a_conflict_with_the_api_servers_message() {
    let (_server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    let created = api
        .create(
            &PostParams::default(),
            &deployment("podinfo", 1, "podinfo:1"),
        )
        .await
        .expect("create");
    let mut newer = created.clone();
    newer
        .metadata
        .labels
        .get_or_insert_default()
        .insert("a".into(), "b".into());
    api.replace("podinfo", &PostParams::default(), &newer)
        .await
        .expect("first replace");
    let status = api_status(
        api.replace("podinfo", &PostParams::default(), &created)
            .await
            .expect_err("a replace based on the old object"),
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        status.message,
        "Operation cannot be fulfilled on deployments.apps \"podinfo\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[tokio::test]
async fn a_replace_without_a_resource_version_is_unconditional() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    api.create(&PostParams::default(), &config_map("plain", json!({})))
        .await
        .expect("create");
    let mut update = config_map("plain", json!({"updated": "yes"}));
    update.metadata.resource_version = None;
    let replaced = api
        .replace("plain", &PostParams::default(), &update)
        .await
        .expect("unconditional replace");
    assert_eq!(
        replaced.labels().get("updated").map(String::as_str),
        Some("yes")
    );
}

#[tokio::test]
async fn generation_follows_spec_changes_only() {
    let (_server, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, NAMESPACE);
    let created = api
        .create(
            &PostParams::default(),
            &deployment("podinfo", 1, "podinfo:1"),
        )
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    let mut relabelled = created.clone();
    relabelled
        .metadata
        .annotations
        .get_or_insert_default()
        .insert("note".into(), "metadata only".into());
    let relabelled = api
        .replace("podinfo", &PostParams::default(), &relabelled)
        .await
        .expect("metadata change");
    assert_eq!(relabelled.metadata.generation, Some(1));
    let mut scaled = relabelled.clone();
    if let Some(spec) = scaled.spec.as_mut() {
        spec.replicas = Some(3);
    }
    let scaled = api
        .replace("podinfo", &PostParams::default(), &scaled)
        .await
        .expect("spec change");
    assert_eq!(scaled.metadata.generation, Some(2));
}

#[tokio::test]
async fn a_write_that_changes_nothing_keeps_the_resource_version() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let created = api
        .create(&PostParams::default(), &config_map("same", json!({})))
        .await
        .expect("create");
    let replaced = api
        .replace("same", &PostParams::default(), &created)
        .await
        .expect("identical replace");
    assert_eq!(replaced.resource_version(), created.resource_version());
}

#[tokio::test]
async fn generate_name_gives_each_object_a_new_name() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let mut template = config_map("", json!({}));
    template.metadata.name = None;
    template.metadata.generate_name = Some("podinfo-".to_string());
    let first = api
        .create(&PostParams::default(), &template)
        .await
        .expect("first");
    let second = api
        .create(&PostParams::default(), &template)
        .await
        .expect("second");
    assert!(first.name_any().starts_with("podinfo-"));
    assert_eq!(first.name_any().len(), "podinfo-".len() + 5);
    assert_ne!(first.name_any(), second.name_any());
}

#[tokio::test]
async fn invalid_names_and_missing_objects_get_the_api_servers_errors() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let status = api_status(
        api.create(&PostParams::default(), &config_map("Not_Valid", json!({})))
            .await
            .expect_err("invalid name"),
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    let mut nameless = config_map("", json!({}));
    nameless.metadata.name = None;
    let status = api_status(
        api.create(&PostParams::default(), &nameless)
            .await
            .expect_err("no name"),
    );
    assert_eq!(status.code, 422);
    let status = api_status(api.get("missing").await.expect_err("missing"));
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(status.message, "configmaps \"missing\" not found");
    let status = api_status(
        api.delete("missing", &DeleteParams::default())
            .await
            .expect_err("delete missing"),
    );
    assert_eq!(status.code, 404);
}

#[tokio::test]
async fn malformed_requests_are_bad_requests_and_unknown_paths_not_found() {
    let (_server, client) = start().await;
    let malformed = http::Request::post("/api/v1/namespaces/test/configmaps")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(b"{not json".to_vec())
        .expect("a request");
    let status = api_status(
        client
            .request_text(malformed)
            .await
            .expect_err("malformed JSON"),
    );
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));

    let wrong_kind = http::Request::post("/api/v1/namespaces/test/configmaps")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}}"#.to_vec())
        .expect("a request");
    let status = api_status(
        client
            .request_text(wrong_kind)
            .await
            .expect_err("wrong kind"),
    );
    assert_eq!(status.code, 400);

    let unknown = http::Request::get("/apis/example.com/v1/namespaces/test/widgets")
        .body(Vec::new())
        .expect("a request");
    let status = api_status(client.request_text(unknown).await.expect_err("unknown"));
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));

    let wrong_verb = http::Request::put("/api/v1/namespaces/test/configmaps")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(b"{}".to_vec())
        .expect("a request");
    let status = api_status(
        client
            .request_text(wrong_verb)
            .await
            .expect_err("PUT on a collection"),
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (405, "MethodNotAllowed")
    );
}

#[tokio::test]
async fn dry_run_creates_nothing() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let params = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let answered = api
        .create(&params, &config_map("dry", json!({})))
        .await
        .expect("dry-run create");
    assert_eq!(answered.name_any(), "dry");
    assert!(api.get_opt("dry").await.expect("get_opt").is_none());
}

#[tokio::test]
async fn hostile_query_parameters_are_refused_or_tolerated_never_fatal() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    api.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("create");
    for query in [
        "limit=-1",
        "limit=many",
        "continue=garbage",
        "resourceVersion=abc",
        "watch=maybe",
        "fieldSelector=metadata.name",
    ] {
        let request = http::Request::get(format!("/api/v1/namespaces/test/configmaps?{query}"))
            .body(Vec::new())
            .expect("a request");
        let status = api_status(client.request_text(request).await.expect_err(query));
        assert_eq!(status.code, 400, "{query}");
    }
    let dry_run = http::Request::post("/api/v1/namespaces/test/configmaps?dryRun=Some")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}"#.to_vec())
        .expect("a request");
    let status = api_status(client.request_text(dry_run).await.expect_err("dryRun=Some"));
    assert_eq!(status.code, 400);
    // A timeout too long to represent is capped, not a crash.
    let watch = http::Request::get(
        "/api/v1/namespaces/test/configmaps?watch=true&resourceVersion=0&timeoutSeconds=18446744073709551615",
    )
    .body(Vec::new())
    .expect("a request");
    let mut events = Box::pin(
        client
            .request_events::<ConfigMap>(watch)
            .await
            .expect("the watch starts"),
    );
    let first = tokio::time::timeout(crate::PATIENCE, futures::StreamExt::next(&mut events))
        .await
        .expect("an event in time")
        .expect("an event")
        .expect("not an error");
    assert!(matches!(first, kube::api::WatchEvent::Added(_)));
    api.get("a").await.expect("the server still answers");
}
