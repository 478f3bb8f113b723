//! The fake API server driven by kube-rs itself: typed and dynamic `Api`s,
//! kube-runtime's watcher, discovery, and the fake kubelet.

mod crud;
mod deletion;
mod direct;
mod dynamic;
mod faults;
mod kubelet;
mod patch;
mod status;
mod watch;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::core::Status;
use serde_json::json;
use weir_fakes_kube::FakeApiServer;

/// The namespace the tests work in.
const NAMESPACE: &str = "test";

/// How long a test waits for something asynchronous (the kubelet, a
/// watch event) before failing; generous so a loaded CI machine passes.
const PATIENCE: Duration = Duration::from_secs(10);

/// A fake API server and a kube-rs client for it.
async fn start() -> (FakeApiServer, kube::Client) {
    let server = FakeApiServer::start()
        .await
        .expect("the fake API server starts");
    let client = server.client().expect("a kube client for the fake");
    (server, client)
}

/// The `Status` of an API error, failing the test for any other error.
fn api_status(error: kube::Error) -> Box<Status> {
    match error {
        kube::Error::Api(status) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn config_map(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "data": {"key": "value"},
    }))
    .expect("a valid ConfigMap")
}

fn deployment(name: &str, replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }))
    .expect("a valid Deployment")
}
