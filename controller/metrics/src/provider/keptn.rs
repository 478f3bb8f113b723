//! Keptn (`metrics.keptn.sh/v1beta1`): KeptnMetrics and Analyses, which
//! are Kubernetes objects, read and written through the API server.
//!
//! The query names an object:
//! `<kind>/<namespace>/<name>[/<duration>[/<key>=<value>;<key>=<value>…]]`
//! with kind `keptnmetric` (or `keptnmetrics`) or `analysis` (or
//! `analyses`); the duration and arguments only matter to Analyses.
//!
//! ```text
//!   keptnmetric/test/response-time
//!     GET  <server>/apis/metrics.keptn.sh/v1beta1/namespaces/test/keptnmetrics/response-time
//!     → status.value "0.25" → 0.25          (read as Go's strconv.ParseFloat reads it)
//!
//!   analysis/test/slo/5m/service=podinfo
//!     POST <server>/apis/metrics.keptn.sh/v1beta1/namespaces/test/analyses
//!          Analysis slo-<6 random hex digits>:
//!            spec: {analysisDefinition: {name: slo}, timeframe: {recent: 5m},
//!                   args: {service: podinfo}}
//!     every 1 s, for up to 10 s:
//!       GET  …/analyses/slo-1a2b3c → status.state Completed? → status.pass ? 1 : 0
//!     DELETE …/analyses/slo-1a2b3c   (whatever happened after the POST)
//! ```
//!
//! The API server is the cluster's (the controller's service account, as
//! Flagger's dynamic client uses), or the template's `address` with the
//! template Secret's `token`: weir's extension, for a controller outside
//! the cluster. The poll sleeps on tokio's timer, never reads the wall
//! clock: this provider only runs in the live controller and wired runs.
//!
//! Where weir differs from Flagger:
//! * a malformed query is refused before anything is sent, with an error
//!   saying what the format is: an unknown kind, a missing or invalid
//!   namespace or name (DNS names, which also keeps `..` out of the URL),
//!   an empty or invalid duration (Go's grammar, as Keptn parses it), an
//!   argument without `=`. Flagger sends most of these to the API server
//!   or drops the argument silently;
//! * arguments keep their case: Flagger lower-cases the whole query, so an
//!   AnalysisValueTemplate's `{{.workloadName}}` could never be filled.
//!   The kind, namespace, name and duration are lower-cased as Flagger
//!   does. An argument is split at its first `=`, so values may contain
//!   `=` (Flagger drops them), and the arguments may contain `/` (Flagger
//!   cuts them there);
//! * a Completed Analysis without `status.pass` has failed: Keptn omits
//!   `pass: false` (`omitempty`), so Flagger waits out its 10 s and reports
//!   an error for every failing Analysis, where its documentation promises
//!   `0`;
//! * a KeptnMetric Keptn has not fetched yet (no `status.value`) is "no
//!   values" rather than an error, and a `NaN` value is "no values" as for
//!   every provider (Go would compare NaN and pass any threshold); one
//!   whose fetch failed is an error quoting Keptn's `status.errMsg`;
//! * every request has the providers' 5 s timeout, the deletion included
//!   (Flagger's deletion has none); the 10 s for the Analysis to complete
//!   start once it is created (Flagger's include the creating request);
//! * `address`, the Secret's `token` and `insecureSkipVerify` are honoured
//!   (Flagger ignores them and always uses its own cluster).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::json;
use weir_api::duration::{format_go_duration, parse_go_duration};
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;

use super::external_metrics::{ApiServer, status_message};
use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, decode, join, send,
};

const NAME: &str = "keptn";
const API_PATH: &str = "apis/metrics.keptn.sh/v1beta1";
/// What a malformed query's error says the format is.
const FORMAT: &str = "expected <keptnmetric|analysis>/<namespace>/<name>[/<duration>[/<key>=<value>;<key>=<value>...]]";
/// Flagger's timeframe for an Analysis whose query names no duration.
const DEFAULT_TIMEFRAME: &str = "1m";
/// The state Keptn gives an Analysis once its result is in.
const COMPLETED: &str = "Completed";

/// How often weir asks whether an Analysis has completed, and for how
/// long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AnalysisPolling {
    interval: Duration,
    limit: Duration,
}

impl Default for AnalysisPolling {
    /// Flagger's: every second for ten seconds, which its authors judged
    /// enough for Keptn to reconcile the Analysis and evaluate its
    /// objectives.
    fn default() -> Self {
        AnalysisPolling {
            interval: Duration::from_secs(1),
            limit: Duration::from_secs(10),
        }
    }
}

