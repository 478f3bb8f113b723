//! One tick of one Canary: the engine with every port wired to the cluster
//! and the outside world.
//!
//! ```text
//!   fetch: GET the Canary (not the cache: the last tick's status write is in it)
//!   tick:  prefetch Secrets ─▶ blocking thread: weir_engine::advance(canary, config, ports)
//!            workloads, scalers ─▶ KubeWorkloads      routing ─▶ KubeRouting
//!            metrics ─▶ ProviderMetrics               webhooks ─▶ HttpWebhooks
//!            alerts ─▶ HttpAlerts                     events ─▶ KubeEvents
//!            status ─▶ KubeStatus                     telemetry ─▶ flagger_* metrics, logs
//! ```
//!
//! The engine's ports are synchronous; the tick runs on a blocking thread
//! and every port call bridges to the async clients on the runtime.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use tokio::runtime::Handle;
use weir_alerts::{ClientCache, HttpAlerts, Notifier};
use weir_api::{Canary, CanaryPhase};
use weir_engine::ports::{Clock, Entropy, Events, Ports, Workloads};
use weir_engine::{EngineConfig, TickOutcome};
use weir_http::Bridge;
use weir_metrics::{MetricsSettings, ProviderContext, ProviderMetrics};
use weir_webhooks::{HttpWebhooks, WebhookClient};

use crate::cluster::{KubeRouting, KubeWorkloads, RoutingSettings};
use crate::events::{EventCache, KubeEvents};
use crate::flags::Flags;
use crate::objects::{Caches, TickObjects};
use crate::scheduler::{TickGuard, Ticker};
use crate::status::KubeStatus;
use crate::telemetry::ControllerMetrics;

/// Everything ticks share, built once at startup.
pub struct Context {
    pub client: kube::Client,
    /// Where routing objects go (`-kubeconfig-service-mesh`), usually `client`.
    pub mesh_client: kube::Client,
    pub engine: EngineConfig,
    pub metrics_settings: MetricsSettings,
    pub workloads: weir_workloads::Options,
    pub routing: RoutingSettings,
    /// `-no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    pub caches: Caches,
    pub metrics: Arc<ControllerMetrics>,
    pub providers: ProviderContext,
    pub webhooks: WebhookClient,
    pub global_notifier: Option<Notifier>,
    pub alert_clients: ClientCache,
    /// This controller instance, for events (the pod name).
    pub instance: Option<String>,
    /// Events recorded lately, to fold repeats.
    pub events: EventCache,
}

impl Context {
    /// The context the flags describe.
    pub fn from_flags(
        flags: &Flags,
        client: kube::Client,
        mesh_client: kube::Client,
        caches: Caches,
        metrics: Arc<ControllerMetrics>,
    ) -> anyhow::Result<Context> {
        Ok(Context {
            client,
            mesh_client,
            engine: EngineConfig {
                mesh_provider: flags.mesh_provider,
                event_webhook: Some(flags.event_webhook.clone()).filter(|url| !url.is_empty()),
                cluster_name: Some(flags.cluster_name.clone()).filter(|name| !name.is_empty()),
            },
            metrics_settings: MetricsSettings {
                metrics_server: flags.metrics_server.clone(),
                mesh_provider: flags.mesh_provider,
            },
            workloads: weir_workloads::Options::from_flags(
                &flags.selector_labels,
                &flags.include_label_prefix,
                flags.enable_config_tracking,
            )
            .context("-selector-labels")?,
            routing: RoutingSettings {
                mesh_provider: flags.mesh_provider,
                ingress_annotations_prefix: flags.ingress_annotations_prefix.clone(),
                ingress_class: Some(flags.ingress_class.clone()).filter(|class| !class.is_empty()),
                // Objects in another cluster cannot be owned by the Canary.
                owner_references: flags.kubeconfig_service_mesh.is_empty(),
            },
            no_cross_namespace_refs: flags.no_cross_namespace_refs,
            caches,
            metrics,
            providers: ProviderContext::new(weir_metrics::provider::ClusterEndpoint::in_cluster())
                .context("metric provider clients")?,
            webhooks: WebhookClient::new().context("webhook client")?,
            global_notifier: flags
                .notifier()
                .build()
                .context("the global notifier (-slack-* / -msteams-* flags)")?,
            alert_clients: ClientCache::new(weir_alerts::DEFAULT_TIMEOUT),
            instance: std::env::var("HOSTNAME")
                .ok()
                .filter(|host| !host.is_empty()),
            events: EventCache::default(),
        })
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("engine", &self.engine)
            .field("workloads", &self.workloads)
            .finish_non_exhaustive()
    }
}

