//! Wired runs: the same simulation, with the engine talking HTTP to fakes
//! on loopback through the adapters the live controller uses.
//!
//! ```text
//!   run loop (virtual time, paced at --speed)
//!     │ windows close ──publish──▶ SeriesStore ◀── FakePrometheus ◀─ GET /api/v1/query ─┐
//!     │                            (counters as the mesh exports them,                   │
//!     │                             custom processes as gauges)                          │
//!     └ tick ─▶ weir_engine::advance ─▶ ProviderMetrics (weir-metrics) ─────────────────┘
//!                                    ─▶ HttpWebhooks (weir-webhooks) ─POST─▶ WebhookReceiver
//!                                    ─▶ HttpAlerts  (weir-alerts)   ─POST─▶ AlertSink
//! ```
//!
//! What the in-process run decides by arithmetic, a wired run decides over
//! the wire: builtin metrics are the real builtin queries (rendered by
//! weir-metrics, sent by its Prometheus provider, evaluated as PromQL by
//! the fake over the counters the simulated mesh exports), webhooks are
//! POSTed with retries and backoff, alerts are rendered as Slack messages.
//! Every random draw is the in-process run's, in the same order: faults
//! and webhook failures are drawn first, then scripted into the fakes for
//! the request that follows. So a seed reaches the same outcome both ways,
//! and a difference is a bug in one of the adapters or in the fakes.
//!
//! What the fakes cannot know is answered from the simulation:
//! * a MetricTemplate's query (the series it reads exist only in the
//!   user's cluster) is registered with the fake Prometheus as an alias of
//!   the simulated process's gauge, keyed by the query as weir renders it:
//!   a template that renders differently finds nothing;
//! * webhook and alert URLs point at the receiver and the sink
//!   (`/hooks/<name>`, `/alerts/<provider>`), and AlertProviders are
//!   Slack webhooks there.
//!
//! Time: the engine's clock, the fake Prometheus's evaluation time and the
//! providers' look-back windows are virtual; waits between events are
//! wall-clock time divided by `--speed`, and so are provider timeouts,
//! webhook backoffs and slow-provider delays, with floors that keep
//! loopback requests from timing out by accident.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use k8s_openapi::jiff::Timestamp;
use weir_api::metric_template::MetricProviderType;
use weir_api::objects::{InMemoryObjects, Objects};
use weir_api::{AlertProvider, AlertProviderSpec, AlertProviderType, Canary, CanaryMetric};
use weir_engine::ports::{
    Alerts, MetricOutcome, Metrics, Notification, PortError, WebhookPayload, Webhooks,
};
use weir_fakes_http::{
    AlertSink, FakePrometheus, FaultResponse, Labels, SeriesStore, WebhookReceiver,
};
use weir_http::Bridge;
use weir_metrics::provider::PROVIDER_TIMEOUT;
use weir_metrics::{MetricsSettings, Observer, ProviderContext, ProviderMetrics};
use weir_webhooks::{Backoff, HttpWebhooks, WebhookClient};

use crate::model::{Buckets, WindowCounts};
use crate::ports::{MetricKind, Recorder, SimMetrics, SimWebhooks, metric_range};
use crate::record::Reading;
use crate::scenario::{FaultKind, Scenario};
use crate::time::SimTime;

/// How a wired run keeps time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WiredOptions {
    /// Virtual seconds per wall-clock second; `None` runs as fast as the
    /// HTTP round trips allow.
    pub speed: Option<f64>,
}

/// Why a scenario cannot run wired.
#[derive(Debug, thiserror::Error)]
pub enum WiredError {
    #[error("cannot start the fakes: {0}")]
    Fakes(String),
    #[error("cannot start the HTTP runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error(
        "wired runs export Istio's and the Prometheus client's request metrics; the {provider} provider's builtin queries read other series"
    )]
    UnsupportedProvider { provider: String },
    #[error(
        "metric {metric}: MetricTemplate {template} uses the {provider} provider; wired runs serve only prometheus templates"
    )]
    UnsupportedTemplate {
        metric: String,
        template: String,
        provider: &'static str,
    },
    #[error("--speed must be a positive number, not {0}")]
    Speed(f64),
}

