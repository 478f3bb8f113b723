//! Metric providers: the services a MetricTemplate's query is sent to
//! (semantics §8.5).
//!
//! ```text
//!   MetricTemplate.spec.provider ─┐
//!   Secret (template's namespace) ┼─ MetricsProvider::new ──▶ Prometheus | Datadog | New Relic | Graphite
//!   ProviderContext (clients,     ┘                            | Dynatrace | InfluxDB | Splunk | external metrics
//!    cluster endpoint)                                         | CloudWatch | Stackdriver | Keptn
//!
//!   provider.query(rendered query, QueryWindow { interval, now }) ──▶ Ok(value)
//!                                                                   │ Err(NoValues)  → "no data"
//!                                                                   └ Err(anything else) → "error"
//! ```
//!
//! Every provider is an HTTP client with a bounded body and Flagger's
//! timeout (5 s, InfluxDB 15 s). Look-back windows are computed from the
//! caller's `now`, never the wall clock, so the simulator's virtual time and
//! tests get the same requests every time.
//!
//! A query that finds nothing is [`QueryError::NoValues`], distinct from a
//! provider that fails: the engine counts both as failed checks (as Flagger
//! does) but records which it was, and other judges may treat them apart.
//!
//! Where weir differs from Flagger:
//! * empty InfluxDB results are "no values", not `0` (§18 #10), which could
//!   pass a `max` threshold with no data at all;
//! * null points from Datadog and Dynatrace are skipped instead of read as
//!   `0`;
//! * Prometheus `scalar` results are read rather than refused;
//! * Splunk's SignalFlow programs run over its HTTP (server-sent events)
//!   interface rather than a WebSocket: the same program and window, one
//!   request, testable with any HTTP fake;
//! * CloudWatch speaks its JSON protocol with its own SigV4 signing and
//!   AWS credential chain, and may take keys from a Secret; Stackdriver
//!   speaks Cloud Monitoring's REST API with service-account or metadata
//!   server tokens (each module lists how it differs);
//! * Keptn's KeptnMetrics and Analyses are read and written over the API
//!   server's HTTP interface, as external metrics are, rather than through
//!   a Kubernetes client; a malformed query is refused with the format,
//!   arguments keep their case, and a failed Analysis is `0` rather than
//!   Flagger's ten-second timeout (the module lists how it differs);
//! * Secret values are trimmed of surrounding whitespace.

mod cloudwatch;
mod datadog;
mod dynatrace;
mod external_metrics;
mod graphite;
mod influxdb;
mod keptn;
mod newrelic;
mod prometheus;
mod splunk;
mod stackdriver;

use std::time::Duration;

use bytes::Bytes;
use k8s_openapi::jiff::Timestamp;
use reqwest::{Client, RequestBuilder, StatusCode};
use weir_api::metric_template::{MetricProvider, MetricProviderType};
use weir_api::objects::{SecretData, SecretString};
use weir_http::{ClientOptions, HttpError};

pub use cloudwatch::CloudWatch;
pub use datadog::Datadog;
pub use dynatrace::Dynatrace;
pub use external_metrics::{ClusterEndpoint, ExternalMetrics};
pub use graphite::Graphite;
pub use influxdb::InfluxDb;
pub use keptn::Keptn;
pub use newrelic::NewRelic;
pub use prometheus::Prometheus;
pub use splunk::Splunk;
pub use stackdriver::Stackdriver;

/// Flagger's request timeout for every HTTP provider but InfluxDB.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of a response weir reads: query results are a handful of
/// numbers, and a misbehaving provider must not exhaust the controller's
/// memory.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// How much of an error body a message quotes.
const ERROR_EXCERPT: usize = 300;

