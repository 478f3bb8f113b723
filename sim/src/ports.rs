//! The simulator's side of the engine's ports, apart from the cluster
//! (`cluster.rs`) and the mesh (`weir_fakes::MeshRouter`).
//!
//! ```text
//!   SimMetrics   builtin metrics computed from the sampled request counts and
//!                histograms, as Prometheus computes them; template metrics
//!                from each revision's processes; provider faults
//!   SimWebhooks  gates that open and close on schedule, flaky hooks
//!   Recorder     events, alerts, logs and analysis records → the run's log
//!   SimStatus    the Canary's status: the only memory the engine has
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use weir_api::analysis::CrossNamespaceRef;
use weir_api::{
    AnalysisRecord, Canary, CanaryMetric, CanaryPhase, CanaryWebhook, CheckResult, Provider,
    WebhookType,
};
use weir_engine::ports::{
    Alerts, Clock, Entropy, Event, Events, Level, MetricOutcome, Metrics, Notification, PortError,
    StatusStore, Telemetry, WebhookPayload, Webhooks,
};

use crate::model::{Buckets, WindowCounts, histogram_quantile, success_rate};
use crate::record::{FailedCheck, LogEntry, LogSource, MetricCheck, Reading};
use crate::scenario::{Fault, FaultKind, WebhookBehaviour};
use crate::time::SimTime;

/// Flagger's Prometheus client gives up after 5 s (§8.5).
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);

/// The canary's and the primary's sampled request counts, one entry per
/// window of `resolution`, as Prometheus would have scraped them.
#[derive(Clone, Debug, Default)]
pub struct WindowSeries {
    /// `windows[k]` covers `[k·resolution, (k+1)·resolution)`.
    pub windows: Vec<WindowCounts>,
}

impl WindowSeries {
    /// The counts of the windows that ended in `(at − range, at]`: what
    /// `rate(x[range])` sees at `at`, give or take Prometheus's extrapolation,
    /// which cancels out of ratios.
    pub fn over(&self, at: SimTime, range: Duration, resolution: Duration) -> WindowCounts {
        let mut total = WindowCounts::default();
        let step = resolution.as_nanos().max(1);
        let end = at.0.as_nanos();
        let start = at.0.saturating_sub(range).as_nanos();
        // Window k ends at (k+1)·step; keep those with start < end_k <= end.
        let first = (start / step) as usize;
        let last = (end / step) as usize;
        for window in self.windows.iter().take(last).skip(first) {
            total.add(window);
        }
        total
    }
}

/// Scraped values of one custom metric: `(time, value)` for the canary and
/// for the primary.
#[derive(Clone, Debug, Default)]
pub struct CustomSamples {
    pub canary: Vec<(SimTime, f64)>,
    pub primary: Vec<(SimTime, f64)>,
}

/// What kind of value a metric of the Canary reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// `request-success-rate`: percent of non-5xx responses.
    SuccessRate,
    /// `request-duration`: p99 in milliseconds.
    Duration,
    /// A MetricTemplate or inline query: the revision's process.
    Custom,
}

impl MetricKind {
    pub fn of(metric: &CanaryMetric) -> MetricKind {
        match metric.name.as_str() {
            _ if metric.template_ref.is_some() || metric.query.is_some() => MetricKind::Custom,
            "request-success-rate" => MetricKind::SuccessRate,
            "request-duration" => MetricKind::Duration,
            _ => MetricKind::Custom,
        }
    }
}

/// The histogram buckets the provider's builtin duration metric has (§8.4):
/// Istio's `istio_request_duration_milliseconds`, or the Prometheus client
/// defaults of podinfo's `http_request_duration_seconds` for the HTTP
/// observers (kubernetes, Gateway API).
pub fn buckets_for(provider: Provider) -> Buckets {
    match provider {
        Provider::Kubernetes | Provider::GatewayApiV1 | Provider::GatewayApiV1beta1 => {
            Buckets::PROMETHEUS_DEFAULT
        }
        _ => Buckets::ISTIO,
    }
}

