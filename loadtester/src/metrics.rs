//! The service's own Prometheus metrics, served at `/metrics`.
//!
//! flagger-loadtester's `/metrics` has only the Go runtime's collectors;
//! these are weir's:
//!
//! * `weir_loadtester_requests_total{path,code}`: answered requests, by
//!   route (every task submission counts as `/`) and status code;
//! * `weir_loadtester_tasks_total{type,outcome}`: tasks by type and outcome
//!   (`succeeded`, `failed`, `timed_out`, `cancelled`, `deduplicated`);
//! * `weir_loadtester_tasks_running{type}`: tasks running now.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::tasks::{TaskKind, TaskOutcome};

/// The Content-Type of [`Metrics::encode`]'s output.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    path: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    r#type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunningLabels {
    r#type: &'static str,
}

/// The registry and the metrics in it.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    tasks: Family<TaskLabels, Counter>,
    running: Family<RunningLabels, Gauge>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("weir_loadtester");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route and status code",
            requests.clone(),
        );
        let tasks = Family::<TaskLabels, Counter>::default();
        registry.register("tasks", "Tasks by type and outcome", tasks.clone());
        let running = Family::<RunningLabels, Gauge>::default();
        registry.register(
            "tasks_running",
            "Tasks running now, by type",
            running.clone(),
        );
        Metrics {
            registry,
            requests,
            tasks,
            running,
        }
    }

    pub(crate) fn count_request(&self, path: &str, code: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                path: path.to_owned(),
                code: code.to_string(),
            })
            .inc();
    }

    pub(crate) fn count_task(&self, kind: TaskKind, outcome: TaskOutcome) {
        self.tasks
            .get_or_create(&TaskLabels {
                r#type: kind.as_str(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub(crate) fn task_started(&self, kind: TaskKind) {
        self.running
            .get_or_create(&RunningLabels {
                r#type: kind.as_str(),
            })
            .inc();
    }

    pub(crate) fn task_ended(&self, kind: TaskKind) {
        self.running
            .get_or_create(&RunningLabels {
                r#type: kind.as_str(),
            })
            .dec();
    }

    /// The OpenMetrics text exposition of every metric.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an error here would be a
        // prometheus-client bug, and an empty scrape is the safe answer.
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
