//! Drives the engine tick by tick against the fakes.

use weir_api::{Canary, CanaryPhase, CanaryStatus, Provider};
use weir_engine::ports::{Ports, Routes};
use weir_engine::{Decision, EngineConfig, advance};

use crate::cluster::{FakeCluster, FakeScalers};
use crate::io::{
    FakeAlerts, FakeApi, FakeClock, FakeEntropy, FakeEvents, FakeMetrics, FakeRouter,
    FakeTelemetry, FakeWebhooks, RouterMode,
};

/// Every fake, owned together so that one tick can borrow them all.
#[derive(Debug)]
pub struct World {
    pub cluster: FakeCluster,
    pub scalers: FakeScalers,
    pub router: FakeRouter,
    pub metrics: FakeMetrics,
    pub webhooks: FakeWebhooks,
    pub alerts: FakeAlerts,
    pub events: FakeEvents,
    pub clock: FakeClock,
    pub api: FakeApi,
    pub entropy: FakeEntropy,
    pub telemetry: FakeTelemetry,
}

impl World {
    /// Lends every fake to the engine for one tick.
    pub fn ports(&mut self) -> Ports<'_> {
        Ports {
            workloads: &mut self.cluster,
            scalers: &mut self.scalers,
            routing: &mut self.router,
            metrics: &mut self.metrics,
            webhooks: &mut self.webhooks,
            alerts: &mut self.alerts,
            events: &mut self.events,
            clock: &self.clock,
            status: &mut self.api,
            entropy: &mut self.entropy,
            telemetry: &mut self.telemetry,
        }
    }
}

/// The state after one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct TickRecord {
    pub tick: usize,
    pub decision: Decision,
    pub phase: CanaryPhase,
    /// Routes in the router after the tick.
    pub routes: Routes,
    /// `status.canaryWeight` after the tick.
    pub canary_weight: i32,
    pub failed_checks: i32,
    pub iterations: i32,
    /// Event messages recorded during the tick.
    pub events: Vec<String>,
    /// Webhooks called during the tick, by name.
    pub webhooks: Vec<String>,
    /// Alert messages sent during the tick.
    pub alerts: Vec<String>,
}

/// A Canary, the fakes and the engine's configuration.
#[derive(Debug)]
pub struct Harness {
    pub world: World,
    pub config: EngineConfig,
    pub history: Vec<TickRecord>,
}

impl Harness {
    /// A harness for `canary`, whose target runs spec `v1` and whose
    /// provider (or the global istio) decides the router's behaviour.
    pub fn new(canary: Canary) -> Harness {
        let config = EngineConfig::default();
        let provider = canary.spec.provider.unwrap_or(config.mesh_provider);
        let mut router = FakeRouter::default();
        if provider == Provider::Kubernetes {
            router.mode = RouterMode::KubernetesNoop;
        }
        Harness {
            world: World {
                cluster: FakeCluster::new(&canary.spec.target_ref.name),
                scalers: FakeScalers::default(),
                router,
                metrics: FakeMetrics::default(),
                webhooks: FakeWebhooks::default(),
                alerts: FakeAlerts::default(),
                events: FakeEvents::default(),
                clock: FakeClock::default(),
                api: FakeApi::new(canary),
                entropy: FakeEntropy::default(),
                telemetry: FakeTelemetry::default(),
            },
            config,
            history: Vec::new(),
        }
    }

    /// The Canary as stored.
    pub fn canary(&self) -> &Canary {
        &self.world.api.canary
    }

    /// Edits the stored Canary (what `kubectl edit` does).
    pub fn canary_mut(&mut self) -> &mut Canary {
        &mut self.world.api.canary
    }

    pub fn status(&self) -> CanaryStatus {
        self.canary().status_or_default()
    }

    pub fn phase(&self) -> CanaryPhase {
        self.status().phase
    }

    /// Runs one tick, then moves the clock on by the interval.
    pub fn tick(&mut self) -> TickRecord {
        let events_before = self.world.events.recorded.len();
        let webhooks_before = self.world.webhooks.calls.len();
        let alerts_before = self.world.alerts.sent.len();
        let canary = self.world.api.canary.clone();
        let outcome = advance(&canary, &self.config, &mut self.world.ports());
        self.world.clock.advance(outcome.requeue_after);
        self.world.cluster.next_tick();

        let status = self.status();
        let record = TickRecord {
            tick: self.history.len() + 1,
            decision: outcome.decision,
            phase: status.phase,
            routes: self.world.router.routes,
            canary_weight: status.canary_weight,
            failed_checks: status.failed_checks,
            iterations: status.iterations,
            events: self.world.events.recorded[events_before..]
                .iter()
                .map(|event| event.message.clone())
                .collect(),
            webhooks: self.world.webhooks.calls[webhooks_before..]
                .iter()
                .map(|call| call.name.clone())
                .collect(),
            alerts: self.world.alerts.sent[alerts_before..]
                .iter()
                .map(|call| call.notification.message.clone())
                .collect(),
        };
        self.history.push(record.clone());
        record
    }

    /// Ticks until the Canary is Initialized (at most 10 ticks).
    pub fn initialize(&mut self) -> &mut Self {
        for _ in 0..10 {
            if self.tick().phase == CanaryPhase::Initialized {
                return self;
            }
        }
        panic!("the canary did not initialize: {:#?}", self.history.last());
    }

    /// Ticks until `done` holds for the last record, at most `limit` ticks.
    pub fn run_until(
        &mut self,
        limit: usize,
        done: impl Fn(&TickRecord) -> bool,
    ) -> Vec<TickRecord> {
        let mut records = Vec::new();
        for _ in 0..limit {
            let record = self.tick();
            let finished = done(&record);
            records.push(record);
            if finished {
                return records;
            }
        }
        panic!("not done after {limit} ticks: {records:#?}");
    }

    /// Ticks until the Canary reaches `phase`.
    pub fn run_to(&mut self, phase: CanaryPhase, limit: usize) -> Vec<TickRecord> {
        self.run_until(limit, |record| record.phase == phase)
    }
}
