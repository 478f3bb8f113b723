//! weir's testbed: the rollout engine against a simulated cluster, in virtual time.
//!
//! ```text
//!   scenario.yaml ──▶ scenario::load ──▶ Scenario (Canary unchanged + the world it meets)
//!                                           │
//!        run::run(scenario, seed) ──────────┤  discrete events in virtual time:
//!          ├─ cluster   (Workloads)         │    pods start, crash, roll out; HPA
//!          ├─ MeshRouter (Routing)          │    each router's objects (VirtualService,
//!          │                                │    HTTPRoute, Ingress, ...) read to route requests
//!          ├─ SimMetrics (Metrics)          │    Prometheus-style queries over sampled
//!          │                                │    counts and histograms; provider faults
//!          ├─ SimWebhooks, recorders, status, clock, entropy
//!          └─ weir_engine::advance ─────────┘  the same engine as the live controller
//!                    │
//!                    ▼
//!               RunRecord ──▶ report::{write_run, write_runs, write_suite_index}
//!                    └──────▶ batch::{outcomes, check}: many seeds, expectations
//!
//!   tune: configs × scenarios × seeds ──▶ Results ──▶ scores, Pareto front,
//!         (weir tune, weir check)                     budgets, report, YAML patch
//!
//!   run::run_wired: the same loop, with metrics, webhooks and alerts over
//!         HTTP to fakes on loopback (wired.rs), paced by --speed
//! ```
//!
//! `input` reads scenarios, tuning spaces and budgets with located errors.
//! `plan` is the simplest use of the engine: an ideal cluster with scripted
//! metric values, for "how long will this rollout take?".

pub mod batch;
pub mod cluster;
pub mod input;
pub mod model;
pub mod plan;
pub mod ports;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod time;
pub mod tune;
pub mod wired;

pub use input::InputError;
pub use plan::{Plan, PlanError, PlanOptions, Step, plan};
pub use record::RunRecord;
pub use run::{RunOptions, run, run_wired};
pub use scenario::{Scenario, ScenarioError, load};
pub use weir_engine::EngineConfig;
pub use wired::{WiredError, WiredOptions, WiredTraffic};