/// Metric values from the simulated Prometheus and the revisions' processes.
#[derive(Debug)]
pub struct SimMetrics {
    pub now: SimTime,
    pub resolution: Duration,
    pub buckets: Buckets,
    /// The canary's (target's) windows, and the primary's.
    pub canary: WindowSeries,
    pub primary: WindowSeries,
    /// Custom metric values by metric name, as scraped.
    pub custom: BTreeMap<String, CustomSamples>,
    pub faults: Vec<Fault>,
    pub rng: ChaCha8Rng,
    /// Also compute the primary's reading of every query, for charts.
    pub detail: bool,
    pub checks: Vec<MetricCheck>,
}

impl SimMetrics {
    /// The value a query for `metric` over `range` reads at `at`, for the
    /// canary or the primary.
    pub fn read(
        &self,
        metric: &CanaryMetric,
        range: Duration,
        at: SimTime,
        canary: bool,
    ) -> Reading {
        match MetricKind::of(metric) {
            MetricKind::SuccessRate | MetricKind::Duration => {
                let series = if canary { &self.canary } else { &self.primary };
                let counts = series.over(at, range, self.resolution);
                let value = if MetricKind::of(metric) == MetricKind::SuccessRate {
                    success_rate(counts.requests, counts.errors)
                } else {
                    histogram_quantile(0.99, &self.buckets, counts.buckets())
                };
                match value {
                    Some(value) => Reading::Value { value },
                    None => Reading::NoData {
                        message: "no values found".to_owned(),
                    },
                }
            }
            MetricKind::Custom => {
                let samples = self.custom.get(&metric.name).map(|samples| {
                    if canary {
                        &samples.canary
                    } else {
                        &samples.primary
                    }
                });
                match samples.and_then(|samples| samples.iter().rev().find(|(time, _)| *time <= at))
                {
                    Some((_, value)) => Reading::Value { value: *value },
                    None => Reading::NoData {
                        message: "no values found".to_owned(),
                    },
                }
            }
        }
    }

    /// The fault that hits this query, if any (one draw per matching fault).
    pub(crate) fn fault(&mut self, metric: &str) -> Option<Fault> {
        let now = self.now;
        let mut hit = None;
        for fault in &self.faults {
            let in_time = fault.from.0 <= now.0 && fault.until.is_none_or(|until| now.0 < until.0);
            if in_time && (fault.metric == "*" || fault.metric == metric) {
                let draw: f64 = self.rng.random();
                if draw < fault.probability && hit.is_none() {
                    hit = Some(fault.clone());
                }
            }
        }
        hit
    }
}

impl SimMetrics {
    /// What the simulated Prometheus answers for `metric` under `fault`.
    fn reading_under(
        &self,
        fault: Option<&Fault>,
        metric: &CanaryMetric,
        range: Duration,
    ) -> Reading {
        match fault.map(|fault| fault.kind) {
            Some(FaultKind::NoData) => Reading::NoData {
                message: "no values found".to_owned(),
            },
            Some(FaultKind::Error) => Reading::Error {
                message: "error response from Prometheus: 503 Service Unavailable".to_owned(),
            },
            Some(FaultKind::Slow) if fault.is_some_and(Fault::times_out) => Reading::Error {
                message:
                    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                        .to_owned(),
            },
            Some(FaultKind::Stale) => {
                let stale_by = fault
                    .and_then(|fault| fault.stale_by)
                    .map(|span| span.0)
                    .unwrap_or_default();
                self.read(metric, range, self.now - stale_by, true)
            }
            _ => self.read(metric, range, self.now, true),
        }
    }

    /// Records one evaluation of `metric` (the canary's reading, and the
    /// primary's for charts) and says whether it passed.
    pub(crate) fn record(&mut self, metric: &CanaryMetric, range: Duration, reading: Reading) {
        let primary = if self.detail {
            self.read(metric, range, self.now, false)
        } else {
            Reading::NoData {
                message: String::new(),
            }
        };
        let bounds = metric.bounds();
        let passed = reading.value().is_some_and(|value| {
            bounds.min.is_none_or(|min| value >= min) && bounds.max.is_none_or(|max| value <= max)
        });
        self.checks.push(MetricCheck {
            at: self.now,
            metric: metric.name.clone(),
            canary: reading,
            primary,
            passed,
        });
    }
}

