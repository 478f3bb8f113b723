//! Kubernetes events about Canaries, as Flagger records them: core/v1
//! Events with reason `Synced`, source component `flagger`, Normal or
//! Warning, and repeats of one message folded into a count.
//!
//! ```text
//!   record(canary, Normal, "Advance podinfo.test canary weight 10")
//!     seen in the last 10 min? ── no ──▶ POST  <canary>.<hex nanos> {count: 1, first/lastTimestamp}
//!                               └─ yes ─▶ PATCH that Event {count: n+1, lastTimestamp}
//! ```
//!
//! Why not kube-runtime's `Recorder`: it folds events by type, reason and
//! action, not by message, so every `Synced` event of a tick after the
//! first would only bump the first one's count and its message would be
//! lost ("Initialization done!" hidden behind "all the metrics providers
//! are available!"). client-go's recorder, which Flagger uses, folds only
//! identical messages; so does this one. The fold cache is shared by all
//! ticks ([`EventCache`]); a restarted controller starts a new Event for a
//! repeated message, which only costs one more object.
//!
//! A failed event write is logged, never fatal: the tick's decisions do
//! not depend on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams, PostParams};
use weir_api::Canary;
use weir_engine::ports::{Event, EventType, Events};
use weir_http::Bridge;

/// Flagger's event reason for everything it records.
pub const REASON: &str = "Synced";
/// The reporting component, as Flagger names itself in events.
pub const REPORTER: &str = "flagger";
/// client-go's `EventCorrelator` folds a repeated message into the event
/// seen within the last ten minutes (`defaultAggregateIntervalInSeconds`
/// is 600).
const FOLD_WINDOW: Duration = Duration::from_secs(600);
/// Forgets folds of Canaries that stopped recording, so the cache stays
/// small on a controller that runs for months.
const MAX_CACHED: usize = 4096;

/// What makes two events the same: the Canary, the type and the message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FoldKey {
    uid: String,
    namespace: String,
    name: String,
    event_type: &'static str,
    message: String,
}

#[derive(Clone, Debug)]
struct Folded {
    event_name: String,
    count: i32,
    last_seen: Timestamp,
}

/// The events recorded lately, shared by every tick of the controller.
#[derive(Clone, Debug, Default)]
pub struct EventCache {
    folded: Arc<Mutex<HashMap<FoldKey, Folded>>>,
}

impl EventCache {
    fn lookup(&self, key: &FoldKey, now: Timestamp) -> Option<Folded> {
        let mut folded = self.folded.lock().unwrap_or_else(PoisonError::into_inner);
        folded.retain(|_, seen| now.duration_since(seen.last_seen).unsigned_abs() < FOLD_WINDOW);
        folded.get(key).cloned()
    }

    fn remember(&self, key: FoldKey, seen: Folded) {
        let mut folded = self.folded.lock().unwrap_or_else(PoisonError::into_inner);
        if folded.len() >= MAX_CACHED && !folded.contains_key(&key) {
            folded.clear();
        }
        folded.insert(key, seen);
    }
}

/// The events port over the Kubernetes API.
#[derive(Clone)]
pub struct KubeEvents {
    client: kube::Client,
    instance: Option<String>,
    cache: EventCache,
    bridge: Bridge,
}

impl std::fmt::Debug for KubeEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeEvents")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

fn type_name(event_type: EventType) -> &'static str {
    match event_type {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

impl KubeEvents {
    /// Events reported by this controller instance (`instance`: the pod),
    /// folded through `cache`.
    pub fn new(
        client: kube::Client,
        instance: Option<String>,
        cache: EventCache,
        bridge: Bridge,
    ) -> KubeEvents {
        KubeEvents {
            client,
            instance,
            cache,
            bridge,
        }
    }

    async fn publish(&self, canary: &Canary, event: &Event) -> Result<(), kube::Error> {
        let namespace = canary.namespace();
        let api: Api<CoreEvent> = Api::namespaced(self.client.clone(), namespace);
        let now = Timestamp::now();
        let key = FoldKey {
            uid: canary.metadata.uid.clone().unwrap_or_default(),
            namespace: namespace.to_owned(),
            name: canary.name().to_owned(),
            event_type: type_name(event.event_type),
            message: event.message.clone(),
        };
        if let Some(seen) = self.cache.lookup(&key, now) {
            let count = seen.count + 1;
            let patch = serde_json::json!({"count": count, "lastTimestamp": Time(now)});
            match api
                .patch(
                    &seen.event_name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(_) => {
                    self.cache.remember(
                        key,
                        Folded {
                            count,
                            last_seen: now,
                            ..seen
                        },
                    );
                    return Ok(());
                }
                // Deleted meanwhile (events expire after an hour): start anew.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        let object = self.new_event(canary, event, now);
        let created = api.create(&PostParams::default(), &object).await?;
        self.cache.remember(
            key,
            Folded {
                event_name: created.metadata.name.unwrap_or_default(),
                count: 1,
                last_seen: now,
            },
        );
        Ok(())
    }

    /// A core/v1 Event as client-go's recorder writes it.
    fn new_event(&self, canary: &Canary, event: &Event, now: Timestamp) -> CoreEvent {
        let involved: ObjectReference = canary.object_ref(&());
        CoreEvent {
            metadata: ObjectMeta {
                // client-go names events `<object>.<unix nanos in hex>`.
                name: Some(format!("{}.{:x}", canary.name(), now.as_nanosecond())),
                namespace: Some(canary.namespace().to_owned()),
                ..ObjectMeta::default()
            },
            involved_object: involved,
            reason: Some(REASON.to_owned()),
            message: Some(event.message.clone()),
            type_: Some(type_name(event.event_type).to_owned()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            source: Some(EventSource {
                component: Some(REPORTER.to_owned()),
                host: None,
            }),
            reporting_component: Some(REPORTER.to_owned()),
            reporting_instance: self.instance.clone(),
            ..CoreEvent::default()
        }
    }
}

impl Events for KubeEvents {
    fn record(&mut self, canary: &Canary, event: &Event) {
        if let Err(error) = self.bridge.run(self.publish(canary, event)) {
            tracing::warn!(
                canary = %format!("{}.{}", canary.name(), canary.namespace()),
                "cannot record event: {error}"
            );
        }
    }
}
