//! Amazon CloudWatch's `GetMetricData` API, signed with AWS Signature
//! Version 4 and credentials from the AWS default chain.
//!
//! ```text
//!   MetricTemplate.query: a JSON array of MetricDataQuery
//!     │  read as Flagger's Go SDK reads it (field names in any case,
//!     │  unknown fields dropped), checked, re-written in AWS's spelling
//!     ▼
//!   POST <address or https://monitoring.<region>.amazonaws.com>/
//!     Content-Type: application/x-amz-json-1.0
//!     X-Amz-Target: GraniteServiceVersion20100801.GetMetricData
//!     {"MetricDataQueries": [...], "StartTime": now − 10×interval,
//!      "EndTime": now, "MaxDatapoints": 20}          (epoch seconds)
//!     ▲
//!     │  Authorization: AWS4-HMAC-SHA256 (SigV4, service `monitoring`,
//!     │  the template's region), X-Amz-Date, X-Amz-Security-Token
//!     │
//!   keys ◀── spec.provider.secretRef (weir's extension, when set)
//!        ◀── the AWS default chain, first source configured wins:
//!              1. environment   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//!                               AWS_SESSION_TOKEN
//!              2. web identity  AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE
//!                 (IRSA)        → STS AssumeRoleWithWebIdentity (unsigned)
//!              3. container     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS)
//!                 (EKS Pod      or _FULL_URI, with AWS_CONTAINER_AUTHORIZATION
//!                  Identity)    _TOKEN(_FILE)
//!              4. EC2 metadata  IMDSv2: PUT a token, then the role's keys
//!            temporary keys are cached per source for the whole process
//!            until five minutes before they expire
//!
//!   answer: MetricDataResults[0].Values[0], the newest point (CloudWatch
//!   sorts newest first by default)
//! ```
//!
//! The query window comes from the caller's clock, as for every provider;
//! only the signature's date and credential expiry read the wall clock,
//! because AWS refuses signatures more than five minutes off real time.
//!
//! The Secret extension: a template whose `spec.provider.secretRef` names a
//! Secret signs with its `aws_access_key_id`, `aws_secret_access_key` and
//! optional `aws_session_token` instead of the default chain, so that one
//! controller can query CloudWatch in several accounts.
//!
//! Where weir differs from Flagger (aws-sdk-go v1, query protocol):
//! * the request speaks CloudWatch's JSON 1.0 protocol, which CloudWatch
//!   serves beside the query protocol; the operation and its fields are the
//!   same;
//! * the availability check sends Flagger's empty query and, like Flagger,
//!   takes "400 Bad Request" as online, except when the 400 is AWS refusing
//!   the credentials (`UnrecognizedClientException`, `AccessDenied…`,
//!   `ExpiredToken…`, …), which in the JSON protocol also come as 400;
//! * a NaN value is "no values" (Go would compare NaN, and pass any
//!   threshold); an empty query array, and a query with neither or both of
//!   `MetricStat` and `Expression`, are refused before sending;
//! * the default chain has no shared-config sources (`~/.aws/credentials`,
//!   profiles, SSO, `credential_process`): a controller pod has none, and
//!   the Secret extension covers static keys;
//! * IMDSv1 (no token) is not used;
//! * `insecureSkipVerify` applies to the CloudWatch address (a VPC endpoint
//!   behind a private CA), never to credential endpoints; Flagger ignores it;
//! * each call has the providers' 5 s timeout (Flagger's SDK has none);
//!   throttled and 5xx calls are retried three times, as the SDK does, but
//!   a timed-out call is not.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use weir_api::metric_template::MetricProvider;
use weir_api::objects::SecretString;
use weir_http::HttpError;

use super::{
    Credentials, PROVIDER_TIMEOUT, ProviderContext, ProviderError, QueryError, QueryWindow, decode,
    join, parse_base_url, plain_error, send, unix_seconds,
};

const NAME: &str = "cloudwatch";
/// CloudWatch signs under its endpoint prefix, not its product name.
const SIGNING_SERVICE: &str = "monitoring";
/// The JSON protocol's operation header: service shape and operation.
const GET_METRIC_DATA_TARGET: &str = "GraniteServiceVersion20100801.GetMetricData";
const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Ten intervals of history, so that sparse series still have a point.
const LOOK_BACK_INTERVALS: u32 = 10;
/// Flagger's page size: a handful of points is all a check reads.
const MAX_DATAPOINTS: u32 = 20;
/// Flagger's SDK retries a throttled or failed call three times.
const MAX_RETRIES: u32 = 3;
/// The pause before the first retry, doubled before each next one: AWS
/// throttles per second, so a few hundred milliseconds usually clear it.
const RETRY_DELAY: Duration = Duration::from_millis(100);

