//! Prometheus's HTTP API (and everything that speaks it: Thanos, Cortex,
//! Mimir, VictoriaMetrics, Google's and Amazon's managed Prometheus).
//!
//! `GET <address>/api/v1/query?query=<whitespace-collapsed query>`, with the
//! template's headers, and a bearer token or basic credentials from its
//! Secret. The value is the last series' sample, as in Flagger; a range
//! (matrix) result is refused, and NaN or no series is "no values".

use std::collections::BTreeMap;

use std::time::Duration;

use reqwest::Client;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, base_url,
    collapse_whitespace, decode, join, send,
};

const NAME: &str = "prometheus";

/// Prometheus answers this with `1` when it is up and evaluating queries.
const ONLINE_QUERY: &str = "vector(1)";

/// How a request authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Auth {
    None,
    Bearer(SecretString),
    Basic {
        username: SecretString,
        password: SecretString,
    },
}

/// A Prometheus-compatible query API.
#[derive(Clone, Debug)]
pub struct Prometheus {
    url: url::Url,
    headers: BTreeMap<String, Vec<String>>,
    auth: Auth,
    client: Client,
    timeout: Duration,
}

impl Prometheus {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<Prometheus, ProviderError> {
        let base = base_url(NAME, spec.address.as_deref())?;
        let auth = match (&spec.secret_ref, credentials) {
            (None, _) => Auth::None,
            (Some(_), None) => {
                return Err(ProviderError::MissingSecret {
                    provider: NAME,
                    keys: vec!["token", "username", "password"],
                });
            }
            (Some(_), Some(credentials)) => match credentials.data.secret("token") {
                Some(token) => Auth::Bearer(token),
                None => {
                    let hint = Some("set `token` for a bearer token, or `username` and `password`");
                    Auth::Basic {
                        username: credentials.required(NAME, "username", hint)?,
                        password: credentials.required(NAME, "password", hint)?,
                    }
                }
            },
        };
        Ok(Prometheus {
            url: join(&base, "api/v1/query"),
            headers: spec.headers.clone(),
            auth,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    /// A provider for the builtin metrics and inline queries: the
    /// controller's `-metrics-server` or the Canary's `metricsServer`,
    /// without credentials.
    pub fn for_server(
        address: &str,
        context: &ProviderContext,
    ) -> Result<Prometheus, ProviderError> {
        let base = base_url(NAME, Some(address))?;
        Ok(Prometheus {
            url: join(&base, "api/v1/query"),
            headers: BTreeMap::new(),
            auth: Auth::None,
            client: context.client(false),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    pub async fn query(&self, query: &str) -> Result<f64, QueryError> {
        let mut request = self
            .client
            .get(self.url.clone())
            .query(&[("query", collapse_whitespace(query).trim())]);
        for (name, values) in &self.headers {
            for value in values {
                request = request.header(name, value);
            }
        }
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::Basic { username, password } => {
                request.basic_auth(username.expose(), Some(password.expose()))
            }
        };
        let body = send(NAME, request, self.timeout, error_message).await?;
        value_of(decode(NAME, &body)?)
    }

    pub async fn check_online(&self) -> Result<(), QueryError> {
        let value = self.query(ONLINE_QUERY).await?;
        if value == 1.0 {
            Ok(())
        } else {
            Err(QueryError::Decode {
                provider: NAME,
                reason: format!("`{ONLINE_QUERY}` returned {value}, not 1"),
            })
        }
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    data: Data,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorSample>),
    Matrix(Vec<serde_json::Value>),
    Scalar(Sample),
    String(#[allow(dead_code)] serde_json::Value),
}

#[derive(Debug, Deserialize)]
struct VectorSample {
    value: Sample,
}

/// `[<unix time>, "<value>"]`.
#[derive(Debug, Deserialize)]
struct Sample(#[allow(dead_code)] serde_json::Value, String);

fn value_of(response: Response) -> Result<f64, QueryError> {
    let sample = match response.data {
        // Flagger reads every series and keeps the last (semantics §18 #10):
        // kept, so that queries written for Flagger give the same verdicts.
        Data::Vector(series) => series.into_iter().last().map(|series| series.value),
        Data::Scalar(sample) => Some(sample),
        Data::Matrix(series) => {
            return Err(QueryError::MultipleValues(format!(
                "the query returned a range of {} series; use an instant query such as sum(rate(x[1m]))",
                series.len()
            )));
        }
        Data::String(_) => {
            return Err(QueryError::Decode {
                provider: NAME,
                reason: "the query returned a string, not a number".to_owned(),
            });
        }
    };
    let Some(Sample(_, text)) = sample else {
        return Err(QueryError::NoValues(String::new()));
    };
    let value = parse_go_float(&text).ok_or_else(|| QueryError::Decode {
        provider: NAME,
        reason: format!("sample value `{text}` is not a number"),
    })?;
    if value.is_nan() {
        return Err(QueryError::NoValues("the query returned NaN".to_owned()));
    }
    Ok(value)
}

/// A sample value as Prometheus writes it (`1.5`, `NaN`, `+Inf`, `-Inf`).
fn parse_go_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Prometheus explains a refused query in `error`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "errorType", default)]
        error_type: String,
        error: String,
    }
    let body: ErrorBody = serde_json::from_slice(body).ok()?;
    Some(if body.error_type.is_empty() {
        body.error
    } else {
        format!("{}: {}", body.error_type, body.error)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use weir_api::metric_template::MetricProviderType;
    use weir_api::objects::SecretData;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::test_support::{context, spec, with_secret};
    use super::super::{MetricsProvider, QueryWindow};
    use super::*;

    fn vector(values: &[&str]) -> serde_json::Value {
        json!({
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": values.iter().enumerate().map(|(index, value)| json!({
                    "metric": {"pod": format!("podinfo-{index}")},
                    "value": [1_796_126_400.0, value],
                })).collect::<Vec<_>>(),
            }
        })
    }

