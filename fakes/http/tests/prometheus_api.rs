//! FakePrometheus over real HTTP on loopback: the builtin queries of the
//! Flagger reference (§8.4) over series filled with known counts, the JSON
//! shapes, errors, the clock, faults and what the fake records.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::Value;
use weir_fakes_http::{FakePrometheus, FaultResponse, Labels, SeriesStore, Timestamp};

/// 2023-11-14T22:13:20Z, a round Unix time.
const START_SECONDS: i64 = 1_700_000_000;

/// The builtin queries' `interval`.
const INTERVAL_SECONDS: f64 = 60.0;

/// Istio's buckets for `istio_request_duration_milliseconds` (ms).
const ISTIO_BUCKETS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

/// The Prometheus clients' default buckets, podinfo's and Traefik's (s).
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn at(seconds_after_start: i64) -> Timestamp {
    Timestamp::from_millis((START_SECONDS + seconds_after_start) * 1000)
}

/// The `time` parameter one minute after the start, where every test reads.
const READ_AT: &str = "1700000060";

fn client() -> reqwest::Client {
    weir_http::client(&weir_http::ClientOptions::default()).expect("a default client builds")
}

/// The simulator's success rate (sim/src/model/histogram.rs `success_rate`).
fn simulator_success_rate(requests: u64, errors: u64) -> f64 {
    let successes = requests - errors.min(requests);
    successes as f64 / requests as f64 * 100.0
}

struct Answer {
    status: StatusCode,
    body: String,
    json: Value,
}

impl Answer {
    fn results(&self) -> &Vec<Value> {
        self.json["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("no result array in {}", self.body))
    }

    /// The value of the only vector element, parsed as the providers parse it.
    fn single_value(&self) -> f64 {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        assert_eq!(self.json["data"]["resultType"], "vector", "{}", self.body);
        let results = self.results();
        assert_eq!(results.len(), 1, "one series expected: {}", self.body);
        results[0]["value"][1]
            .as_str()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| panic!("no value in {}", self.body))
    }
}

async fn get(prometheus: &FakePrometheus, query: &str, time: Option<&str>) -> Answer {
    let mut parameters = vec![("query", query)];
    if let Some(time) = time {
        parameters.push(("time", time));
    }
    let response = client()
        .get(format!("{}/api/v1/query", prometheus.url()))
        .query(&parameters)
        .send()
        .await
        .expect("the fake answers");
    read(response).await
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status();
    let body = response.text().await.expect("a body");
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Answer { status, body, json }
}

/// Writes a counter that reads 0 at the start and `count` one interval later.
fn counter_over_the_interval(store: &SeriesStore, series: &Labels, count: u64) {
    store.append(series, at(0), 0.0).expect("fresh series");
    store
        .increment(series, at(60), count as f64)
        .expect("in order");
}

/// Writes a histogram that is empty at the start and holds `counts` (per
/// bucket, +Inf last) one interval later.
fn histogram_over_the_interval(
    store: &SeriesStore,
    metric: &str,
    labels: &Labels,
    bounds: &[f64],
    counts: &[u64],
    sum: Option<f64>,
) {
    let zeros = vec![0; counts.len()];
    store
        .observe_histogram(metric, labels, bounds, &zeros, sum.map(|_| 0.0), at(0))
        .expect("valid histogram");
    store
        .observe_histogram(metric, labels, bounds, counts, sum, at(60))
        .expect("valid histogram");
}

fn istio_labels(workload: &str, reporter: &str, code: &str) -> Labels {
    Labels::from([
        ("reporter", reporter),
        ("destination_workload_namespace", "test"),
        ("destination_workload", workload),
        ("response_code", code),
    ])
}

const ISTIO_SUCCESS_RATE: &str = r#"
	sum(
		rate(
			istio_requests_total{
				reporter="destination",
				destination_workload_namespace="test",
				destination_workload=~"podinfo",
				response_code!~"5.*"
			}[1m]
		)
	)
	/
	sum(
		rate(
			istio_requests_total{
				reporter="destination",
				destination_workload_namespace="test",
				destination_workload=~"podinfo"
			}[1m]
		)
	)
	* 100"#;

