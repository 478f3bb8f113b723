//! The engine's metrics port over real providers: from a Canary's metric to
//! a value, with every failure explained.
//!
//! ```text
//!   CanaryMetric ── source() ──┬─ builtin name ──▶ Observer query ─┐
//!                              ├─ inline query ───────────────────┼─▶ Prometheus at metricsServer
//!                              │                                   │   (the Canary's, or -metrics-server)
//!                              └─ templateRef ──▶ MetricTemplate ──┴─▶ its provider (+ Secret)
//!                                                  (+ query rendered with the Canary's model)
//!   value ──▶ MetricOutcome::Value    no values ──▶ NoData    anything else ──▶ Error
//! ```
//!
//! Unlike Flagger, an inline query that cannot be rendered is an error
//! naming the problem, never a half-rendered query sent to Prometheus
//! (semantics §18 #9), and template metrics get the `1m` interval default
//! (§18 #8).

use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use weir_api::objects::{LookupError, Objects};
use weir_api::{BuiltinMetric, Canary, CanaryMetric, MetricSource, Provider};
use weir_engine::ports::{MetricOutcome, Metrics, PortError};
use weir_http::Bridge;

use crate::builtin::Observer;
use crate::provider::{
    Credentials, MetricsProvider, Prometheus, ProviderContext, ProviderError, QueryError,
    QueryWindow,
};
use crate::template::{QueryModel, TemplateError, render};

/// Flagger's `-metrics-server` default: the in-cluster Prometheus.
pub const DEFAULT_METRICS_SERVER: &str = "http://prometheus:9090";

/// Settings from the controller's flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `-metrics-server`: the Prometheus for builtin metrics and inline
    /// queries of Canaries without `metricsServer`.
    pub metrics_server: String,
    /// `-mesh-provider`: chooses the builtin queries of Canaries without
    /// `provider`.
    pub mesh_provider: Provider,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            metrics_server: DEFAULT_METRICS_SERVER.to_owned(),
            mesh_provider: Provider::Istio,
        }
    }
}

/// Why a metric has no value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("cannot render the query: {0}")]
    Template(#[from] TemplateError),
    #[error("no usable metrics template and query were configured")]
    NoSource,
    #[error("interval `{interval}`: {reason}")]
    Interval { interval: String, reason: String },
}

impl MeasureError {
    /// The engine's view: a query that found nothing is "no data", every
    /// other failure an error.
    pub fn outcome(&self) -> MetricOutcome {
        match self {
            MeasureError::Query(error) if error.is_no_values() => {
                MetricOutcome::NoData(error.to_string())
            }
            other => MetricOutcome::Error(other.to_string()),
        }
    }
}

/// What a clock answers: the engine's notion of now.
pub type Now = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Metrics from real providers, for the live controller and the wired
/// simulator.
#[derive(Clone)]
pub struct ProviderMetrics<O> {
    objects: O,
    settings: MetricsSettings,
    context: ProviderContext,
    bridge: Bridge,
    now: Now,
}