/// The range a metric's `interval` covers (1m when it cannot be read).
pub(crate) fn metric_range(interval: &str) -> Duration {
    weir_api::duration::parse_go_duration(interval).unwrap_or(Duration::from_secs(60))
}

impl Fault {
    /// Whether a `slow` fault outlasts Flagger's provider timeout.
    pub(crate) fn times_out(&self) -> bool {
        self.kind == FaultKind::Slow
            && self
                .latency
                .is_some_and(|latency| latency.0 >= PROVIDER_TIMEOUT)
    }
}

impl Metrics for SimMetrics {
    fn evaluate(
        &mut self,
        _canary: &Canary,
        metric: &CanaryMetric,
        interval: &str,
    ) -> MetricOutcome {
        let range = metric_range(interval);
        let fault = self.fault(&metric.name);
        let reading = self.reading_under(fault.as_ref(), metric, range);
        self.record(metric, range, reading.clone());
        match reading {
            Reading::Value { value } => MetricOutcome::Value(value),
            Reading::NoData { message } => MetricOutcome::NoData(message),
            Reading::Error { message } => MetricOutcome::Error(message),
        }
    }
}

/// What a closed gate answers.
pub const GATE_CLOSED: &str = "gate closed";
/// What a failing task answers.
pub const TASK_FAILED: &str = "command failed";

/// Webhooks as the scenario describes them; every other hook answers 200.
#[derive(Debug)]
pub struct SimWebhooks {
    pub behaviours: BTreeMap<String, WebhookBehaviour>,
    pub rng: ChaCha8Rng,
    pub calls: Vec<(String, Result<(), String>)>,
}

/// How a simulated webhook answers one call: the attempts that fail, with
/// what, and what the webhook client makes of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WebhookPlan {
    /// Attempts answered with `status` before one succeeds (or all of them).
    pub(crate) failed_attempts: u32,
    pub(crate) status: u16,
    pub(crate) body: &'static str,
    pub(crate) result: Result<(), String>,
}

impl SimWebhooks {
    /// Answers as flagger-loadtester would, and the way weir's webhook
    /// client reports it: a closed gate or a failing gate answers 403, which
    /// is final; a failing task answers 500, which the client retries
    /// `retries` times (one draw per attempt). Records the call.
    pub(crate) fn plan(&mut self, hook: &CanaryWebhook) -> WebhookPlan {
        let behaviour = self.behaviours.get(&hook.name).cloned().unwrap_or_default();
        let gate = matches!(
            hook.r#type,
            WebhookType::ConfirmRollout
                | WebhookType::ConfirmTrafficIncrease
                | WebhookType::ConfirmPromotion
        );
        let plan = if behaviour.closed {
            WebhookPlan {
                failed_attempts: 1,
                status: 403,
                body: GATE_CLOSED,
                result: Err(format!("403 Forbidden: {GATE_CLOSED}")),
            }
        } else if behaviour.failure_probability > 0.0 {
            let attempts = if gate {
                1
            } else {
                u32::try_from(hook.retries).unwrap_or(0) + 1
            };
            let mut failed_attempts = 0;
            while failed_attempts < attempts
                && self.rng.random::<f64>() < behaviour.failure_probability
            {
                failed_attempts += 1;
            }
            let failed = failed_attempts == attempts;
            match (failed, gate) {
                (false, _) => WebhookPlan {
                    failed_attempts,
                    status: 500,
                    body: TASK_FAILED,
                    result: Ok(()),
                },
                (true, true) => WebhookPlan {
                    failed_attempts,
                    status: 403,
                    body: "Forbidden",
                    result: Err("403 Forbidden: Forbidden".to_owned()),
                },
                (true, false) => WebhookPlan {
                    failed_attempts,
                    status: 500,
                    body: TASK_FAILED,
                    result: Err(format!(
                        "POST {} giving up after {attempts} attempt(s): 500 Internal Server Error: {TASK_FAILED}",
                        hook.url
                    )),
                },
            }
        } else {
            WebhookPlan {
                failed_attempts: 0,
                status: 200,
                body: "OK",
                result: Ok(()),
            }
        };
        self.calls.push((hook.name.clone(), plan.result.clone()));
        plan
    }
}