/// Secret keys of weir's extension, named as in `~/.aws/credentials`.
const SECRET_ACCESS_KEY_ID: &str = "aws_access_key_id";
const SECRET_SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
const SECRET_SESSION_TOKEN: &str = "aws_session_token";

/// Error codes with which AWS refuses who is calling rather than what is
/// asked. In the JSON protocol most come as 400, like a refused query, so
/// the availability check tells them apart by name.
const CREDENTIAL_ERRORS: [&str; 12] = [
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "NotAuthorized",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
];

/// Error codes of a throttled call: worth retrying after a pause.
const THROTTLING_ERRORS: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// A CloudWatch region's `GetMetricData`.
#[derive(Clone, Debug)]
pub struct CloudWatch {
    /// Where `GetMetricData` is posted.
    endpoint: url::Url,
    region: String,
    keys: KeySource,
    client: Client,
    timeout: Duration,
    /// The wall clock, for signatures only.
    clock: Clock,
    retry_delay: Duration,
}

impl CloudWatch {
    /// The provider `spec` describes: its region's endpoint (or its
    /// address), signing with the Secret's keys when it names one, else
    /// with the process's AWS default credential chain.
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
    ) -> Result<CloudWatch, ProviderError> {
        CloudWatch::with_environment(spec, credentials, context, AwsEnvironment::from_env())
    }

    /// [`CloudWatch::new`] with the default chain reading `environment`
    /// instead of the process's.
    fn with_environment(
        spec: &MetricProvider,
        credentials: Option<Credentials<'_>>,
        context: &ProviderContext,
        environment: AwsEnvironment,
    ) -> Result<CloudWatch, ProviderError> {
        let region = region_of(spec)?;
        let clock = environment.clock.clone();
        let address = spec
            .address
            .as_deref()
            .map(str::trim)
            .filter(|address| !address.is_empty());
        let base = match address {
            Some(address) => parse_base_url(NAME, address)?,
            None => parse_base_url(NAME, &regional_endpoint("monitoring", &region))?,
        };
        let keys = match (&spec.secret_ref, credentials) {
            (None, _) => KeySource::Chain(Box::new(DefaultChain {
                sts_region: environment.region.clone().unwrap_or_else(|| region.clone()),
                environment,
                // Credential endpoints are AWS's or the node's: never
                // the template's `insecureSkipVerify`.
                client: context.client(false),
                timeout: context.timeout(PROVIDER_TIMEOUT),
            })),
            (Some(_), None) => {
                return Err(ProviderError::MissingSecret {
                    provider: NAME,
                    keys: vec![SECRET_ACCESS_KEY_ID, SECRET_SECRET_ACCESS_KEY],
                });
            }
            (Some(_), Some(credentials)) => {
                let hint = Some("or remove secretRef to use the AWS default credential chain");
                KeySource::Secret(AwsKeys {
                    access_key_id: credentials.required(NAME, SECRET_ACCESS_KEY_ID, hint)?,
                    secret_access_key: credentials.required(
                        NAME,
                        SECRET_SECRET_ACCESS_KEY,
                        hint,
                    )?,
                    session_token: credentials.data.secret(SECRET_SESSION_TOKEN),
                    expiration: None,
                })
            }
        };
        Ok(CloudWatch {
            endpoint: join(&base, "/"),
            region,
            clock,
            keys,
            client: context.client(spec.insecure_skip_verify),
            timeout: context.timeout(PROVIDER_TIMEOUT),
            retry_delay: RETRY_DELAY,
        })
    }

    /// The first value of the first result of `query`, a JSON array of
    /// `MetricDataQuery`, over the ten intervals before `window.now`.
    pub async fn query(&self, query: &str, window: &QueryWindow) -> Result<f64, QueryError> {
        let queries = parse_queries(query).map_err(|reason| QueryError::InvalidQuery {
            provider: NAME,
            reason: format!("not a list of MetricDataQuery: {reason}"),
        })?;
        let input = json!({
            "MetricDataQueries": queries,
            "StartTime": unix_seconds(window.start(LOOK_BACK_INTERVALS)),
            "EndTime": unix_seconds(window.now),
            "MaxDatapoints": MAX_DATAPOINTS,
        });
        let body = self.get_metric_data(input.to_string()).await?;
        first_value(decode(NAME, &body)?)
    }

    /// Flagger's check: an empty query, which CloudWatch can only refuse
    /// as invalid once it has accepted the caller and the signature.
    pub async fn check_online(&self) -> Result<(), QueryError> {
        let input = json!({"MetricDataQueries": [], "StartTime": 0, "EndTime": 0});
        match self.get_metric_data(input.to_string()).await {
            Ok(_) => Ok(()),
            Err(QueryError::Status {
                status: 400,
                message,
                ..
            }) if !CREDENTIAL_ERRORS.contains(&error_code(&message)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Posts `body` to `GetMetricData`, signed, retrying throttled and
    /// failed calls.
    async fn get_metric_data(&self, body: String) -> Result<bytes::Bytes, QueryError> {
        let keys = self
            .keys
            .resolve()
            .await
            .map_err(|error| QueryError::Credentials {
                provider: NAME,
                reason: error.to_string(),
            })?;
        let mut retries = 0;
        loop {
            let request = self.signed_request(&keys, body.clone(), self.clock.now())?;
            match send(NAME, request, self.timeout, aws_error_message).await {
                Err(error) if retries < MAX_RETRIES && is_retryable(&error) => {
                    tokio::time::sleep(self.retry_delay.saturating_mul(1 << retries)).await;
                    retries += 1;
                }
                result => return result,
            }
        }
    }

    /// The `GetMetricData` request carrying `body`, signed at `time`.
    fn signed_request(
        &self,
        keys: &AwsKeys,
        body: String,
        time: Timestamp,
    ) -> Result<RequestBuilder, QueryError> {
        let headers = [
            ("Content-Type", JSON_CONTENT_TYPE),
            ("X-Amz-Target", GET_METRIC_DATA_TARGET),
        ];
        let signature = sigv4::sign(
            &sigv4::Request {
                method: "POST",
                url: &self.endpoint,
                headers: &headers,
                body: body.as_bytes(),
            },
            keys,
            &sigv4::Scope {
                region: &self.region,
                service: SIGNING_SERVICE,
            },
            time,
        )
        .map_err(|error| QueryError::Http {
            provider: NAME,
            source: HttpError::Config(error.to_string()),
        })?;
        let mut request = self.client.post(self.endpoint.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in signature {
            request = request.header(name, value);
        }
        Ok(request.body(body))
    }
}

/// The template's region: required, as in Flagger, and a plain AWS region
/// name, since it becomes part of a host name and of every signature.
fn region_of(spec: &MetricProvider) -> Result<String, ProviderError> {
    let region = spec.region.as_deref().map(str::trim).unwrap_or_default();
    if region.is_empty() {
        return Err(ProviderError::Invalid {
            provider: NAME,
            reason: "spec.provider.region is required (for example `us-east-1`)".to_owned(),
        });
    }
    let plain = region.chars().all(|character| {
        character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
    });
    if !plain {
        return Err(ProviderError::Invalid {
            provider: NAME,
            reason: format!(
                "region `{region}` is not an AWS region name (lower-case letters, digits and dashes, such as `eu-west-1`)"
            ),
        });
    }
    Ok(region.to_owned())
}

/// `https://<service>.<region>.<domain>`: AWS's China regions live under
/// their own domain.
fn regional_endpoint(service: &str, region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{service}.{region}.{domain}")
}

// ---------------------------------------------------------------- queries

/// The fields of a `MetricDataQuery` and of its parts, spelled as AWS
/// spells them.
const QUERY_FIELDS: [&str; 7] = [
    "AccountId",
    "Expression",
    "Id",
    "Label",
    "MetricStat",
    "Period",
    "ReturnData",
];
const METRIC_STAT_FIELDS: [&str; 4] = ["Metric", "Period", "Stat", "Unit"];
const METRIC_FIELDS: [&str; 3] = ["Dimensions", "MetricName", "Namespace"];
const DIMENSION_FIELDS: [&str; 2] = ["Name", "Value"];

/// The template's queries, in AWS's spelling, after the checks Flagger's
/// SDK makes before sending (required fields, positive periods) and a few
/// CloudWatch would make after.
fn parse_queries(query: &str) -> Result<Vec<Value>, String> {
    let document: Value = serde_json::from_str(query).map_err(|error| {
        format!("it is not JSON ({error}); write a JSON array of MetricDataQuery objects")
    })?;
    let Value::Array(items) = document else {
        return Err(format!(
            "expected a JSON array of MetricDataQuery objects, found {}",
            kind(&document)
        ));
    };
    if items.is_empty() {
        return Err("the array is empty; list at least one MetricDataQuery".to_owned());
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_query(item, format!("[{index}]")))
        .collect()
}

fn parse_query(value: &Value, path: String) -> Result<Value, String> {
    let fields = Fields::read(value, path, &QUERY_FIELDS)?;
    let mut query = Map::new();
    let id = fields.required_string("Id")?;
    query.insert("Id".to_owned(), Value::String(id.clone()));
    for name in ["AccountId", "Expression"] {
        if let Some(text) = fields.string(name)? {
            if text.is_empty() {
                return Err(format!("{} must not be empty", fields.path_of(name)));
            }
            query.insert(name.to_owned(), Value::String(text));
        }
    }
    if let Some(label) = fields.string("Label")? {
        query.insert("Label".to_owned(), Value::String(label));
    }
    if let Some(period) = fields.positive_integer("Period")? {
        query.insert("Period".to_owned(), Value::from(period));
    }
    if let Some(return_data) = fields.boolean("ReturnData")? {
        query.insert("ReturnData".to_owned(), Value::Bool(return_data));
    }
    if let Some(stat) = fields.get("MetricStat") {
        let stat = parse_metric_stat(stat, fields.path_of("MetricStat"))?;
        query.insert("MetricStat".to_owned(), stat);
    }
    match (
        query.contains_key("MetricStat"),
        query.contains_key("Expression"),
    ) {
        (false, false) => Err(format!(
            "{} (`{id}`) needs `MetricStat` (a metric) or `Expression` (metric math or a Metrics Insights query)",
            fields.path
        )),
        (true, true) => Err(format!(
            "{} (`{id}`) has both `MetricStat` and `Expression`; a query is one or the other",
            fields.path
        )),
        _ => Ok(Value::Object(query)),
    }
}

fn parse_metric_stat(value: &Value, path: String) -> Result<Value, String> {
    let fields = Fields::read(value, path, &METRIC_STAT_FIELDS)?;
    let metric = fields
        .get("Metric")
        .ok_or_else(|| format!("{} is required", fields.path_of("Metric")))?;
    let period = fields
        .positive_integer("Period")?
        .ok_or_else(|| format!("{} is required (seconds)", fields.path_of("Period")))?;
    let mut stat = Map::new();
    stat.insert(
        "Metric".to_owned(),
        parse_metric(metric, fields.path_of("Metric"))?,
    );
    stat.insert("Period".to_owned(), Value::from(period));
    stat.insert(
        "Stat".to_owned(),
        Value::String(fields.required_string("Stat")?),
    );
    if let Some(unit) = fields.string("Unit")? {
        stat.insert("Unit".to_owned(), Value::String(unit));
    }
    Ok(Value::Object(stat))
}

fn parse_metric(value: &Value, path: String) -> Result<Value, String> {
    let fields = Fields::read(value, path, &METRIC_FIELDS)?;
    let mut metric = Map::new();
    for name in ["MetricName", "Namespace"] {
        if let Some(text) = fields.string(name)? {
            if text.is_empty() {
                return Err(format!("{} must not be empty", fields.path_of(name)));
            }
            metric.insert(name.to_owned(), Value::String(text));
        }
    }
    if let Some(dimensions) = fields.get("Dimensions") {
        let path = fields.path_of("Dimensions");
        let Value::Array(items) = dimensions else {
            return Err(format!("{path} must be an array, not {}", kind(dimensions)));
        };
        let dimensions = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let fields = Fields::read(item, format!("{path}[{index}]"), &DIMENSION_FIELDS)?;
                Ok(json!({
                    "Name": fields.required_string("Name")?,
                    "Value": fields.required_string("Value")?,
                }))
            })
            .collect::<Result<Vec<Value>, String>>()?;
        metric.insert("Dimensions".to_owned(), Value::Array(dimensions));
    }
    Ok(Value::Object(metric))
}

/// The known fields of one JSON object, by their AWS names.
struct Fields<'a> {
    /// Where the object is, for messages: `[0].MetricStat`.
    path: String,
    values: BTreeMap<&'static str, &'a Value>,
}

