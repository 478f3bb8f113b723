//! The live controller's tick against a fake Kubernetes API server: the
//! code that runs in a cluster (kube-rs clients, every port, status writes)
//! driven one tick at a time, with a fake kubelet and a fake Prometheus.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{DeleteParams, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;
use support::{Cluster, NAMESPACE};
use weir_api::{Canary, CanaryPhase};
use weir_fakes_kube::Fault;

fn image_of(deployment: &Deployment) -> String {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .and_then(|pod| pod.containers.first())
        .and_then(|container| container.image.clone())
        .unwrap_or_default()
}

fn replicas_of(deployment: &Deployment) -> Option<i32> {
    deployment.spec.as_ref().and_then(|spec| spec.replicas)
}

async fn deployment(cluster: &Cluster, name: &str) -> Deployment {
    cluster
        .api::<Deployment>()
        .get(name)
        .await
        .unwrap_or_else(|error| panic!("Deployment {name}: {error}"))
}

async fn dynamic(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    name: &str,
) -> serde_json::Value {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let object: DynamicObject =
        kube::Api::namespaced_with(cluster.client.clone(), NAMESPACE, &resource)
            .get(name)
            .await
            .unwrap_or_else(|error| panic!("{kind} {name}: {error}"));
    serde_json::to_value(object).expect("JSON")
}

/// The weights of the VirtualService's first HTTP route, primary first.
async fn virtual_service_weights(cluster: &Cluster) -> (i64, i64) {
    let virtual_service = dynamic(
        cluster,
        "networking.istio.io/v1beta1",
        "VirtualService",
        "podinfo",
    )
    .await;
    let route = &virtual_service["spec"]["http"][0]["route"];
    let weight_of = |host: &str| {
        route
            .as_array()
            .into_iter()
            .flatten()
            .find(|destination| destination["destination"]["host"] == host)
            .and_then(|destination| destination["weight"].as_i64())
            .unwrap_or(0)
    };
    (weight_of("podinfo-primary"), weight_of("podinfo-canary"))
}