const ISTIO_DURATION: &str = r#"
	histogram_quantile(
		0.99,
		sum(
			rate(
				istio_request_duration_milliseconds_bucket{
					reporter="destination",
					destination_workload_namespace="test",
					destination_workload=~"podinfo"
				}[1m]
			)
		) by (le)
	)"#;

#[tokio::test]
async fn the_istio_success_rate_is_the_share_of_non_5xx_requests_of_the_canary() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let store = prometheus.store();
    for (labels, count) in [
        (istio_labels("podinfo", "destination", "200"), 5_900),
        (istio_labels("podinfo", "destination", "404"), 40),
        (istio_labels("podinfo", "destination", "503"), 60),
        // Not the canary: the primary, the source reporter, another namespace.
        (istio_labels("podinfo-primary", "destination", "500"), 9_000),
        (istio_labels("podinfo", "source", "500"), 9_000),
        (
            istio_labels("podinfo", "destination", "500")
                .with("destination_workload_namespace", "other"),
            9_000,
        ),
    ] {
        let series = labels.with("__name__", "istio_requests_total");
        counter_over_the_interval(store, &series, count);
    }
    let answer = get(&prometheus, ISTIO_SUCCESS_RATE, Some(READ_AT)).await;
    // 6,000 canary requests of which 60 failed: what the simulator computes
    // from the same window counts, to the last bit.
    assert_eq!(answer.single_value(), simulator_success_rate(6_000, 60));
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000060,"99"]}]}}"#
    );
}

#[tokio::test]
async fn the_istio_p99_interpolates_inside_the_bucket_holding_the_99th_percentile() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let store = prometheus.store();
    // Per bucket (ms): ≤5: 60, ≤10: 600, ≤25: 1200, ≤50: 1800, ≤100: 1500,
    // ≤250: 600, ≤500: 120, ≤1000: 120 — 6,000 requests, split over two
    // response codes whose buckets `sum by (le)` adds up. Multiples of 60
    // make every rate over the minute an integer, so the sum is exact.
    let mut ok = [0_u64; 20];
    let mut failed = [0_u64; 20];
    for (index, total) in [
        (2, 60),
        (3, 600),
        (4, 1200),
        (5, 1800),
        (6, 1500),
        (7, 600),
        (8, 120),
        (9, 120),
    ] {
        failed[index] = if total >= 120 { 60 } else { 0 };
        ok[index] = total - failed[index];
    }
    for (code, counts) in [("200", &ok), ("503", &failed)] {
        let labels = istio_labels("podinfo", "destination", code);
        histogram_over_the_interval(
            store,
            "istio_request_duration_milliseconds",
            &labels,
            &ISTIO_BUCKETS,
            counts,
            None,
        );
    }
    // The primary is much slower and must not count.
    let mut slow = [0_u64; 20];
    slow[15] = 6_000;
    histogram_over_the_interval(
        store,
        "istio_request_duration_milliseconds",
        &istio_labels("podinfo-primary", "destination", "200"),
        &ISTIO_BUCKETS,
        &slow,
        None,
    );
    // Rank 0.99 · 6000 = 5940 lies in (500, 1000], which holds the
    // observations 5881…6000: 500 + 500 · (5940 − 5880) / 120 = 750.
    let answer = get(&prometheus, ISTIO_DURATION, Some(READ_AT)).await;
    assert_eq!(answer.single_value(), 750.0);
}