/// Why a query produced no value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The provider answered, but with nothing to judge (no series, empty
    /// points, NaN): usually a canary without traffic.
    #[error("no values found{}", detail_suffix(.0))]
    NoValues(String),
    /// The query returned a range of values where one was expected.
    #[error("multiple values returned: {0}")]
    MultipleValues(String),
    /// The provider refused the query.
    #[error("{provider} answered {status}: {message}")]
    Status {
        provider: &'static str,
        status: u16,
        message: String,
    },
    /// The provider could not be reached or did not answer in time.
    #[error("{provider}: {source}")]
    Http {
        provider: &'static str,
        source: HttpError,
    },
    /// The provider answered something weir cannot read.
    #[error("{provider} answered with an unexpected response: {reason}")]
    Decode {
        provider: &'static str,
        reason: String,
    },
    /// The query cannot be sent as written (nothing was sent).
    #[error("{provider}: invalid query: {reason}")]
    InvalidQuery {
        provider: &'static str,
        reason: String,
    },
    /// The provider took the query but could not evaluate it: a Keptn
    /// metric whose fetch failed, an Analysis that did not complete in
    /// time.
    #[error("{provider}: {reason}")]
    Evaluation {
        provider: &'static str,
        reason: String,
    },
    /// No credentials to sign or authorize the request with.
    #[error("{provider}: no usable credentials: {reason}")]
    Credentials {
        provider: &'static str,
        reason: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl QueryError {
    pub fn is_no_values(&self) -> bool {
        matches!(self, QueryError::NoValues(_))
    }
}

/// Why a provider cannot be built from its MetricTemplate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider} needs spec.provider.address")]
    MissingAddress { provider: &'static str },
    #[error("{provider} address `{address}` is not a valid http(s) URL: {reason}")]
    InvalidAddress {
        provider: &'static str,
        address: String,
        reason: String,
    },
    #[error("{provider} needs spec.provider.secretRef naming a Secret with {}", keys.join(" and "))]
    MissingSecret {
        provider: &'static str,
        keys: Vec<&'static str>,
    },
    #[error("{provider} credentials in Secret {secret} do not contain `{key}`{}", hint.map(|hint| format!("; {hint}")).unwrap_or_default())]
    MissingSecretKey {
        provider: &'static str,
        secret: String,
        key: &'static str,
        hint: Option<&'static str>,
    },
    #[error("{provider}: {reason}")]
    Invalid {
        provider: &'static str,
        reason: String,
    },
    #[error("{provider} is not supported yet: {reason}")]
    Unsupported {
        provider: &'static str,
        reason: &'static str,
    },
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// The time a query looks back from, and how far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryWindow {
    /// The metric's interval (`1m` by default).
    pub interval: Duration,
    /// When the query runs: the engine's clock.
    pub now: Timestamp,
}

impl QueryWindow {
    /// The start of a look-back of `multiple` intervals: Datadog, Dynatrace
    /// and Splunk ask for ten, so that sparse series still have a point.
    fn start(&self, multiple: u32) -> Timestamp {
        let span = self.interval.saturating_mul(multiple);
        let span = k8s_openapi::jiff::SignedDuration::try_from(span).unwrap_or_default();
        self.now.checked_sub(span).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// The Secret a MetricTemplate references, with its name for messages.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    /// `<namespace>/<name>`.
    pub secret: &'a str,
    pub data: &'a SecretData,
}

impl Credentials<'_> {
    fn required(
        &self,
        provider: &'static str,
        key: &'static str,
        hint: Option<&'static str>,
    ) -> Result<SecretString, ProviderError> {
        self.data
            .secret(key)
            .ok_or_else(|| ProviderError::MissingSecretKey {
                provider,
                secret: self.secret.to_owned(),
                key,
                hint,
            })
    }
}

/// What providers share: HTTP clients (one verifying certificates, one
/// for `insecureSkipVerify`) and, in a cluster, the API server for the
/// external metrics provider.
#[derive(Clone, Debug)]
pub struct ProviderContext {
    verifying: Client,
    insecure: Client,
    /// The cluster's API server, when running in one.
    pub cluster: Option<ClusterEndpoint>,
    /// Overrides every provider's request timeout (Flagger's 5 s, 15 s for
    /// InfluxDB).
    pub timeout: Option<Duration>,
}

impl ProviderContext {
    pub fn new(cluster: Option<ClusterEndpoint>) -> Result<ProviderContext, HttpError> {
        Ok(ProviderContext {
            verifying: weir_http::client(&ClientOptions::default())?,
            insecure: weir_http::client(&ClientOptions {
                insecure_skip_verify: true,
                ..ClientOptions::default()
            })?,
            cluster,
            timeout: None,
        })
    }

    /// Every provider gives up after `timeout` instead of its default.
    pub fn with_timeout(mut self, timeout: Duration) -> ProviderContext {
        self.timeout = Some(timeout);
        self
    }

    /// The request timeout of a provider whose default is `default`.
    fn timeout(&self, default: Duration) -> Duration {
        self.timeout.unwrap_or(default)
    }

    fn client(&self, insecure_skip_verify: bool) -> Client {
        if insecure_skip_verify {
            self.insecure.clone()
        } else {
            self.verifying.clone()
        }
    }
}

/// A provider, ready to run queries.
#[derive(Clone, Debug)]
pub enum MetricsProvider {
    Prometheus(Prometheus),
    Datadog(Datadog),
    NewRelic(NewRelic),
    Graphite(Graphite),
    Dynatrace(Dynatrace),
    InfluxDb(InfluxDb),
    Splunk(Splunk),
    ExternalMetrics(ExternalMetrics),
    CloudWatch(CloudWatch),
    Stackdriver(Stackdriver),
    Keptn(Keptn),
}

impl MetricsProvider {
    /// The provider `spec` describes, with the credentials of its
    /// `secretRef` (read by the caller from the template's namespace).
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<MetricsProvider, ProviderError> {
        Ok(match spec.r#type {
            MetricProviderType::Prometheus => {
                MetricsProvider::Prometheus(Prometheus::new(spec, credentials, context)?)
            }
            MetricProviderType::Datadog => {
                MetricsProvider::Datadog(Datadog::new(spec, credentials, context)?)
            }
            MetricProviderType::Newrelic => {
                MetricsProvider::NewRelic(NewRelic::new(spec, credentials, context)?)
            }
            MetricProviderType::Graphite => {
                MetricsProvider::Graphite(Graphite::new(spec, credentials, context)?)
            }
            MetricProviderType::Dynatrace => {
                MetricsProvider::Dynatrace(Dynatrace::new(spec, credentials, context)?)
            }
            MetricProviderType::Influxdb => {
                MetricsProvider::InfluxDb(InfluxDb::new(spec, credentials, context)?)
            }
            MetricProviderType::Splunk => {
                MetricsProvider::Splunk(Splunk::new(spec, credentials, context)?)
            }
            MetricProviderType::Externalmetrics => {
                MetricsProvider::ExternalMetrics(ExternalMetrics::new(spec, credentials, context)?)
            }
            MetricProviderType::Cloudwatch => {
                MetricsProvider::CloudWatch(CloudWatch::new(spec, credentials, context)?)
            }
            MetricProviderType::Stackdriver => {
                MetricsProvider::Stackdriver(Stackdriver::new(spec, credentials, context)?)
            }
            MetricProviderType::Keptn => {
                MetricsProvider::Keptn(Keptn::new(spec, credentials, context)?)
            }
        })
    }

    /// Runs `query` (already rendered) over `window`.
    pub async fn query(&self, query: &str, window: &QueryWindow) -> Result<f64, QueryError> {
        match self {
            MetricsProvider::Prometheus(provider) => provider.query(query).await,
            MetricsProvider::Datadog(provider) => provider.query(query, window).await,
            MetricsProvider::NewRelic(provider) => provider.query(query, window).await,
            MetricsProvider::Graphite(provider) => provider.query(query).await,
            MetricsProvider::Dynatrace(provider) => provider.query(query, window).await,
            MetricsProvider::InfluxDb(provider) => provider.query(query).await,
            MetricsProvider::Splunk(provider) => provider.query(query, window).await,
            MetricsProvider::ExternalMetrics(provider) => provider.query(query).await,
            MetricsProvider::CloudWatch(provider) => provider.query(query, window).await,
            MetricsProvider::Stackdriver(provider) => provider.query(query, window).await,
            MetricsProvider::Keptn(provider) => provider.query(query).await,
        }
    }

    /// Whether the provider answers (Flagger's `IsOnline`), checked when a
    /// Canary initializes.
    pub async fn check_online(&self) -> Result<(), QueryError> {
        match self {
            MetricsProvider::Prometheus(provider) => provider.check_online().await,
            MetricsProvider::Datadog(provider) => provider.check_online().await,
            MetricsProvider::NewRelic(provider) => provider.check_online().await,
            MetricsProvider::Graphite(provider) => provider.check_online().await,
            MetricsProvider::Dynatrace(provider) => provider.check_online().await,
            MetricsProvider::InfluxDb(provider) => provider.check_online().await,
            MetricsProvider::Splunk(provider) => provider.check_online().await,
            MetricsProvider::ExternalMetrics(provider) => provider.check_online().await,
            MetricsProvider::CloudWatch(provider) => provider.check_online().await,
            MetricsProvider::Stackdriver(provider) => provider.check_online().await,
            MetricsProvider::Keptn(provider) => provider.check_online().await,
        }
    }
}

