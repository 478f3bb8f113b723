//! The Keptn provider against wiremock standing in for the API server.

use serde_json::{Value, json};
use weir_api::metric_template::MetricProviderType;
use weir_api::objects::SecretData;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::super::test_support::{
    SHORT_TIMEOUT, context, impatient_context, spec, window, with_secret,
};
use super::super::{ClusterEndpoint, MetricsProvider};
use super::*;

const METRIC_PATH: &str =
    "/apis/metrics.keptn.sh/v1beta1/namespaces/test/keptnmetrics/response-time";
const ANALYSES_PATH: &str = "/apis/metrics.keptn.sh/v1beta1/namespaces/test/analyses";
/// An Analysis weir created from the `slo` definition.
const CREATED_ANALYSIS: &str =
    r"^/apis/metrics\.keptn\.sh/v1beta1/namespaces/test/analyses/slo-[0-9a-f]{6}$";
/// Short enough to keep the tests fast, long enough for several polls.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
const POLL_LIMIT: Duration = Duration::from_secs(1);

fn keptn(server: &MockServer) -> Keptn {
    let secret = SecretData::from_pairs([("token", "sa-token")]);
    Keptn::new(
        &with_secret(spec(MetricProviderType::Keptn, &server.uri())),
        Some(Credentials {
            secret: "test/credentials",
            data: &secret,
        }),
        &context(),
    )
    .expect("keptn provider")
    .with_analysis_polling(POLL_INTERVAL, POLL_LIMIT)
}

fn metric(status: Value) -> Value {
    json!({
        "apiVersion": "metrics.keptn.sh/v1beta1",
        "kind": "KeptnMetric",
        "metadata": {"name": "response-time", "namespace": "test"},
        "spec": {
            "fetchIntervalSeconds": 10,
            "provider": {"name": "prometheus"},
            "query": "histogram_quantile(0.8, sum by(le) (rate(http_server_request_latency_seconds_bucket[5m])))"
        },
        "status": status
    })
}

async fn serve_metric(server: &MockServer, status: Value) {
    Mock::given(method("GET"))
        .and(path(METRIC_PATH))
        .and(header("authorization", "Bearer sa-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metric(status)))
        .expect(1)
        .mount(server)
        .await;
}

fn not_found(resource: &str, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": format!("{resource}.metrics.keptn.sh \"{name}\" not found"),
        "reason": "NotFound",
        "code": 404
    }))
}

/// An Analysis as the API server returns it, with `status`.
fn analysis(status: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "apiVersion": "metrics.keptn.sh/v1beta1",
        "kind": "Analysis",
        "metadata": {"name": "slo-000000", "namespace": "test"},
        "spec": {"analysisDefinition": {"name": "slo"}, "timeframe": {"recent": "5m"}},
        "status": status
    }))
}

/// Accepts the creation of any Analysis in `test`, echoing it back.
async fn accept_creation(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(ANALYSES_PATH))
        .and(header("authorization", "Bearer sa-token"))
        .respond_with(|request: &Request| {
            ResponseTemplate::new(201).set_body_raw(request.body.clone(), "application/json")
        })
        .expect(1)
        .mount(server)
        .await;
}

/// Answers reads of the created Analysis with `pending` states for
/// `pending_reads` reads, then with `status`.
async fn serve_analysis(server: &MockServer, pending_reads: u64, status: Value) {
    if pending_reads > 0 {
        Mock::given(method("GET"))
            .and(path_regex(CREATED_ANALYSIS))
            .respond_with(analysis(json!({"state": "Progressing", "timeframe": {}})))
            .up_to_n_times(pending_reads)
            .expect(pending_reads)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex(CREATED_ANALYSIS))
        .respond_with(analysis(status))
        .mount(server)
        .await;
}

