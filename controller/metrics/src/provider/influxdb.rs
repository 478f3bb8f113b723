//! InfluxDB 2's Flux query API.
//!
//! `POST <address>/api/v2/query?org=<org>` with `Authorization: Token <token>`
//! and the Flux program; InfluxDB answers in annotated CSV:
//!
//! ```text
//!   #datatype,string,long,dateTime:RFC3339,double      ← column types
//!   #group,false,false,false,false
//!   #default,_result,,,
//!   ,result,table,_time,_value                          ← header
//!   ,,0,2026-12-01T12:00:00Z,99.5                       ← records
//! ```
//!
//! The value is the first record's `_value`. Flagger returns `0` when there
//! is no record (semantics §18 #10); weir reports no values, since a
//! zero could pass a `max` threshold with no data at all. Integer columns
//! (`count()`) are read as numbers rather than refused.

use std::time::Duration;

use reqwest::Client;
use serde_json::json;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::{Credentials, ProviderContext, ProviderError, QueryError, base_url, join, send};

const NAME: &str = "influxdb";
/// Flagger's InfluxDB client waits 15 s: Flux queries over long ranges are slow.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Lists at most one bucket: proves the token and organisation work
/// without depending on a bucket named `default` (Flagger's check does).
const ONLINE_QUERY: &str = "buckets() |> limit(n: 1)";

/// An InfluxDB 2 (or InfluxDB Cloud) organisation.
#[derive(Clone, Debug)]
pub struct InfluxDb {
    query_url: url::Url,
    token: Option<SecretString>,
    org: Option<String>,
    client: Client,
    timeout: Duration,
}

impl InfluxDb {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<InfluxDb, ProviderError> {
        let base = base_url(NAME, spec.address.as_deref())?;
        let (token, org) = match (&spec.secret_ref, credentials) {
            (None, _) => (None, None),
            (Some(_), None) => {
                return Err(ProviderError::MissingSecret {
                    provider: NAME,
                    keys: vec!["token", "org"],
                });
            }
            (Some(_), Some(credentials)) => (
                Some(credentials.required(NAME, "token", None)?),
                Some(credentials.required(NAME, "org", None)?.expose().to_owned()),
            ),
        };
        Ok(InfluxDb {
            query_url: join(&base, "api/v2/query"),
            token,
            org,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(TIMEOUT),
        })
    }