/// Flagger collapses every run of whitespace in a query to one space
/// before sending it, so multi-line templates read as one line in the
/// provider's logs.
pub fn collapse_whitespace(query: &str) -> String {
    let mut collapsed = String::with_capacity(query.len());
    let mut in_space = false;
    for character in query.chars() {
        if character.is_whitespace() {
            if !in_space {
                collapsed.push(' ');
            }
            in_space = true;
        } else {
            collapsed.push(character);
            in_space = false;
        }
    }
    collapsed
}

/// The template's address, or the provider's public endpoint.
fn address_or<'a>(spec: &'a MetricProvider, default: &'a str) -> &'a str {
    spec.address
        .as_deref()
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .unwrap_or(default)
}

/// `address` as a base URL, required and http(s).
fn base_url(provider: &'static str, address: Option<&str>) -> Result<url::Url, ProviderError> {
    let address = address
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .ok_or(ProviderError::MissingAddress { provider })?;
    parse_base_url(provider, address)
}

fn parse_base_url(provider: &'static str, address: &str) -> Result<url::Url, ProviderError> {
    let invalid = |reason: String| ProviderError::InvalidAddress {
        provider,
        address: address.to_owned(),
        reason,
    };
    let url = url::Url::parse(address).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("unsupported scheme `{}`", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".to_owned()));
    }
    Ok(url)
}