    async fn provider(server: &MockServer) -> MetricsProvider {
        MetricsProvider::new(
            &spec(MetricProviderType::Prometheus, &server.uri()),
            None,
            &context(),
        )
        .expect("provider")
    }

    fn window() -> QueryWindow {
        super::super::test_support::window()
    }

    #[tokio::test]
    async fn the_whitespace_collapsed_query_is_sent_and_the_value_read() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/query"))
            .and(query_param(
                "query",
                "sum(rate(x[1m])) / sum(rate(y[1m])) * 100",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&["99.5"])))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server)
            .await
            .query(
                "\n  sum(rate(x[1m]))\n  /\n  sum(rate(y[1m]))\n  * 100\n",
                &window(),
            )
            .await
            .expect("value");
        assert_eq!(value, 99.5);
    }

    #[tokio::test]
    async fn the_last_of_several_series_wins_as_in_flagger() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&["1", "2", "3"])))
            .mount(&server)
            .await;
        assert_eq!(provider(&server).await.query("x", &window()).await, Ok(3.0));
    }

    #[tokio::test]
    async fn an_empty_result_and_nan_are_no_values() {
        let server = MockServer::start().await;
        Mock::given(query_param("query", "empty"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[])))
            .mount(&server)
            .await;
        Mock::given(query_param("query", "nan"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&["NaN"])))
            .mount(&server)
            .await;
        let provider = provider(&server).await;
        let empty = provider
            .query("empty", &window())
            .await
            .expect_err("no data");
        assert!(empty.is_no_values(), "{empty}");
        let nan = provider.query("nan", &window()).await.expect_err("no data");
        assert!(nan.is_no_values(), "{nan}");
        assert_eq!(nan.to_string(), "no values found: the query returned NaN");
    }

    #[tokio::test]
    async fn scalars_are_read_and_ranges_refused() {
        let server = MockServer::start().await;
        Mock::given(query_param("query", "scalar"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "success",
                "data": {"resultType": "scalar", "result": [1_796_126_400.0, "+Inf"]}
            })))
            .mount(&server)
            .await;
        Mock::given(query_param("query", "range"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "success",
                "data": {"resultType": "matrix", "result": [
                    {"metric": {}, "values": [[1.0, "1"], [2.0, "2"]]}
                ]}
            })))
            .mount(&server)
            .await;
        let provider = provider(&server).await;
        assert_eq!(provider.query("scalar", &window()).await, Ok(f64::INFINITY));
        let range = provider
            .query("range", &window())
            .await
            .expect_err("matrix");
        assert!(matches!(range, QueryError::MultipleValues(_)), "{range}");
    }

    #[tokio::test]
    async fn an_error_status_quotes_prometheus_explanation() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "status": "error",
                "errorType": "bad_data",
                "error": "1:5: parse error: unexpected \"}\""
            })))
            .mount(&server)
            .await;
        let error = provider(&server)
            .await
            .query("sum(}", &window())
            .await
            .expect_err("refused");
        assert_eq!(
            error.to_string(),
            "prometheus answered 400: bad_data: 1:5: parse error: unexpected \"}\""
        );
    }

    #[tokio::test]
    async fn a_non_json_error_body_is_quoted() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
            .mount(&server)
            .await;
        let error = provider(&server)
            .await
            .query("x", &window())
            .await
            .expect_err("503");
        assert_eq!(
            error.to_string(),
            "prometheus answered 503: upstream unavailable"
        );
    }

    #[tokio::test]
    async fn a_bearer_token_and_custom_headers_are_sent() {
        let server = MockServer::start().await;
        Mock::given(header("authorization", "Bearer s3cr3t"))
            .and(header("x-scope-orgid", "tenant-a"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&["1"])))
            .expect(1)
            .mount(&server)
            .await;
        let mut spec = with_secret(spec(MetricProviderType::Prometheus, &server.uri()));
        spec.headers
            .insert("X-Scope-OrgID".to_owned(), vec!["tenant-a".to_owned()]);
        let secret = SecretData::from_pairs([("token", "s3cr3t\n")]);
        let provider = MetricsProvider::new(
            &spec,
            Some(Credentials {
                secret: "test/prom-auth",
                data: &secret,
            }),
            &context(),
        )
        .expect("provider");
        assert_eq!(provider.query("x", &window()).await, Ok(1.0));
    }

    #[tokio::test]
    async fn basic_credentials_need_both_username_and_password() {
        let server = MockServer::start().await;
        Mock::given(header("authorization", "Basic YWRtaW46cGFzcw=="))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&["2"])))
            .expect(1)
            .mount(&server)
            .await;
        let spec = with_secret(spec(MetricProviderType::Prometheus, &server.uri()));
        let both = SecretData::from_pairs([("username", "admin"), ("password", "pass")]);
        let credentials = |data| Credentials {
            secret: "test/prom-auth",
            data,
        };
        let provider =
            MetricsProvider::new(&spec, Some(credentials(&both)), &context()).expect("provider");
        assert_eq!(provider.query("x", &window()).await, Ok(2.0));

        let username_only = SecretData::from_pairs([("username", "admin")]);
        let error = MetricsProvider::new(&spec, Some(credentials(&username_only)), &context())
            .expect_err("password missing");
        assert_eq!(
            error.to_string(),
            "prometheus credentials in Secret test/prom-auth do not contain `password`; set `token` for a bearer token, or `username` and `password`"
        );
    }

    #[tokio::test]
    async fn online_means_vector_1_answers_1() {
        let server = MockServer::start().await;
        Mock::given(query_param("query", "vector(1)"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&["1"])))
            .expect(1)
            .mount(&server)
            .await;
        provider(&server)
            .await
            .check_online()
            .await
            .expect("online");
    }

    #[tokio::test]
    async fn the_base_path_of_the_address_is_kept() {
        let server = MockServer::start().await;
        Mock::given(path("/prometheus/api/v1/query"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector(&["4"])))
            .expect(1)
            .mount(&server)
            .await;
        let provider = MetricsProvider::new(
            &spec(
                MetricProviderType::Prometheus,
                &format!("{}/prometheus", server.uri()),
            ),
            None,
            &context(),
        )
        .expect("provider");
        assert_eq!(provider.query("x", &window()).await, Ok(4.0));
    }
}
