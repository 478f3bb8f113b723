//! A synthetic application whose `/metrics` a real Prometheus can scrape:
//! known request counts and latency histograms, growing with the wall
//! clock, in the metric families weir's builtin queries read.
//!
//! ```text
//!   SyntheticApp (t seconds after start)              Prometheus (scrapes /metrics)
//!     requests = ⌊rps · t⌋                    ──▶      rate(...[interval]) ratios
//!     errors   = ⌊requests · error_rate⌋                histogram_quantile(0.99, ...)
//!     bucket(le) = ⌊count · cdf(le)⌋          ──▶      weir's Prometheus provider
//! ```
//!
//! Every counter is a deterministic function of the time since start, so a
//! test knows the success rate and the p99 Prometheus must report (up to
//! the rounding of whole requests) without knowing when it scraped.
//!
//! Two families are exported for one workload: Istio's
//! (`istio_requests_total`, `istio_request_duration_milliseconds`, as the
//! destination sidecar reports them) and the Prometheus client library's
//! (`http_request_duration_seconds`, as podinfo exports it, with the
//! `kubernetes_namespace` and `kubernetes_pod_name` labels a Kubernetes
//! scrape config adds).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::get;

use crate::FakeError;
use crate::server::Server;

/// The traffic the app serves and how fast it answers.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticTraffic {
    /// Requests per second.
    pub rps: f64,
    /// Fraction of requests answered 500.
    pub error_rate: f64,
    /// The latency distribution as `(upper bound in milliseconds, fraction
    /// of requests at or below it)`, increasing in both; requests above the
    /// last bound fall in `+Inf`.
    pub latency: Vec<(f64, f64)>,
}

impl SyntheticTraffic {
    /// The fraction of requests at or below `milliseconds`, interpolating
    /// linearly between the configured points (0 below the first bound's
    /// start at 0 ms).
    pub fn fraction_at_most(&self, milliseconds: f64) -> f64 {
        let mut previous = (0.0, 0.0);
        for &(bound, fraction) in &self.latency {
            if milliseconds <= bound {
                let (low_bound, low_fraction) = previous;
                if bound <= low_bound {
                    return fraction;
                }
                return low_fraction
                    + (fraction - low_fraction) * (milliseconds - low_bound) / (bound - low_bound);
            }
            previous = (bound, fraction);
        }
        self.latency.last().map_or(1.0, |&(_, fraction)| fraction)
    }
}

/// Where the app runs, as its labels say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub namespace: String,
    /// The Deployment's name (Istio's `destination_workload`).
    pub name: String,
    /// A pod name of the Deployment, `<name>-<hash>-<suffix>`.
    pub pod: String,
}

/// Istio's default buckets for `istio_request_duration_milliseconds`.
pub const ISTIO_BUCKETS_MILLISECONDS: [f64; 20] = [
    1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0, 7200000.0, 14400000.0,
];

/// The Prometheus client libraries' default buckets, in seconds.
pub const CLIENT_BUCKETS_SECONDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug)]
struct State {
    traffic: SyntheticTraffic,
    workload: Workload,
    started: Instant,
}

/// The app, serving `/metrics` on loopback until dropped.
#[derive(Debug)]
pub struct SyntheticApp {
    server: Server,
}