/// The wall clock, as the engine reads it.
#[derive(Clone, Copy, Debug)]
struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Random letters for session-affinity cookies.
#[derive(Clone, Copy, Debug)]
struct RandomEntropy;

impl Entropy for RandomEntropy {
    fn letters(&mut self, count: usize) -> String {
        use rand::RngExt;
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut rng = rand::rng();
        (0..count)
            .map(|_| char::from(LETTERS[rng.random_range(0..LETTERS.len())]))
            .collect()
    }
}

/// Ticks Canaries against the cluster.
#[derive(Debug)]
pub struct EngineTicker {
    context: Arc<Context>,
}

impl EngineTicker {
    pub fn new(context: Arc<Context>) -> EngineTicker {
        EngineTicker { context }
    }

    fn events(&self, bridge: Bridge) -> KubeEvents {
        KubeEvents::new(
            self.context.client.clone(),
            self.context.instance.clone(),
            self.context.events.clone(),
            bridge,
        )
    }
}

/// References to other namespaces, refused under `-no-cross-namespace-refs`.
fn cross_namespace_references(canary: &Canary) -> Vec<String> {
    let namespace = canary.namespace();
    let foreign =
        |other: Option<&String>| other.is_some_and(|other| !other.is_empty() && other != namespace);
    let analysis = canary.spec.analysis();
    let mut found = Vec::new();
    for metric in &analysis.metrics {
        if let Some(reference) = &metric.template_ref
            && foreign(reference.namespace.as_ref())
        {
            found.push(format!("metric {} templateRef", metric.name));
        }
    }
    for alert in &analysis.alerts {
        if foreign(alert.provider_ref.namespace.as_ref()) {
            found.push(format!("alert {} providerRef", alert.name));
        }
    }
    found
}

/// Takes over a status Flagger wrote: Flagger's revision hashes (Go spew
/// dumps) cannot be reproduced, so they are replaced by weir's hash of the
/// target as it is now. A running analysis goes on; a finished one is not
/// started again. `None` when the status is weir's already.
fn adopt_flagger_status(canary: &Canary, workloads: &mut KubeWorkloads) -> Option<Canary> {
    let status = canary.status.as_ref()?;
    let foreign = |hash: &str| !hash.is_empty() && !weir_workloads::is_weir_hash(hash);
    if !foreign(&status.last_applied_spec) && !foreign(&status.last_promoted_spec) {
        return None;
    }
    let revision = workloads.revision(canary).ok()?;
    let mut adopted = canary.clone();
    let status = adopted.status.as_mut()?;
    if foreign(&status.last_applied_spec) {
        status.last_applied_spec = revision.spec_hash.clone();
    }
    if foreign(&status.last_promoted_spec) {
        // The promoted spec is the one running, unless a run failed.
        status.last_promoted_spec = match status.phase {
            CanaryPhase::Failed => String::new(),
            _ => revision.spec_hash.clone(),
        };
    }
    if status.tracked_configs.is_some() {
        status.tracked_configs = revision.tracked_configs;
    }
    Some(adopted)
}

impl Ticker for EngineTicker {
    async fn fetch(&self, namespace: &str, name: &str) -> Result<Option<Canary>, String> {
        Api::<Canary>::namespaced(self.context.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|error| error.to_string())
    }