#[tokio::test]
async fn the_http_observer_queries_read_podinfo_counts_and_seconds_buckets() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let store = prometheus.store();
    let pod = |name: &str, status: &str| {
        Labels::from([
            ("kubernetes_namespace", "test"),
            ("kubernetes_pod_name", name),
            ("status", status),
        ])
    };
    // Per bucket (s): ≤0.01: 1200, ≤0.025: 2400, ≤0.05: 1800, ≤0.1: 480, ≤0.25: 120.
    let counts = [0, 1200, 2400, 1800, 480, 120, 0, 0, 0, 0, 0, 0];
    let errors = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut five_hundreds = errors;
    five_hundreds[5] = 120;
    let mut twos = counts;
    twos[5] = 0;
    for (labels, buckets) in [
        (pod("podinfo-7bd9c8d5f6-x2l4q", "200"), twos),
        (pod("podinfo-7bd9c8d5f6-x2l4q", "500"), five_hundreds),
        // `podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)` must not match the primary's pods.
        (pod("podinfo-primary-6d9c8f7b5-abcde", "500"), counts),
    ] {
        histogram_over_the_interval(
            store,
            "http_request_duration_seconds",
            &labels,
            &DEFAULT_BUCKETS,
            &buckets,
            None,
        );
    }
    let success_rate = r#"
	sum(
		rate(
			http_request_duration_seconds_count{
				kubernetes_namespace="test",
				kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",
				status!~"5.*"
			}[1m]
		)
	)
	/
	sum(
		rate(
			http_request_duration_seconds_count{
				kubernetes_namespace="test",
				kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
			}[1m]
		)
	)
	* 100"#;
    let answer = get(&prometheus, success_rate, Some(READ_AT)).await;
    assert_eq!(answer.single_value(), simulator_success_rate(6_000, 120));

    let duration = r#"
	histogram_quantile(
		0.99,
		sum(
			rate(
				http_request_duration_seconds_bucket{
					kubernetes_namespace="test",
					kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
				}[1m]
			)
		) by (le)
	)"#;
    // Rank 5940 lies in (0.1, 0.25], holding observations 5881…6000.
    let answer = get(&prometheus, duration, Some(READ_AT)).await;
    assert_eq!(answer.single_value(), 0.1 + (0.25 - 0.1) * (60.0 / 120.0));
}

#[tokio::test]
async fn the_nginx_queries_count_only_canary_traffic_and_average_sum_over_count() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let store = prometheus.store();
    let canary = |status: &str| {
        Labels::metric("nginx_ingress_controller_requests")
            .with("namespace", "test")
            .with("ingress", "podinfo")
            .with("canary", "test-podinfo-canary-80")
            .with("status", status)
    };
    counter_over_the_interval(store, &canary("200"), 2_880);
    counter_over_the_interval(store, &canary("502"), 120);
    // Primary traffic has no `canary` label: `canary!=""` leaves it out.
    counter_over_the_interval(store, &canary("500").with("canary", ""), 3_000);
    let success_rate = r#"
	sum(
		rate(
			nginx_ingress_controller_requests{
				namespace="test",
				ingress="podinfo",
				canary!="",
				status!~"5.*"
			}[1m]
		)
	)
	/
	sum(
		rate(
			nginx_ingress_controller_requests{
				namespace="test",
				ingress="podinfo",
				canary!=""
			}[1m]
		)
	)
	* 100"#;
    let answer = get(&prometheus, success_rate, Some(READ_AT)).await;
    assert_eq!(answer.single_value(), simulator_success_rate(3_000, 120));

    let labels = Labels::from([
        ("namespace", "test"),
        ("ingress", "podinfo"),
        ("canary", "test-podinfo-canary-80"),
    ]);
    // 3,000 requests taking 120 s together: 40 ms on average.
    histogram_over_the_interval(
        store,
        "nginx_ingress_controller_response_duration_seconds",
        &labels,
        &[0.1],
        &[3_000, 0],
        Some(120.0),
    );
    let average = r#"
	sum(
		rate(
			nginx_ingress_controller_response_duration_seconds_sum{
				namespace="test",
				ingress="podinfo",
				canary!=""
			}[1m]
		)
	)
	/
	sum(
		rate(
			nginx_ingress_controller_response_duration_seconds_count{
				namespace="test",
				ingress="podinfo",
				canary!=""
			}[1m]
		)
	)
	* 1000"#;
    let answer = get(&prometheus, average, Some(READ_AT)).await;
    let expected = (120.0 / INTERVAL_SECONDS) / (3_000.0 / INTERVAL_SECONDS) * 1000.0;
    assert_eq!(answer.single_value(), expected);
    assert!((expected - 40.0).abs() < 1e-9);
}