impl SyntheticApp {
    /// Starts serving; counters start at 0 now.
    pub async fn start(
        traffic: SyntheticTraffic,
        workload: Workload,
    ) -> Result<SyntheticApp, FakeError> {
        let state = Arc::new(State {
            traffic,
            workload,
            started: Instant::now(),
        });
        let router = Router::new().route(
            "/metrics",
            get(move || {
                let state = Arc::clone(&state);
                async move {
                    let seconds = state.started.elapsed().as_secs_f64();
                    (
                        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                        exposition(&state.traffic, &state.workload, seconds),
                    )
                }
            }),
        );
        Ok(SyntheticApp {
            server: Server::start("synthetic app", router).await?,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// `127.0.0.1:<port>`, for a scrape config.
    pub fn address(&self) -> std::net::SocketAddr {
        self.server.address()
    }
}

/// The text exposition of the counters `seconds` after start.
pub fn exposition(traffic: &SyntheticTraffic, workload: &Workload, seconds: f64) -> String {
    // Whole requests: counters of a real app never hold fractions.
    let requests = (traffic.rps * seconds).floor();
    let errors = (requests * traffic.error_rate).floor();
    let by_status = [("200", requests - errors), ("500", errors)];
    let mut text = String::new();

    let istio = format!(
        r#"reporter="destination",destination_workload_namespace="{}",destination_workload="{}""#,
        escape(&workload.namespace),
        escape(&workload.name)
    );
    let _ = writeln!(text, "# TYPE istio_requests_total counter");
    for (status, count) in by_status {
        let _ = writeln!(
            text,
            r#"istio_requests_total{{{istio},response_code="{status}"}} {count}"#
        );
    }
    histogram(
        &mut text,
        "istio_request_duration_milliseconds",
        &istio,
        &ISTIO_BUCKETS_MILLISECONDS,
        1.0,
        traffic,
        requests,
    );

    let _ = writeln!(text, "# TYPE http_request_duration_seconds histogram");
    for (status, count) in by_status {
        let labels = format!(
            r#"kubernetes_namespace="{}",kubernetes_pod_name="{}",method="GET",path="/",status="{status}""#,
            escape(&workload.namespace),
            escape(&workload.pod)
        );
        histogram_series(
            &mut text,
            "http_request_duration_seconds",
            &labels,
            &CLIENT_BUCKETS_SECONDS,
            1000.0,
            traffic,
            count,
        );
    }
    text
}

/// A histogram family with one series.
fn histogram(
    text: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    milliseconds_per_unit: f64,
    traffic: &SyntheticTraffic,
    count: f64,
) {
    let _ = writeln!(text, "# TYPE {name} histogram");
    histogram_series(
        text,
        name,
        labels,
        bounds,
        milliseconds_per_unit,
        traffic,
        count,
    );
}

/// `_bucket`, `_sum` and `_count` lines of one histogram series of `count`
/// observations, bounds in the family's unit.
fn histogram_series(
    text: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    milliseconds_per_unit: f64,
    traffic: &SyntheticTraffic,
    count: f64,
) {
    let mut sum = 0.0;
    let mut previous = (0.0, 0.0);
    for &bound in bounds {
        let cumulative = (count * traffic.fraction_at_most(bound * milliseconds_per_unit)).floor();
        // Each bucket's requests counted at its midpoint, for `_sum`.
        sum += (cumulative - previous.1) * (bound + previous.0) / 2.0;
        previous = (bound, cumulative);
        let _ = writeln!(
            text,
            r#"{name}_bucket{{{labels},le="{}"}} {cumulative}"#,
            crate::format_go_float_g(bound)
        );
    }
    let _ = writeln!(text, r#"{name}_bucket{{{labels},le="+Inf"}} {count}"#);
    let _ = writeln!(text, "{name}_sum{{{labels}}} {sum}");
    let _ = writeln!(text, "{name}_count{{{labels}}} {count}");
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic() -> SyntheticTraffic {
        SyntheticTraffic {
            rps: 100.0,
            error_rate: 0.02,
            latency: vec![(10.0, 0.5), (250.0, 0.98), (500.0, 0.995), (1000.0, 1.0)],
        }
    }

    fn workload() -> Workload {
        Workload {
            namespace: "test".to_owned(),
            name: "podinfo".to_owned(),
            pod: "podinfo-7f9d8b6c5d-x2x4z".to_owned(),
        }
    }

    #[test]
    fn counters_are_whole_requests_split_by_status() {
        let text = exposition(&traffic(), &workload(), 10.0);
        assert!(text.contains(r#"response_code="200"} 980"#), "{text}");
        assert!(text.contains(r#"response_code="500"} 20"#), "{text}");
        assert!(
            text.contains(r#"kubernetes_pod_name="podinfo-7f9d8b6c5d-x2x4z",method="GET",path="/",status="500",le="+Inf"} 20"#),
            "{text}"
        );
    }

    #[test]
    fn buckets_follow_the_latency_distribution_in_each_unit() {
        let text = exposition(&traffic(), &workload(), 10.0);
        // 1000 requests: half at or below 10 ms, 98% at or below 250 ms.
        assert!(
            text.contains(r#"destination_workload="podinfo",le="10"} 500"#),
            "{text}"
        );
        assert!(
            text.contains(r#"destination_workload="podinfo",le="250"} 980"#),
            "{text}"
        );
        assert!(text.contains(r#"status="200",le="0.25"} 960"#), "{text}");
    }

    #[test]
    fn the_distribution_interpolates_between_points() {
        let traffic = traffic();
        assert_eq!(traffic.fraction_at_most(5.0), 0.25);
        assert!((traffic.fraction_at_most(375.0) - 0.9875).abs() < 1e-12);
        assert_eq!(traffic.fraction_at_most(5000.0), 1.0);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }
}
