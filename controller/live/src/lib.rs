//! weir's in-cluster controller: the rollout engine on kube-rs, a drop-in
//! replacement for Flagger's controller.
//!
//! ```text
//!   flags ──▶ Settings
//!   watch Canaries ──▶ scheduler: one job per Canary ──every analysis.interval──▶ tick
//!                                                                               │
//!        GET the Canary ──▶ weir_engine::advance(canary, config, ports) ◀───────┘
//!                              │
//!        ports: workloads, scalers, routing (Services + router objects), status,
//!               events (Kubernetes API) · metrics, webhooks, alerts (HTTP) · telemetry
//!   /metrics (flagger_*), /healthz        leader election (Lease)
//! ```
//!
//! The engine keeps no memory between ticks: the Canary's status is the
//! truth, so a restarted controller resumes where the last one stopped.

pub mod app;
pub mod cluster;
pub mod controller;
pub mod events;
pub mod flags;
pub mod leader;
pub mod objects;
pub mod scheduler;
pub mod server;
pub mod status;
pub mod telemetry;
pub mod ticker;

pub use app::run;
pub use flags::Flags;
pub use telemetry::ControllerMetrics;

/// `count` random lowercase letters and digits (identities, cookie values).
pub fn random_letters(count: usize) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..count)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}