#[tokio::test]
async fn the_traefik_queries_read_the_inf_bucket_as_the_request_count() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let store = prometheus.store();
    let service = |name: &str, code: &str| {
        Labels::from([("service", name), ("code", code), ("method", "GET")])
    };
    let canary = "test-podinfo-canary-web-8080@kubernetescrd";
    // ≤0.05: 4,800, ≤0.1: 960 and ≤0.25: 240 — 6,000 requests, 240 of them 502s.
    let ok = [0, 0, 0, 4_800, 960, 0, 0, 0, 0, 0, 0, 0];
    let failed = [0, 0, 0, 0, 0, 240, 0, 0, 0, 0, 0, 0];
    histogram_over_the_interval(
        store,
        "traefik_service_request_duration_seconds",
        &service(canary, "200"),
        &DEFAULT_BUCKETS,
        &ok,
        None,
    );
    histogram_over_the_interval(
        store,
        "traefik_service_request_duration_seconds",
        &service(canary, "502"),
        &DEFAULT_BUCKETS,
        &failed,
        None,
    );
    histogram_over_the_interval(
        store,
        "traefik_service_request_duration_seconds",
        &service("test-podinfo-primary-web-8080@kubernetescrd", "500"),
        &DEFAULT_BUCKETS,
        &failed,
        None,
    );
    let success_rate = r#"
	sum(
		rate(
			traefik_service_request_duration_seconds_bucket{
				service=~"test-podinfo-canary-[0-9a-zA-Z-]+@kubernetescrd",
				code!~"5..",
				le="+Inf"
			}[1m]
		)
	)
	/
	sum(
		rate(
			traefik_service_request_duration_seconds_bucket{
				service=~"test-podinfo-canary-[0-9a-zA-Z-]+@kubernetescrd",
				le="+Inf"
			}[1m]
		)
	) * 100"#;
    let answer = get(&prometheus, success_rate, Some(READ_AT)).await;
    assert_eq!(answer.single_value(), simulator_success_rate(6_000, 240));

    let duration = r#"
	histogram_quantile(
		0.99,
		sum(
			rate(
				traefik_service_request_duration_seconds_bucket{
					service=~"test-podinfo-canary-[0-9a-zA-Z-]+@kubernetescrd"
				}[1m]
			)
		) by (le)
	) * 1000"#;
    // Rank 5940 lies in (0.1, 0.25], holding observations 5761…6000.
    let answer = get(&prometheus, duration, Some(READ_AT)).await;
    assert_eq!(
        answer.single_value(),
        (0.1 + (0.25 - 0.1) * (180.0 / 240.0)) * 1000.0
    );
}

#[tokio::test]
async fn a_label_that_matches_no_series_gives_an_empty_vector() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    counter_over_the_interval(
        prometheus.store(),
        &istio_labels("podinfo", "destination", "200").with("__name__", "istio_requests_total"),
        600,
    );
    let answer = get(
        &prometheus,
        r#"sum(rate(istio_requests_total{destination_workload_namespace="prod"}[1m]))"#,
        Some(READ_AT),
    )
    .await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
    );
}

