//! A cluster for the live controller's integration tests: the fake API
//! server with a fake kubelet, a fake Prometheus answering the builtin
//! queries, and the controller's real tick (every port wired to them),
//! driven one tick at a time.
//!
//! ```text
//!   test ──tick()──▶ EngineTicker (weir-controller) ──kube-rs──▶ FakeApiServer ◀── FakeKubelet
//!                          │ builtin queries                        ▲
//!                          ▼                                        │ test reads and edits
//!                    FakePrometheus (healthy or failing)            │ objects with kube-rs
//! ```

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::StatusCode;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams, PostParams};
use weir_api::{Canary, CanaryPhase, CanaryStatus};
use weir_controller::Flags;
use weir_controller::scheduler::Ticker;
use weir_controller::telemetry::ControllerMetrics;
use weir_controller::ticker::{Context, EngineTicker};
use weir_engine::TickOutcome;
use weir_fakes_http::{FakePrometheus, FaultResponse};
use weir_fakes_kube::{FakeApiServer, FakeKubelet, KubeletOptions};

pub const NAMESPACE: &str = "test";

/// How long the fake kubelet takes to make a rollout ready: short, so that
/// a tick after a short wait sees it ready.
const READY_AFTER: Duration = Duration::from_millis(50);
/// The wait between ticks while a rollout becomes ready.
const BETWEEN_TICKS: Duration = Duration::from_millis(80);

/// podinfo, as Flagger's e2e tests deploy it (test/workloads).
pub fn podinfo(image_tag: &str) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "podinfo", "namespace": NAMESPACE, "labels": {"app": "podinfo"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "podinfo"}},
            "template": {
                "metadata": {"labels": {"app": "podinfo"}},
                "spec": {"containers": [{
                    "name": "podinfod",
                    "image": format!("ghcr.io/stefanprodan/podinfo:{image_tag}"),
                    "ports": [{"name": "http", "containerPort": 9898, "protocol": "TCP"}]
                }]}
            }
        }
    }))
    .expect("a valid Deployment")
}

/// A Canary for podinfo: `provider`, progressive 25% steps up to 50%, two
/// failed checks to roll back, the builtin metrics; `extra` is merged into
/// `spec`.
pub fn canary(provider: &str, extra: serde_json::Value) -> Canary {
    let mut value = serde_json::json!({
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": NAMESPACE},
        "spec": {
            "provider": provider,
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {
                "interval": "10s",
                "threshold": 2,
                "maxWeight": 50,
                "stepWeight": 25,
                "metrics": [
                    {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"},
                    {"name": "request-duration", "thresholdRange": {"max": 500}, "interval": "1m"}
                ]
            }
        }
    });
    merge(&mut value["spec"], extra);
    serde_json::from_value(value).expect("a valid Canary")
}

fn merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(target), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(&key);
                } else {
                    merge(target.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

/// A Prometheus vector answer with one sample.
fn sample(value: f64) -> FaultResponse {
    FaultResponse::error(
        StatusCode::OK,
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000,"{value}"]}}]}}}}"#
        ),
    )
}

/// Scripted Prometheus answers: queries containing the text get the value.
type Overrides = Arc<std::sync::Mutex<Vec<(String, f64)>>>;

/// The fake cluster and the controller's tick.
pub struct Cluster {
    pub server: FakeApiServer,
    pub kubelet: FakeKubelet,
    pub prometheus: FakePrometheus,
    pub client: kube::Client,
    pub metrics: Arc<ControllerMetrics>,
    healthy: Arc<AtomicBool>,
    overrides: Overrides,
    ticker: EngineTicker,
    flags: Flags,
}

