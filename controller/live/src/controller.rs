//! The controller's main loop: watch Canaries, MetricTemplates and
//! AlertProviders (Flagger's informers), keep the finalizers right, and keep
//! one job per Canary running.
//!
//! ```text
//!   watchers ──▶ stores (Canary, MetricTemplate, AlertProvider)
//!                   │  a Canary changed, or every -control-loop-interval
//!                   ▼
//!   sync: finalizers (revertOnDeletion) · flagger_canary_total · scheduler.sync(canaries)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::api::{Api, ListParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::Notify;
use weir_api::{AlertProvider, Canary, MetricTemplate};

use crate::objects::Caches;
use crate::scheduler::{Scheduler, Ticker};
use crate::status::{FINALIZER, set_finalizer};
use crate::telemetry::ControllerMetrics;

/// Why the controller cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("the {kind} CRD is not registered (install deploy/crds/crd.yaml): {source}")]
    MissingCrd {
        kind: &'static str,
        source: kube::Error,
    },
    #[error("the watch of {kind}s ended before its first list: {message}")]
    Watch { kind: &'static str, message: String },
}

/// Changes to Canaries are folded into one sync per this long: a rollout's
/// status writes would otherwise sync on every write.
const SYNC_DEBOUNCE: Duration = Duration::from_millis(500);

/// The watched objects.
#[derive(Clone, Debug)]
pub struct Watches {
    pub canaries: Store<Canary>,
    pub caches: Caches,
}

fn api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// Fails fast, as Flagger does, when weir's CRDs are not installed.
pub async fn verify_crds(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<(), ControllerError> {
    let one = ListParams::default().limit(1);
    api::<Canary>(client, namespace)
        .list(&one)
        .await
        .map_err(|source| ControllerError::MissingCrd {
            kind: "Canary",
            source,
        })?;
    api::<MetricTemplate>(client, namespace)
        .list(&one)
        .await
        .map_err(|source| ControllerError::MissingCrd {
            kind: "MetricTemplate",
            source,
        })?;
    api::<AlertProvider>(client, namespace)
        .list(&one)
        .await
        .map_err(|source| ControllerError::MissingCrd {
            kind: "AlertProvider",
            source,
        })?;
    Ok(())
}

/// Starts watching the three kinds; returns their stores once each has
/// listed its objects, and the notifier poked on every Canary change.
pub async fn watch(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<(Watches, Arc<Notify>), ControllerError> {
    let changed = Arc::new(Notify::new());
    let canaries = spawn_reflector::<Canary>(client, namespace, Some(Arc::clone(&changed)));
    let templates = spawn_reflector::<MetricTemplate>(client, namespace, None);
    let providers = spawn_reflector::<AlertProvider>(client, namespace, None);
    for (kind, ready) in [
        ("Canary", canaries.wait_until_ready().await),
        ("MetricTemplate", templates.wait_until_ready().await),
        ("AlertProvider", providers.wait_until_ready().await),
    ] {
        ready.map_err(|error| ControllerError::Watch {
            kind,
            message: error.to_string(),
        })?;
    }
    Ok((
        Watches {
            canaries,
            caches: Caches {
                templates,
                providers,
            },
        },
        changed,
    ))
}

fn spawn_reflector<K>(
    client: &kube::Client,
    namespace: Option<&str>,
    changed: Option<Arc<Notify>>,
) -> Store<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (store, writer) = reflector::store();
    let stream = watcher(api::<K>(client, namespace), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .touched_objects();
    tokio::spawn(drive(stream, changed));
    store
}

async fn drive<K>(
    stream: impl Stream<Item = Result<K, watcher::Error>> + Send,
    changed: Option<Arc<Notify>>,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(_) => {
                if let Some(changed) = &changed {
                    changed.notify_one();
                }
            }
            // The watcher backs off and retries by itself.
            Err(error) => tracing::warn!("watch error: {error}"),
        }
    }
}

/// Syncs the scheduler with the watched Canaries until `shutdown`.
pub async fn run<T: Ticker>(
    client: kube::Client,
    watches: Watches,
    changed: Arc<Notify>,
    scheduler: &mut Scheduler<T>,
    metrics: Arc<ControllerMetrics>,
    control_loop_interval: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut interval = tokio::time::interval(control_loop_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = interval.tick() => {}
            () = changed.notified() => tokio::time::sleep(SYNC_DEBOUNCE).await,
        }
        let canaries: Vec<Canary> = watches
            .canaries
            .state()
            .into_iter()
            .map(Arc::unwrap_or_clone)
            .collect();
        sync_finalizers(&client, &canaries).await;
        let mut per_namespace: BTreeMap<&str, usize> = BTreeMap::new();
        for canary in &canaries {
            *per_namespace.entry(canary.namespace()).or_default() += 1;
        }
        for (namespace, count) in per_namespace {
            metrics.set_canary_total(namespace, count);
        }
        scheduler.sync(&canaries).await;
    }
    scheduler.stop();
}

/// Flagger's finalizer rules: added while `revertOnDeletion` is set,
/// removed as soon as it is turned off (a deleted Canary with the
/// finalizer is finalized by the engine's tick).
async fn sync_finalizers(client: &kube::Client, canaries: &[Canary]) {
    for canary in canaries {
        let has = canary
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|finalizer| finalizer == FINALIZER);
        let wants = canary.spec.revert_on_deletion;
        let deleting = canary.metadata.deletion_timestamp.is_some();
        if has == wants || deleting {
            continue;
        }
        let api: Api<Canary> = Api::namespaced(client.clone(), canary.namespace());
        if let Err(error) = set_finalizer(&api, canary.name(), wants).await {
            tracing::warn!(
                canary = %format!("{}.{}", canary.name(), canary.namespace()),
                "cannot {} the finalizer: {error}",
                if wants { "add" } else { "remove" }
            );
        }
    }
}
