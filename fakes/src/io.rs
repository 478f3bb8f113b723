//! Fakes for routing, metrics, webhooks, alerts, events, the clock, the API
//! server's status store, randomness and telemetry.

use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use weir_api::analysis::CrossNamespaceRef;
use weir_api::{
    AnalysisRecord, Canary, CanaryMetric, CanaryPhase, CanaryWebhook, Strategy, WebhookType,
};
use weir_engine::ports::{
    Alerts, Clock, Entropy, Event, Events, Level, MetricOutcome, Metrics, Notification, PortError,
    Routes, Routing, RunOutcome, StatusStore, Telemetry, WebhookPayload, Webhooks,
};

/// How the fake router reports routes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouterMode {
    /// A mesh router: reports the weights it was last given.
    #[default]
    Weighted,
    /// Flagger's kubernetes (no-op) router: all traffic on the primary until
    /// the first iteration, then reported as all on the canary; sets nothing.
    KubernetesNoop,
}

/// A router that keeps the weights it is given.
#[derive(Clone, Debug)]
pub struct FakeRouter {
    pub mode: RouterMode,
    pub routes: Routes,
    /// Every `set_routes`, in order.
    pub history: Vec<Routes>,
    /// Calls, in order (`reconcile_services`, `reconcile_apex`, ...).
    pub calls: Vec<&'static str>,
    pub failures: BTreeMap<&'static str, String>,
    /// The session-affinity cookie the Canary's status held at the last `set_routes`.
    pub last_cookie: String,
}

impl Default for FakeRouter {
    fn default() -> Self {
        FakeRouter {
            mode: RouterMode::Weighted,
            routes: Routes::ALL_PRIMARY,
            history: Vec::new(),
            calls: Vec::new(),
            failures: BTreeMap::new(),
            last_cookie: String::new(),
        }
    }
}

impl FakeRouter {
    fn call(&mut self, name: &'static str) -> Result<(), PortError> {
        self.calls.push(name);
        match self.failures.get(name) {
            Some(message) => Err(PortError::new(message.clone())),
            None => Ok(()),
        }
    }
}

impl Routing for FakeRouter {
    fn reconcile_services(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("reconcile_services")
    }

    fn reconcile_apex(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("reconcile_apex")
    }

    fn reconcile_mesh(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("reconcile_mesh")
    }

    fn routes(&mut self, canary: &Canary) -> Result<Routes, PortError> {
        self.call("routes")?;
        Ok(match self.mode {
            RouterMode::Weighted => self.routes,
            RouterMode::KubernetesNoop => {
                let iterations = canary.status.as_ref().map_or(0, |status| status.iterations);
                if iterations == 0 {
                    Routes::ALL_PRIMARY
                } else {
                    Routes::ALL_CANARY
                }
            }
        })
    }

    fn set_routes(&mut self, canary: &Canary, routes: Routes) -> Result<(), PortError> {
        self.call("set_routes")?;
        if self.mode == RouterMode::Weighted {
            self.routes = routes;
        }
        self.history.push(routes);
        self.last_cookie = canary
            .status
            .as_ref()
            .map(|status| status.session_affinity_cookie.clone())
            .unwrap_or_default();
        Ok(())
    }

    fn finalize(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("finalize")
    }
}

/// One metric query.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricCall {
    pub metric: String,
    pub interval: String,
}

/// Metric values, constant or scripted per query.
#[derive(Clone, Debug, Default)]
pub struct FakeMetrics {
    /// Answers for the next queries of a metric, by name; the last one repeats.
    pub scripts: BTreeMap<String, VecDeque<MetricOutcome>>,
    pub calls: Vec<MetricCall>,
    /// What `check_providers` answers.
    pub providers_error: Option<String>,
}

impl FakeMetrics {
    /// Answers `outcomes` to the next queries of `metric`, repeating the last.
    pub fn script(&mut self, metric: &str, outcomes: impl IntoIterator<Item = MetricOutcome>) {
        self.scripts
            .insert(metric.to_owned(), outcomes.into_iter().collect());
    }

    /// Always answers `value` for `metric`.
    pub fn set(&mut self, metric: &str, value: f64) {
        self.script(metric, [MetricOutcome::Value(value)]);
    }

