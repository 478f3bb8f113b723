//! How fast the engine runs a whole rollout against in-memory ports.
//!
//! Threshold tuning (a later issue) sweeps ~150,000 simulated rollouts in a
//! minute on two cores, so one rollout must cost well under a millisecond, and
//! the simulator wants ≥10,000 rollouts per second on one core including its
//! own sampling, so the engine's share should stay around 25 µs.
//!
//! Three benches of the same rollout: through `weir-fakes`' Harness (which
//! records every call and clones the Canary per tick, as tests want), and
//! twice with minimal hand-written ports, so the engine's own cost is measured
//! without the harness's bookkeeping: once with [`advance`] and a store that
//! keeps a copy of each written status (what the simulator does today), once
//! with [`advance_in_place`], which leaves the written status in the driver's
//! Canary so the store copies nothing.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use std::hint::black_box;
use weir_api::analysis::CrossNamespaceRef;
use weir_api::{Canary, CanaryMetric, CanaryPhase, CanaryStatus, CanaryWebhook};
use weir_engine::ports::{
    Alerts, Clock, DeploymentState, Entropy, Event, Events, MetricOutcome, Metrics, NoTelemetry,
    Notification, PortError, Revision, Role, Routes, Routing, Scalers, StatusStore, WebhookPayload,
    Webhooks, WorkloadState, Workloads,
};
use weir_engine::{EngineConfig, Ports, advance, advance_in_place};
use weir_fakes::Harness;

fn podinfo() -> Canary {
    serde_saphyr::from_str(
        r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 5
    metrics:
    - {name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}
    - {name: request-duration, thresholdRange: {max: 500}, interval: 1m}
    webhooks:
    - {name: load-test, url: "http://flagger-loadtester.test/", metadata: {cmd: "hey -z 1m"}}
"#,
    )
    .expect("valid canary")
}

fn full_rollout(c: &mut Criterion) {
    let canary = podinfo();
    c.bench_function("engine/full canary rollout (15 ticks)", |b| {
        b.iter(|| {
            let mut harness = Harness::new(black_box(canary.clone()));
            harness.initialize();
            harness.world.cluster.deploy("v2");
            while harness.tick().phase != CanaryPhase::Succeeded {}
            black_box(harness.history.len())
        });
    });
}

/// The smallest world that rolls a canary out: ready workloads, a router that
/// keeps its weights, healthy metrics, open webhooks. The ports record nothing
/// but what the next tick needs (routes, the written status), so the bench
/// measures the engine and not the ports.
mod direct {
    use super::*;

    pub(crate) struct Cluster {
        pub(crate) ready: WorkloadState,
        pub(crate) spec_hash: &'static str,
        pub(crate) tracked: BTreeMap<String, String>,
    }

