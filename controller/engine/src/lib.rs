//! The rollout engine: Flagger's canary state machine, written once.
//!
//! ```text
//!                ┌──────────────────────── weir-engine ───────────────────────┐
//!   Canary ────▶ │ advance(canary, config, ports) ─▶ TickOutcome { decision } │
//!   (spec +      │   phases, weights, gates, failed checks, promotion,        │
//!    status)     │   rollback — no I/O, no clock, no sleeping                 │
//!                └───┬───────┬────────┬───────┬────────┬───────┬───────┬──────┘
//!                    │       │        │       │        │       │       │
//!              Workloads Routing  Metrics Webhooks  Alerts  Events  Clock, StatusStore,
//!              Scalers                                               Entropy, Telemetry
//!                    │
//!        live controller (kube-rs, HTTP)  ·  simulator (virtual cluster)  ·  tests (weir-fakes)
//! ```
//!
//! A tick reads the Canary as stored (its status is the only memory the
//! engine has), talks to the world through [`ports::Ports`], and writes the
//! new status through [`ports::StatusStore`]. Whoever drives the engine calls
//! [`advance`] once per `analysis.interval`; the simulator does so in virtual
//! time, the live controller on a timer. A controller that restarts simply
//! continues with the stored status.
//!
//! Phases:
//!
//! ```text
//!  ""/Initializing ──primary ready──▶ Initialized ──new revision──▶ Progressing ◀─┐
//!        │                               ▲   │ gate closed               │ restart on
//!        └─stuck─▶ Failed                │   ▼                           │ new revision
//!                   ▲   ▲                │ Waiting ──approved──▶ Progressing ──────┘
//!                   │   │                │                       │   │ analysis done
//!     failed checks,│   └── rollback ────┼───────────────────────┘   ▼ gate closed
//!     rollback hook,│                    │              WaitingPromotion
//!     stuck canary  │                    │                       │ approved
//!                   │                    │                       ▼
//!                   └─primary stuck── Promoting ──▶ Finalising ──▶ Succeeded
//!   (revertOnDeletion) any ──deleted──▶ Terminating ──▶ Terminated
//! ```
//!
//! The module docs of [`tick`], [`hooks`], [`analysis`], [`strategy`],
//! [`status`] and [`readiness`] list, for each of Flagger's known bugs
//! (semantics §18), whether the engine keeps or fixes it and why.

pub mod analysis;
pub mod hooks;
pub mod ports;
pub mod readiness;
pub mod status;
pub mod strategy;
pub mod tick;

pub use ports::Ports;
pub use tick::{Decision, EngineConfig, RollbackReason, TickOutcome, advance};