/// Keptn's metrics and analyses in a cluster.
#[derive(Clone, Debug)]
pub struct Keptn {
    base: url::Url,
    token: Option<SecretString>,
    client: Client,
    timeout: Duration,
    polling: AnalysisPolling,
}

impl Keptn {
    /// The Keptn objects of the cluster the controller runs in, or of the
    /// API server at the template's `address`.
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<Keptn, ProviderError> {
        let api_server = ApiServer::resolve(NAME, spec, credentials, context)?;
        Ok(Keptn {
            base: join(&api_server.server, API_PATH),
            token: api_server.token,
            client: api_server.client,
            timeout: context.timeout(PROVIDER_TIMEOUT),
            polling: AnalysisPolling::default(),
        })
    }

    /// Polls Analyses every `interval` for at most `limit`, so that tests
    /// need not wait Flagger's ten seconds.
    #[cfg(test)]
    fn with_analysis_polling(mut self, interval: Duration, limit: Duration) -> Keptn {
        self.polling = AnalysisPolling { interval, limit };
        self
    }

    /// The value of the KeptnMetric, or the result of the Analysis (1
    /// passed, 0 failed), that `query` names.
    pub async fn query(&self, query: &str) -> Result<f64, QueryError> {
        match KeptnQuery::parse(query)? {
            KeptnQuery::Metric { namespace, name } => self.metric(&namespace, &name).await,
            KeptnQuery::Analysis(analysis) => self.analysis(&analysis).await,
        }
    }

    /// Always online, as in Flagger: a missing Keptn shows in the queries'
    /// errors, and there is no cheap request that proves it installed
    /// without also needing permissions the queries do not.
    pub async fn check_online(&self) -> Result<(), QueryError> {
        Ok(())
    }

    async fn metric(&self, namespace: &str, name: &str) -> Result<f64, QueryError> {
        let object = format!("KeptnMetric {namespace}/{name}");
        let url = self.object_url(namespace, "keptnmetrics", Some(name));
        let body = send(
            NAME,
            self.authorized(self.client.get(url)),
            self.timeout,
            status_message,
        )
        .await
        .map_err(|error| about(&object, error))?;
        let metric: KeptnMetricObject =
            decode(NAME, &body).map_err(|error| about(&object, error))?;
        let status = metric.status.unwrap_or_default();
        match status.value.filter(|value| !value.is_empty()) {
            Some(value) => parse_value(&object, &value),
            None => match status.err_msg.filter(|message| !message.is_empty()) {
                Some(message) => Err(QueryError::Evaluation {
                    provider: NAME,
                    reason: format!("{object} has no value; Keptn could not fetch it: {message}"),
                }),
                None => Err(QueryError::NoValues(format!("{object} has no value yet"))),
            },
        }
    }

    async fn analysis(&self, analysis: &AnalysisQuery) -> Result<f64, QueryError> {
        let name = format!("{}-{}", analysis.definition, random_suffix()?);
        let object = format!("Analysis {}/{name}", analysis.namespace);
        let created = send(
            NAME,
            self.authorized(
                self.client
                    .post(self.object_url(&analysis.namespace, "analyses", None))
                    .json(&analysis.object(&name)),
            ),
            self.timeout,
            status_message,
        )
        .await;
        if let Err(error) = created {
            return Err(about(&format!("creating {object}"), error));
        }
        let result = self.await_completion(&analysis.namespace, &name).await;
        self.delete_analysis(&analysis.namespace, &name).await;
        result.map_err(|error| about(&object, error))
    }

    /// Reads the Analysis every poll interval until Keptn has completed it,
    /// for at most the poll limit.
    async fn await_completion(&self, namespace: &str, name: &str) -> Result<f64, QueryError> {
        let url = self.object_url(namespace, "analyses", Some(name));
        let mut last_state: Option<String> = None;
        let polling = async {
            loop {
                // Wait first, as Flagger does: Keptn has not even seen the
                // Analysis yet.
                tokio::time::sleep(self.polling.interval).await;
                let body = send(
                    NAME,
                    self.authorized(self.client.get(url.clone())),
                    self.timeout,
                    status_message,
                )
                .await?;
                let analysis: AnalysisObject = decode(NAME, &body)?;
                let status = analysis.status.unwrap_or_default();
                if status.state.as_deref() == Some(COMPLETED) {
                    // Keptn omits `pass: false`.
                    return Ok(if status.pass.unwrap_or(false) {
                        1.0
                    } else {
                        0.0
                    });
                }
                last_state = status.state;
            }
        };
        match tokio::time::timeout(self.polling.limit, polling).await {
            Ok(result) => result,
            Err(_elapsed) => Err(QueryError::Evaluation {
                provider: NAME,
                reason: format!(
                    "did not complete within {} (state: {})",
                    format_go_duration(self.polling.limit),
                    last_state
                        .filter(|state| !state.is_empty())
                        .unwrap_or_else(|| "not set yet".to_owned())
                ),
            }),
        }
    }