async fn expect_deletion(server: &MockServer, times: u64) {
    Mock::given(method("DELETE"))
        .and(path_regex(CREATED_ANALYSIS))
        .and(header("authorization", "Bearer sa-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"kind": "Status", "status": "Success"})),
        )
        .expect(times)
        .mount(server)
        .await;
}

/// The requests the server received, as `METHOD path`.
async fn requests(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .iter()
        .map(|request| format!("{} {}", request.method, request.url.path()))
        .collect()
}

/// The body of the one Analysis created.
async fn created_analysis(server: &MockServer) -> Value {
    let received = server.received_requests().await.expect("recording is on");
    let creation = received
        .iter()
        .find(|request| request.method.as_str() == "POST")
        .expect("an Analysis was created");
    serde_json::from_slice(&creation.body).expect("the Analysis is JSON")
}

// KeptnMetrics

#[tokio::test]
async fn a_keptn_metric_value_is_read_as_a_float() {
    let server = MockServer::start().await;
    serve_metric(
        &server,
        json!({"value": "0.25", "rawValue": "MC4yNQ==", "lastUpdated": "2026-12-01T11:59:55Z"}),
    )
    .await;
    assert_eq!(
        keptn(&server).query("keptnmetric/test/response-time").await,
        Ok(0.25)
    );
}

#[tokio::test]
async fn the_documented_query_with_a_duration_and_arguments_reads_the_metric() {
    // Flagger's documentation writes a KeptnMetric query with the extras
    // only Analyses use, in any case; they are ignored.
    let server = MockServer::start().await;
    serve_metric(&server, json!({"value": "42"})).await;
    let value = keptn(&server)
        .query("  KeptnMetrics/Test/Response-Time/2m/reporter=destination\n")
        .await;
    assert_eq!(value, Ok(42.0));
}

#[tokio::test]
async fn a_quantity_is_not_a_keptn_metric_value() {
    // Flagger reads values with strconv.ParseFloat, which refuses `1500m`.
    let server = MockServer::start().await;
    serve_metric(&server, json!({"value": "1500m"})).await;
    let error = keptn(&server)
        .query("keptnmetric/test/response-time")
        .await
        .expect_err("1500m");
    assert_eq!(
        error.to_string(),
        "keptn answered with an unexpected response: KeptnMetric test/response-time has value `1500m`, which is not a number"
    );
}

#[test]
fn values_are_read_as_go_parses_floats() {
    for (text, expected) in [
        ("1.5", 1.5),
        ("3e-05", 3e-5),
        ("-2", -2.0),
        ("+7", 7.0),
        (".5", 0.5),
        ("+Inf", f64::INFINITY),
        ("-infinity", f64::NEG_INFINITY),
    ] {
        assert_eq!(
            parse_value("KeptnMetric test/m", text),
            Ok(expected),
            "{text}"
        );
    }
    for text in ["1500m", " 1", "1,5", "0x10", "1e400", "twelve"] {
        let error = parse_value("KeptnMetric test/m", text).expect_err(text);
        assert!(
            matches!(error, QueryError::Decode { .. }),
            "{text}: {error}"
        );
    }
    assert!(
        parse_value("KeptnMetric test/m", "NaN")
            .expect_err("NaN")
            .is_no_values()
    );
}

#[tokio::test]
async fn a_missing_keptn_metric_is_an_error_naming_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(METRIC_PATH))
        .respond_with(not_found("keptnmetrics", "response-time"))
        .mount(&server)
        .await;
    let error = keptn(&server)
        .query("keptnmetric/test/response-time")
        .await
        .expect_err("missing");
    assert!(!error.is_no_values(), "{error}");
    assert_eq!(
        error.to_string(),
        "keptn answered 404: KeptnMetric test/response-time: keptnmetrics.metrics.keptn.sh \"response-time\" not found"
    );
}

#[tokio::test]
async fn a_keptn_metric_not_fetched_yet_has_no_values() {
    let server = MockServer::start().await;
    serve_metric(&server, json!({})).await;
    let error = keptn(&server)
        .query("keptnmetric/test/response-time")
        .await
        .expect_err("no value");
    assert!(error.is_no_values(), "{error}");
    assert!(
        error.to_string().contains("KeptnMetric test/response-time"),
        "{error}"
    );
}

#[tokio::test]
async fn a_keptn_metric_whose_fetch_failed_is_an_error_quoting_keptn() {
    let server = MockServer::start().await;
    serve_metric(
        &server,
        json!({"errMsg": "client_error: client error: 422", "lastUpdated": "2026-12-01T11:59:55Z"}),
    )
    .await;
    let error = keptn(&server)
        .query("keptnmetric/test/response-time")
        .await
        .expect_err("fetch failed");
    assert!(!error.is_no_values(), "{error}");
    assert_eq!(
        error.to_string(),
        "keptn: KeptnMetric test/response-time has no value; Keptn could not fetch it: client_error: client error: 422"
    );
}