    /// A healthy value for a metric nobody scripted: the builtin metrics pass
    /// their usual thresholds, anything else reads 0.
    fn healthy(metric: &CanaryMetric) -> MetricOutcome {
        MetricOutcome::Value(match metric.name.as_str() {
            "request-success-rate" => 100.0,
            "request-duration" => 10.0,
            _ => 0.0,
        })
    }
}

impl Metrics for FakeMetrics {
    fn evaluate(
        &mut self,
        _canary: &Canary,
        metric: &CanaryMetric,
        interval: &str,
    ) -> MetricOutcome {
        self.calls.push(MetricCall {
            metric: metric.name.clone(),
            interval: interval.to_owned(),
        });
        match self.scripts.get_mut(&metric.name) {
            Some(script) if script.len() > 1 => {
                script.pop_front().unwrap_or_else(|| Self::healthy(metric))
            }
            Some(script) => script
                .front()
                .cloned()
                .unwrap_or_else(|| Self::healthy(metric)),
            None => Self::healthy(metric),
        }
    }

    fn check_providers(&mut self, _canary: &Canary) -> Result<(), PortError> {
        match &self.providers_error {
            Some(message) => Err(PortError::new(message.clone())),
            None => Ok(()),
        }
    }
}

/// One webhook call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookCall {
    pub name: String,
    pub kind: WebhookType,
    pub url: String,
    pub payload: WebhookPayload,
}

/// Webhook receivers: succeed unless told otherwise.
#[derive(Clone, Debug, Default)]
pub struct FakeWebhooks {
    /// Answers for the next calls of a hook, by hook name; the last one repeats.
    pub scripts: BTreeMap<String, VecDeque<Result<(), String>>>,
    pub calls: Vec<WebhookCall>,
    /// Event webhook deliveries: URL and payload.
    pub events: Vec<(String, WebhookPayload)>,
}

impl FakeWebhooks {
    /// The hook answers 200 from now on (an open gate, a passing check).
    pub fn open(&mut self, hook: &str) {
        self.scripts
            .insert(hook.to_owned(), VecDeque::from([Ok(())]));
    }

    /// The hook answers 403 from now on (a closed gate, a failing check).
    pub fn close(&mut self, hook: &str) {
        self.scripts.insert(
            hook.to_owned(),
            VecDeque::from([Err("403 Forbidden".to_owned())]),
        );
    }

    /// Scripted answers for the next calls; the last one repeats.
    pub fn script(&mut self, hook: &str, answers: impl IntoIterator<Item = Result<(), String>>) {
        self.scripts
            .insert(hook.to_owned(), answers.into_iter().collect());
    }

    /// Names of the hooks called, in order.
    pub fn names(&self) -> Vec<&str> {
        self.calls.iter().map(|call| call.name.as_str()).collect()
    }
}

impl Webhooks for FakeWebhooks {
    fn call(&mut self, hook: &CanaryWebhook, payload: &WebhookPayload) -> Result<(), PortError> {
        self.calls.push(WebhookCall {
            name: hook.name.clone(),
            kind: hook.r#type.effective(),
            url: hook.url.clone(),
            payload: payload.clone(),
        });
        let answer = match self.scripts.get_mut(&hook.name) {
            Some(script) if script.len() > 1 => script.pop_front().unwrap_or(Ok(())),
            Some(script) => script.front().cloned().unwrap_or(Ok(())),
            None => Ok(()),
        };
        answer.map_err(PortError::new)
    }

    fn call_event(
        &mut self,
        hook: &CanaryWebhook,
        payload: &WebhookPayload,
    ) -> Result<(), PortError> {
        self.events.push((hook.url.clone(), payload.clone()));
        Ok(())
    }
}

/// One alert delivery; `provider` is `None` for the global notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertCall {
    pub provider: Option<CrossNamespaceRef>,
    pub notification: Notification,
}

/// Alert sinks that record every notification.
#[derive(Clone, Debug, Default)]
pub struct FakeAlerts {
    pub sent: Vec<AlertCall>,
}

impl FakeAlerts {
    /// Messages sent, in order.
    pub fn messages(&self) -> Vec<&str> {
        self.sent
            .iter()
            .map(|call| call.notification.message.as_str())
            .collect()
    }
}

impl Alerts for FakeAlerts {
    fn send(
        &mut self,
        provider: &CrossNamespaceRef,
        notification: &Notification,
    ) -> Result<(), PortError> {
        self.sent.push(AlertCall {
            provider: Some(provider.clone()),
            notification: notification.clone(),
        });
        Ok(())
    }

