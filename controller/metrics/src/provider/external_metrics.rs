//! The Kubernetes External Metrics API (`external.metrics.k8s.io/v1beta1`),
//! served by adapters such as KEDA, the Datadog cluster agent or
//! prometheus-adapter.
//!
//! The query names a metric: `<namespace>/<metric>?labelSelector=<selector>`
//! (namespace `default` when omitted). weir asks the cluster's API server,
//! or the template's `address`, with the controller's service-account token
//! or the template Secret's `token`:
//!
//! ```text
//!   GET <server>/apis/external.metrics.k8s.io/v1beta1/namespaces/<namespace>/<metric>?labelSelector=...
//!   → {"items": [{"metricName": "...", "value": "1500m"}, ...]}  → 1.5 (the first item)
//! ```

use std::time::Duration;

use reqwest::Client;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;
use weir_http::ClientOptions;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, decode, join,
    parse_base_url, plain_error, send,
};

const NAME: &str = "externalmetrics";
const API_PATH: &str = "apis/external.metrics.k8s.io/v1beta1";
/// The service account's credentials, mounted into every pod.
const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The API server of the cluster the controller runs in.
#[derive(Clone, Debug)]
pub struct ClusterEndpoint {
    pub server: url::Url,
    pub token: Option<SecretString>,
    /// A client trusting the cluster's CA.
    client: Client,
}

impl ClusterEndpoint {
    /// An endpoint trusting `ca_certificate` (PEM) besides the system roots.
    pub fn new(
        server: url::Url,
        token: Option<SecretString>,
        ca_certificate: Option<Vec<u8>>,
    ) -> Result<ClusterEndpoint, weir_http::HttpError> {
        let client = weir_http::client(&ClientOptions {
            extra_root_certificates: ca_certificate.into_iter().collect(),
            ..ClientOptions::default()
        })?;
        Ok(ClusterEndpoint {
            server,
            token,
            client,
        })
    }

    /// The in-cluster endpoint, from `KUBERNETES_SERVICE_HOST` and the
    /// mounted service account; `None` outside a cluster.
    pub fn in_cluster() -> Option<ClusterEndpoint> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".to_owned());
        // IPv6 service addresses need brackets in a URL.
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let server = url::Url::parse(&format!("https://{host}:{port}")).ok()?;
        let token = std::fs::read_to_string(format!("{SERVICE_ACCOUNT}/token"))
            .ok()
            .map(|token| SecretString::new(token.trim()));
        let ca = std::fs::read(format!("{SERVICE_ACCOUNT}/ca.crt")).ok();
        ClusterEndpoint::new(server, token, ca).ok()
    }
}

/// The Kubernetes API server a provider talks to, and how: the template's
/// `address` (with the template Secret's `token`), or else the cluster the
/// controller runs in (with its service-account token, unless the Secret
/// has one).
#[derive(Clone, Debug)]
pub(super) struct ApiServer {
    pub(super) server: url::Url,
    pub(super) token: Option<SecretString>,
    pub(super) client: Client,
}