#[tokio::test]
async fn vector_1_answers_the_availability_check_at_the_requested_time() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let answer = get(&prometheus, "vector(1)", Some("1700000000.5")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.500,"1"]}]}}"#
    );
    let content_type = client()
        .get(format!("{}/api/v1/query?query=vector(1)", prometheus.url()))
        .send()
        .await
        .expect("answers")
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn labels_come_back_sorted_with_the_metric_name_until_a_function_drops_it() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let series = Labels::metric("up")
        .with("job", "podinfo")
        .with("Zone", "a");
    counter_over_the_interval(prometheus.store(), &series, 60);
    let answer = get(&prometheus, "up", Some(READ_AT)).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"Zone":"a","__name__":"up","job":"podinfo"},"value":[1700000060,"60"]}]}}"#
    );
    let answer = get(&prometheus, "rate(up[1m])", Some(READ_AT)).await;
    assert_eq!(
        answer.results()[0]["metric"],
        serde_json::json!({"Zone": "a", "job": "podinfo"})
    );
}

#[tokio::test]
async fn zero_divided_by_zero_is_returned_as_the_string_nan() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    // A canary that received no requests in the interval.
    counter_over_the_interval(prometheus.store(), &Labels::metric("requests_total"), 0);
    let answer = get(
        &prometheus,
        "sum(rate(requests_total[1m])) / sum(rate(requests_total[1m])) * 100",
        Some(READ_AT),
    )
    .await;
    assert_eq!(answer.results()[0]["value"][1], "NaN");
    assert!(answer.single_value().is_nan());
    let answer = get(&prometheus, "1 / 0", Some(READ_AT)).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1700000060,"+Inf"]}}"#
    );
    let answer = get(&prometheus, "-1 / 0", Some(READ_AT)).await;
    assert_eq!(answer.json["data"]["result"][1], "-Inf");
}

#[tokio::test]
async fn bad_promql_is_a_400_bad_data_error() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let answer = get(&prometheus, "sum(rate(up[1m])", None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json["status"], "error");
    assert_eq!(answer.json["errorType"], "bad_data");
    let message = answer.json["error"].as_str().expect("a message");
    assert!(
        message.starts_with("invalid parameter \"query\": parse error"),
        "{message}"
    );
    let answer = get(&prometheus, "", None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_unsupported_function_is_a_400_naming_it() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let answer = get(&prometheus, "predict_linear(up[5m], 60)", None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        r#"{"status":"error","errorType":"bad_data","error":"unsupported by weir's fake Prometheus: the function \"predict_linear\""}"#
    );
}

#[tokio::test]
async fn an_evaluation_error_is_a_422_execution_error() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    for pod in ["a", "b"] {
        let series = Labels::metric("x").with("pod", pod).with("app", "p");
        counter_over_the_interval(prometheus.store(), &series, 1);
    }
    counter_over_the_interval(prometheus.store(), &Labels::metric("y").with("app", "p"), 1);
    let answer = get(&prometheus, "x / on(app) y", Some(READ_AT)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.json["errorType"], "execution");
}

#[tokio::test]
async fn the_time_parameter_wins_over_the_store_clock_which_serves_queries_without_one() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let store = prometheus.store();
    let series = Labels::metric("canary_weight");
    store.append(&series, at(0), 10.0).expect("fresh");
    store.append(&series, at(60), 20.0).expect("in order");
    store.set_now(at(30));
    let answer = get(&prometheus, "canary_weight", None).await;
    assert_eq!(answer.single_value(), 10.0);
    assert_eq!(answer.results()[0]["value"][0], 1_700_000_030);
    let answer = get(&prometheus, "canary_weight", Some("2023-11-14T22:14:20Z")).await;
    assert_eq!(answer.single_value(), 20.0);
    store.set_now(at(90));
    assert_eq!(
        get(&prometheus, "canary_weight", None).await.single_value(),
        20.0
    );

    let answer = get(&prometheus, "canary_weight", Some("tomorrow")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json["error"],
        "invalid parameter \"time\": cannot parse \"tomorrow\" to a valid timestamp"
    );
    let times: Vec<Option<Timestamp>> = prometheus
        .queries()
        .iter()
        .map(|query| query.evaluated_at)
        .collect();
    assert_eq!(times, [Some(at(30)), Some(at(60)), Some(at(90)), None]);
}