#[tokio::test]
async fn a_slow_api_server_is_a_timeout_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(metric(json!({"value": "1"})))
                .set_delay(SHORT_TIMEOUT * 3),
        )
        .mount(&server)
        .await;
    let provider = Keptn::new(
        &spec(MetricProviderType::Keptn, &server.uri()),
        None,
        &impatient_context(),
    )
    .expect("keptn provider");
    let error = provider
        .query("keptnmetric/test/response-time")
        .await
        .expect_err("slow");
    assert!(
        error.to_string().ends_with("timed out after 200ms"),
        "{error}"
    );
}

// Analyses

#[tokio::test]
async fn an_analysis_is_created_polled_until_completed_and_deleted_when_it_passes() {
    let server = MockServer::start().await;
    accept_creation(&server).await;
    serve_analysis(
        &server,
        2,
        json!({"state": "Completed", "pass": true, "raw": "{}"}),
    )
    .await;
    expect_deletion(&server, 1).await;

    let value = keptn(&server)
        .query("analysis/test/slo/5m/service=podinfo;workloadName=podinfo-canary")
        .await;
    assert_eq!(value, Ok(1.0));

    let created = created_analysis(&server).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("the Analysis has a name")
        .to_owned();
    assert_eq!(
        created,
        json!({
            "apiVersion": "metrics.keptn.sh/v1beta1",
            "kind": "Analysis",
            "metadata": {"name": name, "namespace": "test"},
            "spec": {
                "analysisDefinition": {"name": "slo"},
                "timeframe": {"recent": "5m"},
                "args": {"service": "podinfo", "workloadName": "podinfo-canary"}
            }
        })
    );
    let analysis = format!("{ANALYSES_PATH}/{name}");
    assert_eq!(
        requests(&server).await,
        [
            format!("POST {ANALYSES_PATH}"),
            format!("GET {analysis}"),
            format!("GET {analysis}"),
            format!("GET {analysis}"),
            format!("DELETE {analysis}"),
        ]
    );
}

#[tokio::test]
async fn a_failed_analysis_is_zero_and_deleted() {
    let server = MockServer::start().await;
    accept_creation(&server).await;
    serve_analysis(&server, 1, json!({"state": "Completed", "pass": false})).await;
    expect_deletion(&server, 1).await;
    assert_eq!(keptn(&server).query("analysis/test/slo").await, Ok(0.0));
}

#[tokio::test]
async fn a_completed_analysis_without_pass_has_failed() {
    // Keptn omits `pass: false`; Flagger would poll until its timeout.
    let server = MockServer::start().await;
    accept_creation(&server).await;
    serve_analysis(&server, 0, json!({"state": "Completed", "warning": true})).await;
    expect_deletion(&server, 1).await;
    assert_eq!(keptn(&server).query("analyses/test/slo").await, Ok(0.0));
}

#[tokio::test]
async fn without_a_duration_the_analysis_looks_back_one_minute_with_no_arguments() {
    let server = MockServer::start().await;
    accept_creation(&server).await;
    serve_analysis(&server, 0, json!({"state": "Completed", "pass": true})).await;
    expect_deletion(&server, 1).await;
    assert_eq!(keptn(&server).query("analysis/test/slo").await, Ok(1.0));
    let created = created_analysis(&server).await;
    assert_eq!(
        created["spec"],
        json!({"analysisDefinition": {"name": "slo"}, "timeframe": {"recent": "1m"}, "args": {}})
    );
}

#[tokio::test]
async fn an_analysis_that_never_completes_times_out_and_is_still_deleted() {
    let server = MockServer::start().await;
    accept_creation(&server).await;
    serve_analysis(&server, 0, json!({"state": "Progressing"})).await;
    expect_deletion(&server, 1).await;
    let error = keptn(&server)
        .query("analysis/test/slo")
        .await
        .expect_err("never completes");
    assert!(!error.is_no_values(), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("keptn: Analysis test/slo-")
            && message.ends_with(" did not complete within 1s (state: Progressing)"),
        "{message}"
    );
}