    fn send_global(&mut self, notification: &Notification) -> Result<(), PortError> {
        self.sent.push(AlertCall {
            provider: None,
            notification: notification.clone(),
        });
        Ok(())
    }
}

/// Kubernetes events, recorded.
#[derive(Clone, Debug, Default)]
pub struct FakeEvents {
    pub recorded: Vec<Event>,
}

impl FakeEvents {
    pub fn messages(&self) -> Vec<&str> {
        self.recorded
            .iter()
            .map(|event| event.message.as_str())
            .collect()
    }
}

impl Events for FakeEvents {
    fn record(&mut self, _canary: &Canary, event: &Event) {
        self.recorded.push(event.clone());
    }
}

/// A clock that moves only when told to.
#[derive(Clone, Debug)]
pub struct FakeClock {
    now: Cell<Timestamp>,
}

impl Default for FakeClock {
    fn default() -> Self {
        // 2026-01-01T00:00:00Z: any fixed instant keeps runs reproducible.
        FakeClock {
            now: Cell::new(Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH)),
        }
    }
}

impl FakeClock {
    pub fn advance(&self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        self.now
            .set(self.now.get().checked_add(by).unwrap_or(Timestamp::MAX));
    }

    pub fn set(&self, to: Timestamp) {
        self.now.set(to);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        self.now.get()
    }
}

/// The API server's copy of the Canary: what the engine reads each tick and
/// what its status writes change.
#[derive(Clone, Debug)]
pub struct FakeApi {
    pub canary: Canary,
    pub status_writes: usize,
    /// When set, status writes fail with this message.
    pub fail_writes: Option<String>,
    pub finalizer_removed: bool,
}

impl FakeApi {
    pub fn new(canary: Canary) -> FakeApi {
        FakeApi {
            canary,
            status_writes: 0,
            fail_writes: None,
            finalizer_removed: false,
        }
    }
}

impl StatusStore for FakeApi {
    fn write_status(&mut self, canary: &Canary) -> Result<(), PortError> {
        if let Some(message) = &self.fail_writes {
            return Err(PortError::new(message.clone()));
        }
        self.status_writes += 1;
        self.canary.status = canary.status.clone();
        Ok(())
    }

    fn remove_finalizer(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.finalizer_removed = true;
        if let Some(finalizers) = self.canary.metadata.finalizers.as_mut() {
            finalizers.clear();
        }
        Ok(())
    }
}

/// Deterministic "randomness": `aaaaaaaaaa`, `aaaaaaaaab`, ...
#[derive(Clone, Debug, Default)]
pub struct FakeEntropy {
    counter: u64,
}

impl Entropy for FakeEntropy {
    fn letters(&mut self, count: usize) -> String {
        let mut value = self.counter;
        self.counter += 1;
        let mut letters = vec![b'a'; count];
        for letter in letters.iter_mut().rev() {
            *letter = b'a' + u8::try_from(value % 26).unwrap_or(0);
            value /= 26;
        }
        String::from_utf8(letters).unwrap_or_default()
    }
}

/// Telemetry, recorded.
#[derive(Clone, Debug, Default)]
pub struct FakeTelemetry {
    pub statuses: Vec<CanaryPhase>,
    pub weights: Vec<Routes>,
    pub metric_values: Vec<(String, f64)>,
    pub outcomes: Vec<(Strategy, RunOutcome)>,
    pub intervals: Vec<AnalysisRecord>,
    pub logs: Vec<(Level, String)>,
}

impl Telemetry for FakeTelemetry {
    fn set_status(&mut self, _canary: &Canary, phase: CanaryPhase) {
        self.statuses.push(phase);
    }

    fn set_weight(&mut self, _canary: &Canary, routes: Routes) {
        self.weights.push(routes);
    }

    fn metric_value(&mut self, _canary: &Canary, metric: &str, value: f64) {
        self.metric_values.push((metric.to_owned(), value));
    }

    fn run_finished(&mut self, _canary: &Canary, strategy: Strategy, outcome: RunOutcome) {
        self.outcomes.push((strategy, outcome));
    }

    fn interval(&mut self, _canary: &Canary, record: &AnalysisRecord) {
        self.intervals.push(record.clone());
    }

    fn log(&mut self, _canary: &Canary, level: Level, message: &str) {
        self.logs.push((level, message.to_owned()));
    }
}
