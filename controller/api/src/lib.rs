//! Flagger-compatible API for weir: the `flagger.app/v1beta1` custom resources.
//!
//! ```text
//!   Canary ──templateRef──▶ MetricTemplate      (how to query a metric)
//!     │
//!     └────providerRef───▶ AlertProvider       (where to send alerts)
//! ```
//!
//! The types mirror Flagger v1.44 field for field so that existing manifests
//! work unchanged; [`crd`] generates CustomResourceDefinitions that accept every
//! manifest Flagger's own CRDs accept, and [`checks`] finds the problems the
//! API server cannot see (and Flagger silently tolerates).

pub mod alert_provider;
pub mod analysis;
pub mod canary;
pub mod checks;
pub mod crd;
pub mod duration;
pub mod metric_template;
mod number;
pub mod objects;
pub mod provider;
pub mod service;
pub mod status;

pub use alert_provider::{AlertProvider, AlertProviderSpec, AlertProviderType};
pub use analysis::{
    AlertSeverity, BuiltinMetric, CanaryAlert, CanaryAnalysis, CanaryMetric, CanaryWebhook,
    MetricSource, SessionAffinity, ThresholdRange, WebhookType,
};
pub use canary::{Canary, CanarySpec, ServiceNames, Strategy, TargetKind};
pub use metric_template::{MetricTemplate, MetricTemplateSpec};
pub use provider::Provider;
pub use status::{
    AnalysisRecord, CanaryCondition, CanaryPhase, CanaryStatus, CheckKind, CheckRecord,
    CheckResult, WorkloadWait,
};

/// The API group and version every weir resource uses.
pub const API_VERSION: &str = "flagger.app/v1beta1";