fn owned_by_canary(object: &serde_json::Value) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|owner| {
            owner["kind"] == "Canary" && owner["name"] == "podinfo" && owner["controller"] == true
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_canary_gets_a_primary_its_services_and_a_virtual_service_and_its_target_is_scaled_to_zero()
 {
    let cluster = Cluster::initialized("istio", &[], json!({})).await;

    let primary = deployment(&cluster, "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:1.0.0");
    assert_eq!(
        replicas_of(&deployment(&cluster, "podinfo").await),
        Some(0),
        "the target is scaled to zero"
    );
    assert!(owned_by_canary(
        &serde_json::to_value(&primary).expect("JSON")
    ));

    for (name, selected) in [
        ("podinfo", "podinfo-primary"),
        ("podinfo-primary", "podinfo-primary"),
        ("podinfo-canary", "podinfo"),
    ] {
        let service = cluster
            .api::<Service>()
            .get(name)
            .await
            .expect("the Service exists");
        let selector = service
            .spec
            .and_then(|spec| spec.selector)
            .unwrap_or_default();
        assert_eq!(
            selector.get("app").map(String::as_str),
            Some(selected),
            "Service {name}"
        );
    }

    let virtual_service = dynamic(
        &cluster,
        "networking.istio.io/v1beta1",
        "VirtualService",
        "podinfo",
    )
    .await;
    assert!(owned_by_canary(&virtual_service), "{virtual_service}");
    assert_eq!(virtual_service_weights(&cluster).await, (100, 0));
    for name in ["podinfo-primary", "podinfo-canary"] {
        let rule = dynamic(
            &cluster,
            "networking.istio.io/v1beta1",
            "DestinationRule",
            name,
        )
        .await;
        assert_eq!(rule["spec"]["host"], name);
    }

    let status = cluster.status().await;
    assert!(
        weir_workloads::is_weir_hash(&status.last_applied_spec),
        "{status:?}"
    );
    assert!(
        cluster
            .event_messages()
            .await
            .iter()
            .any(|message| message == "Initialization done! podinfo.test"),
        "{:?}",
        cluster.event_messages().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_change_is_analysed_with_prometheus_shifted_step_by_step_and_promoted() {
    let cluster = Cluster::initialized("istio", &[], json!({})).await;
    cluster.prometheus.clear_queries();
    cluster.set_image("1.0.1").await;

    let mut weights = Vec::new();
    let statuses = cluster
        .tick_until(30, |status| status.phase == CanaryPhase::Succeeded)
        .await;
    for status in &statuses {
        if status.phase == CanaryPhase::Progressing
            && status.canary_weight > 0
            && weights.last() != Some(&status.canary_weight)
        {
            weights.push(status.canary_weight);
        }
    }
    assert_eq!(weights, [25, 50], "the weights the analysis went through");
    assert!(
        statuses
            .iter()
            .any(|status| status.phase == CanaryPhase::Promoting),
        "{statuses:?}"
    );

    let primary = deployment(&cluster, "podinfo-primary").await;
    assert_eq!(
        image_of(&primary),
        "ghcr.io/stefanprodan/podinfo:1.0.1",
        "promotion copies the template"
    );
    assert_eq!(replicas_of(&deployment(&cluster, "podinfo").await), Some(0));
    assert_eq!(virtual_service_weights(&cluster).await, (100, 0));

    let queries = cluster.prometheus.queries();
    assert!(
        queries
            .iter()
            .any(|query| query.query.contains("istio_requests_total")
                && query.query.contains("podinfo")),
        "the builtin success-rate query reached Prometheus: {:?}",
        queries.iter().map(|query| &query.query).collect::<Vec<_>>()
    );
    let events = cluster.event_messages().await;
    for expected in [
        "New revision detected! Scaling up podinfo.test",
        "Advance podinfo.test canary weight 25",
        "Advance podinfo.test canary weight 50",
        "Promotion completed! Scaling down podinfo.test",
    ] {
        assert!(
            events.iter().any(|message| message == expected),
            "{expected:?} in {events:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_metrics_roll_the_canary_back_and_the_primary_keeps_its_image() {
    let cluster = Cluster::initialized("istio", &[], json!({})).await;
    cluster.set_healthy(false);
    cluster.set_image("1.0.1").await;

    let statuses = cluster.tick_until_phase(30, CanaryPhase::Failed).await;
    assert!(
        statuses.iter().any(|status| status.failed_checks == 2),
        "two failed checks before the rollback: {statuses:?}"
    );
    assert_eq!(
        image_of(&deployment(&cluster, "podinfo-primary").await),
        "ghcr.io/stefanprodan/podinfo:1.0.0"
    );
    assert_eq!(
        replicas_of(&deployment(&cluster, "podinfo").await),
        Some(0),
        "the canary is scaled down"
    );
    assert_eq!(
        virtual_service_weights(&cluster).await,
        (100, 0),
        "all traffic back on the primary"
    );
    let events = cluster.event_messages().await;
    assert!(
        events
            .iter()
            .any(|message| message == "Halt podinfo.test advancement success rate 80.00% < 99%"),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|message| message == "Rolling back podinfo.test failed checks threshold reached 2"),
        "{events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_restarted_mid_analysis_resumes_from_the_canary_status() {
    let mut cluster = Cluster::initialized("istio", &[], json!({})).await;
    cluster.set_image("1.0.1").await;
    cluster
        .tick_until(20, |status| status.canary_weight == 25)
        .await;

    cluster.restart_controller().await;
    let statuses = cluster.tick_until_phase(20, CanaryPhase::Succeeded).await;
    let first = &statuses[0];
    assert_eq!(
        (first.phase, first.canary_weight),
        (CanaryPhase::Progressing, 50),
        "the restarted controller goes on from 25%, it does not start over: {statuses:?}"
    );
    assert_eq!(
        image_of(&deployment(&cluster, "podinfo-primary").await),
        "ghcr.io/stefanprodan/podinfo:1.0.1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_writes_that_conflict_are_retried_with_the_latest_canary() {
    let cluster = Cluster::initialized("istio", &[], json!({})).await;
    cluster.set_image("1.0.1").await;
    // Two conflicts, then success: client-go's backoff retries four times.
    cluster
        .server
        .fail_next_status_writes("Canary", 2, Fault::Conflict);
    let statuses = cluster
        .tick_until(10, |status| status.phase == CanaryPhase::Progressing)
        .await;
    assert_eq!(
        statuses.last().map(|status| status.phase),
        Some(CanaryPhase::Progressing)
    );
    let writes = cluster
        .server
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with("/canaries/podinfo/status"))
        .map(|request| request.status)
        .collect::<Vec<_>>();
    assert!(
        writes.iter().filter(|status| **status == 409).count() >= 2 && writes.contains(&200),
        "conflicts answered, then a write went through: {writes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_canary_with_revert_on_deletion_hands_the_target_and_routes_back() {
    let cluster = Cluster::start(&[]).await;
    cluster.create(&support::podinfo("1.0.0")).await;
    let mut canary = support::canary("istio", json!({"revertOnDeletion": true}));
    canary.metadata.finalizers = Some(vec!["finalizer.flagger.app".to_owned()]);
    cluster.create(&canary).await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;
    assert_eq!(replicas_of(&deployment(&cluster, "podinfo").await), Some(0));

    cluster
        .api::<Canary>()
        .delete("podinfo", &DeleteParams::default())
        .await
        .expect("the Canary is marked for deletion");
    // Terminating waits for the target to be ready again, then lets go.
    for _ in 0..10 {
        if cluster.tick().await.is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    }
    assert!(
        cluster.canary().await.is_none(),
        "the finalizer is removed and the Canary is gone: {:?}\n{:#?}",
        cluster
            .canary()
            .await
            .map(|canary| (canary.metadata, canary.status)),
        cluster.event_messages().await
    );
    assert_eq!(
        replicas_of(&deployment(&cluster, "podinfo").await),
        Some(2),
        "the target is scaled back up to what the primary ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_canary_with_the_kubernetes_provider_runs_its_iterations_then_promotes() {
    let blue_green = json!({"analysis": {"iterations": 2, "stepWeight": null, "maxWeight": null}});
    let cluster =
        Cluster::initialized("kubernetes", &["-mesh-provider=kubernetes"], blue_green).await;
    cluster.set_image("1.0.1").await;

    let statuses = cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;
    let iterations: Vec<i32> = statuses
        .iter()
        .filter(|status| status.phase == CanaryPhase::Progressing && status.iterations > 0)
        .map(|status| status.iterations)
        .collect();
    // Flagger's blue/green runs one more interval with all traffic on the
    // canary after the last iteration before it promotes (§6.3).
    assert_eq!(iterations, [1, 2, 3], "{statuses:?}");
    assert_eq!(
        image_of(&deployment(&cluster, "podinfo-primary").await),
        "ghcr.io/stefanprodan/podinfo:1.0.1"
    );
    let events = cluster.event_messages().await;
    assert!(
        events
            .iter()
            .any(|message| message == "Advance podinfo.test canary iteration 2/2"),
        "{events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ab_test_on_istio_sends_matching_requests_to_the_canary_during_the_analysis() {
    let ab_test = json!({"analysis": {
        "iterations": 3, "stepWeight": null, "maxWeight": null,
        "match": [{"headers": {"x-canary": {"exact": "insider"}}}]
    }});
    let cluster = Cluster::initialized("istio", &[], ab_test).await;
    cluster.set_image("1.0.1").await;
    cluster
        .tick_until(20, |status| status.iterations >= 1)
        .await;

    let virtual_service = dynamic(
        &cluster,
        "networking.istio.io/v1beta1",
        "VirtualService",
        "podinfo",
    )
    .await;
    let http = &virtual_service["spec"]["http"];
    assert_eq!(
        http[0]["match"][0]["headers"]["x-canary"]["exact"], "insider",
        "{virtual_service}"
    );
    let weights = |rule: &serde_json::Value| -> Vec<(String, i64)> {
        rule["route"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|route| {
                (
                    route["destination"]["host"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    route["weight"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    };
    assert_eq!(
        weights(&http[0]),
        [
            ("podinfo-primary".to_owned(), 0),
            ("podinfo-canary".to_owned(), 100)
        ],
        "matching requests go to the canary"
    );
    assert!(
        http[1].get("match").is_none(),
        "the second rule takes everyone else: {virtual_service}"
    );
    // Flagger writes the primary's weight (0 while the A/B test runs) on
    // the fallback's only destination; Istio sends all traffic to a single
    // destination whatever its weight.
    assert_eq!(weights(&http[1]), [("podinfo-primary".to_owned(), 0)]);

    cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;
    let virtual_service = dynamic(
        &cluster,
        "networking.istio.io/v1beta1",
        "VirtualService",
        "podinfo",
    )
    .await;
    assert_eq!(
        weights(&virtual_service["spec"]["http"][0]),
        [
            ("podinfo-primary".to_owned(), 100),
            ("podinfo-canary".to_owned(), 0)
        ],
        "after promotion every request goes to the primary: {virtual_service}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_api_canary_shifts_http_route_weights_only_once_the_gateway_accepted_the_route() {
    let gateway = json!({"service": {"port": 9898, "gatewayRefs": [{"name": "public", "namespace": "gateways"}]}});
    let cluster = Cluster::start(&["-mesh-provider=gatewayapi:v1"]).await;
    let _gateway = support::spawn_gateway_controller(cluster.server.store());
    cluster.create(&support::podinfo("1.0.0")).await;
    cluster
        .create(&support::canary("gatewayapi:v1", gateway))
        .await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;
    cluster.set_image("1.0.1").await;
    cluster
        .tick_until(20, |status| status.canary_weight == 25)
        .await;

    let route = dynamic(
        &cluster,
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        "podinfo",
    )
    .await;
    assert!(owned_by_canary(&route), "{route}");
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "public");
    let backends: Vec<(String, i64)> = route["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|backend| {
            (
                backend["name"].as_str().unwrap_or_default().to_owned(),
                backend["weight"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        backends,
        [
            ("podinfo-primary".to_owned(), 75),
            ("podinfo-canary".to_owned(), 25)
        ]
    );
    cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;
}