impl Webhooks for SimWebhooks {
    fn call(&mut self, hook: &CanaryWebhook, _payload: &WebhookPayload) -> Result<(), PortError> {
        self.plan(hook).result.map_err(PortError::new)
    }

    fn call_event(
        &mut self,
        _hook: &CanaryWebhook,
        _payload: &WebhookPayload,
    ) -> Result<(), PortError> {
        Ok(())
    }
}

/// Events, alerts, logs and analysis records, for the run's log. The engine
/// borrows one recorder per port; they share the log, so entries keep the
/// order they happened in.
#[derive(Debug)]
pub struct Recorder {
    pub now: SimTime,
    log: Rc<RefCell<Vec<LogEntry>>>,
    pub failed_checks: Vec<FailedCheck>,
    /// Whether to keep the log (single runs with reports) or only outcomes.
    detail: bool,
}

impl Recorder {
    pub fn new(log: Rc<RefCell<Vec<LogEntry>>>, detail: bool) -> Recorder {
        Recorder {
            now: SimTime::ZERO,
            log,
            failed_checks: Vec::new(),
            detail,
        }
    }

    fn push(&mut self, source: LogSource, level: &str, message: String) {
        if self.detail {
            self.log.borrow_mut().push(LogEntry {
                at: self.now,
                source,
                level: level.to_owned(),
                message,
            });
        }
    }
}

impl Events for Recorder {
    fn record(&mut self, _canary: &Canary, event: &Event) {
        self.push(
            LogSource::Event,
            event.event_type.as_str(),
            event.message.clone(),
        );
    }
}

impl Alerts for Recorder {
    fn send(
        &mut self,
        provider: &CrossNamespaceRef,
        notification: &Notification,
    ) -> Result<(), PortError> {
        let message = format!(
            "{} → {}: {}",
            notification.severity_label(),
            provider.name,
            notification.message
        );
        self.push(LogSource::Alert, "", message);
        Ok(())
    }

    fn send_global(&mut self, notification: &Notification) -> Result<(), PortError> {
        let message = format!(
            "{} → global notifier: {}",
            notification.severity_label(),
            notification.message
        );
        self.push(LogSource::Alert, "", message);
        Ok(())
    }
}

impl Telemetry for Recorder {
    fn interval(&mut self, _canary: &Canary, record: &AnalysisRecord) {
        for check in &record.checks {
            if matches!(check.result, CheckResult::Pass | CheckResult::Skipped) {
                continue;
            }
            let reason = match (check.result, check.value) {
                (CheckResult::Fail, Some(value)) => match (check.min, check.max) {
                    (Some(min), _) if value < min => format!("{value:.2} < {min}"),
                    (_, Some(max)) if value > max => format!("{value:.2} > {max}"),
                    _ => format!("{value:.2} out of range"),
                },
                (CheckResult::NoData, _) => format!("no data: {}", check.message),
                (CheckResult::Error, _) => format!("provider error: {}", check.message),
                _ => check.message.clone(),
            };
            self.failed_checks.push(FailedCheck {
                at: self.now,
                check: check.name.clone(),
                reason,
            });
        }
    }

    fn log(&mut self, _canary: &Canary, level: Level, message: &str) {
        if level >= Level::Info {
            self.push(LogSource::Log, &format!("{level:?}"), message.to_owned());
        }
    }
}

trait SeverityLabel {
    fn severity_label(&self) -> String;
}

impl SeverityLabel for Notification {
    fn severity_label(&self) -> String {
        format!("{:?}", self.severity).to_lowercase()
    }
}

