//! In-memory implementations of the engine's ports, and a harness that drives
//! the engine tick by tick the way the live controller does.
//!
//! ```text
//!   Harness::tick()
//!     ├─ reads the Canary from FakeApi (spec + last written status)
//!     ├─ weir_engine::advance(canary, config, world.ports())
//!     │     └─ FakeCluster · FakeScalers · FakeRouter · FakeMetrics · FakeWebhooks · FakeAlerts
//!     │        FakeEvents · FakeClock · FakeApi · FakeEntropy · FakeTelemetry
//!     ├─ records a TickRecord (phase, weights, counters, events, calls)
//!     └─ advances the clock by the analysis interval
//! ```
//!
//! Every fake records what the engine asked of it, and can be told to fail or
//! to answer differently from one tick to the next, so tests can assert the
//! engine's behaviour call by call.
//!
//! [`MeshRouter`] is the routing port the simulator uses: it stores the
//! objects `weir-routers` generates and routes requests by reading them.

mod cluster;
mod harness;
mod io;
mod mesh;

pub use cluster::{FakeCluster, FakeScalers, FakeWorkload, daemon_set, deployment};
pub use harness::{Harness, TickRecord, World};
pub use io::{
    AlertCall, FakeAlerts, FakeApi, FakeClock, FakeEntropy, FakeEvents, FakeMetrics, FakeRouter,
    FakeTelemetry, FakeWebhooks, RouterMode, WebhookCall,
};
pub use mesh::{MeshRouter, Request, RouteDecision};
