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
//! continues with the stored status. A driver that keeps the Canary itself,
//! like the simulator, can call [`advance_in_place`] instead, which changes
//! the driver's Canary rather than a copy of it (the same tick, cheaper).
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
//! # Flagger's known bugs (semantics §18): kept or fixed
//!
//! Kept where users rely on the behaviour; fixed where Flagger contradicts its
//! own documentation or no user could want it. Items that belong to metric
//! providers, routers, the loadtester or the controller process are decided
//! here too, and implemented in those adapters.
//!
//! | §18 | Flagger | weir | where |
//! |----:|---------|------|-------|
//! | 1 | alert `severity: ""` never sent | fixed: sent as info, as documented | [`tick`], `AlertSeverity::receives` |
//! | 2 | "primary scaled to zero" check is dead code | kept: primaries scaled to zero by KEDA's idle replicas keep working | [`readiness`] |
//! | 3 | rollback hooks unreachable while Waiting | fixed: honoured, the revision ends Failed | [`tick`] |
//! | 4 | canary progress-deadline message and alert unreachable | fixed: event and error alert, then rollback | [`tick`] |
//! | 5 | threshold checked a tick late; Failed shows 0 failed checks | fixed: rollback when reached; the count is kept (cumulative per run, as in Flagger) | [`tick`], [`status`] |
//! | 6 | no metrics on the first interval | kept: the canary has had no traffic yet | [`analysis`] |
//! | 7 | `mirror` on a provider that cannot mirror loops forever | fixed: mirror step skipped with a warning event | [`strategy`] |
//! | 8 | template metrics get no default interval | fixed: `1m` for every metric | `CanaryMetric::interval_or_default` |
//! | 9 | inline query render errors ignored | fixed in providers: a render error is a [`ports::MetricOutcome::Error`] | [`ports`] |
//! | 10 | Prometheus keeps the last series; NaN = no values; InfluxDB no records = 0 | providers report [`ports::MetricOutcome::NoData`] distinctly; the engine still counts it as a failed check, like Flagger | [`ports`], [`analysis`] |
//! | 11 | builtin metrics of Service targets fall back to Istio queries | kept in the observer-naming rules (events name the same provider) | [`analysis`] |
//! | 12 | unknown provider names silently use Istio | fixed: unknown names are errors | `weir_api::Provider` |
//! | 13 | webhook success means status ≤ 202 | kept: gates in the wild answer 202 | [`ports::Webhooks`] |
//! | 14 | WaitingPromotion zeroes the weight and re-runs an iteration | fixed: real weight and iteration kept | [`status`] |
//! | 15 | confirm-traffic-increase gates promotion; B/G asks confirm-promotion twice | kept: gates stay open once approved | [`strategy`] |
//! | 16 | stepWeight overshoots maxWeight; Promoting stuck at weight 0 | fixed: last step capped; straight to Finalising | [`strategy`] |
//! | 17 | Terminated never written; Terminating has the init condition | fixed: Terminated written before the finalizer goes; own conditions | [`tick`], [`status`] |
//! | 18 | suspend records an event every tick | kept: Kubernetes folds repeats into one event | [`tick`] |
//! | 19 | session cookies set by the router in memory | fixed: set in status before the router reads them | [`tick`] |
//! | 20 | DaemonSet deadline reset by any status write; stalled Deployments wait forever | fixed: no-progress deadline anchored in `status.workloadWait` | [`readiness`] |
//! | 21 | NGINX header annotations filtered by value; one condition wins | to fix in the NGINX router | routers |
//! | 22 | loadtester panics on unknown task types | to fix in the loadtester: 400 with a message | loadtester |
//! | 23 | an invalid spec keeps its job running | fixed: every tick re-checks; blocking problems stop the tick with an event | [`tick`], `weir_api::checks` |
//! | 24 | Istio gateways without `mesh` bypass the VirtualService in-mesh | kept (it is what the user wrote); `weir validate` warns | `weir_api::checks` |
//! | 25 | Knative needs `spec.provider: knative` even with a global knative | fixed: the global provider counts | `weir_api::checks` |
//! | 26 | two Canaries on one target only log an error | to fix in the controller: both get a warning event and are not run | controller |
//! | 27 | metric provider check never blocks initialization | kept: providers may come up later | [`tick`] |
//! | 28 | the target HPA is not paused | kept: an HPA does not act on a zero-replica target | [`ports::Scalers`] |
//! | 29 | promotion reads `spec.analysis` directly, not the deprecated `canaryAnalysis` | moot: the CRD prunes `canaryAnalysis`; `weir validate` says so | `weir_api::CanarySpec::analysis` |
//! | 30 | reverting to the promoted spec does not start an analysis | kept: users revert by hand and rely on it | [`status`] |
//! | 31 | a new revision seen while Failed can be lost | fixed: nothing is recorded until the analysis starts | [`tick`] |
//! | 32 | services, primary and routes re-applied every tick | kept: manual edits to generated objects are reverted | [`tick`] |

pub mod analysis;
pub mod hooks;
pub mod ports;
pub mod readiness;
pub mod status;
pub mod strategy;
pub mod tick;

pub use ports::Ports;
pub use tick::{Decision, EngineConfig, RollbackReason, TickOutcome, advance, advance_in_place};