    /// Deletes the Analysis weir created. A failure does not change the
    /// query's result, which is already known; it is logged, as Flagger
    /// does, so that a left-over Analysis can be found.
    async fn delete_analysis(&self, namespace: &str, name: &str) {
        let url = self.object_url(namespace, "analyses", Some(name));
        let deleted = send(
            NAME,
            self.authorized(self.client.delete(url)),
            self.timeout,
            status_message,
        )
        .await;
        if let Err(error) = deleted {
            tracing::warn!(
                namespace,
                analysis = name,
                %error,
                "could not delete the Keptn Analysis weir created"
            );
        }
    }

    /// `…/namespaces/<namespace>/<resource>[/<name>]`.
    fn object_url(&self, namespace: &str, resource: &str, name: Option<&str>) -> url::Url {
        let path = match name {
            Some(name) => format!("namespaces/{namespace}/{resource}/{name}"),
            None => format!("namespaces/{namespace}/{resource}"),
        };
        join(&self.base, &path)
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        let request = request.header("Accept", "application/json");
        match &self.token {
            Some(token) => request.bearer_auth(token.expose()),
            None => request,
        }
    }
}

/// `error` with the object it concerns: the API server's messages name
/// the object but not its namespace, decoding errors neither.
fn about(object: &str, error: QueryError) -> QueryError {
    match error {
        QueryError::Status {
            provider,
            status,
            message,
        } => QueryError::Status {
            provider,
            status,
            message: format!("{object}: {message}"),
        },
        QueryError::Decode { provider, reason } => QueryError::Decode {
            provider,
            reason: format!("{object}: {reason}"),
        },
        QueryError::Evaluation { provider, reason } => QueryError::Evaluation {
            provider,
            reason: format!("{object} {reason}"),
        },
        other => other,
    }
}

/// A KeptnMetric's value as Go's `strconv.ParseFloat` reads it: decimal
/// or exponent notation, `Inf`; no quantity suffixes (`1500m`) and no
/// surrounding spaces. Keptn writes values with Go's `%v`, which never
/// produces the hexadecimal floats ParseFloat also reads.
fn parse_value(object: &str, value: &str) -> Result<f64, QueryError> {
    let invalid = |reason: &str| QueryError::Decode {
        provider: NAME,
        reason: format!("{object} has value `{value}`, which {reason}"),
    };
    let number: f64 = value.parse().map_err(|_| invalid("is not a number"))?;
    if number.is_nan() {
        return Err(QueryError::NoValues(format!("{object} has value NaN")));
    }
    // Rust reads an out-of-range number as infinity; ParseFloat refuses it.
    let spelled_infinite = value
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase()
        .starts_with("inf");
    if number.is_infinite() && !spelled_infinite {
        return Err(invalid("is out of a float's range"));
    }
    Ok(number)
}

/// Six random hexadecimal digits, as Flagger appends (the start of a
/// UUID), so that concurrent checks of one definition do not collide.
fn random_suffix() -> Result<String, QueryError> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 3];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| QueryError::Evaluation {
            provider: NAME,
            reason: "the system has no randomness to name an Analysis with".to_owned(),
        })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A parsed query.
#[derive(Debug, PartialEq, Eq)]
enum KeptnQuery {
    Metric { namespace: String, name: String },
    Analysis(AnalysisQuery),
}

/// An Analysis to create from an AnalysisDefinition.
#[derive(Debug, PartialEq, Eq)]
struct AnalysisQuery {
    namespace: String,
    definition: String,
    /// A Go duration: the Analysis looks back this far from its creation.
    timeframe: String,
    arguments: BTreeMap<String, String>,
}