    async fn run(&self, flux: &str) -> Result<Vec<u8>, QueryError> {
        let mut request = self
            .client
            .post(self.query_url.clone())
            .header("Accept", "application/csv")
            .json(&json!({
                "query": flux,
                "type": "flux",
                "dialect": {
                    "header": true,
                    "delimiter": ",",
                    "annotations": ["datatype", "group", "default"],
                    "commentPrefix": "#",
                    "dateTimeFormat": "RFC3339",
                },
            }));
        if let Some(org) = &self.org {
            request = request.query(&[("org", org)]);
        }
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Token {}", token.expose()));
        }
        let body = send(NAME, request, self.timeout, error_message).await?;
        Ok(body.to_vec())
    }

    pub async fn query(&self, query: &str) -> Result<f64, QueryError> {
        let body = self.run(query).await?;
        first_value(&body)
    }

    pub async fn check_online(&self) -> Result<(), QueryError> {
        let body = self.run(ONLINE_QUERY).await?;
        match first_value(&body) {
            Ok(_) | Err(QueryError::NoValues(_)) => Ok(()),
            // `buckets()` has no numeric `_value`: any table at all is fine.
            Err(QueryError::Decode { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// InfluxDB explains a refused query in `message`.
fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value.get("message")?.as_str()?;
    Some(
        match value.get("code").and_then(serde_json::Value::as_str) {
            Some(code) => format!("{code}: {message}"),
            None => message.to_owned(),
        },
    )
}

/// The `_value` of the first record in an annotated CSV answer.
fn first_value(body: &[u8]) -> Result<f64, QueryError> {
    let decode_error = |reason: String| QueryError::Decode {
        provider: NAME,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut datatypes: Vec<String> = Vec::new();
    let mut defaults: Vec<String> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for row in reader.records() {
        let row = row.map_err(|error| decode_error(format!("malformed CSV: {error}")))?;
        let first = row.get(0).unwrap_or_default();
        if row.iter().all(str::is_empty) {
            // A blank line ends a table; the next starts with annotations.
            header = None;
            continue;
        }
        match first {
            "#datatype" => {
                datatypes = row.iter().map(str::to_owned).collect();
                header = None;
            }
            "#default" => defaults = row.iter().map(str::to_owned).collect(),
            _ if first.starts_with('#') => {}
            _ => match &header {
                None => header = Some(row.iter().map(str::to_owned).collect()),
                Some(columns) => {
                    if let Some(index) = columns.iter().position(|column| column == "error") {
                        let message = row.get(index).unwrap_or_default();
                        return Err(QueryError::Status {
                            provider: NAME,
                            status: 200,
                            message: format!("query failed: {message}"),
                        });
                    }
                    let Some(index) = columns.iter().position(|column| column == "_value") else {
                        return Err(decode_error(format!(
                            "the result has no `_value` column (columns: {})",
                            columns
                                .iter()
                                .filter(|c| !c.is_empty())
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    };
                    let mut text = row.get(index).unwrap_or_default();
                    if text.is_empty() {
                        text = defaults.get(index).map(String::as_str).unwrap_or_default();
                    }
                    if text.is_empty() {
                        return Err(QueryError::NoValues(
                            "the first record's _value is null".to_owned(),
                        ));
                    }
                    let datatype = datatypes.get(index).map(String::as_str).unwrap_or("double");
                    return match datatype {
                        "double" | "long" | "unsignedLong" => text
                            .parse()
                            .map_err(|_| decode_error(format!("_value `{text}` is not a number"))),
                        other => Err(decode_error(format!(
                            "_value is a {other} (`{text}`), not a number"
                        ))),
                    };
                }
            },
        }
    }
    Err(QueryError::NoValues("no records".to_owned()))
}

#[cfg(test)]
mod tests {
    use weir_api::metric_template::MetricProviderType;

    use wiremock::matchers::{body_partial_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::test_support::{context, provider_with_secret, window};
    use super::super::{MetricsProvider, ProviderContext};
    use super::*;

    const RESULT: &str = "#datatype,string,long,dateTime:RFC3339,double,string\r\n\
#group,false,false,false,false,true\r\n\
#default,_result,,,,\r\n\
,result,table,_time,_value,_field\r\n\
,,0,2026-12-01T12:00:00Z,99.5,success_rate\r\n\
,,0,2026-12-01T12:01:00Z,42,success_rate\r\n\r\n";

    fn provider(server: &MockServer, context: &ProviderContext) -> MetricsProvider {
        provider_with_secret(
            MetricProviderType::Influxdb,
            &server.uri(),
            &[("token", "influx-token"), ("org", "platform")],
            context,
        )
    }

    fn csv(body: &str) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/csv; charset=utf-8")
            .set_body_string(body)
    }

    #[tokio::test]
    async fn the_flux_program_is_posted_and_the_first_value_read() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/query"))
            .and(query_param("org", "platform"))
            .and(header("Authorization", "Token influx-token"))
            .and(body_partial_json(serde_json::json!({
                "query": "from(bucket: \"app\") |> range(start: -1m)",
                "type": "flux"
            })))
            .respond_with(csv(RESULT))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server, &context())
            .query("from(bucket: \"app\") |> range(start: -1m)", &window())
            .await;
        assert_eq!(value, Ok(99.5));
    }

    #[tokio::test]
    async fn no_records_are_no_values_not_zero() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(csv("\r\n"))
            .mount(&server)
            .await;
        let error = provider(&server, &context())
            .query("x", &window())
            .await
            .expect_err("no records");
        assert!(error.is_no_values(), "{error}");
    }

    #[tokio::test]
    async fn integer_values_are_numbers_and_strings_are_refused() {
        let server = MockServer::start().await;
        Mock::given(body_partial_json(serde_json::json!({"query": "count"})))
            .respond_with(csv("#datatype,string,long,long\r\n#group,false,false,false\r\n#default,_result,,\r\n,result,table,_value\r\n,,0,17\r\n"))
            .mount(&server)
            .await;
        Mock::given(body_partial_json(serde_json::json!({"query": "text"})))
            .respond_with(csv("#datatype,string,long,string\r\n#group,false,false,false\r\n#default,_result,,\r\n,result,table,_value\r\n,,0,ok\r\n"))
            .mount(&server)
            .await;
        let provider = provider(&server, &context());
        assert_eq!(provider.query("count", &window()).await, Ok(17.0));
        let error = provider.query("text", &window()).await.expect_err("string");
        assert!(error.to_string().contains("not a number"), "{error}");
    }

    #[tokio::test]
    async fn a_refused_query_quotes_influxdb_and_an_error_table_is_an_error() {
        let server = MockServer::start().await;
        Mock::given(body_partial_json(serde_json::json!({"query": "bad"})))
            .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "code": "invalid",
                "message": "compilation failed: error at @1:1-1:4: undefined identifier bad"
            })))
            .mount(&server)
            .await;
        Mock::given(body_partial_json(serde_json::json!({"query": "failing"})))
            .respond_with(csv("#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n,panic: runtime error,897\r\n"))
            .mount(&server)
            .await;
        let provider = provider(&server, &context());
        let error = provider.query("bad", &window()).await.expect_err("400");
        assert_eq!(
            error.to_string(),
            "influxdb answered 400: invalid: compilation failed: error at @1:1-1:4: undefined identifier bad"
        );
        let error = provider
            .query("failing", &window())
            .await
            .expect_err("error table");
        assert!(
            error.to_string().contains("panic: runtime error"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn online_lists_a_bucket() {
        let server = MockServer::start().await;
        Mock::given(body_partial_json(serde_json::json!({"query": ONLINE_QUERY})))
            .respond_with(csv("#datatype,string,long,string,string\r\n#group,false,false,false,false\r\n#default,_result,,,\r\n,result,table,name,id\r\n,,0,app,0123\r\n"))
            .expect(1)
            .mount(&server)
            .await;
        provider(&server, &context())
            .check_online()
            .await
            .expect("online");
    }
}
