//! Datadog's metrics query API (v1).
//!
//! `GET <address>/api/v1/query?query=..&from=now-10×interval&to=now` with
//! `DD-API-KEY` and `DD-APPLICATION-KEY`. The value is the *oldest* point of
//! the first series: Datadog's newest bucket is usually still filling, so
//! Flagger reads the start of the window, and so does weir.

use std::time::Duration;

use reqwest::Client;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, QueryWindow,
    address_or, decode, join, parse_base_url, plain_error, send, unix_seconds,
};

const NAME: &str = "datadog";
const DEFAULT_ADDRESS: &str = "https://api.datadoghq.com";
const API_KEY: &str = "datadog_api_key";
const APPLICATION_KEY: &str = "datadog_application_key";
/// Ten intervals of history, so that sparse series still have a point.
const LOOK_BACK_INTERVALS: u32 = 10;

/// A Datadog site.
#[derive(Clone, Debug)]
pub struct Datadog {
    base: url::Url,
    api_key: SecretString,
    application_key: SecretString,
    client: Client,
    timeout: Duration,
}

impl Datadog {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<Datadog, ProviderError> {
        let address = address_or(spec, DEFAULT_ADDRESS);
        let credentials = credentials.ok_or(ProviderError::MissingSecret {
            provider: NAME,
            keys: vec![API_KEY, APPLICATION_KEY],
        })?;
        Ok(Datadog {
            base: parse_base_url(NAME, address)?,
            api_key: credentials.required(NAME, API_KEY, None)?,
            application_key: credentials.required(NAME, APPLICATION_KEY, None)?,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(join(&self.base, path))
            .header("DD-API-KEY", self.api_key.expose())
            .header("DD-APPLICATION-KEY", self.application_key.expose())
    }

    pub async fn query(&self, query: &str, window: &QueryWindow) -> Result<f64, QueryError> {
        let request = self.get("api/v1/query").query(&[
            ("query", query.to_owned()),
            (
                "from",
                unix_seconds(window.start(LOOK_BACK_INTERVALS)).to_string(),
            ),
            ("to", unix_seconds(window.now).to_string()),
        ]);
        let body = send(NAME, request, self.timeout, plain_error).await?;
        let response: Response = decode(NAME, &body)?;
        let series = response
            .series
            .first()
            .ok_or_else(|| QueryError::NoValues("no series".to_owned()))?;
        // Points are `[timestamp, value]`; a null value is a bucket without
        // data, which Flagger would read as 0.
        series
            .pointlist
            .iter()
            .find_map(|point| point.get(1).copied().flatten())
            .ok_or_else(|| QueryError::NoValues("the series has no points".to_owned()))
    }

    pub async fn check_online(&self) -> Result<(), QueryError> {
        send(NAME, self.get("api/v1/validate"), self.timeout, plain_error)
            .await
            .map(drop)
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    series: Vec<Series>,
}

#[derive(Debug, Deserialize)]
struct Series {
    #[serde(default)]
    pointlist: Vec<Vec<Option<f64>>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use weir_api::metric_template::MetricProviderType;
    use weir_api::objects::SecretData;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::test_support::{
        NOW_SECONDS, context, provider_with_secret, spec, window, with_secret,
    };
    use super::super::{MetricsProvider, ProviderContext};
    use super::*;

    fn provider(server: &MockServer, context: &ProviderContext) -> MetricsProvider {
        provider_with_secret(
            MetricProviderType::Datadog,
            &server.uri(),
            &[(API_KEY, "api-key"), (APPLICATION_KEY, "app-key")],
            context,
        )
    }

    #[tokio::test]
    async fn the_oldest_point_of_ten_intervals_is_read_with_both_keys() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/query"))
            .and(header("DD-API-KEY", "api-key"))
            .and(header("DD-APPLICATION-KEY", "app-key"))
            .and(query_param("query", "avg:errors{service:podinfo}"))
            .and(query_param("from", (NOW_SECONDS - 600).to_string()))
            .and(query_param("to", NOW_SECONDS.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "ok",
                "series": [{"pointlist": [[1.0, 0.5], [2.0, 0.9]]}, {"pointlist": [[1.0, 7.0]]}]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server, &context())
            .query("avg:errors{service:podinfo}", &window())
            .await;
        assert_eq!(value, Ok(0.5));
    }

    #[tokio::test]
    async fn no_series_and_null_points_are_no_values() {
        let server = MockServer::start().await;
        Mock::given(query_param("query", "none"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"series": []})))
            .mount(&server)
            .await;
        Mock::given(query_param("query", "nulls"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"series": [{"pointlist": [[1.0, null]]}]})),
            )
            .mount(&server)
            .await;
        let provider = provider(&server, &context());
        for query in ["none", "nulls"] {
            let error = provider.query(query, &window()).await.expect_err(query);
            assert!(error.is_no_values(), "{query}: {error}");
        }
    }

    #[tokio::test]
    async fn a_rejected_key_is_an_error_quoting_datadog() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(403).set_body_string(r#"{"errors":["Forbidden"]}"#))
            .mount(&server)
            .await;
        let error = provider(&server, &context())
            .query("x", &window())
            .await
            .expect_err("403");
        assert_eq!(
            error.to_string(),
            r#"datadog answered 403: {"errors":["Forbidden"]}"#
        );
    }

    #[tokio::test]
    async fn online_is_the_validate_endpoint_answering_200() {
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/validate"))
            .and(header("DD-API-KEY", "api-key"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"valid": true})))
            .expect(1)
            .mount(&server)
            .await;
        provider(&server, &context())
            .check_online()
            .await
            .expect("online");
    }

    #[test]
    fn both_keys_are_required() {
        let secret = SecretData::from_pairs([(API_KEY, "api-key")]);
        let error = MetricsProvider::new(
            &with_secret(spec(MetricProviderType::Datadog, "")),
            Some(Credentials {
                secret: "test/datadog",
                data: &secret,
            }),
            &context(),
        )
        .expect_err("application key missing");
        assert_eq!(
            error.to_string(),
            "datadog credentials in Secret test/datadog do not contain `datadog_application_key`"
        );
        let error = MetricsProvider::new(&spec(MetricProviderType::Datadog, ""), None, &context())
            .expect_err("no secret");
        assert_eq!(
            error.to_string(),
            "datadog needs spec.provider.secretRef naming a Secret with datadog_api_key and datadog_application_key"
        );
    }
}