#[tokio::test]
async fn post_form_queries_are_answered_and_every_query_is_recorded_with_its_headers() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let response = client()
        .post(format!("{}/api/v1/query", prometheus.url()))
        .header("Authorization", "Bearer s3cr3t")
        .header("X-Scope-OrgID", "tenant-1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=vector%281%29+%2A+2&time=1700000000")
        .send()
        .await
        .expect("answers");
    let answer = read(response).await;
    assert_eq!(answer.single_value(), 2.0);
    let _ = get(&prometheus, "vector(3)", None).await;

    let queries = prometheus.queries();
    assert_eq!(queries.len(), 2);
    assert_eq!(queries[0].method, http::Method::POST);
    assert_eq!(queries[0].query, "vector(1) * 2");
    assert_eq!(queries[0].time.as_deref(), Some("1700000000"));
    assert_eq!(queries[0].authorization(), Some("Bearer s3cr3t"));
    assert_eq!(queries[0].header("x-scope-orgid"), Some("tenant-1"));
    assert_eq!(queries[1].method, http::Method::GET);
    assert_eq!(queries[1].authorization(), None);
    prometheus.clear_queries();
    assert!(prometheus.queries().is_empty());
}

#[tokio::test]
async fn the_responder_can_fail_delay_or_empty_a_query() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    prometheus.set_responder(|query| {
        if query.contains("broken") {
            Some(FaultResponse::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream connect error",
            ))
        } else if query.contains("slow") {
            Some(FaultResponse::Delay(Duration::from_millis(200)))
        } else if query.contains("gone") {
            Some(FaultResponse::Empty)
        } else {
            None
        }
    });
    let answer = get(&prometheus, "vector(1) # broken", None).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body, "upstream connect error");

    let started = Instant::now();
    let answer = get(&prometheus, "vector(7) # slow", None).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(answer.single_value(), 7.0);

    let impatient = weir_http::client(&weir_http::ClientOptions {
        timeout: Some(Duration::from_millis(50)),
        ..weir_http::ClientOptions::default()
    })
    .expect("a client with a timeout builds");
    let error = impatient
        .get(format!("{}/api/v1/query?query=slow", prometheus.url()))
        .send()
        .await
        .expect_err("the delay outlasts the timeout");
    assert!(error.is_timeout(), "{error}");

    let answer = get(&prometheus, "vector(1) # gone", None).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
    );

    prometheus.clear_responder();
    assert_eq!(
        get(&prometheus, "vector(1) # broken", None)
            .await
            .single_value(),
        1.0
    );
}

#[tokio::test]
async fn fail_next_fails_that_many_queries_then_answers_normally() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    prometheus.fail_next(
        2,
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"status":"error","errorType":"internal","error":"boom"}"#,
    );
    for _ in 0..2 {
        let answer = get(&prometheus, "vector(1)", None).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(answer.json["error"], "boom");
    }
    assert_eq!(
        get(&prometheus, "vector(1)", None).await.single_value(),
        1.0
    );
    assert_eq!(
        prometheus.queries().len(),
        3,
        "faulted queries are recorded too"
    );
}

#[tokio::test]
async fn a_counter_reset_inside_the_interval_still_counts_every_request() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let store = prometheus.store();
    let series = Labels::metric("requests_total").with("pod", "podinfo-1");
    // 1000 → 1300 (+300), the pod restarts → 60 (+60), → 240 (+180).
    for (seconds, value) in [(0, 1000.0), (20, 1300.0), (40, 60.0), (60, 240.0)] {
        store.append(&series, at(seconds), value).expect("in order");
    }
    let answer = get(
        &prometheus,
        "sum(increase(requests_total[1m]))",
        Some(READ_AT),
    )
    .await;
    assert_eq!(answer.single_value(), 540.0);
    let answer = get(&prometheus, "sum(rate(requests_total[1m]))", Some(READ_AT)).await;
    assert_eq!(answer.single_value(), 9.0);
}

