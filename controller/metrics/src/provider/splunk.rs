//! Splunk Observability Cloud (SignalFx) SignalFlow programs.
//!
//! Flagger runs the program over SignalFlow's WebSocket; weir uses its HTTP
//! interface, which runs the same computation and streams the same messages
//! as server-sent events:
//!
//! ```text
//!   POST https://stream.<realm>.signalfx.com/v2/signalflow/execute
//!        ?start=<now − 10×interval, ms>&stop=<now, ms>&immediate=true
//!   X-SF-Token: <sf_token_key>            body: the program
//!
//!   event: data
//!   data: {"data": [{"tsId": "AAAAAKm1uK0", "value": 3.0}], "logicalTimestampMs": ...}
//! ```
//!
//! The value is the last non-null data point; points from more than one
//! time series are refused (the program must publish one).
//! `address` may name the API (`https://api.<realm>...`) or the stream
//! (`wss://stream.<realm>...`) host, as with Flagger.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Client;
use serde::Deserialize;
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, QueryWindow, join,
    plain_error, send, unix_milliseconds,
};

const NAME: &str = "splunk";
const TOKEN: &str = "sf_token_key";
/// Ten intervals of history, as for Datadog.
const LOOK_BACK_INTERVALS: u32 = 10;

/// A Splunk Observability realm.
#[derive(Clone, Debug)]
pub struct Splunk {
    stream: url::Url,
    api: url::Url,
    token: SecretString,
    client: Client,
    timeout: Duration,
}

impl Splunk {
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<Splunk, ProviderError> {
        let address = spec
            .address
            .as_deref()
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .ok_or(ProviderError::MissingAddress { provider: NAME })?;
        let invalid = |reason: String| ProviderError::InvalidAddress {
            provider: NAME,
            address: address.to_owned(),
            reason,
        };
        let mut url = url::Url::parse(address).map_err(|error| invalid(error.to_string()))?;
        let scheme = match url.scheme() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            other => return Err(invalid(format!("unsupported scheme `{other}`"))),
        };
        // `Url::set_scheme` refuses to turn a special scheme into another
        // kind; rebuilding from text always works.
        url = url::Url::parse(&format!("{scheme}{}", &url.as_str()[url.scheme().len()..]))
            .map_err(|error| invalid(error.to_string()))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        if host.is_empty() {
            return Err(invalid("no host".to_owned()));
        }
        let with_host = |host: String| {
            let mut url = url.clone();
            url.set_host(Some(&host)).map(|()| url)
        };
        let stream = match host.strip_prefix("api.") {
            Some(rest) => with_host(format!("stream.{rest}")),
            None => Ok(url.clone()),
        }
        .map_err(|error| invalid(error.to_string()))?;
        let api = match host.strip_prefix("stream.") {
            Some(rest) => with_host(format!("api.{rest}")),
            None => Ok(url.clone()),
        }
        .map_err(|error| invalid(error.to_string()))?;
        let credentials = credentials.ok_or(ProviderError::MissingSecret {
            provider: NAME,
            keys: vec![TOKEN],
        })?;
        Ok(Splunk {
            stream: join(&stream, "v2/signalflow/execute"),
            api: join(&api, "v2/metric"),
            token: credentials.required(NAME, TOKEN, None)?,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(PROVIDER_TIMEOUT),
        })
    }

    pub async fn query(&self, query: &str, window: &QueryWindow) -> Result<f64, QueryError> {
        let request = self
            .client
            .post(self.stream.clone())
            .header("X-SF-Token", self.token.expose())
            .header("Content-Type", "text/plain")
            .query(&[
                (
                    "start",
                    unix_milliseconds(window.start(LOOK_BACK_INTERVALS)).to_string(),
                ),
                ("stop", unix_milliseconds(window.now).to_string()),
                ("immediate", "true".to_owned()),
            ])
            .body(query.trim().to_owned());
        let body = send(NAME, request, self.timeout, plain_error).await?;
        last_value(&String::from_utf8_lossy(&body))
    }

    pub async fn check_online(&self) -> Result<(), QueryError> {
        let request = self
            .client
            .get(self.api.clone())
            .header("X-SF-Token", self.token.expose())
            .query(&[("limit", "1")]);
        send(NAME, request, self.timeout, plain_error)
            .await
            .map(drop)
    }
}

/// One server-sent event: its type and its (joined) data lines.
#[derive(Debug, Default)]
struct Event {
    kind: String,
    data: String,
}

/// Splits a server-sent-event stream into events.
fn events(stream: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let mut current = Event::default();
    for line in stream.lines() {
        if line.is_empty() {
            if !current.data.is_empty() || !current.kind.is_empty() {
                events.push(std::mem::take(&mut current));
            }
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => current.kind = value.to_owned(),
            "data" => {
                if !current.data.is_empty() {
                    current.data.push('\n');
                }
                current.data.push_str(value);
            }
            _ => {}
        }
    }
    if !current.data.is_empty() || !current.kind.is_empty() {
        events.push(current);
    }
    events
}

#[derive(Debug, Deserialize)]
struct DataMessage {
    #[serde(default)]
    data: Vec<Point>,
}

#[derive(Debug, Deserialize)]
struct Point {
    #[serde(rename = "tsId")]
    time_series: String,
    value: Option<f64>,
}