/// The simulated API server's status subresource. It accepts every write;
/// the run loop keeps the Canary, which the engine updates in place
/// (`weir_engine::advance_in_place`), so there is nothing to copy.
#[derive(Debug, Default)]
pub struct SimStatus;

impl StatusStore for SimStatus {
    fn write_status(&mut self, _canary: &Canary) -> Result<(), PortError> {
        Ok(())
    }

    fn remove_finalizer(&mut self, _canary: &Canary) -> Result<(), PortError> {
        Ok(())
    }
}

/// The virtual clock, as the engine reads it.
#[derive(Clone, Copy, Debug)]
pub struct SimClock(pub SimTime);

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        self.0.timestamp()
    }
}

/// Seeded letters for session-affinity cookies.
#[derive(Debug)]
pub struct SimEntropy(pub ChaCha8Rng);

impl Entropy for SimEntropy {
    fn letters(&mut self, count: usize) -> String {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        (0..count)
            .map(|_| char::from(LETTERS[self.0.random_range(0..LETTERS.len())]))
            .collect()
    }
}

/// Whether a phase means the canary is being analysed, so that load tests
/// (rollout webhooks) run against it. `Waiting` precedes the scale-up.
pub fn is_analysing(phase: CanaryPhase) -> bool {
    matches!(
        phase,
        CanaryPhase::Progressing | CanaryPhase::WaitingPromotion
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use weir_api::CanaryPhase;

    use super::*;

    fn webhooks(failure_probability: f64) -> SimWebhooks {
        SimWebhooks {
            behaviours: BTreeMap::from([(
                "load-test".to_owned(),
                WebhookBehaviour {
                    closed: false,
                    failure_probability,
                },
            )]),
            rng: ChaCha8Rng::seed_from_u64(7),
            calls: Vec::new(),
        }
    }

    fn hook(retries: i32, kind: WebhookType) -> CanaryWebhook {
        CanaryWebhook {
            name: "load-test".to_owned(),
            r#type: kind,
            url: "http://loadtester.test/".to_owned(),
            retries,
            ..CanaryWebhook::default()
        }
    }

    fn failure_rate(webhooks: &mut SimWebhooks, hook: &CanaryWebhook) -> f64 {
        let payload = WebhookPayload {
            name: "podinfo".to_owned(),
            namespace: "test".to_owned(),
            phase: CanaryPhase::Progressing,
            checksum: String::new(),
            metadata: None,
        };
        let calls = 20_000;
        let failures = (0..calls)
            .filter(|_| webhooks.call(hook, &payload).is_err())
            .count();
        failures as f64 / f64::from(calls)
    }

    #[test]
    fn retries_rescue_a_flaky_task_as_the_webhook_client_would() {
        // Each attempt fails half the time: with three retries, a call
        // fails only when all four attempts do (1/16).
        let rate = failure_rate(&mut webhooks(0.5), &hook(3, WebhookType::Rollout));
        assert!((rate - 0.0625).abs() < 0.01, "{rate}");
        let rate = failure_rate(&mut webhooks(0.5), &hook(0, WebhookType::Rollout));
        assert!((rate - 0.5).abs() < 0.02, "{rate}");
    }

    #[test]
    fn a_refusing_gate_is_not_retried() {
        // 403 is final for weir's webhook client, whatever `retries` says.
        let rate = failure_rate(&mut webhooks(0.5), &hook(3, WebhookType::ConfirmPromotion));
        assert!((rate - 0.5).abs() < 0.02, "{rate}");
    }

    #[test]
    fn failures_read_like_the_webhook_clients_errors() {
        let mut webhooks = webhooks(1.0);
        let payload = WebhookPayload {
            name: "podinfo".to_owned(),
            namespace: "test".to_owned(),
            phase: CanaryPhase::Progressing,
            checksum: String::new(),
            metadata: None,
        };
        let error = webhooks
            .call(&hook(2, WebhookType::Rollout), &payload)
            .expect_err("always fails");
        assert_eq!(
            error.0,
            "POST http://loadtester.test/ giving up after 3 attempt(s): 500 Internal Server Error: command failed"
        );
    }
}