    async fn tick(&self, canary: Canary, guard: TickGuard) -> Result<TickOutcome, String> {
        let context = Arc::clone(&self.context);
        let objects = TickObjects::prefetch(&context.client, &context.caches, &canary).await;
        let handle = Handle::current();
        let outcome = tokio::task::spawn_blocking(move || {
            // Held until the tick is over, even if its job is replaced.
            let _guard = guard;
            let started = Instant::now();
            let bridge = Bridge::new(handle);
            let namespace = canary.namespace().to_owned();
            let mut workloads = KubeWorkloads::new(context.client.clone(), bridge.clone(), context.workloads.clone());
            let mut status = KubeStatus::new(context.client.clone(), &namespace, bridge.clone());
            let mut events = KubeEvents::new(context.client.clone(), context.instance.clone(), context.events.clone(), bridge.clone());
            let mut canary = canary;
            if context.no_cross_namespace_refs {
                let foreign = cross_namespace_references(&canary);
                if !foreign.is_empty() {
                    events.record(
                        &canary,
                        &weir_engine::ports::Event {
                            event_type: weir_engine::ports::EventType::Warning,
                            message: format!(
                                "-no-cross-namespace-refs forbids references to other namespaces: {}",
                                foreign.join(", ")
                            ),
                            phase: canary.status.as_ref().map(|status| status.phase).unwrap_or_default(),
                        },
                    );
                    return TickOutcome {
                        decision: weir_engine::Decision::Invalid,
                        requeue_after: canary.spec.analysis().interval_or_default(),
                    };
                }
            }
            if let Some(adopted) = adopt_flagger_status(&canary, &mut workloads) {
                use weir_engine::ports::StatusStore;
                match status.write_status(&adopted) {
                    Ok(()) => {
                        tracing::info!(
                            canary = %format!("{}.{}", canary.name(), namespace),
                            "adopted the status Flagger wrote: revision hashes are weir's from now on"
                        );
                        canary = adopted;
                    }
                    Err(error) => tracing::warn!("cannot adopt Flagger's status: {error}"),
                }
            }
            let mut scalers = workloads.clone();
            let mut routing = KubeRouting::new(
                context.client.clone(),
                context.mesh_client.clone(),
                bridge.clone(),
                context.workloads.clone(),
                context.routing.clone(),
            );
            let mut metrics = ProviderMetrics::new(
                objects.clone(),
                context.metrics_settings.clone(),
                context.providers.clone(),
                bridge.clone(),
            );
            let mut webhooks = HttpWebhooks::new(context.webhooks.clone(), bridge.clone());
            let mut alerts = HttpAlerts::new(objects, bridge.clone(), context.global_notifier.clone())
                .with_clients(context.alert_clients.clone());
            let mut entropy = RandomEntropy;
            let mut telemetry = context.metrics.telemetry();
            let clock = WallClock;
            let mut ports = Ports {
                workloads: &mut workloads,
                scalers: &mut scalers,
                routing: &mut routing,
                metrics: &mut metrics,
                webhooks: &mut webhooks,
                alerts: &mut alerts,
                events: &mut events,
                clock: &clock,
                status: &mut status,
                entropy: &mut entropy,
                telemetry: &mut telemetry,
            };
            let outcome = weir_engine::advance(&canary, &context.engine, &mut ports);
            context.metrics.observe_tick(&canary, started.elapsed());
            tracing::debug!(
                canary = %format!("{}.{}", canary.name(), namespace),
                decision = ?outcome.decision,
                "tick"
            );
            outcome
        })
        .await
        .map_err(|error| format!("the tick panicked or was cancelled: {error}"))?;
        Ok(outcome)
    }

    async fn reject(&self, canary: &Canary, message: String) {
        let canary = canary.clone();
        let handle = Handle::current();
        let events = self.events(Bridge::new(handle));
        let _ = tokio::task::spawn_blocking(move || {
            let mut events = events;
            let phase = canary
                .status
                .as_ref()
                .map(|status| status.phase)
                .unwrap_or_default();
            events.record(
                &canary,
                &weir_engine::ports::Event {
                    event_type: weir_engine::ports::EventType::Warning,
                    message,
                    phase,
                },
            );
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_other_namespaces_are_listed() {
        let canary: Canary = serde_json::from_value(serde_json::json!({
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                "service": {"port": 9898},
                "analysis": {
                    "interval": "1m", "threshold": 5, "stepWeight": 10,
                    "metrics": [
                        {"name": "same", "templateRef": {"name": "t", "namespace": "test"}},
                        {"name": "other", "templateRef": {"name": "t", "namespace": "monitoring"}},
                        {"name": "default", "templateRef": {"name": "t"}}
                    ],
                    "alerts": [{"name": "slack", "providerRef": {"name": "p", "namespace": "ops"}}]
                }
            }
        }))
        .expect("a valid canary");
        assert_eq!(
            cross_namespace_references(&canary),
            ["metric other templateRef", "alert slack providerRef"]
        );
    }
}
