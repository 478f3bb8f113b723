//! Kubernetes events about Canaries, as Flagger records them: reason
//! `Synced`, reported by `flagger`, Normal or Warning.
//!
//! Events go through kube-runtime's recorder, which writes
//! `events.k8s.io/v1` Events and folds repeats into a series (Flagger's
//! client-go recorder does the same with `core/v1` Events); `kubectl
//! describe canary` shows both kinds. A failed event write is logged, never
//! fatal: the tick's decisions do not depend on it.

use kube::Resource;
use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType, Recorder, Reporter};
use weir_api::Canary;
use weir_engine::ports::{Event, EventType, Events};
use weir_http::Bridge;

/// Flagger's event reason for everything it records.
pub const REASON: &str = "Synced";
/// The reporting controller, as Flagger names itself in events.
pub const REPORTER: &str = "flagger";
/// What the events are about: one analysis step.
const ACTION: &str = "Analysis";

/// The events port over the Kubernetes API.
#[derive(Clone)]
pub struct KubeEvents {
    recorder: Recorder,
    bridge: Bridge,
}

impl std::fmt::Debug for KubeEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeEvents").finish_non_exhaustive()
    }
}

impl KubeEvents {
    /// Events reported by this controller instance (`instance`: the pod).
    pub fn new(client: kube::Client, instance: Option<String>, bridge: Bridge) -> KubeEvents {
        KubeEvents {
            recorder: Recorder::new(
                client,
                Reporter {
                    controller: REPORTER.to_owned(),
                    instance,
                },
            ),
            bridge,
        }
    }
}

impl Events for KubeEvents {
    fn record(&mut self, canary: &Canary, event: &Event) {
        let reference = canary.object_ref(&());
        let event = KubeEvent {
            type_: match event.event_type {
                EventType::Normal => KubeEventType::Normal,
                EventType::Warning => KubeEventType::Warning,
            },
            reason: REASON.to_owned(),
            note: Some(event.message.clone()),
            action: ACTION.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.bridge.run(self.recorder.publish(&event, &reference)) {
            tracing::warn!(
                canary = %format!("{}.{}", canary.name(), canary.namespace()),
                "cannot record event: {error}"
            );
        }
    }
}
