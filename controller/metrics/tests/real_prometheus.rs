//! weir's Prometheus provider and builtin queries against a real Prometheus
//! server, scraping weir's synthetic app.
//!
//! ```text
//!   SyntheticApp /metrics ◀── scrape every 0.5s ── prometheus (Debian's, on loopback)
//!     5000 rps, 2% errors,                              ▲
//!     p99 416.7 ms                                     │ GET /api/v1/query
//!                                  weir ProviderMetrics (builtin queries, Istio and HTTP observers)
//! ```
//!
//! Needs the `prometheus` binary (Debian's `prometheus` package; `.ci/run`
//! installs it), or `WEIR_PROMETHEUS=/path/to/prometheus`. Without it the
//! test prints why and passes, unless `WEIR_PROMETHEUS_REQUIRED=1` (set by
//! `.ci/run`) makes a missing binary a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_api::objects::InMemoryObjects;
use weir_api::{Canary, CanaryMetric, Provider};
use weir_fakes_http::{SyntheticApp, SyntheticTraffic, Workload};
use weir_http::Bridge;
use weir_metrics::{MeasureError, MetricsSettings, ProviderContext, ProviderMetrics};

/// How long Prometheus may take to start and to have enough samples for a
/// rate.
const PATIENCE: Duration = Duration::from_secs(60);

/// The metric interval the queries use: ten scrapes.
const INTERVAL: &str = "5s";

/// How long the app must have run before the queries are judged: longer
/// than the interval plus a few scrapes. Before that, the series start
/// inside the query's window, and Prometheus's extrapolation treats each
/// counter differently (it stops at the point the counter would have been
/// zero), which skews ratios between them.
const WARM_UP: Duration = Duration::from_secs(8);

fn traffic() -> SyntheticTraffic {
    SyntheticTraffic {
        rps: 5000.0,
        error_rate: 0.02,
        // p99 lies between 250 ms (98%) and 500 ms (99.5%): Prometheus
        // interpolates 250 + (0.99 − 0.98) / (0.995 − 0.98) · 250 = 416.7 ms.
        latency: vec![
            (5.0, 0.10),
            (10.0, 0.30),
            (25.0, 0.60),
            (50.0, 0.80),
            (100.0, 0.90),
            (250.0, 0.98),
            (500.0, 0.995),
            (1000.0, 1.0),
        ],
    }
}

const EXPECTED_SUCCESS_RATE: f64 = 98.0;
const EXPECTED_P99_MILLISECONDS: f64 = 250.0 + (0.99 - 0.98) / (0.995 - 0.98) * 250.0;

/// The Prometheus binary, or why the test cannot run.
fn prometheus_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("WEIR_PROMETHEUS") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("WEIR_PROMETHEUS={} does not exist", path.display()))
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|directory| directory.join("prometheus"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "the prometheus binary is not on PATH (install Debian's `prometheus` package, or set WEIR_PROMETHEUS)".to_owned()
        })
}

/// A Prometheus process, killed when dropped.
struct RunningPrometheus {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Drop for RunningPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn start_prometheus(binary: &PathBuf, target: std::net::SocketAddr) -> RunningPrometheus {
    let data = tempfile::tempdir().expect("a temporary directory");
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 500ms\n  evaluation_interval: 500ms\nscrape_configs:\n- job_name: synthetic\n  static_configs:\n  - targets: ['{target}']\n"
        ),
    )
    .expect("config written");
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            data.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("prometheus starts");
    RunningPrometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _data: data,
    }
}

fn canary(provider: Provider) -> Canary {
    let yaml = format!(
        r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: {provider}
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  service: {{port: 9898}}
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    metrics:
    - name: request-success-rate
      interval: {INTERVAL}
    - name: request-duration
      interval: {INTERVAL}
"#
    );
    serde_saphyr::from_str(&yaml).expect("test canary")
}

/// Measures `metric` until Prometheus has enough samples, or gives up.
async fn measure_when_ready(
    metrics: &ProviderMetrics<InMemoryObjects>,
    canary: &Canary,
    metric: &CanaryMetric,
    deadline: Instant,
) -> f64 {
    loop {
        match metrics.measure(canary, metric, INTERVAL).await {
            Ok(value) => return value,
            // Not yet two scrapes in the window, or not yet up.
            Err(error @ (MeasureError::Query(_) | MeasureError::Provider(_)))
                if Instant::now() < deadline =>
            {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => panic!("{} never answered: {error}", metric.name),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_queries_read_the_expected_success_rate_and_p99_from_a_real_prometheus() {
    let binary = match prometheus_binary() {
        Ok(binary) => binary,
        Err(reason) => {
            assert!(
                std::env::var("WEIR_PROMETHEUS_REQUIRED").as_deref() != Ok("1"),
                "WEIR_PROMETHEUS_REQUIRED=1 but {reason}"
            );
            eprintln!("skipping: real Prometheus unavailable: {reason}");
            return;
        }
    };
    let app = SyntheticApp::start(
        traffic(),
        Workload {
            namespace: "test".to_owned(),
            name: "podinfo".to_owned(),
            pod: "podinfo-7f9d8b6c5d-x2x4z".to_owned(),
        },
    )
    .await
    .expect("the synthetic app starts");
    let prometheus = start_prometheus(&binary, app.address());
    let metrics = ProviderMetrics::new(
        InMemoryObjects::default(),
        MetricsSettings {
            metrics_server: prometheus.url.clone(),
            mesh_provider: Provider::Istio,
        },
        ProviderContext::new(None).expect("clients"),
        Bridge::current(),
    )
    .with_clock(Arc::new(k8s_openapi::jiff::Timestamp::now));
    let started = Instant::now();
    let deadline = started + PATIENCE;
    // Prometheus is up and has scraped: wait out the warm-up.
    let probe = canary(Provider::Istio);
    measure_when_ready(
        &metrics,
        &probe,
        &probe.spec.analysis().metrics[0],
        deadline,
    )
    .await;
    tokio::time::sleep(WARM_UP.saturating_sub(started.elapsed())).await;

    for provider in [Provider::Istio, Provider::Kubernetes] {
        let canary = canary(provider);
        let analysis = canary.spec.analysis();
        let success = measure_when_ready(&metrics, &canary, &analysis.metrics[0], deadline).await;
        let p99 = measure_when_ready(&metrics, &canary, &analysis.metrics[1], deadline).await;
        // Whole requests and Prometheus's extrapolation move the ratio by
        // less than one request in the window's ~25,000.
        assert!(
            (success - EXPECTED_SUCCESS_RATE).abs() < 0.1,
            "{provider}: success rate {success}, expected {EXPECTED_SUCCESS_RATE}"
        );
        assert!(
            (p99 - EXPECTED_P99_MILLISECONDS).abs() < EXPECTED_P99_MILLISECONDS * 0.01,
            "{provider}: p99 {p99} ms, expected {EXPECTED_P99_MILLISECONDS:.1} ms"
        );
        eprintln!("{provider}: success rate {success:.3}%, p99 {p99:.1} ms");
    }
    metrics
        .check(&canary(Provider::Istio))
        .await
        .expect("vector(1) answers 1");
}