/// The shortest provider timeout of a fast wired run: long enough that a
/// loopback query on a busy machine never trips it by accident.
const TIMEOUT_FLOOR: Duration = Duration::from_millis(500);
/// How much longer than the timeout a slow provider that must time out
/// waits.
const TIMEOUT_MARGIN: Duration = Duration::from_millis(250);
/// The shortest webhook backoff: a sleep of zero would still retry, but a
/// millisecond keeps the retries visible in traces.
const BACKOFF_FLOOR: Duration = Duration::from_millis(1);

/// The gauge a simulated custom metric is published as.
const SIMULATED_METRIC: &str = "weir_simulated_metric";

/// The metric families the builtin queries of the Canary's observer read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// `istio_requests_total` and `istio_request_duration_milliseconds`.
    Istio,
    /// `http_request_duration_seconds` (the `kubernetes` provider, Gateway API).
    Http,
}

/// Counters of one workload, as its exporter would have them.
#[derive(Debug, Default)]
struct Exported {
    /// Windows published so far.
    windows: usize,
    /// Custom samples published so far, by metric.
    custom: BTreeMap<String, usize>,
}

/// The wired world: a runtime, the fakes and the HTTP adapters.
pub(crate) struct Wired {
    prometheus: FakePrometheus,
    receiver: WebhookReceiver,
    sink: AlertSink,
    metrics: ProviderMetrics<Arc<InMemoryObjects>>,
    webhooks: HttpWebhooks,
    alerts: weir_alerts::HttpAlerts<Arc<InMemoryObjects>>,
    /// The virtual clock, in milliseconds since the Unix epoch.
    clock: Arc<AtomicI64>,
    family: Family,
    namespace: String,
    target: String,
    exported: [Exported; 2],
    custom_metrics: Vec<String>,
    speed: Option<f64>,
    started: Instant,
    provider_timeout: Duration,
    /// Runs the fakes and the adapters' I/O; declared last so that it is
    /// dropped after everything that uses it.
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Wired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wired")
            .field("prometheus", &self.prometheus.url())
            .field("receiver", &self.receiver.url())
            .field("sink", &self.sink.url())
            .field("speed", &self.speed)
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}