impl AnalysisQuery {
    /// The Analysis object, as Flagger writes it.
    fn object(&self, name: &str) -> serde_json::Value {
        json!({
            "apiVersion": "metrics.keptn.sh/v1beta1",
            "kind": "Analysis",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {
                "analysisDefinition": {"name": self.definition},
                "timeframe": {"recent": self.timeframe},
                "args": self.arguments,
            },
        })
    }
}

impl KeptnQuery {
    fn parse(query: &str) -> Result<KeptnQuery, QueryError> {
        let invalid = |reason: String| QueryError::InvalidQuery {
            provider: NAME,
            reason: format!("query `{}`: {reason}; {FORMAT}", query.trim()),
        };
        // At most five segments: the arguments may contain `/`.
        let mut segments = query.trim().splitn(5, '/').map(str::trim);
        let kind = segments.next().unwrap_or_default().to_lowercase();
        let is_analysis = match kind.as_str() {
            "keptnmetric" | "keptnmetrics" => false,
            "analysis" | "analyses" => true,
            "" => return Err(invalid("the kind is missing".to_owned())),
            other => {
                return Err(invalid(format!(
                    "unknown kind `{other}`, use keptnmetric or analysis"
                )));
            }
        };
        let namespace = segments.next().unwrap_or_default().to_lowercase();
        if !is_dns_label(&namespace) {
            return Err(invalid(if namespace.is_empty() {
                "the namespace is missing".to_owned()
            } else {
                format!("`{namespace}` is not a namespace name")
            }));
        }
        let name = segments.next().unwrap_or_default().to_lowercase();
        if !is_dns_subdomain(&name) {
            return Err(invalid(if name.is_empty() {
                "the name is missing".to_owned()
            } else {
                format!("`{name}` is not an object name")
            }));
        }
        if !is_analysis {
            // Flagger's documentation shows a KeptnMetric query with a
            // duration and arguments; like Flagger, ignore them.
            return Ok(KeptnQuery::Metric { namespace, name });
        }
        let timeframe = match segments.next() {
            None => DEFAULT_TIMEFRAME.to_owned(),
            Some(duration) => {
                let duration = duration.to_lowercase();
                parse_go_duration(&duration)
                    .map_err(|error| invalid(format!("the duration: {error}")))?;
                duration
            }
        };
        let arguments = match segments.next() {
            None => BTreeMap::new(),
            Some(arguments) => parse_arguments(arguments).map_err(invalid)?,
        };
        Ok(KeptnQuery::Analysis(AnalysisQuery {
            namespace,
            definition: name,
            timeframe,
            arguments,
        }))
    }
}

/// `key=value;key=value`, each split at its first `=`; empty pieces (a
/// trailing `;`) are skipped, a later key wins as in Flagger.
fn parse_arguments(arguments: &str) -> Result<BTreeMap<String, String>, String> {
    let mut parsed = BTreeMap::new();
    for argument in arguments.split(';').map(str::trim) {
        if argument.is_empty() {
            continue;
        }
        let (key, value) = argument
            .split_once('=')
            .ok_or_else(|| format!("argument `{argument}` is not <key>=<value>"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("argument `{argument}` has no key"));
        }
        parsed.insert(key.to_owned(), value.trim().to_owned());
    }
    Ok(parsed)
}

/// A namespace name (RFC 1123 label): lower-case letters, digits and `-`,
/// starting and ending alphanumeric, at most 63 characters.
fn is_dns_label(text: &str) -> bool {
    text.len() <= 63
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && starts_and_ends_alphanumeric(text)
}

/// An object name (RFC 1123 subdomain): also `.`, at most 253 characters.
fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|label| {
            label
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
                && starts_and_ends_alphanumeric(label)
        })
}

fn starts_and_ends_alphanumeric(text: &str) -> bool {
    let alphanumeric = |byte: Option<&u8>| byte.is_some_and(u8::is_ascii_alphanumeric);
    alphanumeric(text.as_bytes().first()) && alphanumeric(text.as_bytes().last())
}

#[derive(Debug, Default, Deserialize)]
struct KeptnMetricObject {
    #[serde(default)]
    status: Option<KeptnMetricStatus>,
}

#[derive(Debug, Default, Deserialize)]
struct KeptnMetricStatus {
    #[serde(default)]
    value: Option<String>,
    #[serde(default, rename = "errMsg")]
    err_msg: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AnalysisObject {
    #[serde(default)]
    status: Option<AnalysisStatus>,
}

#[derive(Debug, Default, Deserialize)]
struct AnalysisStatus {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    pass: Option<bool>,
}

#[cfg(test)]
mod tests;
