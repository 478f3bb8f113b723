//! Graphite's render API.
//!
//! The query is the render API's own parameters (`target=...&from=-5min`):
//! weir sends `GET <address>/render?<query>&format=json`, with basic
//! credentials when the template has a Secret. The value is the last
//! non-null datapoint over all returned targets, as in Flagger.

use std::time::Duration;

use reqwest::Client;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, base_url,
    collapse_whitespace, decode, join, plain_error, send,
};

const NAME: &str = "graphite";
/// A render that any Graphite answers, with or without data.
const ONLINE_QUERY: &str = "target=test";

/// A Graphite (or Grafana's graphite-compatible) render endpoint.
#[derive(Clone, Debug)]
pub struct Graphite {
    render_url: url::Url,
    credentials: Option<(SecretString, SecretString)>,
    client: Client,
    timeout: Duration,
}

impl Graphite {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<Graphite, ProviderError> {
        let base = base_url(NAME, spec.address.as_deref())?;
        let credentials = match (&spec.secret_ref, credentials) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(ProviderError::MissingSecret {
                    provider: NAME,
                    keys: vec!["username", "password"],
                });
            }
            (Some(_), Some(credentials)) => Some((
                credentials.required(NAME, "username", None)?,
                credentials.required(NAME, "password", None)?,
            )),
        };
        Ok(Graphite {
            render_url: join(&base, "render"),
            credentials,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    pub async fn query(&self, query: &str) -> Result<f64, QueryError> {
        let collapsed = collapse_whitespace(query);
        // The user's parameters, re-encoded, with `format` forced to JSON.
        let parameters: Vec<(String, String)> =
            url::form_urlencoded::parse(collapsed.trim().trim_start_matches('?').as_bytes())
                .filter(|(key, _)| key != "format")
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .chain([("format".to_owned(), "json".to_owned())])
                .collect();
        let mut request = self.client.get(self.render_url.clone()).query(&parameters);
        if let Some((username, password)) = &self.credentials {
            request = request.basic_auth(username.expose(), Some(password.expose()));
        }
        let body = send(NAME, request, self.timeout, plain_error).await?;
        let targets: Vec<Target> = decode(NAME, &body)?;
        targets
            .iter()
            .flat_map(|target| &target.datapoints)
            .filter_map(|point| point.value())
            .next_back()
            .ok_or_else(|| QueryError::NoValues("no non-null datapoints".to_owned()))
    }

    /// Online unless the request fails: a render of a missing series is
    /// "no values", which proves Graphite answered.
    pub async fn check_online(&self) -> Result<(), QueryError> {
        match self.query(ONLINE_QUERY).await {
            Ok(_) | Err(QueryError::NoValues(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Target {
    #[serde(default)]
    datapoints: Vec<Datapoint>,
}

/// `[value, timestamp]`; the value may be null, a number or a numeric
/// string depending on the Graphite implementation.
#[derive(Debug, Deserialize)]
struct Datapoint(serde_json::Value, #[allow(dead_code)] serde_json::Value);

impl Datapoint {
    fn value(&self) -> Option<f64> {
        match &self.0 {
            serde_json::Value::Number(number) => number.as_f64(),
            serde_json::Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use weir_api::metric_template::MetricProviderType;
    use weir_api::objects::SecretData;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::MetricsProvider;
    use super::super::test_support::{context, spec, window, with_secret};
    use super::*;

    fn provider(server: &MockServer) -> MetricsProvider {
        MetricsProvider::new(
            &spec(MetricProviderType::Graphite, &server.uri()),
            None,
            &context(),
        )
        .expect("provider")
    }

    #[tokio::test]
    async fn the_last_non_null_datapoint_of_all_targets_is_read() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/render"))
            .and(query_param(
                "target",
                "summarize(stats.podinfo.errors, '1min', 'sum')",
            ))
            .and(query_param("from", "-1min"))
            .and(query_param("format", "json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"target": "a", "datapoints": [[1.0, 100], [2.5, 160]]},
                {"target": "b", "datapoints": [["3.5", 100], [null, 160]]}
            ])))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server)
            .query(
                "target=summarize(stats.podinfo.errors, '1min', 'sum')&from=-1min&format=raw",
                &window(),
            )
            .await;
        assert_eq!(value, Ok(3.5));
    }

    #[tokio::test]
    async fn all_null_datapoints_are_no_values() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([{"target": "a", "datapoints": [[null, 100]]}])),
            )
            .mount(&server)
            .await;
        let error = provider(&server)
            .query("target=a", &window())
            .await
            .expect_err("none");
        assert!(error.is_no_values(), "{error}");
        // ... which still proves Graphite is online.
        provider(&server).check_online().await.expect("online");
    }

    #[tokio::test]
    async fn an_error_status_is_an_error_and_not_online() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500).set_body_string("render failed"))
            .mount(&server)
            .await;
        let error = provider(&server)
            .query("target=a", &window())
            .await
            .expect_err("500");
        assert_eq!(error.to_string(), "graphite answered 500: render failed");
        assert!(provider(&server).check_online().await.is_err());
    }

    #[tokio::test]
    async fn a_secret_sends_basic_credentials() {
        let server = MockServer::start().await;
        Mock::given(header("authorization", "Basic dXNlcjpwdw=="))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([{"datapoints": [[1, 1]]}])),
            )
            .expect(1)
            .mount(&server)
            .await;
        let secret = SecretData::from_pairs([("username", "user"), ("password", "pw")]);
        let provider = MetricsProvider::new(
            &with_secret(spec(MetricProviderType::Graphite, &server.uri())),
            Some(Credentials {
                secret: "test/graphite",
                data: &secret,
            }),
            &context(),
        )
        .expect("provider");
        assert_eq!(provider.query("target=a", &window()).await, Ok(1.0));
    }
}