impl Wired {
    /// Starts the fakes and adapters for `scenario`, and points `canary`'s
    /// webhooks and metrics server at them.
    pub(crate) fn start(
        scenario: &Scenario,
        canary: &mut Canary,
        options: WiredOptions,
    ) -> Result<Wired, WiredError> {
        if let Some(speed) = options.speed
            && !(speed.is_finite() && speed > 0.0)
        {
            return Err(WiredError::Speed(speed));
        }
        let provider = canary
            .spec
            .builtin_metrics_provider(scenario.config.mesh_provider);
        let family = match Observer::for_provider(&provider) {
            Observer::Istio => Family::Istio,
            Observer::Http => Family::Http,
            _ => return Err(WiredError::UnsupportedProvider { provider }),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (prometheus, receiver, sink) = runtime
            .block_on(async {
                Ok::<_, weir_fakes_http::FakeError>((
                    FakePrometheus::start().await?,
                    WebhookReceiver::start().await?,
                    AlertSink::start().await?,
                ))
            })
            .map_err(|error| WiredError::Fakes(error.to_string()))?;

        // Every URL the engine calls leads to a fake.
        canary.spec.metrics_server = None;
        if let Some(analysis) = canary.spec.analysis.as_mut() {
            for hook in &mut analysis.webhooks {
                hook.url = receiver.url_for(&format!("/hooks/{}", hook.name));
            }
        }
        let objects = Arc::new(objects(scenario, canary, &prometheus, &sink)?);
        let custom_metrics = alias_custom_metrics(canary, &objects, &prometheus);

        let wall = |simulated: Duration| match options.speed {
            Some(speed) => simulated.div_f64(speed),
            None => Duration::ZERO,
        };
        let provider_timeout = wall(PROVIDER_TIMEOUT).max(TIMEOUT_FLOOR);
        let clock = Arc::new(AtomicI64::new(SimTime::ZERO.timestamp().as_millisecond()));
        let bridge = Bridge::new(runtime.handle().clone());
        let context = ProviderContext::new(None)
            .map_err(|error| WiredError::Fakes(error.to_string()))?
            .with_timeout(provider_timeout);
        let now = Arc::clone(&clock);
        let metrics = ProviderMetrics::new(
            Arc::clone(&objects),
            MetricsSettings {
                metrics_server: prometheus.url().to_owned(),
                mesh_provider: scenario.config.mesh_provider,
            },
            context,
            bridge.clone(),
        )
        .with_clock(Arc::new(move || {
            Timestamp::from_millisecond(now.load(Ordering::SeqCst)).unwrap_or(Timestamp::UNIX_EPOCH)
        }));
        let webhooks = HttpWebhooks::new(
            WebhookClient::new()
                .map_err(|error| WiredError::Fakes(error.to_string()))?
                .with_backoff(Backoff {
                    min: wall(Backoff::GO_RETRYABLEHTTP.min).max(BACKOFF_FLOOR),
                    max: wall(Backoff::GO_RETRYABLEHTTP.max).max(BACKOFF_FLOOR),
                }),
            bridge.clone(),
        );
        let global = weir_alerts::GlobalNotifierConfig {
            slack_url: Some(sink.url_for("/alerts/global")),
            slack_channel: Some(weir_api::alert_provider::DEFAULT_ALERT_CHANNEL.to_owned()),
            ..weir_alerts::GlobalNotifierConfig::default()
        }
        .build()
        .map_err(|error| WiredError::Fakes(error.to_string()))?;
        let alerts = weir_alerts::HttpAlerts::new(Arc::clone(&objects), bridge, global);
        Ok(Wired {
            prometheus,
            receiver,
            sink,
            metrics,
            webhooks,
            alerts,
            clock,
            family,
            namespace: canary.namespace().to_owned(),
            target: canary.spec.target_ref.name.clone(),
            exported: [Exported::default(), Exported::default()],
            custom_metrics,
            speed: options.speed,
            started: Instant::now(),
            provider_timeout,
            runtime,
        })
    }

    /// Waits until the wall clock reaches virtual time `at` (at `speed`).
    pub(crate) fn pace(&self, at: SimTime) {
        if let Some(speed) = self.speed {
            let due = self.started + at.0.div_f64(speed);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }

    /// Brings the fakes up to `now`: the clock, and every window and custom
    /// sample the simulation has closed since the last tick.
    pub(crate) fn prepare(&mut self, now: SimTime, sim: &SimMetrics) {
        self.clock
            .store(now.timestamp().as_millisecond(), Ordering::SeqCst);
        let store = self.prometheus.store().clone();
        store.set_now(store_time(now));
        for (index, canary) in [(0, false), (1, true)] {
            let series = if canary { &sim.canary } else { &sim.primary };
            let workload = if canary {
                self.target.clone()
            } else {
                format!("{}-primary", self.target)
            };
            let exported = &mut self.exported[index];
            let published = exported.windows;
            if published == 0 {
                // A zero sample at the start, so that the first window's
                // increase has a reference.
                publish_window(
                    &store,
                    self.family,
                    &self.namespace,
                    &workload,
                    &sim.buckets,
                    SimTime::ZERO,
                    &WindowCounts::default(),
                );
            }
            let closed = series
                .windows
                .iter()
                .enumerate()
                .skip(published)
                .take_while(|(slot, _)| window_end(*slot, sim.resolution) <= now);
            let mut count = published;
            for (slot, counts) in closed {
                publish_window(
                    &store,
                    self.family,
                    &self.namespace,
                    &workload,
                    &sim.buckets,
                    window_end(slot, sim.resolution),
                    counts,
                );
                count = slot + 1;
            }
            exported.windows = count;
            if canary {
                for metric in &self.custom_metrics {
                    let Some(samples) = sim.custom.get(metric) else {
                        continue;
                    };
                    let published = exported.custom.entry(metric.clone()).or_default();
                    let series = Labels::metric(SIMULATED_METRIC).with("metric", metric);
                    for (at, value) in samples.canary.iter().skip(*published) {
                        // Out-of-order samples cannot happen: processes are
                        // scraped at window ends, in order.
                        let _ = store.append(&series, store_time(*at), *value);
                    }
                    *published = samples.canary.len();
                }
            }
        }
    }

    /// The engine's metrics, webhooks and alerts ports for one tick, each
    /// lending one adapter and the in-process port whose draws it replays.
    pub(crate) fn ports<'a>(
        &'a mut self,
        metrics: &'a mut SimMetrics,
        webhooks: &'a mut SimWebhooks,
        alerts: &'a mut Recorder,
    ) -> (WiredMetrics<'a>, WiredWebhooks<'a>, WiredAlerts<'a>) {
        let slow = SlowDelays {
            speed: self.speed,
            provider_timeout: self.provider_timeout,
        };
        (
            WiredMetrics {
                prometheus: &self.prometheus,
                http: &mut self.metrics,
                slow,
                sim: metrics,
            },
            WiredWebhooks {
                receiver: &self.receiver,
                http: &mut self.webhooks,
                sim: webhooks,
            },
            WiredAlerts {
                http: &mut self.alerts,
                recorder: alerts,
            },
        )
    }

    /// The number of requests the fakes received, for tests.
    pub(crate) fn traffic(&self) -> WiredTraffic {
        WiredTraffic {
            queries: self.prometheus.queries().len(),
            webhook_calls: self.receiver.call_count(),
            alerts: self.sink.messages().len(),
        }
    }
}

/// How a wired run turns a simulated slow provider into a wall-clock delay.
#[derive(Clone, Copy, Debug)]
struct SlowDelays {
    speed: Option<f64>,
    provider_timeout: Duration,
}

impl SlowDelays {
    /// Past the provider timeout when the simulated latency is, well
    /// within it otherwise.
    fn delay(self, latency: Duration, times_out: bool) -> Duration {
        if times_out {
            return self.provider_timeout + TIMEOUT_MARGIN;
        }
        let scaled = match self.speed {
            Some(speed) => latency.div_f64(speed),
            None => Duration::ZERO,
        };
        scaled.min(self.provider_timeout / 2)
    }
}

/// What crossed the wire during a wired run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WiredTraffic {
    pub queries: usize,
    pub webhook_calls: usize,
    pub alerts: usize,
}

