//! weir's testbed: the rollout engine against a simulated cluster, in virtual time.
//!
//! ```text
//!   Canary manifest ──▶ plan::plan ──▶ weir_engine::advance, tick by tick
//!                                         │  (in-memory ports: weir-fakes)
//!                                         ▼
//!                                   Plan { steps } ──▶ report::write (CSV + SVG)
//! ```
//!
//! Today the cluster is ideal (workloads ready at once, metrics exactly as
//! scripted); synthetic traffic, a fake mesh reading the routers' objects and
//! stochastic metric generators come next, on the same engine.

pub mod plan;
pub mod report;

pub use plan::{Plan, PlanError, PlanOptions, Step, plan};
pub use weir_engine::EngineConfig;
