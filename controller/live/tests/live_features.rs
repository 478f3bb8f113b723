//! Features of the live controller beyond the basic rollout, each against
//! the fake API server: config tracking, the primary's autoscaler,
//! webhook gates, MetricTemplates and alerts, NGINX ingresses, DaemonSets.

mod support;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use support::{Cluster, NAMESPACE};
use weir_api::{AlertProvider, CanaryPhase, MetricTemplate};
use weir_fakes_http::{AlertSink, CannedResponse, WebhookReceiver};

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a valid object")
}

fn containers_of(deployment: &Deployment) -> serde_json::Value {
    serde_json::to_value(&deployment.spec.as_ref().expect("a spec").template).expect("JSON")["spec"]
        ["containers"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_map_starts_an_analysis_and_the_primary_runs_on_its_own_copy() {
    let cluster = Cluster::start(&[]).await;
    let config: ConfigMap = from_json(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "podinfo-config", "namespace": NAMESPACE},
        "data": {"color": "blue"}
    }));
    cluster.create(&config).await;
    let mut podinfo = serde_json::to_value(support::podinfo("1.0.0")).expect("JSON");
    podinfo["spec"]["template"]["spec"]["containers"][0]["envFrom"] =
        json!([{"configMapRef": {"name": "podinfo-config"}}]);
    cluster.create(&from_json::<Deployment>(podinfo)).await;
    cluster.create(&support::canary("istio", json!({}))).await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;

    let copy = cluster
        .api::<ConfigMap>()
        .get("podinfo-config-primary")
        .await
        .expect("the primary's copy exists");
    assert_eq!(
        copy.data
            .and_then(|data| data.get("color").cloned())
            .as_deref(),
        Some("blue")
    );
    let primary = cluster
        .api::<Deployment>()
        .get("podinfo-primary")
        .await
        .expect("the primary");
    assert_eq!(
        containers_of(&primary)[0]["envFrom"][0]["configMapRef"]["name"],
        "podinfo-config-primary"
    );

    cluster
        .api::<ConfigMap>()
        .patch(
            "podinfo-config",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"color": "green"}})),
        )
        .await
        .expect("the ConfigMap changes");
    cluster.tick_until_phase(10, CanaryPhase::Progressing).await;
    cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;
    let copy = cluster
        .api::<ConfigMap>()
        .get("podinfo-config-primary")
        .await
        .expect("the copy");
    assert_eq!(
        copy.data
            .and_then(|data| data.get("color").cloned())
            .as_deref(),
        Some("green"),
        "promotion copies the new data"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_gets_its_own_autoscaler_pointing_at_the_primary() {
    let cluster = Cluster::start(&[]).await;
    cluster.create(&support::podinfo("1.0.0")).await;
    let autoscaler: HorizontalPodAutoscaler = from_json(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "podinfo", "namespace": NAMESPACE},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "minReplicas": 2, "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}]
        }
    }));
    cluster.create(&autoscaler).await;
    let reference = json!({"autoscalerRef": {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "podinfo"
    }});
    cluster.create(&support::canary("istio", reference)).await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;

    let primary = cluster
        .api::<HorizontalPodAutoscaler>()
        .get("podinfo-primary")
        .await
        .expect("the primary's autoscaler exists");
    let spec = primary.spec.expect("a spec");
    assert_eq!(spec.scale_target_ref.name, "podinfo-primary");
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_confirm_promotion_gate_holds_the_canary_until_it_opens() {
    let receiver = WebhookReceiver::start()
        .await
        .expect("the webhook receiver starts");
    receiver.respond_to(
        "/gate",
        CannedResponse::new(http::StatusCode::FORBIDDEN, "closed"),
    );
    let hooks = json!({"analysis": {"webhooks": [
        {"name": "pre", "type": "pre-rollout", "url": receiver.url_for("/pre"), "metadata": {"team": "checkout"}},
        {"name": "gate", "type": "confirm-promotion", "url": receiver.url_for("/gate")}
    ]}});
    let cluster = Cluster::initialized("istio", &[], hooks).await;
    cluster.set_image("1.0.1").await;
    cluster
        .tick_until_phase(20, CanaryPhase::WaitingPromotion)
        .await;
    for _ in 0..3 {
        cluster.tick().await;
    }
    assert_eq!(
        cluster.status().await.phase,
        CanaryPhase::WaitingPromotion,
        "the gate holds"
    );

    receiver.respond_to("/gate", CannedResponse::new(http::StatusCode::OK, "open"));
    cluster.tick_until_phase(20, CanaryPhase::Succeeded).await;

    let pre = receiver.calls_to("/pre");
    let payload = pre
        .first()
        .and_then(|call| call.json.clone())
        .expect("a JSON payload");
    assert_eq!(payload["name"], "podinfo");
    assert_eq!(payload["namespace"], NAMESPACE);
    assert_eq!(payload["phase"], "Progressing");
    assert_eq!(payload["metadata"]["team"], "checkout");
    assert!(
        payload["checksum"]
            .as_str()
            .is_some_and(|checksum| !checksum.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metric_template_is_rendered_for_the_canary_and_alerts_reach_slack() {
    let slack = AlertSink::start().await.expect("the alert sink starts");
    let cluster = Cluster::start(&[]).await;
    cluster.answer("http_errors_total", 0.5);
    let template: MetricTemplate = from_json(json!({
        "apiVersion": "flagger.app/v1beta1", "kind": "MetricTemplate",
        "metadata": {"name": "error-rate", "namespace": NAMESPACE},
        "spec": {
            "provider": {"type": "prometheus", "address": cluster.prometheus.url()},
            "query": "sum(rate(http_errors_total{namespace=\"{{ namespace }}\",pod=~\"{{ target }}-[0-9a-z]+\"}[{{ interval }}]))"
        }
    }));
    cluster.create(&template).await;
    let provider: AlertProvider = from_json(json!({
        "apiVersion": "flagger.app/v1beta1", "kind": "AlertProvider",
        "metadata": {"name": "slack", "namespace": NAMESPACE},
        "spec": {"type": "slack", "channel": "releases", "address": slack.url_for("/hook")}
    }));
    cluster.create(&provider).await;
    cluster.create(&support::podinfo("1.0.0")).await;
    let analysis = json!({"analysis": {
        "metrics": [{"name": "errors", "templateRef": {"name": "error-rate"}, "thresholdRange": {"max": 1}, "interval": "2m"}],
        "alerts": [{"name": "releases", "severity": "info", "providerRef": {"name": "slack"}}]
    }});
    cluster.create(&support::canary("istio", analysis)).await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;
    cluster.set_image("1.0.1").await;
    cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;

    let queries: Vec<String> = cluster
        .prometheus
        .queries()
        .into_iter()
        .map(|query| query.query)
        .collect();
    let rendered = r#"sum(rate(http_errors_total{namespace="test",pod=~"podinfo-[0-9a-z]+"}[2m]))"#;
    assert!(
        queries.iter().any(|query| query == rendered),
        "{rendered} in {queries:#?}"
    );
    let texts = slack.texts();
    for expected in [
        "New revision detected, progressing canary analysis.",
        "Canary analysis completed successfully, promotion finished.",
    ] {
        assert!(
            texts.iter().any(|text| text.contains(expected)),
            "{expected:?} in {texts:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nginx_canary_gets_a_canary_ingress_whose_weight_follows_the_analysis() {
    let cluster = Cluster::start(&["-mesh-provider=nginx"]).await;
    let ingress: Ingress = from_json(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "podinfo", "namespace": NAMESPACE},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "app.example.com", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "podinfo", "port": {"number": 9898}}}
        }]}}]}
    }));
    cluster.create(&ingress).await;
    cluster.create(&support::podinfo("1.0.0")).await;
    let reference = json!({"ingressRef": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "podinfo"}});
    cluster.create(&support::canary("nginx", reference)).await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;

    let annotations = |ingress: Ingress| ingress.metadata.annotations.unwrap_or_default();
    let canary_ingress = cluster
        .api::<Ingress>()
        .get("podinfo-canary")
        .await
        .expect("the canary Ingress");
    let backend = serde_json::to_value(&canary_ingress).expect("JSON")["spec"]["rules"][0]["http"]
        ["paths"][0]["backend"]["service"]["name"]
        .clone();
    assert_eq!(backend, "podinfo-canary");
    let initial = annotations(canary_ingress);
    assert_eq!(
        initial
            .get("nginx.ingress.kubernetes.io/canary")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        initial
            .get("nginx.ingress.kubernetes.io/canary-weight")
            .map(String::as_str),
        Some("0")
    );

    cluster.set_image("1.0.1").await;
    cluster
        .tick_until(20, |status| status.canary_weight == 25)
        .await;
    let during = annotations(
        cluster
            .api::<Ingress>()
            .get("podinfo-canary")
            .await
            .expect("the canary Ingress"),
    );
    assert_eq!(
        during
            .get("nginx.ingress.kubernetes.io/canary-weight")
            .map(String::as_str),
        Some("25")
    );
    let user = cluster
        .api::<Ingress>()
        .get("podinfo")
        .await
        .expect("the user's Ingress");
    assert_eq!(
        serde_json::to_value(&user).expect("JSON")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
            ["service"]["name"],
        "podinfo",
        "the user's Ingress is left alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_set_canary_is_promoted() {
    let cluster = Cluster::start(&[]).await;
    let mut daemon_set = serde_json::to_value(support::podinfo("1.0.0")).expect("JSON");
    daemon_set["kind"] = json!("DaemonSet");
    daemon_set["spec"]
        .as_object_mut()
        .expect("a spec")
        .remove("replicas");
    cluster.create(&from_json::<DaemonSet>(daemon_set)).await;
    let target =
        json!({"targetRef": {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "podinfo"}});
    cluster.create(&support::canary("istio", target)).await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;

    let patch = json!({"spec": {"template": {"spec": {"containers": [{
        "name": "podinfod", "image": "ghcr.io/stefanprodan/podinfo:1.0.1"
    }]}}}});
    cluster
        .api::<DaemonSet>()
        .patch("podinfo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("the image changes");
    cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;
    let primary = cluster
        .api::<DaemonSet>()
        .get("podinfo-primary")
        .await
        .expect("the primary");
    let image =
        serde_json::to_value(&primary).expect("JSON")["spec"]["template"]["spec"]["containers"][0]
            ["image"]
            .clone();
    assert_eq!(image, "ghcr.io/stefanprodan/podinfo:1.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_target_gets_primary_and_canary_copies_and_a_changed_spec_is_promoted() {
    let cluster = Cluster::start(&["-mesh-provider=gatewayapi:v1"]).await;
    let _gateway = support::spawn_gateway_controller(cluster.server.store());
    let service: k8s_openapi::api::core::v1::Service = from_json(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "podinfo", "namespace": NAMESPACE},
        "spec": {"selector": {"app": "podinfo"}, "ports": [{"name": "http", "port": 9898, "targetPort": 9898}]}
    }));
    cluster.create(&service).await;
    let target = json!({
        "targetRef": {"apiVersion": "v1", "kind": "Service", "name": "podinfo"},
        "service": {"port": 9898, "gatewayRefs": [{"name": "public", "namespace": "gateways"}]}
    });
    cluster
        .create(&support::canary("gatewayapi:v1", target))
        .await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;

    let selector = |service: k8s_openapi::api::core::v1::Service| {
        service
            .spec
            .and_then(|spec| spec.selector)
            .unwrap_or_default()["app"]
            .clone()
    };
    let services = cluster.api::<k8s_openapi::api::core::v1::Service>();
    assert_eq!(
        selector(
            services
                .get("podinfo-primary")
                .await
                .expect("the primary copy")
        ),
        "podinfo"
    );
    assert_eq!(
        selector(
            services
                .get("podinfo-canary")
                .await
                .expect("the canary copy")
        ),
        "podinfo"
    );
    let initialized = cluster.status().await;
    assert!(
        weir_workloads::is_weir_hash(&initialized.last_applied_spec),
        "{initialized:?}"
    );

    services
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"selector": {"app": "podinfo-v2"}}})),
        )
        .await
        .expect("the target changes");
    let statuses = cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;
    assert!(
        statuses.iter().any(|status| status.canary_weight == 50),
        "the analysis ran: {statuses:?}"
    );
    assert_eq!(
        selector(
            services
                .get("podinfo-primary")
                .await
                .expect("the primary copy")
        ),
        "podinfo-v2"
    );
}