fn window_end(slot: usize, resolution: Duration) -> SimTime {
    SimTime(resolution.saturating_mul(u32::try_from(slot + 1).unwrap_or(u32::MAX)))
}

fn store_time(at: SimTime) -> weir_fakes_http::Timestamp {
    weir_fakes_http::Timestamp::from_millis(at.timestamp().as_millisecond())
}

impl Family {
    /// The labels every series of `workload` carries.
    fn workload_labels(self, namespace: &str, workload: &str) -> Labels {
        match self {
            Family::Istio => Labels::new()
                .with("reporter", "destination")
                .with("destination_workload_namespace", namespace)
                .with("destination_workload", workload),
            // A pod of the Deployment, `<workload>-<hash>-<suffix>`, as the
            // HTTP observer's pod-name pattern expects.
            Family::Http => Labels::new().with("kubernetes_namespace", namespace).with(
                "kubernetes_pod_name",
                &format!("{workload}-7f9d8b6c5d-x2x4z"),
            ),
        }
    }

    /// The request counter answered with `status`.
    fn requests(self, labels: &Labels, status: &str) -> Labels {
        match self {
            Family::Istio => labels
                .clone()
                .with("__name__", "istio_requests_total")
                .with("response_code", status),
            Family::Http => labels
                .clone()
                .with("__name__", "http_request_duration_seconds_count")
                .with("status", status),
        }
    }

    /// The latency bucket with upper bound `le` (text).
    fn bucket(self, labels: &Labels, le: &str) -> Labels {
        let name = match self {
            Family::Istio => "istio_request_duration_milliseconds_bucket",
            Family::Http => "http_request_duration_seconds_bucket",
        };
        labels.clone().with("__name__", name).with("le", le)
    }

    /// The family's bound for a simulator bound in milliseconds.
    fn bound(self, milliseconds: f64) -> f64 {
        match self {
            Family::Istio => milliseconds,
            Family::Http => milliseconds / 1000.0,
        }
    }
}