impl Cluster {
    /// A cluster with the controller started with `flags` (Go spellings),
    /// and `-metrics-server` pointing at the fake Prometheus.
    pub async fn start(flags: &[&str]) -> Cluster {
        let server = FakeApiServer::start()
            .await
            .expect("the fake API server starts");
        let kubelet = FakeKubelet::start(
            server.store(),
            KubeletOptions {
                ready_after: READY_AFTER,
                ..KubeletOptions::default()
            },
        )
        .expect("the fake kubelet starts");
        let prometheus = FakePrometheus::start()
            .await
            .expect("the fake Prometheus starts");
        let healthy = Arc::new(AtomicBool::new(true));
        let answers = Arc::clone(&healthy);
        let overrides: Overrides = Arc::default();
        let scripted = Arc::clone(&overrides);
        // The builtin queries: success rates in percent; p99 durations in
        // milliseconds, or in seconds from the HTTP observer's histogram
        // (kubernetes and Gateway API providers), which weir converts.
        prometheus.set_responder(move |query| {
            // The providers' availability check (`vector(1)`) is evaluated.
            if query.trim() == "vector(1)" {
                return None;
            }
            let scripted = scripted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, value)) = scripted
                .iter()
                .find(|(part, _)| query.contains(part.as_str()))
            {
                return Some(sample(*value));
            }
            let healthy = answers.load(Ordering::SeqCst);
            let milliseconds = if healthy { 120.0 } else { 900.0 };
            Some(sample(if !query.contains("histogram_quantile") {
                if healthy { 99.9 } else { 80.0 }
            } else if query.contains("http_request_duration_seconds_bucket") {
                milliseconds / 1000.0
            } else {
                milliseconds
            }))
        });
        let metrics_server = format!("-metrics-server={}", prometheus.url());
        let mut args = vec!["weir-controller".to_owned(), metrics_server];
        args.extend(flags.iter().map(|flag| (*flag).to_owned()));
        let flags = Flags::parse_go(args).expect("valid flags");
        let client = server.client().expect("a client for the fake API server");
        let metrics = ControllerMetrics::new("test", flags.mesh_provider.as_str());
        let ticker = new_ticker(&flags, &client, &metrics).await;
        Cluster {
            server,
            kubelet,
            prometheus,
            client,
            metrics,
            healthy,
            overrides,
            ticker,
            flags,
        }
    }

    /// Makes the builtin metrics pass or fail from now on.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Answers queries containing `part` with `value` from now on, before
    /// the builtin answers.
    pub fn answer(&self, part: &str, value: f64) {
        self.overrides
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((part.to_owned(), value));
    }

    /// Forgets everything the controller had in memory, as a restarted
    /// controller would: new clients, caches and ticker; the cluster stays.
    pub async fn restart_controller(&mut self) {
        self.client = self.server.client().expect("a new client");
        self.metrics = ControllerMetrics::new("test", self.flags.mesh_provider.as_str());
        self.ticker = new_ticker(&self.flags, &self.client, &self.metrics).await;
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), NAMESPACE)
    }

    pub async fn create<K>(&self, object: &K)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        self.api::<K>()
            .create(&PostParams::default(), object)
            .await
            .expect("the object is created");
    }

    /// Changes podinfo's image, as `kubectl set image` would.
    pub async fn set_image(&self, tag: &str) {
        let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [{
            "name": "podinfod",
            "image": format!("ghcr.io/stefanprodan/podinfo:{tag}")
        }]}}}});
        self.api::<Deployment>()
            .patch("podinfo", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("the image is changed");
    }

    pub async fn canary(&self) -> Option<Canary> {
        self.api::<Canary>()
            .get_opt("podinfo")
            .await
            .expect("the Canary can be read")
    }

    pub async fn status(&self) -> CanaryStatus {
        self.canary()
            .await
            .and_then(|canary| canary.status)
            .unwrap_or_default()
    }

    /// One tick of the Canary, as its scheduler job runs it.
    pub async fn tick(&self) -> Option<TickOutcome> {
        let canary = self
            .ticker
            .fetch(NAMESPACE, "podinfo")
            .await
            .expect("the Canary can be fetched")?;
        let guard = Arc::new(tokio::sync::Mutex::new(())).lock_owned().await;
        Some(
            self.ticker
                .tick(canary, guard)
                .await
                .expect("the tick runs"),
        )
    }

    /// Ticks until `done` holds for the status, at most `ticks` times,
    /// waiting a little between ticks for the kubelet; returns the status
    /// after every tick.
    pub async fn tick_until(
        &self,
        ticks: usize,
        done: impl Fn(&CanaryStatus) -> bool,
    ) -> Vec<CanaryStatus> {
        let mut seen = Vec::new();
        for _ in 0..ticks {
            self.tick().await;
            let status = self.status().await;
            let finished = done(&status);
            seen.push(status);
            if finished {
                return seen;
            }
            tokio::time::sleep(BETWEEN_TICKS).await;
        }
        let events = self.event_messages().await;
        panic!(
            "not done after {ticks} ticks; statuses: {:#?}\nevents: {events:#?}",
            seen.iter()
                .map(|status| (status.phase, status.canary_weight, status.failed_checks))
                .collect::<Vec<_>>()
        );
    }

    /// Ticks until the Canary is in `phase`.
    pub async fn tick_until_phase(&self, ticks: usize, phase: CanaryPhase) -> Vec<CanaryStatus> {
        self.tick_until(ticks, |status| status.phase == phase).await
    }

    /// The messages of the events recorded about the Canary, oldest first
    /// (event names end in their creation time, in hex nanoseconds).
    pub async fn event_messages(&self) -> Vec<String> {
        let mut events: Vec<k8s_openapi::api::core::v1::Event> = self
            .server
            .store()
            .list(Some(NAMESPACE))
            .expect("events can be listed");
        let created = |event: &k8s_openapi::api::core::v1::Event| {
            event
                .metadata
                .name
                .as_deref()
                .and_then(|name| name.rsplit_once('.'))
                .and_then(|(_, nanos)| u128::from_str_radix(nanos, 16).ok())
                .unwrap_or_default()
        };
        events.sort_by_key(created);
        events
            .into_iter()
            .filter(|event| event.involved_object.name.as_deref() == Some("podinfo"))
            .filter_map(|event| event.message)
            .collect()
    }

    /// Initializes the Canary for podinfo `1.0.0` with `provider`.
    pub async fn initialized(provider: &str, flags: &[&str], extra: serde_json::Value) -> Cluster {
        let cluster = Cluster::start(flags).await;
        cluster.create(&podinfo("1.0.0")).await;
        cluster.create(&canary(provider, extra)).await;
        cluster.tick_until_phase(10, CanaryPhase::Initialized).await;
        cluster
    }
}

