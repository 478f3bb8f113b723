//! The whole controller, as `weir-controller` runs it: kubeconfig, CRD
//! check, watches, leader election, the scheduler's first tick, /metrics
//! and /healthz, and a graceful shutdown that hands the Lease back.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use serde_json::json;
use support::{Cluster, NAMESPACE};
use weir_api::CanaryPhase;
use weir_controller::Flags;

/// How long the controller may take to initialize a Canary whose analysis
/// is skipped (one tick, right after its job starts).
const INITIALIZED_WITHIN: Duration = Duration::from_secs(15);

fn kubeconfig(server_url: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a temporary kubeconfig");
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server_url}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\nusers:\n- name: fake\n  user: {{}}\n"
    );
    std::fs::write(file.path(), yaml).expect("the kubeconfig is written");
    file
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("the controller answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_leads_initializes_a_canary_serves_its_metrics_and_shuts_down_cleanly() {
    let cluster = Cluster::start(&[]).await;
    cluster.create(&support::podinfo("1.0.0")).await;
    cluster
        .create(&support::canary(
            "kubernetes",
            json!({"skipAnalysis": true}),
        ))
        .await;
    let config = kubeconfig(cluster.server.url());
    let flags = Flags::parse_go([
        "weir-controller".to_owned(),
        format!("-kubeconfig={}", config.path().display()),
        format!("-metrics-server={}", cluster.prometheus.url()),
        "-mesh-provider=kubernetes".to_owned(),
        "-enable-leader-election=true".to_owned(),
        "-leader-election-namespace=weir-system".to_owned(),
    ])
    .expect("valid flags");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for /metrics");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(weir_controller::run(flags, listener, async {
        let _ = stopped.await;
    }));

    let deadline = tokio::time::Instant::now() + INITIALIZED_WITHIN;
    while cluster.status().await.phase != CanaryPhase::Initialized {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not initialized in time: {:?}\n{:#?}",
            cluster.status().await,
            cluster.event_messages().await
        );
        assert!(
            !controller.is_finished(),
            "the controller stopped: {:?}",
            controller.await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let lease: Lease = kube::Api::namespaced(cluster.client.clone(), "weir-system")
        .get("flagger-leader-election")
        .await
        .expect("the Lease exists");
    let holder = lease.spec.and_then(|spec| spec.holder_identity);
    assert!(
        holder.is_some_and(|holder| !holder.is_empty()),
        "a leader holds the Lease"
    );

    let (status, body) = get(&format!("http://{address}/healthz")).await;
    assert_eq!(status, 200, "{body}");
    let (status, exposition) = get(&format!("http://{address}/metrics")).await;
    assert_eq!(status, 200);
    for expected in [
        r#"flagger_info{version=""#,
        r#"mesh_provider="kubernetes"} 1"#,
        &format!(r#"flagger_canary_total{{namespace="{NAMESPACE}"}} 1"#),
    ] {
        assert!(
            exposition.contains(expected),
            "{expected} in:\n{exposition}"
        );
    }

    stop.send(()).expect("the controller is running");
    let outcome = tokio::time::timeout(Duration::from_secs(15), controller)
        .await
        .expect("shutdown completes")
        .expect("the controller task ends");
    assert!(outcome.is_ok(), "{outcome:?}");
    let lease: Lease = kube::Api::namespaced(cluster.client.clone(), "weir-system")
        .get("flagger-leader-election")
        .await
        .expect("the Lease is still there");
    assert_eq!(
        lease.spec.and_then(|spec| spec.holder_identity),
        None,
        "the Lease is handed back so that the next leader need not wait for it to expire"
    );
}