#[tokio::test]
async fn an_analysis_keptn_never_picks_up_reports_no_state() {
    let server = MockServer::start().await;
    accept_creation(&server).await;
    Mock::given(method("GET"))
        .and(path_regex(CREATED_ANALYSIS))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"metadata": {"name": "slo-000000"}})),
        )
        .mount(&server)
        .await;
    expect_deletion(&server, 1).await;
    let error = keptn(&server)
        .query("analysis/test/slo")
        .await
        .expect_err("never picked up");
    assert!(
        error.to_string().ends_with("(state: not set yet)"),
        "{error}"
    );
}

#[tokio::test]
async fn an_analysis_whose_status_cannot_be_read_is_an_error_and_is_deleted() {
    let server = MockServer::start().await;
    accept_creation(&server).await;
    Mock::given(method("GET"))
        .and(path_regex(CREATED_ANALYSIS))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "kind": "Status",
            "status": "Failure",
            "message": "analyses.metrics.keptn.sh is forbidden",
            "code": 403
        })))
        .expect(1)
        .mount(&server)
        .await;
    expect_deletion(&server, 1).await;
    let error = keptn(&server)
        .query("analysis/test/slo")
        .await
        .expect_err("forbidden");
    let message = error.to_string();
    assert!(
        message.starts_with("keptn answered 403: Analysis test/slo-")
            && message.ends_with(": analyses.metrics.keptn.sh is forbidden"),
        "{message}"
    );
}

#[tokio::test]
async fn a_refused_analysis_is_an_error_and_nothing_is_deleted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ANALYSES_PATH))
        .respond_with(not_found("analyses", "slo"))
        .expect(1)
        .mount(&server)
        .await;
    expect_deletion(&server, 0).await;
    let error = keptn(&server)
        .query("analysis/test/slo")
        .await
        .expect_err("refused");
    let message = error.to_string();
    assert!(
        message.starts_with("keptn answered 404: creating Analysis test/slo-"),
        "{message}"
    );
    assert_eq!(requests(&server).await, [format!("POST {ANALYSES_PATH}")]);
}

#[tokio::test]
async fn a_failed_deletion_does_not_change_the_result() {
    let server = MockServer::start().await;
    accept_creation(&server).await;
    serve_analysis(&server, 0, json!({"state": "Completed", "pass": true})).await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(500).set_body_string("etcd is away"))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(keptn(&server).query("analysis/test/slo").await, Ok(1.0));
}

#[test]
fn analysis_names_are_the_definition_and_six_random_hex_digits() {
    let first = random_suffix().expect("randomness");
    let second = random_suffix().expect("randomness");
    for suffix in [&first, &second] {
        assert_eq!(suffix.len(), 6, "{suffix}");
        assert!(
            suffix
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase()),
            "{suffix}"
        );
    }
    // One in sixteen million to fail spuriously.
    assert_ne!(first, second);
}

// Queries

#[test]
fn queries_lower_case_all_but_the_arguments() {
    assert_eq!(
        KeptnQuery::parse("Analysis/Test/SLO/5M/Service=PodInfo;version=v2=beta; path = /api/v1 ;")
            .expect("parses"),
        KeptnQuery::Analysis(AnalysisQuery {
            namespace: "test".to_owned(),
            definition: "slo".to_owned(),
            timeframe: "5m".to_owned(),
            arguments: BTreeMap::from([
                ("Service".to_owned(), "PodInfo".to_owned()),
                ("version".to_owned(), "v2=beta".to_owned()),
                ("path".to_owned(), "/api/v1".to_owned()),
            ]),
        })
    );
    assert_eq!(
        KeptnQuery::parse("keptnmetric/test/response.time").expect("parses"),
        KeptnQuery::Metric {
            namespace: "test".to_owned(),
            name: "response.time".to_owned()
        }
    );
}