/// `base` with `path` appended to its own path, as Go's `path.Join` does
/// (so `http://thanos/prometheus` keeps its `/prometheus` prefix).
fn join(base: &url::Url, path: &str) -> url::Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(None);
    url
}

/// Sends `request` and returns the body of a 2xx answer; anything else is
/// an error quoting the status and the start of the body.
async fn send(
    provider: &'static str,
    request: RequestBuilder,
    timeout: Duration,
    error_message: fn(&[u8]) -> Option<String>,
) -> Result<Bytes, QueryError> {
    let (client, request) = request.timeout(timeout).build_split();
    let request = request.map_err(|error| QueryError::Http {
        provider,
        source: weir_http::describe(&error, "", Some(timeout)),
    })?;
    let url = request.url().to_string();
    let response = client
        .execute(request)
        .await
        .map_err(|error| QueryError::Http {
            provider,
            source: weir_http::describe(&error, &redact(&url), Some(timeout)),
        })?;
    let status = response.status();
    let body = weir_http::read_body(response, BODY_LIMIT, Some(timeout))
        .await
        .map_err(|source| QueryError::Http { provider, source })?;
    if !status.is_success() {
        return Err(status_error(provider, status, &body, error_message));
    }
    Ok(body)
}

fn status_error(
    provider: &'static str,
    status: StatusCode,
    body: &[u8],
    error_message: fn(&[u8]) -> Option<String>,
) -> QueryError {
    let message = error_message(body)
        .unwrap_or_else(|| weir_http::excerpt(&String::from_utf8_lossy(body), ERROR_EXCERPT));
    QueryError::Status {
        provider,
        status: status.as_u16(),
        message: if message.is_empty() {
            status.canonical_reason().unwrap_or_default().to_owned()
        } else {
            message
        },
    }
}

