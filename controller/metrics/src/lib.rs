//! Metric queries as Flagger writes them, and the providers that answer them.
//!
//! ```text
//!   Canary metric ──▶ builtin::Observer (request-success-rate, request-duration per mesh)
//!                 ──▶ template::render   (MetricTemplate and inline queries: {{ namespace }}, ...)
//!                 ──▶ provider::*        (Prometheus, Datadog, New Relic, Graphite, Dynatrace,
//!                                         InfluxDB, Splunk, external metrics, CloudWatch,
//!                                         Stackdriver)
//!                 ──▶ measure::ProviderMetrics (the engine's metrics port)
//! ```
//!
//! * `template` renders the Go `text/template` subset Flagger users write,
//!   with `missingkey=error`.
//! * `builtin` holds Flagger's builtin queries for every mesh and ingress.
//! * `provider` speaks each provider's HTTP API, telling "no values"
//!   apart from failures.
//! * `measure` resolves a Canary's metric to a provider and query and
//!   implements `weir_engine::ports::Metrics` for the live controller and
//!   the wired simulator.

pub mod builtin;
pub mod measure;
pub mod provider;
pub mod template;

pub use builtin::Observer;
pub use measure::{DEFAULT_METRICS_SERVER, MeasureError, MetricsSettings, ProviderMetrics};
pub use provider::{MetricsProvider, ProviderContext, QueryError, QueryWindow};
pub use template::{QueryModel, TemplateError, render};
