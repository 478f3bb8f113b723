//! Dynamic objects of CRD kinds, registered types, cluster-scoped kinds,
//! discovery and `/version`.

use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::discovery::{Discovery, Scope};
use serde_json::json;
use weir_fakes_kube::ResourceType;

use crate::{NAMESPACE, start};

fn virtual_service_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("networking.istio.io", "v1beta1", "VirtualService"),
        "virtualservices",
    )
}

#[tokio::test]
async fn a_virtual_service_round_trips_as_a_dynamic_object() {
    let (_server, client) = start().await;
    let resource = virtual_service_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client, NAMESPACE, &resource);
    let spec = json!({
        "hosts": ["podinfo"],
        "http": [{"route": [
            {"destination": {"host": "podinfo-primary"}, "weight": 100},
            {"destination": {"host": "podinfo-canary"}, "weight": 0},
        ]}],
    });
    let object = DynamicObject::new("podinfo", &resource)
        .within(NAMESPACE)
        .data(json!({"spec": spec}));
    api.create(&PostParams::default(), &object)
        .await
        .expect("create");
    let fetched = api.get("podinfo").await.expect("get");
    assert_eq!(fetched.data["spec"], spec);
    assert_eq!(
        fetched
            .types
            .as_ref()
            .map(|types| types.api_version.as_str()),
        Some("networking.istio.io/v1beta1")
    );
    let patched = api
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"http": [{"route": [
                {"destination": {"host": "podinfo-primary"}, "weight": 90},
                {"destination": {"host": "podinfo-canary"}, "weight": 10},
            ]}]}})),
        )
        .await
        .expect("patch");
    assert_eq!(patched.data["spec"]["http"][0]["route"][1]["weight"], 10);
    assert_eq!(patched.data["spec"]["hosts"], json!(["podinfo"]));
    let listed = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn a_registered_crd_is_served_and_discovered() {
    let (server, client) = start().await;
    server
        .store()
        .register(ResourceType::namespaced("example.com", "v1", "Widget", "widgets").with_status())
        .expect("register");
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "widgets");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    let object = DynamicObject::new("gizmo", &resource)
        .within(NAMESPACE)
        .data(json!({"spec": {"size": 3}}));
    api.create(&PostParams::default(), &object)
        .await
        .expect("create");
    let stored = server
        .store()
        .get_value("example.com/v1", "Widget", NAMESPACE, "gizmo")
        .expect("a registered kind")
        .expect("the object");
    assert_eq!(stored["spec"]["size"], 3);

    let discovery = Discovery::new(client).run().await.expect("discovery");
    let (discovered, capabilities) = discovery
        .resolve_gvk(&gvk)
        .expect("the widget is discovered");
    assert_eq!(discovered.plural, "widgets");
    assert_eq!(capabilities.scope, Scope::Namespaced);
    assert!(capabilities.supports_operation("watch"));
}

#[tokio::test]
async fn discovery_lists_the_registered_kinds() {
    let (_server, client) = start().await;
    for discovery in [
        Discovery::new(client.clone())
            .run()
            .await
            .expect("legacy discovery"),
        Discovery::new(client.clone())
            .run_aggregated()
            .await
            .expect("aggregated discovery"),
    ] {
        for (group, version, kind, plural) in [
            ("", "v1", "ConfigMap", "configmaps"),
            ("apps", "v1", "Deployment", "deployments"),
            ("flagger.app", "v1beta1", "Canary", "canaries"),
            (
                "networking.istio.io",
                "v1beta1",
                "VirtualService",
                "virtualservices",
            ),
            (
                "gateway.networking.k8s.io",
                "v1beta1",
                "HTTPRoute",
                "httproutes",
            ),
            (
                "split.smi-spec.io",
                "v1alpha2",
                "TrafficSplit",
                "trafficsplits",
            ),
            ("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects"),
        ] {
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let (resource, capabilities) = discovery
                .resolve_gvk(&gvk)
                .unwrap_or_else(|| panic!("{kind} {group}/{version} is discovered"));
            assert_eq!(resource.plural, plural);
            assert_eq!(capabilities.scope, Scope::Namespaced);
        }
        let canary = discovery
            .resolve_gvk(&GroupVersionKind::gvk("flagger.app", "v1beta1", "Canary"))
            .expect("canary");
        assert!(
            canary
                .1
                .subresources
                .iter()
                .any(|(subresource, _)| subresource.plural == "status")
        );
        let gateway = discovery
            .get("gateway.networking.k8s.io")
            .expect("the gateway API group");
        assert_eq!(gateway.preferred_version(), Some("v1"));
        let (namespaces, capabilities) = discovery
            .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
            .expect("namespaces");
        assert_eq!(namespaces.plural, "namespaces");
        assert_eq!(capabilities.scope, Scope::Cluster);
    }
}

#[tokio::test]
async fn cluster_scoped_kinds_are_served_without_a_namespace() {
    let (_server, client) = start().await;
    let api: Api<Namespace> = Api::all(client);
    let names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, vec!["default", "kube-system"]);
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value::<Namespace>(json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "weir", "namespace": "ignored"},
            }))
            .expect("a namespace"),
        )
        .await
        .expect("create");
    assert_eq!(created.metadata.namespace, None);
    api.get("weir").await.expect("get");
}

#[tokio::test]
async fn the_server_reports_kubernetes_1_33() {
    let (_server, client) = start().await;
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "33")
    );
}