impl<O> std::fmt::Debug for ProviderMetrics<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderMetrics")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<O: Objects> ProviderMetrics<O> {
    /// Metrics read through `objects`, with the wall clock.
    pub fn new(
        objects: O,
        settings: MetricsSettings,
        context: ProviderContext,
        bridge: Bridge,
    ) -> ProviderMetrics<O> {
        ProviderMetrics {
            objects,
            settings,
            context,
            bridge,
            now: Arc::new(Timestamp::now),
        }
    }

    /// Look-back windows computed from `now` instead of the wall clock
    /// (the simulator's virtual time).
    pub fn with_clock(mut self, now: Now) -> ProviderMetrics<O> {
        self.now = now;
        self
    }

    /// The Prometheus that measures builtin metrics and inline queries.
    fn metrics_server(&self, canary: &Canary) -> Result<Prometheus, ProviderError> {
        let address = canary
            .spec
            .metrics_server
            .as_deref()
            .filter(|address| !address.trim().is_empty())
            .unwrap_or(&self.settings.metrics_server);
        Prometheus::for_server(address, &self.context)
    }

    /// The provider and rendered query of a template metric.
    fn template(
        &self,
        canary: &Canary,
        reference: &weir_api::analysis::CrossNamespaceRef,
        model: &QueryModel,
    ) -> Result<(MetricsProvider, String), MeasureError> {
        let namespace = reference
            .namespace
            .as_deref()
            .filter(|namespace| !namespace.is_empty())
            .unwrap_or(canary.namespace());
        let template = self.objects.metric_template(namespace, &reference.name)?;
        let provider_spec = &template.spec.provider;
        // The Secret lives beside the template, not the Canary.
        let secret = match &provider_spec.secret_ref {
            Some(secret) => Some((
                format!("{namespace}/{}", secret.name),
                self.objects.secret(namespace, &secret.name)?,
            )),
            None => None,
        };
        let credentials = secret
            .as_ref()
            .map(|(name, data)| Credentials { secret: name, data });
        let provider = MetricsProvider::new(provider_spec, credentials, &self.context)?;
        let query = render(&template.spec.query, model)?;
        Ok((provider, query))
    }

    /// Measures `metric` of `canary` over `interval` (a Go duration).
    /// Durations are in milliseconds.
    pub async fn measure(
        &self,
        canary: &Canary,
        metric: &CanaryMetric,
        interval: &str,
    ) -> Result<f64, MeasureError> {
        let window = QueryWindow {
            interval: weir_api::duration::parse_go_duration(interval).map_err(|error| {
                MeasureError::Interval {
                    interval: interval.to_owned(),
                    reason: error.to_string(),
                }
            })?,
            now: (self.now)(),
        };
        let model = QueryModel {
            interval: interval.to_owned(),
            ..QueryModel::for_metric(canary, metric)
        };
        match metric.source().ok_or(MeasureError::NoSource)? {
            MetricSource::Builtin(builtin) => {
                let provider = canary
                    .spec
                    .builtin_metrics_provider(self.settings.mesh_provider);
                let observer = Observer::for_provider(&provider);
                let query = observer.render(builtin, &model)?;
                let value = self.metrics_server(canary)?.query(&query).await?;
                Ok(match builtin {
                    BuiltinMetric::RequestDuration => observer.duration_in_milliseconds(value),
                    BuiltinMetric::RequestSuccessRate => value,
                })
            }
            MetricSource::InlineQuery(query) => {
                let query = render(query, &model)?;
                Ok(self.metrics_server(canary)?.query(&query).await?)
            }
            MetricSource::Template(reference) => {
                let (provider, query) = self.template(canary, reference, &model)?;
                Ok(provider.query(&query, &window).await?)
            }
        }
    }

    /// Checks that every provider the Canary's metrics use answers
    /// (Flagger's `checkMetricProviderAvailability`). Each failing
    /// provider is listed once.
    pub async fn check(&self, canary: &Canary) -> Result<(), String> {
        let mut problems: Vec<String> = Vec::new();
        let mut checked_server = false;
        for metric in &canary.spec.analysis().metrics {
            let result: Result<(), MeasureError> = match metric.source() {
                None => Err(MeasureError::NoSource),
                Some(MetricSource::Builtin(_) | MetricSource::InlineQuery(_)) => {
                    if checked_server {
                        continue;
                    }
                    checked_server = true;
                    match self.metrics_server(canary) {
                        Ok(prometheus) => prometheus.check_online().await.map_err(Into::into),
                        Err(error) => Err(error.into()),
                    }
                }
                Some(MetricSource::Template(reference)) => {
                    let model = QueryModel::for_metric(canary, metric);
                    match self.template(canary, reference, &model) {
                        Ok((provider, _)) => provider.check_online().await.map_err(Into::into),
                        Err(error) => Err(error),
                    }
                }
            };
            if let Err(error) = result {
                let problem = format!("{}: {error}", metric.name);
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

impl<O: Objects> Metrics for ProviderMetrics<O> {
    fn evaluate(
        &mut self,
        canary: &Canary,
        metric: &CanaryMetric,
        interval: &str,
    ) -> MetricOutcome {
        match self.bridge.run(self.measure(canary, metric, interval)) {
            Ok(value) => MetricOutcome::Value(value),
            Err(error) => error.outcome(),
        }
    }

    fn check_providers(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.bridge.run(self.check(canary)).map_err(PortError::new)
    }
}