    impl Workloads for Cluster {
        fn ensure_primary(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn state(&mut self, _: &Canary, _: Role) -> Result<WorkloadState, PortError> {
            Ok(self.ready.clone())
        }
        fn revision(&mut self, _: &Canary) -> Result<Revision, PortError> {
            Ok(Revision {
                spec_hash: self.spec_hash.to_owned(),
                tracked_configs: Some(self.tracked.clone()),
            })
        }
        fn promote(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn scale_to_zero(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn scale_from_zero(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn revert(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
    }

    pub(crate) struct Nothing;

    impl Scalers for Nothing {
        fn reconcile_primary(&mut self, _: &Canary, _: bool) -> Result<(), PortError> {
            Ok(())
        }
        fn pause_target(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn resume_target(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
    }

    impl Webhooks for Nothing {
        fn call(&mut self, _: &CanaryWebhook, _: &WebhookPayload) -> Result<(), PortError> {
            Ok(())
        }
        fn call_event(&mut self, _: &CanaryWebhook, _: &WebhookPayload) -> Result<(), PortError> {
            Ok(())
        }
    }

    impl Alerts for Nothing {
        fn send(&mut self, _: &CrossNamespaceRef, _: &Notification) -> Result<(), PortError> {
            Ok(())
        }
        fn send_global(&mut self, _: &Notification) -> Result<(), PortError> {
            Ok(())
        }
    }

    impl Entropy for Nothing {
        fn letters(&mut self, count: usize) -> String {
            "a".repeat(count)
        }
    }

    pub(crate) struct Router(pub(crate) Routes);

    impl Routing for Router {
        fn reconcile_services(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn reconcile_apex(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn reconcile_mesh(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
        fn routes(&mut self, _: &Canary) -> Result<Routes, PortError> {
            Ok(self.0)
        }
        fn set_routes(&mut self, _: &Canary, routes: Routes) -> Result<(), PortError> {
            self.0 = routes;
            Ok(())
        }
        fn finalize(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
    }

    pub(crate) struct Healthy;

    impl Metrics for Healthy {
        fn evaluate(&mut self, _: &Canary, metric: &CanaryMetric, _: &str) -> MetricOutcome {
            MetricOutcome::Value(if metric.name == "request-duration" {
                120.0
            } else {
                99.9
            })
        }
    }

    /// Counts event bytes, so the messages are not optimised away.
    pub(crate) struct EventCount(pub(crate) usize);

    impl Events for EventCount {
        fn record(&mut self, _: &Canary, event: &Event) {
            self.0 += event.message.len();
        }
    }

    pub(crate) struct VirtualClock(pub(crate) Timestamp);

    impl Clock for VirtualClock {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    /// With [`advance`]: keeps the last written status for the driver to
    /// store. With [`advance_in_place`] the driver's Canary already holds it,
    /// so the store only counts writes.
    pub(crate) struct Store {
        pub(crate) in_place: bool,
        pub(crate) written: Option<CanaryStatus>,
        pub(crate) writes: usize,
    }

    impl StatusStore for Store {
        fn write_status(&mut self, canary: &Canary) -> Result<(), PortError> {
            self.writes += 1;
            if !self.in_place {
                self.written.clone_from(&canary.status);
            }
            Ok(())
        }
        fn remove_finalizer(&mut self, _: &Canary) -> Result<(), PortError> {
            Ok(())
        }
    }

    pub(crate) struct World {
        pub(crate) cluster: Cluster,
        pub(crate) router: Router,
        pub(crate) events: EventCount,
        pub(crate) clock: VirtualClock,
        pub(crate) store: Store,
    }

    impl World {
        pub(crate) fn new(in_place: bool) -> World {
            World {
                cluster: Cluster {
                    ready: WorkloadState::Deployment(DeploymentState {
                        name: "podinfo".to_owned(),
                        generation: 1,
                        observed_generation: 1,
                        desired_replicas: Some(1),
                        replicas: 1,
                        updated_replicas: 1,
                        available_replicas: 1,
                        progress_deadline_exceeded: false,
                        has_progressing_condition: true,
                        unavailable_since: None,
                    }),
                    spec_hash: "v1",
                    tracked: BTreeMap::new(),
                },
                router: Router(Routes::ALL_PRIMARY),
                events: EventCount(0),
                clock: VirtualClock(Timestamp::from_second(1_800_000_000).expect("valid time")),
                store: Store {
                    in_place,
                    written: None,
                    writes: 0,
                },
            }
        }

        /// One tick, as a simulator drives it: the stored Canary in, the
        /// written status back into it, the clock on by the requeue interval.
        pub(crate) fn tick(&mut self, canary: &mut Canary, config: &EngineConfig) -> CanaryPhase {
            let in_place = self.store.in_place;
            let mut ports = Ports {
                workloads: &mut self.cluster,
                scalers: &mut Nothing,
                routing: &mut self.router,
                metrics: &mut Healthy,
                webhooks: &mut Nothing,
                alerts: &mut Nothing,
                events: &mut self.events,
                clock: &self.clock,
                status: &mut self.store,
                entropy: &mut Nothing,
                telemetry: &mut NoTelemetry,
            };
            let outcome = if in_place {
                advance_in_place(canary, config, &mut ports)
            } else {
                let outcome = advance(canary, config, &mut ports);
                if let Some(status) = self.store.written.take() {
                    canary.status = Some(status);
                }
                outcome
            };
            self.clock.0 = self
                .clock
                .0
                .checked_add(SignedDuration::try_from(outcome.requeue_after).expect("fits"))
                .expect("in range");
            canary
                .status
                .as_ref()
                .map(|status| status.phase)
                .unwrap_or_default()
        }
    }
}

/// One rollout with the minimal ports: initialize, deploy `v2`, run to Succeeded.
fn direct_rollout(canary: &Canary, config: &EngineConfig, in_place: bool) -> (Canary, usize) {
    let mut canary = canary.clone();
    let mut world = direct::World::new(in_place);
    let mut ticks = 1;
    while world.tick(&mut canary, config) != CanaryPhase::Initialized {
        ticks += 1;
        assert!(ticks < 10, "did not initialize");
    }
    world.cluster.spec_hash = "v2";
    loop {
        ticks += 1;
        if world.tick(&mut canary, config) == CanaryPhase::Succeeded {
            break;
        }
        assert!(ticks < 40, "did not succeed");
    }
    assert!(world.events.0 > 0 && world.store.writes > 0);
    (canary, ticks)
}

/// The engine alone: `advance` and `advance_in_place` with ports that do
/// nothing but keep routes and status.
fn direct_rollouts(c: &mut Criterion) {
    let canary = podinfo();
    let config = EngineConfig::default();
    // Both ways end in the same place, after the same 15 ticks as the harness.
    let (copied, ticks) = direct_rollout(&canary, &config, false);
    let (in_place, in_place_ticks) = direct_rollout(&canary, &config, true);
    assert_eq!(ticks, 15);
    assert_eq!((in_place.status, in_place_ticks), (copied.status, ticks));
    c.bench_function(
        "engine/direct advance: full canary rollout (15 ticks)",
        |b| {
            b.iter(|| direct_rollout(black_box(&canary), &config, false).1);
        },
    );
    c.bench_function(
        "engine/direct advance_in_place: full canary rollout (15 ticks)",
        |b| {
            b.iter(|| direct_rollout(black_box(&canary), &config, true).1);
        },
    );
}

// No plots: criterion's charts need system fonts, which plotters (built with
// ab_glyph for weir's own charts) does not look up.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = full_rollout, direct_rollouts
}
criterion_main!(benches);
