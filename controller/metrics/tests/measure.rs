//! The metrics port end to end: a Canary's metrics measured through
//! wiremock providers, the way the engine asks for them.

use std::sync::Arc;

use serde_json::json;
use weir_api::objects::{InMemoryObjects, SecretData};
use weir_api::{Canary, MetricTemplate, Provider};
use weir_engine::ports::{MetricOutcome, Metrics};
use weir_http::Bridge;
use weir_metrics::{MetricsSettings, ProviderContext, ProviderMetrics};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn canary(provider: &str, metrics: &str) -> Canary {
    let yaml = format!(
        r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  {provider}
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    metrics:
{metrics}
"#
    );
    serde_saphyr::from_str(&yaml).unwrap_or_else(|error| panic!("test canary: {error}\n{yaml}"))
}

fn template(yaml: &str) -> MetricTemplate {
    serde_saphyr::from_str(yaml).unwrap_or_else(|error| panic!("test template: {error}\n{yaml}"))
}

fn vector(value: &str) -> serde_json::Value {
    json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1_796_126_400.0, value]}
    ]}})
}

fn metrics(server: &MockServer, objects: InMemoryObjects) -> ProviderMetrics<InMemoryObjects> {
    ProviderMetrics::new(
        objects,
        MetricsSettings {
            metrics_server: server.uri(),
            mesh_provider: Provider::Istio,
        },
        ProviderContext::new(None).expect("clients"),
        Bridge::current(),
    )
    .with_clock(Arc::new(|| {
        "2026-12-01T12:00:00Z".parse().expect("timestamp")
    }))
}

