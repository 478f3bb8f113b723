//! `advance_in_place` must be `advance` on a copy: the same port calls, each
//! seeing the same Canary, and afterwards the status the store holds.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use weir_api::analysis::CrossNamespaceRef;
use weir_api::{Canary, CanaryMetric, CanaryPhase, CanaryStatus, CanaryWebhook};

use super::{EngineConfig, advance, advance_in_place};
use crate::ports::*;

/// The world both drivers tick: ports that fail now and then (status writes
/// included), drawn from a seeded sequence, and log every call with the
/// status the port was shown.
struct World {
    seed: u64,
    trace: Vec<String>,
    routes: Routes,
    spec_hash: String,
    now: Timestamp,
    written: Option<Option<CanaryStatus>>,
}

impl World {
    fn draw(&mut self, below: u64) -> bool {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.seed >> 33) % 100 < below
    }

    fn port(&mut self, what: &str, canary: &Canary) -> Result<(), PortError> {
        let status = serde_json::to_string(&canary.status).expect("serializable");
        self.trace.push(format!("{what} {status}"));
        if self.draw(8) {
            return Err(PortError::new(format!("{what} failed")));
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Shared(Rc<RefCell<World>>);

impl Shared {
    fn port(&self, what: &str, canary: &Canary) -> Result<(), PortError> {
        self.0.borrow_mut().port(what, canary)
    }
}

impl Workloads for Shared {
    fn ensure_primary(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("ensure_primary", canary)
    }
    fn state(&mut self, canary: &Canary, role: Role) -> Result<WorkloadState, PortError> {
        self.port(&format!("state {role:?}"), canary)?;
        let waiting = self.0.borrow_mut().draw(10);
        Ok(if waiting {
            WorkloadState::Flag {
                name: "podinfo".into(),
                ready: false,
            }
        } else {
            WorkloadState::AlwaysReady
        })
    }
    fn revision(&mut self, canary: &Canary) -> Result<Revision, PortError> {
        self.port("revision", canary)?;
        Ok(Revision {
            spec_hash: self.0.borrow().spec_hash.clone(),
            tracked_configs: Some(BTreeMap::new()),
        })
    }
    fn promote(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("promote", canary)
    }
    fn scale_to_zero(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("scale_to_zero", canary)
    }
    fn scale_from_zero(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("scale_from_zero", canary)
    }
    fn revert(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("revert", canary)
    }
}

impl Scalers for Shared {
    fn reconcile_primary(&mut self, canary: &Canary, _: bool) -> Result<(), PortError> {
        self.port("reconcile_primary", canary)
    }
    fn pause_target(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("pause_target", canary)
    }
    fn resume_target(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("resume_target", canary)
    }
}

impl Routing for Shared {
    fn reconcile_services(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("reconcile_services", canary)
    }
    fn reconcile_apex(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("reconcile_apex", canary)
    }
    fn reconcile_mesh(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("reconcile_mesh", canary)
    }
    fn routes(&mut self, canary: &Canary) -> Result<Routes, PortError> {
        self.port("routes", canary)?;
        Ok(self.0.borrow().routes)
    }
    fn set_routes(&mut self, canary: &Canary, routes: Routes) -> Result<(), PortError> {
        self.port(&format!("set_routes {routes:?}"), canary)?;
        self.0.borrow_mut().routes = routes;
        Ok(())
    }
    fn finalize(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("finalize", canary)
    }
}

impl Metrics for Shared {
    fn evaluate(&mut self, canary: &Canary, metric: &CanaryMetric, _: &str) -> MetricOutcome {
        match self.port(&format!("evaluate {}", metric.name), canary) {
            Ok(()) => MetricOutcome::Value(99.5),
            Err(error) => MetricOutcome::Error(error.0),
        }
    }
}

impl Webhooks for Shared {
    fn call(&mut self, hook: &CanaryWebhook, payload: &WebhookPayload) -> Result<(), PortError> {
        let payload = serde_json::to_string(payload).expect("serializable");
        let mut world = self.0.borrow_mut();
        world.trace.push(format!("webhook {} {payload}", hook.name));
        if world.draw(20) {
            return Err(PortError::new("closed"));
        }
        Ok(())
    }
    fn call_event(
        &mut self,
        hook: &CanaryWebhook,
        payload: &WebhookPayload,
    ) -> Result<(), PortError> {
        let payload = serde_json::to_string(payload).expect("serializable");
        self.0
            .borrow_mut()
            .trace
            .push(format!("event webhook {} {payload}", hook.url));
        Ok(())
    }
}

impl Alerts for Shared {
    fn send(&mut self, provider: &CrossNamespaceRef, note: &Notification) -> Result<(), PortError> {
        let line = format!("alert {provider:?} {note:?}");
        self.0.borrow_mut().trace.push(line);
        Ok(())
    }
    fn send_global(&mut self, note: &Notification) -> Result<(), PortError> {
        self.0.borrow_mut().trace.push(format!("alert {note:?}"));
        Ok(())
    }
}

impl Events for Shared {
    fn record(&mut self, canary: &Canary, event: &Event) {
        let _ = self
            .0
            .borrow_mut()
            .port(&format!("event {event:?}"), canary);
    }
}

impl Clock for Shared {
    fn now(&self) -> Timestamp {
        self.0.borrow().now
    }
}

impl StatusStore for Shared {
    fn write_status(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("write_status", canary)?;
        self.0.borrow_mut().written = Some(canary.status.clone());
        Ok(())
    }
    fn remove_finalizer(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.port("remove_finalizer", canary)
    }
}

impl Entropy for Shared {
    fn letters(&mut self, count: usize) -> String {
        let value = "x".repeat(count);
        self.0.borrow_mut().trace.push(format!("letters {value}"));
        value
    }
}

impl Telemetry for Shared {
    fn set_status(&mut self, canary: &Canary, phase: CanaryPhase) {
        let _ = self.port(&format!("set_status {phase:?}"), canary);
    }
    fn interval(&mut self, canary: &Canary, record: &weir_api::AnalysisRecord) {
        let record = serde_json::to_string(record).expect("serializable");
        let _ = self.port(&format!("interval {record}"), canary);
    }
}

fn canary(revert_on_deletion: bool) -> Canary {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "revertOnDeletion": revert_on_deletion,
            "analysis": {
                "interval": "1m", "threshold": 3, "maxWeight": 50, "stepWeight": 20,
                "sessionAffinity": {"cookieName": "canary", "primaryCookieName": "primary"},
                "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}}],
                "webhooks": [
                    {"name": "gate", "type": "confirm-rollout", "url": "http://gate.test/"},
                    {"name": "load", "url": "http://load.test/", "metadata": {"cmd": "hey"}},
                    {"name": "events", "type": "event", "url": "http://events.test/"},
                ],
            },
        },
    }))
    .expect("valid canary")
}

