//! New Relic's Insights query API.
//!
//! `GET <address>/v1/accounts/<account>/query?nrql=<query> SINCE <interval
//! in seconds> seconds ago` with `X-Query-Key`. The answer must hold exactly
//! one result with a non-null `result`.

use std::time::Duration;

use reqwest::Client;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, QueryWindow,
    address_or, decode, join, parse_base_url, plain_error, send,
};

const NAME: &str = "newrelic";
const DEFAULT_ADDRESS: &str = "https://insights-api.newrelic.com";
const ACCOUNT_ID: &str = "newrelic_account_id";
const QUERY_KEY: &str = "newrelic_query_key";
/// Any query that New Relic accepts for every account.
const ONLINE_QUERY: &str = "SELECT * FROM Metric";

/// A New Relic account.
#[derive(Clone, Debug)]
pub struct NewRelic {
    query_url: url::Url,
    query_key: SecretString,
    client: Client,
    timeout: Duration,
}

impl NewRelic {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<NewRelic, ProviderError> {
        let address = address_or(spec, DEFAULT_ADDRESS);
        let credentials = credentials.ok_or(ProviderError::MissingSecret {
            provider: NAME,
            keys: vec![ACCOUNT_ID, QUERY_KEY],
        })?;
        // An account number, not a secret: it appears in the URL.
        let account = credentials
            .required(NAME, ACCOUNT_ID, None)?
            .expose()
            .to_owned();
        if !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(ProviderError::Invalid {
                provider: NAME,
                reason: format!("{ACCOUNT_ID} must be a number, not `{account}`"),
            });
        }
        let base = parse_base_url(NAME, address)?;
        Ok(NewRelic {
            query_url: join(&base, &format!("v1/accounts/{account}/query")),
            query_key: credentials.required(NAME, QUERY_KEY, None)?,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    async fn run(&self, nrql: String) -> Result<Response, QueryError> {
        let request = self
            .client
            .get(self.query_url.clone())
            .header("X-Query-Key", self.query_key.expose())
            .query(&[("nrql", nrql)]);
        let body = send(NAME, request, self.timeout, plain_error).await?;
        decode(NAME, &body)
    }

    pub async fn query(&self, query: &str, window: &QueryWindow) -> Result<f64, QueryError> {
        let nrql = format!(
            "{} SINCE {} seconds ago",
            query.trim(),
            window.interval.as_secs()
        );
        let response = self.run(nrql).await?;
        match response.results.as_slice() {
            [] => Err(QueryError::NoValues("no results".to_owned())),
            [only] => only
                .result
                .ok_or_else(|| QueryError::NoValues("the result is null".to_owned())),
            many => Err(QueryError::MultipleValues(format!(
                "{} results; select a single value",
                many.len()
            ))),
        }
    }

    pub async fn check_online(&self) -> Result<(), QueryError> {
        self.run(ONLINE_QUERY.to_owned()).await.map(drop)
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    results: Vec<QueryResult>,
}

#[derive(Debug, Deserialize)]
struct QueryResult {
    #[serde(default)]
    result: Option<f64>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use weir_api::metric_template::MetricProviderType;
    use weir_api::objects::SecretData;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::test_support::{context, provider_with_secret, spec, window, with_secret};
    use super::super::{MetricsProvider, ProviderContext};
    use super::*;

    fn provider(server: &MockServer, context: &ProviderContext) -> MetricsProvider {
        provider_with_secret(
            MetricProviderType::Newrelic,
            &server.uri(),
            &[(ACCOUNT_ID, "1234"), (QUERY_KEY, "query-key")],
            context,
        )
    }

    #[tokio::test]
    async fn the_query_looks_back_one_interval_and_reads_the_single_result() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/accounts/1234/query"))
            .and(header("X-Query-Key", "query-key"))
            .and(query_param(
                "nrql",
                "SELECT percentage(count(*), WHERE httpResponseCode != 500) FROM Transaction SINCE 60 seconds ago",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [{"result": 99.2}]})))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server, &context())
            .query(
                "SELECT percentage(count(*), WHERE httpResponseCode != 500) FROM Transaction\n",
                &window(),
            )
            .await;
        assert_eq!(value, Ok(99.2));
    }

    #[tokio::test]
    async fn no_result_or_a_null_result_is_no_values_and_several_are_refused() {
        let server = MockServer::start().await;
        let answer = |body| ResponseTemplate::new(200).set_body_json(body);
        Mock::given(query_param("nrql", "empty SINCE 60 seconds ago"))
            .respond_with(answer(json!({"results": []})))
            .mount(&server)
            .await;
        Mock::given(query_param("nrql", "null SINCE 60 seconds ago"))
            .respond_with(answer(json!({"results": [{"result": null}]})))
            .mount(&server)
            .await;
        Mock::given(query_param("nrql", "many SINCE 60 seconds ago"))
            .respond_with(answer(
                json!({"results": [{"result": 1.0}, {"result": 2.0}]}),
            ))
            .mount(&server)
            .await;
        let provider = provider(&server, &context());
        for query in ["empty", "null"] {
            let error = provider.query(query, &window()).await.expect_err(query);
            assert!(error.is_no_values(), "{query}: {error}");
        }
        let error = provider.query("many", &window()).await.expect_err("many");
        assert!(matches!(error, QueryError::MultipleValues(_)), "{error}");
    }

    #[tokio::test]
    async fn an_error_status_is_reported() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(400).set_body_string("NRQL Syntax Error"))
            .mount(&server)
            .await;
        let error = provider(&server, &context())
            .query("SELEC", &window())
            .await
            .expect_err("400");
        assert_eq!(
            error.to_string(),
            "newrelic answered 400: NRQL Syntax Error"
        );
    }

    #[tokio::test]
    async fn online_runs_a_query_every_account_accepts() {
        let server = MockServer::start().await;
        Mock::given(query_param("nrql", "SELECT * FROM Metric"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
            .expect(1)
            .mount(&server)
            .await;
        provider(&server, &context())
            .check_online()
            .await
            .expect("online");
    }

    #[test]
    fn the_account_id_must_be_a_number() {
        let secret = SecretData::from_pairs([(ACCOUNT_ID, "12/../34"), (QUERY_KEY, "k")]);
        let error = MetricsProvider::new(
            &with_secret(spec(MetricProviderType::Newrelic, "")),
            Some(Credentials {
                secret: "test/newrelic",
                data: &secret,
            }),
            &context(),
        )
        .expect_err("not a number");
        assert!(error.to_string().contains("must be a number"), "{error}");
    }
}