#[test]
fn malformed_queries_say_what_the_format_is() {
    for (query, reason) in [
        ("", "the kind is missing"),
        (
            "invalid/default/my-metric",
            "unknown kind `invalid`, use keptnmetric or analysis",
        ),
        ("keptnmetric/default", "the name is missing"),
        ("keptnmetric//response-time", "the namespace is missing"),
        (
            "keptnmetric/../response-time",
            "`..` is not a namespace name",
        ),
        (
            "keptnmetric/test/response_time",
            "`response_time` is not an object name",
        ),
        ("keptnmetric/test/-x", "`-x` is not an object name"),
        ("analysis/test/slo/", "the duration: empty duration"),
        (
            "analysis/test/slo/5x",
            "the duration: `5x` uses unknown unit `x`",
        ),
        ("analysis/test/slo/-5m", "the duration: `-5m` is negative"),
        (
            "analysis/test/slo/5m/service",
            "argument `service` is not <key>=<value>",
        ),
        (
            "analysis/test/slo/5m/=podinfo",
            "argument `=podinfo` has no key",
        ),
    ] {
        let error = KeptnQuery::parse(query).expect_err(query);
        assert!(
            matches!(error, QueryError::InvalidQuery { .. }),
            "{query}: {error}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("keptn: invalid query: query `{query}`: {reason}")),
            "{query}: {message}"
        );
        assert!(message.ends_with(FORMAT), "{query}: {message}");
    }
}

#[tokio::test]
async fn a_malformed_query_sends_nothing() {
    let server = MockServer::start().await;
    let error = keptn(&server)
        .query("keptnmetric/test")
        .await
        .expect_err("malformed");
    assert!(matches!(error, QueryError::InvalidQuery { .. }), "{error}");
    assert!(requests(&server).await.is_empty());
}

#[test]
fn long_names_are_refused() {
    let label = "a".repeat(64);
    assert!(!is_dns_label(&label));
    assert!(is_dns_label(&label[1..]));
    let name = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ]
    .join(".");
    assert_eq!(name.len(), 253);
    assert!(is_dns_subdomain(&name));
    assert!(!is_dns_subdomain(&format!("{name}e")));
    assert!(!is_dns_subdomain("a..b"));
}

// Wiring

#[tokio::test]
async fn the_provider_is_served_and_always_online() {
    let server = MockServer::start().await;
    serve_metric(&server, json!({"value": "3.0"})).await;
    let secret = SecretData::from_pairs([("token", "sa-token")]);
    let provider = MetricsProvider::new(
        &with_secret(spec(MetricProviderType::Keptn, &server.uri())),
        Some(Credentials {
            secret: "test/credentials",
            data: &secret,
        }),
        &context(),
    )
    .expect("keptn is served");
    provider.check_online().await.expect("always online");
    assert_eq!(
        provider
            .query("keptnmetric/test/response-time", &window())
            .await,
        Ok(3.0)
    );
    // The availability check asked nothing.
    assert_eq!(requests(&server).await, [format!("GET {METRIC_PATH}")]);
}

#[test]
fn outside_a_cluster_an_address_is_required() {
    let error = MetricsProvider::new(&spec(MetricProviderType::Keptn, " "), None, &context())
        .expect_err("no cluster");
    assert_eq!(
        error.to_string(),
        "keptn: not running in a cluster; set spec.provider.address to the API server"
    );
}

#[tokio::test]
async fn the_cluster_endpoint_and_its_token_are_used_without_an_address() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(METRIC_PATH))
        .and(header("authorization", "Bearer service-account-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metric(json!({"value": "7"}))))
        .expect(1)
        .mount(&server)
        .await;
    let cluster = ClusterEndpoint::new(
        url::Url::parse(&server.uri()).expect("server url"),
        Some(SecretString::new("service-account-token")),
        None,
    )
    .expect("cluster endpoint");
    let context = ProviderContext::new(Some(cluster)).expect("context");
    let mut spec = spec(MetricProviderType::Keptn, "");
    spec.address = None;
    let provider = Keptn::new(&spec, None, &context).expect("in-cluster provider");
    assert_eq!(
        provider.query("keptnmetric/test/response-time").await,
        Ok(7.0)
    );
}

#[test]
fn the_token_stays_out_of_debug_output() {
    let secret = SecretData::from_pairs([("token", "s3cr3t-token")]);
    let provider = Keptn::new(
        &with_secret(spec(MetricProviderType::Keptn, "https://kubernetes.test")),
        Some(Credentials {
            secret: "test/credentials",
            data: &secret,
        }),
        &context(),
    )
    .expect("keptn provider");
    let debug = format!("{provider:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
}
