//! Dynatrace's metrics API (v2).
//!
//! `GET <address>/api/v2/metrics/query?metricSelector=..&resolution=Inf&from=..&to=..`
//! (milliseconds, ten intervals back) with `Authorization: Api-Token <token>`.
//! With `resolution=Inf` each series has one value; weir reads the first
//! value of the last series, as Flagger does.

use std::time::Duration;

use reqwest::Client;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, QueryWindow,
    base_url, decode, join, plain_error, send, unix_milliseconds,
};

const NAME: &str = "dynatrace";
const TOKEN: &str = "dynatrace_token";
/// Ten intervals of history, as for Datadog.
const LOOK_BACK_INTERVALS: u32 = 10;

/// A Dynatrace environment.
#[derive(Clone, Debug)]
pub struct Dynatrace {
    base: url::Url,
    token: SecretString,
    client: Client,
    timeout: Duration,
}

impl Dynatrace {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<Dynatrace, ProviderError> {
        let base = base_url(NAME, spec.address.as_deref())?;
        let credentials = credentials.ok_or(ProviderError::MissingSecret {
            provider: NAME,
            keys: vec![TOKEN],
        })?;
        Ok(Dynatrace {
            base,
            token: credentials.required(NAME, TOKEN, None)?,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(join(&self.base, path)).header(
            "Authorization",
            format!("Api-Token {}", self.token.expose()),
        )
    }

    pub async fn query(&self, query: &str, window: &QueryWindow) -> Result<f64, QueryError> {
        let request = self.get("api/v2/metrics/query").query(&[
            ("metricSelector", query.trim().to_owned()),
            ("resolution", "Inf".to_owned()),
            (
                "from",
                unix_milliseconds(window.start(LOOK_BACK_INTERVALS)).to_string(),
            ),
            ("to", unix_milliseconds(window.now).to_string()),
        ]);
        let body = send(NAME, request, self.timeout, plain_error).await?;
        let response: Response = decode(NAME, &body)?;
        let series = response
            .result
            .first()
            .and_then(|result| result.data.last())
            .ok_or_else(|| QueryError::NoValues("no series".to_owned()))?;
        series
            .values
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| QueryError::NoValues("the series has no value".to_owned()))
    }

    pub async fn check_online(&self) -> Result<(), QueryError> {
        let request = self.get("api/v2/metrics").query(&[("pageSize", "1")]);
        send(NAME, request, self.timeout, plain_error)
            .await
            .map(drop)
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    result: Vec<MetricResult>,
}

#[derive(Debug, Deserialize)]
struct MetricResult {
    #[serde(default)]
    data: Vec<SeriesData>,
}

#[derive(Debug, Deserialize)]
struct SeriesData {
    #[serde(default)]
    values: Vec<Option<f64>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use weir_api::metric_template::MetricProviderType;

    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::test_support::{NOW_SECONDS, context, provider_with_secret, spec, window};
    use super::super::{MetricsProvider, ProviderContext};
    use super::*;

    fn provider(server: &MockServer, context: &ProviderContext) -> MetricsProvider {
        provider_with_secret(
            MetricProviderType::Dynatrace,
            &server.uri(),
            &[(TOKEN, "dt0c01.token")],
            context,
        )
    }

    #[tokio::test]
    async fn the_value_of_the_last_series_is_read_over_ten_intervals_in_milliseconds() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/metrics/query"))
            .and(header("Authorization", "Api-Token dt0c01.token"))
            .and(query_param(
                "metricSelector",
                "builtin:service.errors.total.rate",
            ))
            .and(query_param("resolution", "Inf"))
            .and(query_param(
                "from",
                ((NOW_SECONDS - 600) * 1000).to_string(),
            ))
            .and(query_param("to", (NOW_SECONDS * 1000).to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "result": [{"metricId": "x", "data": [
                    {"timestamps": [1], "values": [4.0]},
                    {"timestamps": [1], "values": [0.25]}
                ]}]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server, &context())
            .query("builtin:service.errors.total.rate", &window())
            .await;
        assert_eq!(value, Ok(0.25));
    }

    #[tokio::test]
    async fn no_series_and_null_values_are_no_values() {
        let server = MockServer::start().await;
        Mock::given(query_param("metricSelector", "empty"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"result": [{"data": []}]})),
            )
            .mount(&server)
            .await;
        Mock::given(query_param("metricSelector", "null"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"result": [{"data": [{"timestamps": [1], "values": [null]}]}]}),
            ))
            .mount(&server)
            .await;
        let provider = provider(&server, &context());
        for query in ["empty", "null"] {
            let error = provider.query(query, &window()).await.expect_err(query);
            assert!(error.is_no_values(), "{query}: {error}");
        }
    }

    #[tokio::test]
    async fn an_error_status_is_reported() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_string("Token Authentication failed"))
            .mount(&server)
            .await;
        let error = provider(&server, &context())
            .query("x", &window())
            .await
            .expect_err("401");
        assert_eq!(
            error.to_string(),
            "dynatrace answered 401: Token Authentication failed"
        );
    }

    #[tokio::test]
    async fn online_lists_one_metric() {
        let server = MockServer::start().await;
        Mock::given(path("/api/v2/metrics"))
            .and(query_param("pageSize", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"metrics": []})))
            .expect(1)
            .mount(&server)
            .await;
        provider(&server, &context())
            .check_online()
            .await
            .expect("online");
    }

    #[test]
    fn an_address_is_required() {
        let error =
            MetricsProvider::new(&spec(MetricProviderType::Dynatrace, " "), None, &context())
                .expect_err("no address");
        assert_eq!(error.to_string(), "dynatrace needs spec.provider.address");
    }
}