/// Ticks `canary` 40 times, in place or on copies; the trace of every port
/// call and of the stored status after each tick.
fn run(seed: u64, revert_on_deletion: bool, in_place: bool) -> Vec<String> {
    let mut canary = canary(revert_on_deletion);
    let world = Rc::new(RefCell::new(World {
        seed,
        trace: Vec::new(),
        routes: Routes::ALL_PRIMARY,
        spec_hash: "v1".into(),
        now: Timestamp::from_second(1_800_000_000).expect("valid time"),
        written: None,
    }));
    let config = EngineConfig {
        event_webhook: Some("http://global.test/".into()),
        ..EngineConfig::default()
    };
    let mut shared: Vec<Shared> = (0..11).map(|_| Shared(world.clone())).collect();
    for tick in 0..40 {
        if tick == 6 || tick == 22 {
            world.borrow_mut().spec_hash = format!("v{tick}");
        }
        if revert_on_deletion && tick == 30 {
            canary.metadata.deletion_timestamp = Some(Time(world.borrow().now));
        }
        let [w, s, r, m, h, a, e, c, st, en, t] = &mut shared[..] else {
            unreachable!("eleven ports")
        };
        let mut ports = Ports {
            workloads: w,
            scalers: s,
            routing: r,
            metrics: m,
            webhooks: h,
            alerts: a,
            events: e,
            clock: c,
            status: st,
            entropy: en,
            telemetry: t,
        };
        let outcome = if in_place {
            advance_in_place(&mut canary, &config, &mut ports)
        } else {
            advance(&canary, &config, &mut ports)
        };
        let mut world = world.borrow_mut();
        if let Some(written) = world.written.take()
            && !in_place
        {
            canary.status = written;
        }
        let status = serde_json::to_string(&canary.status).expect("serializable");
        world.trace.push(format!("{outcome:?} stored {status}"));
        world.now = world
            .now
            .checked_add(SignedDuration::from_secs(60))
            .expect("in range");
    }
    std::mem::take(&mut world.borrow_mut().trace)
}

#[test]
fn advancing_in_place_is_advancing_a_copy() {
    for seed in 0..20 {
        for revert_on_deletion in [false, true] {
            let copied = run(seed, revert_on_deletion, false);
            let in_place = run(seed, revert_on_deletion, true);
            let first_difference = copied.iter().zip(&in_place).position(|(a, b)| a != b);
            assert_eq!(
                first_difference.map(|at| (&copied[at], &in_place[at])),
                None,
                "seed {seed}"
            );
            assert_eq!(copied.len(), in_place.len(), "seed {seed}");
        }
    }
    // The runs reach what the comparison is about: failed writes, writes
    // before removing the finalizer, cookies and a finished rollout.
    let traces: Vec<String> = (0..20).flat_map(|seed| run(seed, true, false)).collect();
    for expected in [
        "failed to update status",
        "remove_finalizer",
        "letters",
        "Terminated",
        "Succeeded",
    ] {
        assert!(
            traces.iter().any(|line| line.contains(expected)),
            "never saw {expected}"
        );
    }
}