/// What Knative does for weir's tests: it resolves the Service's traffic
/// targets into `status.traffic` (the latest revision by name), as its
/// route controller would.
fn spawn_knative_route_controller(store: &weir_fakes_kube::Store) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut changes = store.subscribe();
        loop {
            if let Ok(Some(service)) =
                store.get_value("serving.knative.dev/v1", "Service", NAMESPACE, "podinfo")
            {
                let latest = service["status"]["latestCreatedRevisionName"].clone();
                let resolved: Vec<serde_json::Value> = service["spec"]["traffic"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|target| {
                        let revision = if target["latestRevision"] == true { latest.clone() } else { target["revisionName"].clone() };
                        json!({"revisionName": revision, "latestRevision": target["latestRevision"] == true, "percent": target["percent"]})
                    })
                    .collect();
                if service["status"]["traffic"] != json!(resolved) {
                    let _ = store.edit_value(
                        "serving.knative.dev/v1",
                        "Service",
                        NAMESPACE,
                        "podinfo",
                        |service| {
                            service["status"]["traffic"] = json!(resolved);
                        },
                    );
                }
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
}

fn knative_revision(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_knative_canary_shifts_traffic_between_revisions_and_promotes_the_latest() {
    let cluster = Cluster::start(&["-mesh-provider=knative"]).await;
    let store = cluster.server.store();
    for (kind, plural) in [("Service", "services"), ("Revision", "revisions")] {
        store
            .register(
                weir_fakes_kube::ResourceType::namespaced(
                    "serving.knative.dev",
                    "v1",
                    kind,
                    plural,
                )
                .with_status(),
            )
            .expect("the Knative kind is registered");
    }
    let _knative = spawn_knative_route_controller(store);
    store
        .create(&knative_revision("podinfo-00001"))
        .expect("a revision");
    store
        .create(&json!({
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "podinfo", "namespace": NAMESPACE},
            "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/stefanprodan/podinfo:1.0.0"}]}}},
            "status": {"latestCreatedRevisionName": "podinfo-00001", "latestReadyRevisionName": "podinfo-00001"}
        }))
        .expect("the Knative Service");
    let target = json!({"targetRef": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "podinfo"}});
    cluster.create(&support::canary("knative", target)).await;
    cluster.tick_until_phase(10, CanaryPhase::Initialized).await;
    let primary_revision = || {
        store
            .get_value("serving.knative.dev/v1", "Service", NAMESPACE, "podinfo")
            .expect("readable")
            .expect("the Service")["metadata"]["annotations"]["flagger.app/primary-revision"]
            .clone()
    };
    assert_eq!(primary_revision(), "podinfo-00001");

    // A new revision, as Knative creates one for a template change.
    store
        .create(&knative_revision("podinfo-00002"))
        .expect("a revision");
    store
        .edit_value(
            "serving.knative.dev/v1",
            "Service",
            NAMESPACE,
            "podinfo",
            |service| {
                service["status"]["latestCreatedRevisionName"] = json!("podinfo-00002");
            },
        )
        .expect("the Service's status");
    cluster
        .tick_until(20, |status| status.canary_weight == 25)
        .await;
    let service = store
        .get_value("serving.knative.dev/v1", "Service", NAMESPACE, "podinfo")
        .expect("readable")
        .expect("the Service");
    let mut traffic: Vec<(bool, i64)> = service["spec"]["traffic"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|target| {
            (
                target["latestRevision"] == true,
                target["percent"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    traffic.sort();
    assert_eq!(traffic, [(false, 75), (true, 25)], "{service}");

    cluster.tick_until_phase(30, CanaryPhase::Succeeded).await;
    assert_eq!(primary_revision(), "podinfo-00002");
}
