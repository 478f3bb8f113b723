//! Flagger's Prometheus metrics (semantics §11), so that existing
//! dashboards and alerts keep working, and the engine's telemetry port.
//!
//! ```text
//!   flagger_info{version, mesh_provider}                          1
//!   flagger_canary_total{namespace}                               Canaries watched
//!   flagger_canary_status{name, namespace}                        0 Progressing, 2 Failed, 1 otherwise
//!   flagger_canary_weight{workload, namespace}                    <target>-primary and <target>
//!   flagger_canary_duration_seconds{name, namespace}              one observation per tick
//!   flagger_canary_metric_analysis{name, namespace, metric}       each evaluated metric
//!   flagger_canary_successes_total{name, namespace,
//!       deployment_strategy, analysis_status}                     Succeeded runs
//!   flagger_canary_failures_total{...}                            Failed runs
//! ```
//!
//! As in Flagger, `name` is the target's name (`spec.targetRef.name`), not
//! the Canary's, and request durations are exported in seconds.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use weir_api::{AnalysisRecord, Canary, CanaryPhase, Strategy};
use weir_engine::ports::{Level, Routes, RunOutcome, Telemetry};

/// The Prometheus client's default histogram buckets, which Flagger's
/// `flagger_canary_duration_seconds` uses.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    version: String,
    mesh_provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CanaryLabels {
    name: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkloadLabels {
    workload: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MetricLabels {
    name: String,
    namespace: String,
    metric: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    name: String,
    namespace: String,
    deployment_strategy: String,
    analysis_status: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The controller's metrics, shared by every tick and the HTTP server.
#[derive(Debug)]
pub struct ControllerMetrics {
    registry: Registry,
    canary_total: Family<NamespaceLabels, Gauge>,
    status: Family<CanaryLabels, Gauge>,
    weight: Family<WorkloadLabels, Gauge>,
    duration: Family<CanaryLabels, Histogram>,
    metric_analysis: Family<MetricLabels, FloatGauge>,
    successes: Family<RunLabels, Counter>,
    failures: Family<RunLabels, Counter>,
}

impl ControllerMetrics {
    /// The metrics, with `flagger_info` set.
    pub fn new(version: &str, mesh_provider: &str) -> Arc<ControllerMetrics> {
        let mut registry = Registry::with_prefix("flagger");
        let info = Family::<InfoLabels, Gauge>::default();
        info.get_or_create(&InfoLabels {
            version: version.to_owned(),
            mesh_provider: mesh_provider.to_owned(),
        })
        .set(1);
        registry.register(
            "info",
            "Flagger version and mesh provider information",
            info,
        );
        let canary_total = Family::default();
        registry.register(
            "canary_total",
            "Total number of canary object",
            canary_total.clone(),
        );
        let status = Family::default();
        registry.register(
            "canary_status",
            "Last canary analysis result",
            status.clone(),
        );
        let weight = Family::default();
        registry.register(
            "canary_weight",
            "The virtual service destination weight current value",
            weight.clone(),
        );
        let duration = Family::<CanaryLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(DEFAULT_BUCKETS)
        });
        registry.register(
            "canary_duration_seconds",
            "Seconds spent performing canary analysis.",
            duration.clone(),
        );
        let metric_analysis = Family::default();
        registry.register(
            "canary_metric_analysis",
            "Last canary analysis result per metric",
            metric_analysis.clone(),
        );
        let successes = Family::default();
        registry.register(
            "canary_successes",
            "Total number of canary successes",
            successes.clone(),
        );
        let failures = Family::default();
        registry.register(
            "canary_failures",
            "Total number of canary failures",
            failures.clone(),
        );
        Arc::new(ControllerMetrics {
            registry,
            canary_total,
            status,
            weight,
            duration,
            metric_analysis,
            successes,
            failures,
        })
    }

    /// The exposition for `/metrics` (OpenMetrics text).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// `flagger_canary_total`: the Canaries watched in `namespace`.
    pub fn set_canary_total(&self, namespace: &str, count: usize) {
        self.canary_total
            .get_or_create(&NamespaceLabels {
                namespace: namespace.to_owned(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// `flagger_canary_duration_seconds`: one tick of `canary` took `elapsed`.
    pub fn observe_tick(&self, canary: &Canary, elapsed: Duration) {
        self.duration
            .get_or_create(&canary_labels(canary))
            .observe(elapsed.as_secs_f64());
    }

    /// The engine's telemetry port for ticks.
    pub fn telemetry(self: &Arc<Self>) -> TickTelemetry {
        TickTelemetry {
            metrics: Arc::clone(self),
        }
    }
}

fn canary_labels(canary: &Canary) -> CanaryLabels {
    CanaryLabels {
        name: canary.spec.target_ref.name.clone(),
        namespace: canary.namespace().to_owned(),
    }
}

/// Flagger's encoding of phases in `flagger_canary_status`.
fn status_value(phase: CanaryPhase) -> i64 {
    match phase {
        CanaryPhase::Progressing => 0,
        CanaryPhase::Failed => 2,
        _ => 1,
    }
}

/// The engine's telemetry port: metrics, and logs through `tracing`.
#[derive(Clone, Debug)]
pub struct TickTelemetry {
    metrics: Arc<ControllerMetrics>,
}

impl Telemetry for TickTelemetry {
    fn set_status(&mut self, canary: &Canary, phase: CanaryPhase) {
        self.metrics
            .status
            .get_or_create(&canary_labels(canary))
            .set(status_value(phase));
    }

    fn set_weight(&mut self, canary: &Canary, routes: Routes) {
        let namespace = canary.namespace().to_owned();
        let target = &canary.spec.target_ref.name;
        self.metrics
            .weight
            .get_or_create(&WorkloadLabels {
                workload: format!("{target}-primary"),
                namespace: namespace.clone(),
            })
            .set(i64::from(routes.primary));
        self.metrics
            .weight
            .get_or_create(&WorkloadLabels {
                workload: target.clone(),
                namespace,
            })
            .set(i64::from(routes.canary));
    }

    fn metric_value(&mut self, canary: &Canary, metric: &str, value: f64) {
        self.metrics
            .metric_analysis
            .get_or_create(&MetricLabels {
                name: canary.spec.target_ref.name.clone(),
                namespace: canary.namespace().to_owned(),
                metric: metric.to_owned(),
            })
            .set(value);
    }

    fn run_finished(&mut self, canary: &Canary, strategy: Strategy, outcome: RunOutcome) {
        let (family, analysis_status) = match outcome {
            RunOutcome::Succeeded { analysis_skipped } => (
                &self.metrics.successes,
                if analysis_skipped {
                    "skipped"
                } else {
                    "completed"
                },
            ),
            RunOutcome::Failed => (&self.metrics.failures, "completed"),
        };
        family
            .get_or_create(&RunLabels {
                name: canary.spec.target_ref.name.clone(),
                namespace: canary.namespace().to_owned(),
                deployment_strategy: strategy.as_str().to_owned(),
                analysis_status: analysis_status.to_owned(),
            })
            .inc();
    }

    fn interval(&mut self, canary: &Canary, record: &AnalysisRecord) {
        tracing::debug!(
            canary = %format!("{}.{}", canary.name(), canary.namespace()),
            passed = record.passed,
            failed_checks = record.failed_checks,
            canary_weight = record.canary_weight,
            "analysis interval"
        );
    }

    fn log(&mut self, canary: &Canary, level: Level, message: &str) {
        let canary = format!("{}.{}", canary.name(), canary.namespace());
        match level {
            Level::Debug => tracing::debug!(canary, "{message}"),
            Level::Info => tracing::info!(canary, "{message}"),
            Level::Warn => tracing::warn!(canary, "{message}"),
            Level::Error => tracing::error!(canary, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary() -> Canary {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": "podinfo-canary", "namespace": "test"},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                "service": {"port": 9898},
            }
        }))
        .expect("a valid canary")
    }

    #[test]
    fn the_series_are_flaggers_with_the_target_as_name() {
        let metrics = ControllerMetrics::new("1.0.0", "istio");
        let mut telemetry = metrics.telemetry();
        let canary = canary();
        telemetry.set_status(&canary, CanaryPhase::Progressing);
        telemetry.set_weight(
            &canary,
            Routes {
                primary: 90,
                canary: 10,
                mirrored: false,
            },
        );
        telemetry.metric_value(&canary, "request-duration", 0.25);
        telemetry.run_finished(
            &canary,
            Strategy::Canary,
            RunOutcome::Succeeded {
                analysis_skipped: false,
            },
        );
        telemetry.run_finished(&canary, Strategy::BlueGreen, RunOutcome::Failed);
        metrics.set_canary_total("test", 3);
        metrics.observe_tick(&canary, Duration::from_millis(30));
        let text = metrics.encode();
        for line in [
            r#"flagger_info{version="1.0.0",mesh_provider="istio"} 1"#,
            r#"flagger_canary_total{namespace="test"} 3"#,
            r#"flagger_canary_status{name="podinfo",namespace="test"} 0"#,
            r#"flagger_canary_weight{workload="podinfo-primary",namespace="test"} 90"#,
            r#"flagger_canary_weight{workload="podinfo",namespace="test"} 10"#,
            r#"flagger_canary_metric_analysis{name="podinfo",namespace="test",metric="request-duration"} 0.25"#,
            r#"flagger_canary_successes_total{name="podinfo",namespace="test",deployment_strategy="canary",analysis_status="completed"} 1"#,
            r#"flagger_canary_failures_total{name="podinfo",namespace="test",deployment_strategy="blue-green",analysis_status="completed"} 1"#,
            r#"flagger_canary_duration_seconds_count{name="podinfo",namespace="test"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn failed_is_two_and_every_other_phase_one() {
        assert_eq!(status_value(CanaryPhase::Failed), 2);
        assert_eq!(status_value(CanaryPhase::Progressing), 0);
        assert_eq!(status_value(CanaryPhase::Succeeded), 1);
        assert_eq!(status_value(CanaryPhase::WaitingPromotion), 1);
    }
}