#[tokio::test]
async fn scalars_and_range_vectors_have_their_own_result_shapes() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let answer = get(&prometheus, "1 + 1.5", Some(READ_AT)).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1700000060,"2.5"]}}"#
    );
    let series = Labels::metric("g");
    prometheus
        .store()
        .append(&series, at(30), 1.0)
        .expect("fresh");
    prometheus
        .store()
        .append(&series, at(60), 2.0)
        .expect("in order");
    let answer = get(&prometheus, "g[1m]", Some(READ_AT)).await;
    assert_eq!(
        answer.body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"g"},"values":[[1700000030,"1"],[1700000060,"2"]]}]}}"#
    );
}

#[tokio::test]
async fn readiness_and_health_endpoints_answer_and_the_port_closes_on_shutdown() {
    let prometheus = FakePrometheus::start().await.expect("starts");
    let url = prometheus.url().to_owned();
    for path in ["/-/ready", "/-/healthy"] {
        let response = client()
            .get(format!("{url}{path}"))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    prometheus.shutdown().await;
    let refused = client().get(format!("{url}/-/ready")).send().await;
    assert!(refused.is_err(), "the fake still answers after shutdown");
}

#[tokio::test]
async fn the_store_is_shared_with_the_server_while_it_runs() {
    let store = SeriesStore::new();
    let prometheus = FakePrometheus::start_with(store.clone())
        .await
        .expect("starts");
    assert!(
        get(&prometheus, "up", Some(READ_AT))
            .await
            .results()
            .is_empty()
    );
    store
        .append(&Labels::metric("up"), at(60), 1.0)
        .expect("fresh");
    assert_eq!(
        get(&prometheus, "up", Some(READ_AT)).await.single_value(),
        1.0
    );
}

#[tokio::test]
async fn an_aliased_query_is_answered_by_its_replacement_with_whitespace_runs_collapsed() {
    let prometheus = FakePrometheus::start().await.expect("fake starts");
    let process = Labels::metric("weir_simulated_metric").with("metric", "memory");
    prometheus
        .store()
        .append(&process, at(30), 312.5)
        .expect("sample stored");
    // Registered as the template is written, sent as the provider sends it.
    prometheus.alias(
        "max(\n  container_memory_working_set_bytes{pod=~\"podinfo-.*\"}\n) / 1024 / 1024\n",
        "weir_simulated_metric{metric=\"memory\"}",
    );
    let aliased = get(
        &prometheus,
        "max( container_memory_working_set_bytes{pod=~\"podinfo-.*\"} ) / 1024 / 1024",
        Some(READ_AT),
    )
    .await;
    assert_eq!(aliased.single_value(), 312.5);
    // Any other text is evaluated as written: that series does not exist.
    let other = get(
        &prometheus,
        "max(container_memory_working_set_bytes{pod=~\"other-.*\"}) / 1024 / 1024",
        Some(READ_AT),
    )
    .await;
    assert!(other.results().is_empty(), "{}", other.body);
}

#[tokio::test]
async fn a_stale_answer_reads_the_data_as_it_was_earlier() {
    let prometheus = FakePrometheus::start().await.expect("fake starts");
    let gauge = Labels::metric("queue_depth");
    for (second, value) in [(0, 1.0), (30, 2.0), (60, 3.0)] {
        prometheus
            .store()
            .append(&gauge, at(second), value)
            .expect("sample stored");
    }
    // One stale answer, then the data as it is.
    prometheus.answer_next(FaultResponse::Stale(Duration::from_secs(30)));
    let stale = get(&prometheus, "queue_depth", Some(READ_AT)).await;
    assert_eq!(stale.single_value(), 2.0);
    let current = get(&prometheus, "queue_depth", Some(READ_AT)).await;
    assert_eq!(current.single_value(), 3.0);
}
