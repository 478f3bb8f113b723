//! Judging one interval: webhooks, then metrics (Flagger's `runAnalysis`).
//!
//! Every check produces a [`CheckRecord`] (value, bounds, verdict, message);
//! the interval's [`AnalysisRecord`] goes to `status.lastAnalysis` and to
//! telemetry, so a rollback can be explained from the Canary alone.
//!
//! Unlike Flagger, which stops at the first failing metric, every metric is
//! evaluated and recorded each interval: the verdict is the same (any failure
//! fails the interval), but the record shows all of them. A failing webhook
//! still skips the metrics, whose data would be meaningless without the load
//! the webhook generates.

use std::time::Duration;

use weir_api::duration::format_go_duration;
use weir_api::{
    AnalysisRecord, BuiltinMetric, CanaryPhase, CheckKind, CheckRecord, CheckResult, MetricSource,
    WebhookType,
};

use crate::hooks::Hooks;
use crate::ports::{EventType, MetricOutcome, Routes};
use crate::tick::Tick;

impl Tick<'_, '_> {
    /// The first interval of a run: only `pre-rollout` hooks (the canary has
    /// had no traffic yet, §18 #6). Returns whether they passed.
    pub(crate) fn pre_rollout(&mut self, routes: Routes) -> bool {
        let mut checks = Vec::new();
        let passed = self.run_hooks(WebhookType::PreRollout, &mut checks);
        self.conclude(routes, passed, checks)
    }

    /// A later interval: `rollout` hooks, then every metric.
    pub(crate) fn analyse(&mut self, routes: Routes) -> bool {
        let mut checks = Vec::new();
        let hooks_passed = self.run_hooks(WebhookType::Rollout, &mut checks);
        let mut passed = hooks_passed;
        // By position: evaluating a metric records events and telemetry.
        for index in 0..self.cd.analysis().metrics.len() {
            if !hooks_passed {
                checks.push(CheckRecord {
                    name: self.cd.analysis().metrics[index].name.clone(),
                    kind: CheckKind::Metric,
                    result: CheckResult::Skipped,
                    value: None,
                    min: None,
                    max: None,
                    message: "not evaluated: a rollout webhook failed".to_owned(),
                });
                continue;
            }
            let record = self.evaluate(index);
            passed &= !record.result.fails_interval();
            checks.push(record);
        }
        self.conclude(routes, passed, checks)
    }

    /// Runs the hooks of one type in order; the first failure skips the rest.
    fn run_hooks(&mut self, kind: WebhookType, checks: &mut Vec<CheckRecord>) -> bool {
        let mut passed = true;
        let mut hooks = Hooks::of(kind);
        while let Some(index) = hooks.next(self.cd.analysis()) {
            let record = |name: &str, result, message: String| CheckRecord {
                name: name.to_owned(),
                kind: CheckKind::Webhook,
                result,
                value: None,
                min: None,
                max: None,
                message,
            };
            if !passed {
                checks.push(record(
                    &self.hook(index).name,
                    CheckResult::Skipped,
                    "not called: an earlier webhook failed".to_owned(),
                ));
                continue;
            }
            match self.call(index, CanaryPhase::Progressing) {
                Ok(()) => {
                    if kind == WebhookType::PreRollout {
                        self.info(format!(
                            "Pre-rollout check {} passed",
                            self.hook(index).name
                        ));
                    }
                    checks.push(record(
                        &self.hook(index).name,
                        CheckResult::Pass,
                        String::new(),
                    ));
                }
                Err(error) => {
                    let hook = self.hook(index);
                    let message = if kind == WebhookType::PreRollout {
                        format!(
                            "Halt {} advancement pre-rollout check {} failed {error}",
                            self.name(),
                            hook.name
                        )
                    } else {
                        format!(
                            "Halt {} advancement external check {} failed {error}",
                            self.name(),
                            hook.name
                        )
                    };
                    let record = record(&hook.name, CheckResult::Fail, message.clone());
                    self.warn(message);
                    checks.push(record);
                    passed = false;
                }
            }
        }
        passed
    }