/// Adds one window's counts to the workload's exported counters, as of
/// `at`.
fn publish_window(
    store: &SeriesStore,
    family: Family,
    namespace: &str,
    workload: &str,
    buckets: &Buckets,
    at: SimTime,
    counts: &WindowCounts,
) {
    let time = store_time(at);
    // The store refuses nothing here: samples go in time order, one per
    // series and window.
    let increment = |series: Labels, by: u64| {
        let _ = store.increment(&series, time, by as f64);
    };
    let labels = family.workload_labels(namespace, workload);
    increment(family.requests(&labels, "200"), counts.successes());
    increment(family.requests(&labels, "500"), counts.errors);
    let per_bucket = counts.buckets();
    let mut cumulative = 0;
    let bounds = buckets
        .upper_bounds()
        .iter()
        .map(|bound| weir_fakes_http::format_go_float_g(family.bound(*bound)))
        .chain(std::iter::once("+Inf".to_owned()));
    for (index, le) in bounds.enumerate() {
        cumulative += per_bucket.get(index).copied().unwrap_or(0);
        increment(family.bucket(&labels, &le), cumulative);
    }
}

/// The objects the wired engine reads: the scenario's MetricTemplates,
/// pointed at the fake Prometheus, and a Slack AlertProvider on the sink
/// for every provider the Canary's alerts name.
fn objects(
    scenario: &Scenario,
    canary: &Canary,
    prometheus: &FakePrometheus,
    sink: &AlertSink,
) -> Result<InMemoryObjects, WiredError> {
    let mut objects = InMemoryObjects::default();
    for template in &scenario.templates {
        let mut template = template.clone();
        template.spec.provider.address = Some(prometheus.url().to_owned());
        template.spec.provider.secret_ref = None;
        template.spec.provider.headers.clear();
        objects = objects.with_metric_template(template);
    }
    for metric in &canary.spec.analysis().metrics {
        let Some(reference) = &metric.template_ref else {
            continue;
        };
        let namespace = reference
            .namespace
            .as_deref()
            .filter(|namespace| !namespace.is_empty())
            .unwrap_or(canary.namespace());
        if let Ok(template) = objects.metric_template(namespace, &reference.name)
            && template.spec.provider.r#type != MetricProviderType::Prometheus
        {
            return Err(WiredError::UnsupportedTemplate {
                metric: metric.name.clone(),
                template: format!("{namespace}/{}", reference.name),
                provider: template.spec.provider.r#type.as_str(),
            });
        }
    }
    for alert in &canary.spec.analysis().alerts {
        let reference = &alert.provider_ref;
        let namespace = reference
            .namespace
            .clone()
            .filter(|namespace| !namespace.is_empty())
            .unwrap_or_else(|| canary.namespace().to_owned());
        let mut provider = AlertProvider::new(
            &reference.name,
            AlertProviderSpec {
                r#type: AlertProviderType::Slack,
                address: Some(sink.url_for(&format!("/alerts/{}", reference.name))),
                ..AlertProviderSpec::default()
            },
        );
        provider.metadata.namespace = Some(namespace);
        objects = objects.with_alert_provider(provider);
    }
    Ok(objects)
}

/// Registers each custom metric's query, as weir renders it, as an alias
/// of its simulated gauge; returns the custom metrics' names.
fn alias_custom_metrics(
    canary: &Canary,
    objects: &InMemoryObjects,
    prometheus: &FakePrometheus,
) -> Vec<String> {
    let mut names = Vec::new();
    for metric in &canary.spec.analysis().metrics {
        if MetricKind::of(metric) != MetricKind::Custom {
            continue;
        }
        names.push(metric.name.clone());
        let query = match (&metric.template_ref, &metric.query) {
            (Some(reference), _) => {
                let namespace = reference
                    .namespace
                    .as_deref()
                    .filter(|namespace| !namespace.is_empty())
                    .unwrap_or(canary.namespace());
                objects
                    .metric_template(namespace, &reference.name)
                    .map(|template| template.spec.query)
                    .ok()
            }
            (None, Some(query)) => Some(query.clone()),
            (None, None) => None,
        };
        // A query that does not render is the engine's error to report.
        let rendered = query.and_then(|query| {
            weir_metrics::render(
                &query,
                &weir_metrics::QueryModel::for_metric(canary, metric),
            )
            .ok()
        });
        if let Some(rendered) = rendered {
            prometheus.alias(
                &rendered,
                &format!("{SIMULATED_METRIC}{{metric=\"{}\"}}", metric.name),
            );
        }
    }
    names
}