/// Evaluates metric `index` the way the engine does: through the
/// synchronous port, from a blocking thread.
async fn evaluate(
    metrics: ProviderMetrics<InMemoryObjects>,
    canary: Canary,
    index: usize,
) -> MetricOutcome {
    tokio::task::spawn_blocking(move || {
        let mut metrics = metrics;
        let metric = canary.spec.analysis().metrics[index].clone();
        let interval = metric.interval_or_default().to_owned();
        metrics.evaluate(&canary, &metric, &interval)
    })
    .await
    .expect("evaluation does not panic")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_success_rate_is_read_from_the_metrics_server_with_istios_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .and(query_param(
            "query",
            r#"sum(rate(istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo", response_code!~"5.*" }[2m])) / sum(rate(istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[2m])) * 100"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector("98.5")))
        .expect(1)
        .mount(&server)
        .await;
    let canary = canary(
        "",
        "    - name: request-success-rate\n      interval: 2m\n      thresholdRange: {min: 99}",
    );
    let outcome = evaluate(metrics(&server, InMemoryObjects::default()), canary, 0).await;
    assert_eq!(outcome, MetricOutcome::Value(98.5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_observers_p99_in_seconds_becomes_milliseconds_from_the_canarys_own_server() {
    let own_server = MockServer::start().await;
    Mock::given(query_param(
        "query",
        r#"histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{ kubernetes_namespace="test", kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)" }[1m])) by (le))"#,
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(vector("0.375")))
    .expect(1)
    .mount(&own_server)
    .await;
    let global_server = MockServer::start().await;
    let canary = canary(
        &format!(
            "provider: kubernetes\n  metricsServer: {}",
            own_server.uri()
        ),
        "    - name: request-duration\n      thresholdRange: {max: 500}",
    );
    let outcome = evaluate(
        metrics(&global_server, InMemoryObjects::default()),
        canary,
        0,
    )
    .await;
    assert_eq!(outcome, MetricOutcome::Value(375.0));
    assert!(
        global_server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the Canary's metricsServer wins over -metrics-server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_query_with_a_missing_variable_is_an_error_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let canary = canary(
        "",
        "    - name: errors\n      query: sum(rate(errors{app=\"{{ variables.app }}\"}[{{ interval }}]))\n      thresholdRange: {max: 1}",
    );
    let outcome = evaluate(metrics(&server, InMemoryObjects::default()), canary, 0).await;
    let MetricOutcome::Error(message) = outcome else {
        panic!("expected an error, got {outcome:?}");
    };
    assert!(
        message.contains("templateVariables has no `app`"),
        "{message}"
    );
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_in_another_namespace_uses_its_own_secret_and_the_canarys_variables() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer team-token"))
        .and(query_param(
            "query",
            r#"sum(rate(http_errors_total{namespace="test",app="podinfo",tier="web"}[1m]))"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector("0.5")))
        .expect(1)
        .mount(&server)
        .await;
    let objects = InMemoryObjects::default()
        .with_metric_template(template(&format!(
            r#"
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: error-rate
  namespace: monitoring
spec:
  provider:
    type: prometheus
    address: {}
    secretRef:
      name: prom-auth
  query: |
    sum(rate(http_errors_total{{namespace="{{{{ namespace }}}}",app="{{{{ target }}}}",tier="{{{{ variables.tier }}}}"}}[{{{{ interval }}}}]))
"#,
            server.uri()
        )))
        .with_secret(
            "monitoring",
            "prom-auth",
            SecretData::from_pairs([("token", "team-token")]),
        );
    // No interval on the metric: weir defaults it to 1m (Flagger renders `[]`).
    let canary = canary(
        "",
        "    - name: errors\n      templateRef: {name: error-rate, namespace: monitoring}\n      templateVariables: {tier: web}\n      thresholdRange: {max: 1}",
    );
    let outcome = evaluate(metrics(&server, objects), canary, 0).await;
    assert_eq!(outcome, MetricOutcome::Value(0.5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_template_or_secret_is_an_error_naming_it() {
    let server = MockServer::start().await;
    let objects = InMemoryObjects::default().with_metric_template(template(
        r#"
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: with-secret, namespace: test}
spec:
  provider: {type: datadog, secretRef: {name: datadog}}
  query: avg:errors{*}
"#,
    ));
    let canary = canary(
        "",
        "    - name: missing\n      templateRef: {name: absent}\n    - name: secret\n      templateRef: {name: with-secret}",
    );
    let metrics = metrics(&server, objects);
    let missing = evaluate(metrics.clone(), canary.clone(), 0).await;
    assert_eq!(
        missing,
        MetricOutcome::Error("MetricTemplate test/absent not found".to_owned())
    );
    let secret = evaluate(metrics, canary, 1).await;
    assert_eq!(
        secret,
        MetricOutcome::Error("Secret test/datadog not found".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_series_is_no_data_and_a_failing_server_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(query_param("query", "empty"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": "success", "data": {"resultType": "vector", "result": []}}),
        ))
        .mount(&server)
        .await;
    Mock::given(query_param("query", "down"))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .mount(&server)
        .await;
    let canary = canary(
        "",
        "    - name: empty\n      query: empty\n    - name: down\n      query: down",
    );
    let metrics = metrics(&server, InMemoryObjects::default());
    assert_eq!(
        evaluate(metrics.clone(), canary.clone(), 0).await,
        MetricOutcome::NoData("no values found".to_owned())
    );
    assert_eq!(
        evaluate(metrics, canary, 1).await,
        MetricOutcome::Error("prometheus answered 503: overloaded".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_checks_query_the_metrics_server_once_and_report_each_failing_template() {
    let server = MockServer::start().await;
    Mock::given(query_param("query", "vector(1)"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector("1")))
        .expect(1)
        .mount(&server)
        .await;
    let objects = InMemoryObjects::default().with_metric_template(template(
        r#"
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: graphite, namespace: test}
spec:
  provider: {type: graphite, address: "http://127.0.0.1:9"}
  query: target=x
"#,
    ));
    let canary = canary(
        "",
        "    - name: request-success-rate\n    - name: request-duration\n    - name: custom\n      templateRef: {name: graphite}",
    );
    let metrics = metrics(&server, objects);
    let result = tokio::task::spawn_blocking(move || {
        let mut metrics = metrics;
        metrics.check_providers(&canary)
    })
    .await
    .expect("no panic");
    let error = result.expect_err("graphite is down");
    assert!(error.0.starts_with("custom: graphite: "), "{error}");
    assert!(error.0.contains("cannot connect"), "{error}");
    assert!(
        !error.0.contains("request-"),
        "the metrics server is online: {error}"
    );
}