fn last_value(stream: &str) -> Result<f64, QueryError> {
    let mut time_series = BTreeSet::new();
    let mut last = None;
    for event in events(stream) {
        match event.kind.as_str() {
            "data" => {
                let message: DataMessage =
                    serde_json::from_str(&event.data).map_err(|error| QueryError::Decode {
                        provider: NAME,
                        reason: format!("data message: {error}"),
                    })?;
                for point in message.data {
                    if let Some(value) = point.value {
                        time_series.insert(point.time_series);
                        last = Some(value);
                    }
                }
            }
            "error" => {
                return Err(QueryError::Status {
                    provider: NAME,
                    status: 200,
                    message: format!(
                        "the program failed: {}",
                        weir_http::excerpt(&event.data, 300)
                    ),
                });
            }
            _ => {}
        }
    }
    if time_series.len() > 1 {
        return Err(QueryError::MultipleValues(format!(
            "the program published {} time series; publish one",
            time_series.len()
        )));
    }
    last.ok_or_else(|| QueryError::NoValues("the program published no data".to_owned()))
}

#[cfg(test)]
mod tests {
    use weir_api::metric_template::MetricProviderType;

    use wiremock::matchers::{body_string, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::test_support::{NOW_SECONDS, context, provider_with_secret, window};
    use super::super::{MetricsProvider, ProviderContext};
    use super::*;

    const STREAM: &str = "event: control-message\n\
data: {\n\
data:   \"event\" : \"STREAM_START\"\n\
data: }\n\
\n\
event: data\n\
data: {\n\
data:   \"data\" : [ { \"tsId\" : \"AAAAAKm1uK0\", \"value\" : 3.0 } ],\n\
data:   \"logicalTimestampMs\" : 1796126340000\n\
data: }\n\
\n\
event: data\n\
data: {\"data\": [{\"tsId\": \"AAAAAKm1uK0\", \"value\": 2}, {\"tsId\": \"AAAAAKm1uK0\", \"value\": null}], \"logicalTimestampMs\": 1796126400000}\n\
\n\
event: control-message\n\
data: {\"event\": \"END_OF_CHANNEL\"}\n\n";

    fn provider(address: &str, context: &ProviderContext) -> MetricsProvider {
        provider_with_secret(
            MetricProviderType::Splunk,
            address,
            &[(TOKEN, "sf-token")],
            context,
        )
    }

    fn sse(body: &str) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/event-stream")
            .set_body_string(body)
    }

    #[tokio::test]
    async fn the_program_runs_over_ten_intervals_and_the_last_point_is_read() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/signalflow/execute"))
            .and(header("X-SF-Token", "sf-token"))
            .and(query_param(
                "start",
                ((NOW_SECONDS - 600) * 1000).to_string(),
            ))
            .and(query_param("stop", (NOW_SECONDS * 1000).to_string()))
            .and(query_param("immediate", "true"))
            .and(body_string("data('errors').sum().publish()"))
            .respond_with(sse(STREAM))
            .expect(1)
            .mount(&server)
            .await;
        let value = provider(&server.uri(), &context())
            .query("data('errors').sum().publish()\n", &window())
            .await;
        assert_eq!(value, Ok(2.0));
    }

    #[tokio::test]
    async fn a_program_without_data_is_no_values_and_two_series_are_refused() {
        let server = MockServer::start().await;
        Mock::given(body_string("quiet"))
            .respond_with(sse(
                "event: control-message\ndata: {\"event\": \"END_OF_CHANNEL\"}\n\n",
            ))
            .mount(&server)
            .await;
        Mock::given(body_string("two"))
            .respond_with(sse("event: data\ndata: {\"data\": [{\"tsId\": \"a\", \"value\": 1}, {\"tsId\": \"b\", \"value\": 2}]}\n\n"))
            .mount(&server)
            .await;
        let provider = provider(&server.uri(), &context());
        let error = provider.query("quiet", &window()).await.expect_err("quiet");
        assert!(error.is_no_values(), "{error}");
        let error = provider.query("two", &window()).await.expect_err("two");
        assert!(matches!(error, QueryError::MultipleValues(_)), "{error}");
    }

    #[tokio::test]
    async fn an_error_status_and_an_error_event_are_errors() {
        let server = MockServer::start().await;
        Mock::given(body_string("unauthorized"))
            .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
            .mount(&server)
            .await;
        Mock::given(body_string("broken"))
            .respond_with(sse(
                "event: error\ndata: {\"error\": 400, \"message\": \"syntax error\"}\n\n",
            ))
            .mount(&server)
            .await;
        let provider = provider(&server.uri(), &context());
        let error = provider
            .query("unauthorized", &window())
            .await
            .expect_err("401");
        assert_eq!(error.to_string(), "splunk answered 401: Unauthorized");
        let error = provider
            .query("broken", &window())
            .await
            .expect_err("error event");
        assert!(error.to_string().contains("syntax error"), "{error}");
    }

    #[tokio::test]
    async fn online_lists_one_metric_on_the_api_host() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/metric"))
            .and(query_param("limit", "1"))
            .and(header("X-SF-Token", "sf-token"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .expect(1)
            .mount(&server)
            .await;
        provider(&server.uri(), &context())
            .check_online()
            .await
            .expect("online");
    }

    #[test]
    fn api_and_stream_addresses_map_to_each_other() {
        for address in [
            "https://api.us1.signalfx.com",
            "wss://stream.us1.signalfx.com",
        ] {
            let MetricsProvider::Splunk(splunk) = provider(address, &context()) else {
                unreachable!("a splunk spec builds a splunk provider");
            };
            assert_eq!(
                splunk.stream.as_str(),
                "https://stream.us1.signalfx.com/v2/signalflow/execute",
                "{address}"
            );
            assert_eq!(
                splunk.api.as_str(),
                "https://api.us1.signalfx.com/v2/metric",
                "{address}"
            );
        }
    }
}