impl<'a> Fields<'a> {
    fn read(value: &'a Value, path: String, names: &[&'static str]) -> Result<Fields<'a>, String> {
        let Value::Object(object) = value else {
            return Err(format!("{path} must be an object, not {}", kind(value)));
        };
        let mut values = BTreeMap::new();
        for (key, value) in object {
            // Flagger decodes the query with Go's encoding/json, which
            // matches field names case-insensitively and skips unknown
            // ones: templates written for Flagger rely on both. A null is
            // Go's nil, an absent field.
            let known = names.iter().find(|name| name.eq_ignore_ascii_case(key));
            if let Some(name) = known.filter(|_| !value.is_null()) {
                values.insert(*name, value);
            }
        }
        Ok(Fields { path, values })
    }

    fn path_of(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.values.get(name).copied()
    }

    fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(format!(
                "{} must be a string, not {}",
                self.path_of(name),
                kind(other)
            )),
        }
    }

    fn required_string(&self, name: &str) -> Result<String, String> {
        self.string(name)?
            .filter(|text| !text.is_empty())
            .ok_or_else(|| format!("{} is required", self.path_of(name)))
    }

    fn positive_integer(&self, name: &str) -> Result<Option<i64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(number)) => match number.as_i64() {
                Some(value) if value >= 1 => Ok(Some(value)),
                _ => Err(format!(
                    "{} must be a whole number of seconds, at least 1, not {number}",
                    self.path_of(name)
                )),
            },
            Some(other) => Err(format!(
                "{} must be a number, not {}",
                self.path_of(name),
                kind(other)
            )),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(other) => Err(format!(
                "{} must be true or false, not {}",
                self.path_of(name),
                kind(other)
            )),
        }
    }
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------- answers

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetMetricDataOutput {
    #[serde(default)]
    metric_data_results: Option<Vec<MetricDataResult>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDataResult {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status_code: Option<String>,
    #[serde(default)]
    values: Option<Vec<Datapoint>>,
    #[serde(default)]
    messages: Option<Vec<MessageData>>,
}

/// A value: a number, or, as the JSON protocol writes the floats JSON
/// cannot, `"NaN"`, `"Infinity"` or `"-Infinity"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Datapoint {
    Number(f64),
    Special(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageData {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

/// Flagger's value: the first point of the first result.
fn first_value(output: GetMetricDataOutput) -> Result<f64, QueryError> {
    let Some(result) = output
        .metric_data_results
        .unwrap_or_default()
        .into_iter()
        .next()
    else {
        return Err(QueryError::NoValues(
            "no MetricDataResults (does every query have ReturnData false?)".to_owned(),
        ));
    };
    let id = result.id.as_deref().unwrap_or("?");
    let Some(point) = result.values.as_deref().unwrap_or_default().first() else {
        return Err(QueryError::NoValues(format!(
            "result `{id}` has no values{}",
            status_detail(&result)
        )));
    };
    let value = match point {
        Datapoint::Number(value) => *value,
        Datapoint::Special(text) => match text.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => {
                return Err(QueryError::Decode {
                    provider: NAME,
                    reason: format!("result `{id}` has the value `{text}`, not a number"),
                });
            }
        },
    };
    if value.is_nan() {
        return Err(QueryError::NoValues(format!("result `{id}` is NaN")));
    }
    Ok(value)
}

/// Why a result may be empty: its status when not `Complete`, and its
/// messages (`Forbidden` for another account's metrics, for instance).
fn status_detail(result: &MetricDataResult) -> String {
    let mut parts = Vec::new();
    if let Some(status) = result
        .status_code
        .as_deref()
        .filter(|status| *status != "Complete")
    {
        parts.push(format!("status {status}"));
    }
    for message in result.messages.as_deref().unwrap_or_default() {
        match (&message.code, &message.value) {
            (Some(code), Some(value)) => parts.push(format!("{code}: {value}")),
            (Some(text), None) | (None, Some(text)) => parts.push(text.clone()),
            (None, None) => {}
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// AWS JSON errors: `{"__type": "...#Code", "message": "..."}`, read as
/// `Code: message`.
fn aws_error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "__type", default)]
        kind: Option<String>,
        #[serde(alias = "Message", default)]
        message: Option<String>,
    }
    let body: ErrorBody = serde_json::from_slice(body).ok()?;
    // `__type` may carry a namespace (`com.amazonaws.cloudwatch#Code`) and,
    // after a colon, a documentation URL.
    let code = body.kind.as_deref().map(|kind| {
        let kind = kind.split(':').next().unwrap_or(kind);
        kind.rsplit('#').next().unwrap_or(kind).to_owned()
    });
    match (code.filter(|code| !code.is_empty()), body.message) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (Some(text), None) | (None, Some(text)) => Some(text),
        (None, None) => None,
    }
}

/// The code of a message written by [`aws_error_message`].
fn error_code(message: &str) -> &str {
    message
        .split_once(':')
        .map_or(message, |(code, _)| code)
        .trim()
}

fn is_retryable(error: &QueryError) -> bool {
    match error {
        QueryError::Status {
            status, message, ..
        } => *status >= 500 || *status == 429 || THROTTLING_ERRORS.contains(&error_code(message)),
        _ => false,
    }
}

mod credentials;
mod sigv4;
#[cfg(test)]
mod tests;

use credentials::*;