impl ApiServer {
    pub(super) fn resolve(
        provider: &'static str,
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<ApiServer, ProviderError> {
        let address = spec
            .address
            .as_deref()
            .map(str::trim)
            .filter(|address| !address.is_empty());
        let secret_token = credentials.and_then(|credentials| credentials.data.secret("token"));
        match (address, &context.cluster) {
            (Some(address), _) => Ok(ApiServer {
                server: parse_base_url(provider, address)?,
                token: secret_token,
                client: context.client(spec.insecure_skip_verify),
            }),
            (None, Some(cluster)) => Ok(ApiServer {
                server: cluster.server.clone(),
                token: secret_token.or_else(|| cluster.token.clone()),
                client: if spec.insecure_skip_verify {
                    context.client(true)
                } else {
                    cluster.client.clone()
                },
            }),
            (None, None) => Err(ProviderError::Invalid {
                provider,
                reason: "not running in a cluster; set spec.provider.address to the API server"
                    .to_owned(),
            }),
        }
    }
}

/// The External Metrics API of a cluster.
#[derive(Clone, Debug)]
pub struct ExternalMetrics {
    base: url::Url,
    token: Option<SecretString>,
    client: Client,
    timeout: Duration,
}

impl ExternalMetrics {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<ExternalMetrics, ProviderError> {
        let api_server = ApiServer::resolve(NAME, spec, credentials, context)?;
        Ok(ExternalMetrics {
            base: join(&api_server.server, API_PATH),
            token: api_server.token,
            client: api_server.client,
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    async fn list(
        &self,
        namespace: &str,
        metric: &str,
        selector: Option<&str>,
    ) -> Result<MetricList, QueryError> {
        let url = join(&self.base, &format!("namespaces/{namespace}/{metric}"));
        let mut request = self.client.get(url).header("Accept", "application/json");
        if let Some(selector) = selector {
            request = request.query(&[("labelSelector", selector)]);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let body = send(NAME, request, self.timeout, status_message).await?;
        decode(NAME, &body)
    }

    pub async fn query(&self, query: &str) -> Result<f64, QueryError> {
        let query = MetricQuery::parse(query)?;
        let list = self
            .list(&query.namespace, &query.metric, query.selector.as_deref())
            .await?;
        let item = list
            .items
            .first()
            .ok_or_else(|| QueryError::NoValues(format!("no external metric {}", query.metric)))?;
        parse_quantity(&item.value).ok_or_else(|| QueryError::Decode {
            provider: NAME,
            reason: format!("value `{}` is not a Kubernetes quantity", item.value),
        })
    }

    /// Online when the API group answers at all: listing a metric that
    /// does not exist may legitimately return an empty list.
    pub async fn check_online(&self) -> Result<(), QueryError> {
        match self.list("kube-system", "dummy-metric", None).await {
            Ok(_) => Ok(()),
            Err(QueryError::Status { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// A parsed `<namespace>/<metric>?labelSelector=...` query.
#[derive(Debug, PartialEq, Eq)]
struct MetricQuery {
    namespace: String,
    metric: String,
    selector: Option<String>,
}

impl MetricQuery {
    fn parse(query: &str) -> Result<MetricQuery, QueryError> {
        let invalid = |reason: &str| QueryError::InvalidQuery {
            provider: NAME,
            reason: format!(
                "query `{query}`: {reason}; expected <namespace>/<metric>?labelSelector=<selector>"
            ),
        };
        let query = query.trim();
        let (path, parameters) = query.split_once('?').unwrap_or((query, ""));
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (namespace, metric) = match parts.as_slice() {
            [metric] => ("default", *metric),
            [namespace, metric] => (*namespace, *metric),
            _ => return Err(invalid("too many slashes")),
        };
        let namespace = if namespace.is_empty() {
            "default"
        } else {
            namespace
        };
        if metric.is_empty() {
            return Err(invalid("the metric name is empty"));
        }
        let selector = url::form_urlencoded::parse(parameters.as_bytes())
            .find(|(key, _)| key == "labelSelector")
            .map(|(_, value)| value.into_owned())
            .filter(|selector| !selector.is_empty());
        Ok(MetricQuery {
            namespace: namespace.to_owned(),
            metric: metric.to_owned(),
            selector,
        })
    }
}

#[derive(Debug, Deserialize)]
struct MetricList {
    #[serde(default)]
    items: Vec<MetricValue>,
}

#[derive(Debug, Deserialize)]
struct MetricValue {
    value: String,
}

/// The API server explains refusals in a `Status` object's `message`.
pub(super) fn status_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get("message")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .or_else(|| plain_error(body))
}

/// A Kubernetes quantity (`1500m`, `2k`, `1.5Gi`, `3e2`) as a float, as
/// `AsApproximateFloat64` reads it.
fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => {
            10f64.powi(exponent[1..].parse::<i32>().ok()?)
        }
        _ => return None,
    };
    Some(number * multiplier)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use weir_api::metric_template::MetricProviderType;

    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::MetricsProvider;
    use super::super::test_support::{context, provider_with_secret, spec, window};
    use super::*;

    fn provider(server: &MockServer, context: &ProviderContext) -> MetricsProvider {
        provider_with_secret(
            MetricProviderType::Externalmetrics,
            &server.uri(),
            &[("token", "sa-token")],
            context,
        )
    }

    #[tokio::test]
    async fn the_first_item_of_the_named_metric_is_read_as_a_quantity() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/test/error_rate",
            ))
            .and(query_param("labelSelector", "app=podinfo,track in (canary)"))
            .and(header("authorization", "Bearer sa-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "kind": "ExternalMetricValueList",
                "apiVersion": "external.metrics.k8s.io/v1beta1",
                "items": [
                    {"metricName": "error_rate", "timestamp": "2026-12-01T12:00:00Z", "value": "1500m"},
                    {"metricName": "error_rate", "timestamp": "2026-12-01T12:00:00Z", "value": "9"}
                ]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server, &context())
            .query(
                "test/error_rate?labelSelector=app%3Dpodinfo%2Ctrack+in+%28canary%29",
                &window(),
            )
            .await;
        assert_eq!(value, Ok(1.5));
    }

    #[tokio::test]
    async fn no_items_are_no_values() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
            .mount(&server)
            .await;
        let error = provider(&server, &context())
            .query("error_rate", &window())
            .await
            .expect_err("empty");
        assert!(error.is_no_values(), "{error}");
    }

    #[tokio::test]
    async fn a_refusal_quotes_the_api_servers_message() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "kind": "Status",
                "status": "Failure",
                "message": "external.metrics.k8s.io \"error_rate\" is forbidden",
                "code": 403
            })))
            .mount(&server)
            .await;
        let error = provider(&server, &context())
            .query("test/error_rate", &window())
            .await
            .expect_err("403");
        assert_eq!(
            error.to_string(),
            "externalmetrics answered 403: external.metrics.k8s.io \"error_rate\" is forbidden"
        );
    }

    #[tokio::test]
    async fn online_tolerates_a_missing_metric() {
        let server = MockServer::start().await;
        Mock::given(path(
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/kube-system/dummy-metric",
        ))
        .respond_with(ResponseTemplate::new(404).set_body_string("not found"))
        .expect(1)
        .mount(&server)
        .await;
        provider(&server, &context())
            .check_online()
            .await
            .expect("online");
    }

    #[test]
    fn queries_default_the_namespace_and_refuse_extra_slashes() {
        assert_eq!(
            MetricQuery::parse("errors").expect("parses"),
            MetricQuery {
                namespace: "default".to_owned(),
                metric: "errors".to_owned(),
                selector: None
            }
        );
        assert_eq!(
            MetricQuery::parse("/errors").expect("parses").namespace,
            "default"
        );
        assert!(MetricQuery::parse("a/b/c").is_err());
        assert!(MetricQuery::parse("test/").is_err());
    }

    #[test]
    fn quantities_read_every_suffix() {
        for (text, value) in [
            ("42", 42.0),
            ("1500m", 1.5),
            ("250u", 0.00025),
            ("2k", 2000.0),
            ("1.5Gi", 1.5 * 1024.0 * 1024.0 * 1024.0),
            ("3e2", 300.0),
            ("-5", -5.0),
        ] {
            let parsed = parse_quantity(text).expect(text);
            assert!((parsed - value).abs() < 1e-9, "{text}: {parsed}");
        }
        assert_eq!(parse_quantity("12 apples"), None);
    }

    #[test]
    fn outside_a_cluster_an_address_is_required() {
        let error = MetricsProvider::new(
            &spec(MetricProviderType::Externalmetrics, ""),
            None,
            &context(),
        )
        .expect_err("no cluster");
        assert!(
            error.to_string().contains("not running in a cluster"),
            "{error}"
        );
    }
}