/// Quotes bodies as they are: for providers whose errors are plain text.
fn plain_error(_body: &[u8]) -> Option<String> {
    None
}

/// A URL without its query string, for messages: queries can be long, and
/// some providers take credentials as parameters.
fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// `body` as JSON of type `T`.
fn decode<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    body: &[u8],
) -> Result<T, QueryError> {
    serde_json::from_slice(body).map_err(|error| QueryError::Decode {
        provider,
        reason: format!(
            "{error}: `{}`",
            weir_http::excerpt(&String::from_utf8_lossy(body), ERROR_EXCERPT)
        ),
    })
}

/// Seconds since the Unix epoch.
fn unix_seconds(time: Timestamp) -> i64 {
    time.as_second()
}

/// Milliseconds since the Unix epoch.
fn unix_milliseconds(time: Timestamp) -> i64 {
    time.as_millisecond()
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared fixtures for the providers' wiremock tests.

    use super::*;
    use std::collections::BTreeMap;

    pub(crate) fn context() -> ProviderContext {
        ProviderContext::new(None).expect("clients build")
    }

    /// A context whose providers give up after [`SHORT_TIMEOUT`].
    pub(crate) fn impatient_context() -> ProviderContext {
        context().with_timeout(SHORT_TIMEOUT)
    }

    /// Long enough for loopback, short enough to keep timeout tests fast.
    pub(crate) const SHORT_TIMEOUT: Duration = Duration::from_millis(200);

    pub(crate) fn spec(kind: MetricProviderType, address: &str) -> MetricProvider {
        MetricProvider {
            r#type: kind,
            address: Some(address.to_owned()),
            headers: BTreeMap::new(),
            secret_ref: None,
            region: None,
            insecure_skip_verify: false,
        }
    }

    pub(crate) fn with_secret(mut spec: MetricProvider) -> MetricProvider {
        spec.secret_ref = Some(weir_api::metric_template::SecretRef {
            name: "provider-credentials".to_owned(),
        });
        spec
    }

    /// A provider of `kind` at `address` whose Secret holds `pairs`.
    pub(crate) fn provider_with_secret(
        kind: MetricProviderType,
        address: &str,
        pairs: &[(&str, &str)],
        context: &ProviderContext,
    ) -> MetricsProvider {
        let secret = SecretData::from_pairs(pairs.iter().copied());
        MetricsProvider::new(
            &with_secret(spec(kind, address)),
            Some(Credentials {
                secret: "test/credentials",
                data: &secret,
            }),
            context,
        )
        .unwrap_or_else(|error| panic!("{}: {error}", kind.as_str()))
    }

    pub(crate) fn window() -> QueryWindow {
        QueryWindow {
            interval: Duration::from_secs(60),
            now: "2026-12-01T12:00:00Z".parse().expect("timestamp"),
        }
    }

    /// Seconds of [`window`]'s `now`.
    pub(crate) const NOW_SECONDS: i64 = 1_796_126_400;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_runs_collapse_to_one_space() {
        assert_eq!(
            collapse_whitespace("sum(\n\t\trate(x[1m])\n)  * 100"),
            "sum( rate(x[1m]) ) * 100"
        );
    }

    #[test]
    fn joined_paths_keep_the_base_path() {
        let base = url::Url::parse("http://thanos:9090/prometheus/").expect("url");
        assert_eq!(
            join(&base, "/api/v1/query").as_str(),
            "http://thanos:9090/prometheus/api/v1/query"
        );
        let bare = url::Url::parse("http://prometheus:9090").expect("url");
        assert_eq!(
            join(&bare, "api/v1/query").as_str(),
            "http://prometheus:9090/api/v1/query"
        );
    }

    #[test]
    fn addresses_must_be_http_urls_with_a_host() {
        assert!(matches!(
            base_url("prometheus", None),
            Err(ProviderError::MissingAddress { .. })
        ));
        for address in ["prometheus:9090", "ftp://prometheus", "not a url"] {
            let error = base_url("prometheus", Some(address)).expect_err(address);
            assert!(
                matches!(&error, ProviderError::InvalidAddress { .. }),
                "{address}: {error}"
            );
            assert!(error.to_string().contains(address), "{error}");
        }
    }

    /// A spec of `kind` at `address`, with a Secret holding every key any
    /// provider needs.
    fn complete_spec(kind: MetricProviderType, address: &str) -> (MetricProvider, SecretData) {
        let secret = SecretData::from_pairs([
            ("token", "s3cr3t-token"),
            ("org", "platform"),
            ("username", "s3cr3t-user"),
            ("password", "s3cr3t-password"),
            ("datadog_api_key", "s3cr3t-api-key"),
            ("datadog_application_key", "s3cr3t-application-key"),
            ("newrelic_account_id", "1234"),
            ("newrelic_query_key", "s3cr3t-query-key"),
            ("dynatrace_token", "s3cr3t-dynatrace"),
            ("sf_token_key", "s3cr3t-splunk"),
        ]);
        (
            test_support::with_secret(test_support::spec(kind, address)),
            secret,
        )
    }

    const SUPPORTED: [MetricProviderType; 8] = [
        MetricProviderType::Prometheus,
        MetricProviderType::Datadog,
        MetricProviderType::Newrelic,
        MetricProviderType::Graphite,
        MetricProviderType::Dynatrace,
        MetricProviderType::Influxdb,
        MetricProviderType::Splunk,
        MetricProviderType::Externalmetrics,
    ];

    #[tokio::test]
    async fn every_provider_gives_up_after_its_timeout_with_an_error_not_no_data() {
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_delay(test_support::SHORT_TIMEOUT * 3))
            .mount(&server)
            .await;
        for kind in SUPPORTED {
            let (spec, secret) = complete_spec(kind, &server.uri());
            let provider = MetricsProvider::new(
                &spec,
                Some(Credentials {
                    secret: "test/credentials",
                    data: &secret,
                }),
                &test_support::impatient_context(),
            )
            .unwrap_or_else(|error| panic!("{}: {error}", kind.as_str()));
            let error = provider
                .query("x", &test_support::window())
                .await
                .expect_err(kind.as_str());
            assert!(
                error.to_string().ends_with("timed out after 200ms"),
                "{}: {error}",
                kind.as_str()
            );
            assert!(!error.is_no_values(), "{}: {error}", kind.as_str());
        }
    }

    #[test]
    fn no_provider_shows_its_credentials_in_debug_output() {
        for kind in SUPPORTED {
            let (spec, secret) = complete_spec(kind, "http://provider.test");
            let provider = MetricsProvider::new(
                &spec,
                Some(Credentials {
                    secret: "test/credentials",
                    data: &secret,
                }),
                &test_support::context(),
            )
            .unwrap_or_else(|error| panic!("{}: {error}", kind.as_str()));
            let debug = format!("{provider:?}");
            assert!(!debug.contains("s3cr3t"), "{}: {debug}", kind.as_str());
        }
    }

    #[test]
    fn the_look_back_window_counts_back_from_the_callers_clock() {
        let window = test_support::window();
        assert_eq!(unix_seconds(window.now), test_support::NOW_SECONDS);
        assert_eq!(
            unix_seconds(window.start(10)),
            test_support::NOW_SECONDS - 600
        );
    }
}