    /// Counts a failed interval and records it.
    fn conclude(&mut self, routes: Routes, passed: bool, checks: Vec<CheckRecord>) -> bool {
        let time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(self.now);
        if !passed {
            self.status_mut().failed_checks += 1;
        }
        let status = self.status();
        let record = AnalysisRecord {
            time,
            canary_weight: routes.canary,
            mirrored: routes.mirrored,
            iteration: status.iterations,
            passed,
            failed_checks: status.failed_checks,
            checks,
        };
        self.ports.telemetry.interval(self.cd.get(), &record);
        self.status_mut().last_analysis = Some(record);
        passed
    }

    /// The provider name Flagger's builtin-metric observer uses (§8.3), which
    /// appears in its "no values found" events.
    fn builtin_metrics_provider(&self) -> String {
        self.cd
            .spec()
            .builtin_metrics_provider(self.config.mesh_provider)
    }

    /// Evaluates the metric at `index` in `analysis.metrics`.
    fn evaluate(&mut self, index: usize) -> CheckRecord {
        let metric = &self.cd.analysis().metrics[index];
        let mut record = CheckRecord {
            name: metric.name.clone(),
            kind: CheckKind::Metric,
            result: CheckResult::Pass,
            value: None,
            min: None,
            max: None,
            message: String::new(),
        };
        let Some(source) = metric.source() else {
            record.result = CheckResult::Error;
            record.message = format!(
                "Metric query failed for {}: no usable metrics template and query were configured",
                metric.name
            );
            self.event(EventType::Warning, record.message.clone(), self.phase());
            return record;
        };
        let bounds = metric.bounds();
        record.min = bounds.min;
        record.max = bounds.max;
        let outcome =
            self.ports
                .metrics
                .evaluate(self.cd.get(), metric, metric.interval_or_default());
        let value = match outcome {
            MetricOutcome::Value(value) => value,
            MetricOutcome::NoData(error) => {
                record.result = CheckResult::NoData;
                record.message = match source {
                    MetricSource::Builtin(_) => format!(
                        "Halt advancement no values found for {} metric {} probably {} is not receiving traffic: {error}",
                        self.builtin_metrics_provider(),
                        metric.name,
                        self.target()
                    ),
                    MetricSource::InlineQuery(_) => {
                        format!(
                            "Halt advancement no values found for metric: {}",
                            metric.name
                        )
                    }
                    MetricSource::Template(_) => {
                        format!(
                            "Halt advancement no values found for custom metric: {}: {error}",
                            metric.name
                        )
                    }
                };
                self.warn(record.message.clone());
                return record;
            }
            MetricOutcome::Error(error) => {
                record.result = CheckResult::Error;
                record.message = match source {
                    MetricSource::Builtin(_) => format!("Prometheus query failed: {error}"),
                    MetricSource::InlineQuery(_) => {
                        format!("Prometheus query failed for {}: {error}", metric.name)
                    }
                    MetricSource::Template(_) => {
                        format!("Metric query failed for {}: {error}", metric.name)
                    }
                };
                self.warn(record.message.clone());
                return record;
            }
        };
        let duration = source == MetricSource::Builtin(BuiltinMetric::RequestDuration);
        // Flagger exports request durations in seconds and compares whole
        // milliseconds (`time.Duration(int64(value))`).
        let exported = if duration { value / 1000.0 } else { value };
        self.ports
            .telemetry
            .metric_value(self.cd.get(), &metric.name, exported);
        let value = if duration { value.trunc() } else { value };
        record.value = Some(value);

        let below = bounds.min.filter(|min| value < *min);
        let above = bounds.max.filter(|max| value > *max);
        let Some((bound, comparison)) = below.map(|min| (min, "<")).or(above.map(|max| (max, ">")))
        else {
            return record;
        };
        let name = self.name();
        record.result = CheckResult::Fail;
        record.message = match source {
            MetricSource::Builtin(BuiltinMetric::RequestSuccessRate) => {
                format!("Halt {name} advancement success rate {value:.2}% {comparison} {bound}%")
            }
            MetricSource::Builtin(BuiltinMetric::RequestDuration) => format!(
                "Halt {name} advancement request duration {} {comparison} {}",
                go_millis(value),
                go_millis(bound)
            ),
            _ => format!(
                "Halt {name} advancement {} {value:.2} {comparison} {bound}",
                metric.name
            ),
        };
        self.warn(record.message.clone());
        record
    }
}

/// Milliseconds printed as a Go `time.Duration`, e.g. `550ms` or `1.2s`.
fn go_millis(milliseconds: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let millis = milliseconds.max(0.0) as u64;
    format_go_duration(Duration::from_millis(millis))
}