async fn new_ticker(
    flags: &Flags,
    client: &kube::Client,
    metrics: &Arc<ControllerMetrics>,
) -> EngineTicker {
    let (watches, _changed) = weir_controller::controller::watch(client, None)
        .await
        .expect("the watches start");
    let context = Context::from_flags(
        flags,
        client.clone(),
        client.clone(),
        watches.caches,
        Arc::clone(metrics),
    )
    .expect("a controller context");
    EngineTicker::new(Arc::new(context))
}

/// What a Gateway API implementation does for weir: it accepts every
/// HTTPRoute and reports the generation it has seen, which the router
/// checks before it trusts the route's weights (§9.2). Runs until the
/// store is dropped.
pub fn spawn_gateway_controller(store: &weir_fakes_kube::Store) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut changes = store.subscribe();
        loop {
            let routes = store
                .list_values("gateway.networking.k8s.io/v1", "HTTPRoute", Some(NAMESPACE))
                .unwrap_or_default();
            for route in routes {
                let generation = route["metadata"]["generation"].as_i64().unwrap_or(1);
                let parents = route["spec"]["parentRefs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let status = serde_json::json!({"parents": parents.iter().map(|parent| serde_json::json!({
                    "parentRef": parent,
                    "controllerName": "example.com/gateway",
                    "conditions": [{
                        "type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
                        "observedGeneration": generation,
                        "lastTransitionTime": "2026-01-01T00:00:00Z"
                    }]
                })).collect::<Vec<_>>()});
                if route["status"] != status {
                    let name = route["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = store.edit_value(
                        "gateway.networking.k8s.io/v1",
                        "HTTPRoute",
                        NAMESPACE,
                        &name,
                        |route| route["status"] = status,
                    );
                }
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
}