/// The metrics port of a wired tick.
pub(crate) struct WiredMetrics<'a> {
    prometheus: &'a FakePrometheus,
    http: &'a mut ProviderMetrics<Arc<InMemoryObjects>>,
    slow: SlowDelays,
    sim: &'a mut SimMetrics,
}

impl Metrics for WiredMetrics<'_> {
    fn evaluate(
        &mut self,
        canary: &Canary,
        metric: &CanaryMetric,
        interval: &str,
    ) -> MetricOutcome {
        let range = metric_range(interval);
        let fault = self.sim.fault(&metric.name);
        if let Some(fault) = &fault {
            let response = match fault.kind {
                FaultKind::NoData => FaultResponse::Empty,
                FaultKind::Error => {
                    FaultResponse::error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
                }
                FaultKind::Slow => FaultResponse::Delay(self.slow.delay(
                    fault.latency.map(|span| span.0).unwrap_or_default(),
                    fault.times_out(),
                )),
                FaultKind::Stale => {
                    FaultResponse::Stale(fault.stale_by.map(|span| span.0).unwrap_or_default())
                }
            };
            self.prometheus.answer_next(response);
        }
        let outcome = self.http.evaluate(canary, metric, interval);
        let reading = match &outcome {
            MetricOutcome::Value(value) => Reading::Value { value: *value },
            MetricOutcome::NoData(message) => Reading::NoData {
                message: message.clone(),
            },
            MetricOutcome::Error(message) => Reading::Error {
                message: message.clone(),
            },
        };
        self.sim.record(metric, range, reading);
        outcome
    }

    fn check_providers(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.http.check_providers(canary)
    }
}

/// The webhooks port of a wired tick.
pub(crate) struct WiredWebhooks<'a> {
    receiver: &'a WebhookReceiver,
    http: &'a mut HttpWebhooks,
    sim: &'a mut SimWebhooks,
}

impl Webhooks for WiredWebhooks<'_> {
    fn call(
        &mut self,
        hook: &weir_api::CanaryWebhook,
        payload: &WebhookPayload,
    ) -> Result<(), PortError> {
        let plan = self.sim.plan(hook);
        if plan.failed_attempts > 0 {
            let status =
                StatusCode::from_u16(plan.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            self.receiver.answer_next(
                plan.failed_attempts as usize,
                weir_fakes_http::CannedResponse::new(status, plan.body),
            );
        }
        self.http.call(hook, payload)
    }

    fn call_event(
        &mut self,
        hook: &weir_api::CanaryWebhook,
        payload: &WebhookPayload,
    ) -> Result<(), PortError> {
        // Event hooks point at the receiver already; the global one does not.
        let mut hook = hook.clone();
        if !hook.url.starts_with(self.receiver.url()) {
            hook.url = self.receiver.url_for("/events");
        }
        self.http.call_event(&hook, payload)
    }
}

/// The alerts port of a wired tick: recorded for the run's log, and sent.
pub(crate) struct WiredAlerts<'a> {
    http: &'a mut weir_alerts::HttpAlerts<Arc<InMemoryObjects>>,
    recorder: &'a mut Recorder,
}

impl Alerts for WiredAlerts<'_> {
    fn send(
        &mut self,
        provider: &weir_api::analysis::CrossNamespaceRef,
        notification: &Notification,
    ) -> Result<(), PortError> {
        self.recorder.send(provider, notification)?;
        self.http.send(provider, notification)
    }

    fn send_global(&mut self, notification: &Notification) -> Result<(), PortError> {
        self.recorder.send_global(notification)?;
        self.http.send_global(notification)
    }
}
