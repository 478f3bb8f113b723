//! [`FakePrometheus`]: Prometheus's instant-query API over a [`SeriesStore`].
//! The crate docs describe the model and the PromQL subset.

mod eval;
mod format;
mod histogram;
mod store;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};

pub use self::eval::LOOKBACK;
pub use self::format::{format_go_float_g, format_value};
pub use self::store::{
    BUCKET_LABEL, Labels, METRIC_NAME_LABEL, Sample, SeriesStore, StoreError, Timestamp,
};
use crate::server::{FakeError, Server};

/// Longer queries are refused before parsing: weir's are under a few KiB,
/// and this bounds the parser's and the evaluator's recursion.
const MAX_QUERY_BYTES: usize = 64 * 1024;

/// The evaluation thread's stack: parsing, checking, evaluating and
/// dropping an expression recurse once per level (up to about 1,300 levels
/// pass the nesting check), and a stack overflow would abort the process.
const EVALUATION_STACK_BYTES: usize = 64 * 1024 * 1024;

/// What an instant query evaluated to, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// The evaluation time (every vector element and scalar carries it).
    pub time: Timestamp,
    /// The value.
    pub value: QueryValue,
}

/// A PromQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryValue {
    /// A number (`"resultType":"scalar"`).
    Scalar(f64),
    /// A string literal (`"resultType":"string"`).
    String(String),
    /// An instant vector (`"resultType":"vector"`).
    Vector(Vec<VectorElement>),
    /// A range vector (`"resultType":"matrix"`), from a top-level range selector.
    Matrix(Vec<MatrixSeries>),
}

impl QueryValue {
    /// The PromQL type name, as in `"resultType"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            QueryValue::Scalar(_) => "scalar",
            QueryValue::String(_) => "string",
            QueryValue::Vector(_) => "vector",
            QueryValue::Matrix(_) => "matrix",
        }
    }

    /// The elements of an instant vector (`None` for other types).
    pub fn as_vector(&self) -> Option<&[VectorElement]> {
        match self {
            QueryValue::Vector(elements) => Some(elements),
            _ => None,
        }
    }

    /// The number a scalar or a one-element vector holds.
    pub fn single_value(&self) -> Option<f64> {
        match self {
            QueryValue::Scalar(value) => Some(*value),
            QueryValue::Vector(elements) => match elements.as_slice() {
                [only] => Some(only.value),
                _ => None,
            },
            _ => None,
        }
    }
}

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorElement {
    /// The series' labels (without `__name__` once a function or an
    /// arithmetic operator has been applied, as in Prometheus).
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// One series of a range vector.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Its samples in the range, oldest first.
    pub samples: Vec<Sample>,
}

/// Why a query has no result. The HTTP API answers with Prometheus's
/// error shape: `errorType` and status from [`QueryError::error_type`] and
/// [`QueryError::status`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// A request parameter is malformed (a bad `time`, an overlong query).
    #[error("invalid parameter \"{parameter}\": {message}")]
    BadParameter {
        /// The parameter.
        parameter: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The query is not PromQL.
    #[error("invalid parameter \"query\": {message}")]
    Parse {
        /// The parser's message.
        message: String,
    },
    /// Valid PromQL this fake does not evaluate.
    #[error("unsupported by weir's fake Prometheus: {construct}")]
    Unsupported {
        /// The construct, e.g. `the function "label_replace"`.
        construct: String,
    },
    /// Evaluation failed as it would in Prometheus (duplicate label sets,
    /// many-to-many matching).
    #[error("{message}")]
    Execution {
        /// Prometheus's message.
        message: String,
    },
    /// The fake itself failed (its evaluation thread could not start or panicked).
    #[error("internal error of the fake Prometheus: {message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl QueryError {
    /// Prometheus's `errorType`: `bad_data` for bad input (unsupported
    /// constructs included), `execution`, or `internal`.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::BadParameter { .. }
            | QueryError::Parse { .. }
            | QueryError::Unsupported { .. } => "bad_data",
            QueryError::Execution { .. } => "execution",
            QueryError::Internal { .. } => "internal",
        }
    }

    /// The HTTP status Prometheus gives this kind of error: 400, 422 or 500.
    pub fn status(&self) -> StatusCode {
        match self {
            QueryError::BadParameter { .. }
            | QueryError::Parse { .. }
            | QueryError::Unsupported { .. } => StatusCode::BAD_REQUEST,
            QueryError::Execution { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            QueryError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl SeriesStore {
    /// Evaluates `query` in process, as `GET /api/v1/query` would at `time`
    /// (the store's clock when `None`): the simulator and tests can compare
    /// values without HTTP. Never panics on any input.
    pub fn evaluate(
        &self,
        query: &str,
        time: Option<Timestamp>,
    ) -> Result<QueryResult, QueryError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(QueryError::BadParameter {
                parameter: "query",
                message: format!(
                    "the query is {} bytes long, more than the {MAX_QUERY_BYTES} the fake accepts",
                    query.len()
                ),
            });
        }
        let store = self.clone();
        let query = query.to_owned();
        // A thread of its own: a big stack for deep expressions, and a panic
        // in the parser becomes an error instead of a dead connection.
        let worker = std::thread::Builder::new()
            .name("fake-prometheus-query".to_owned())
            .stack_size(EVALUATION_STACK_BYTES)
            .spawn(move || {
                let data = store.read();
                let time = time.unwrap_or_else(|| data.now());
                eval::evaluate(&data, &query, time)
            });
        match worker {
            Ok(worker) => worker.join().unwrap_or_else(|_| {
                Err(QueryError::Internal {
                    message: "evaluating the query panicked".to_owned(),
                })
            }),
            Err(error) => Err(QueryError::Internal {
                message: format!("cannot start an evaluation thread: {error}"),
            }),
        }
    }
}

/// How to answer a query instead of (or before) evaluating it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultResponse {
    /// Answer `status` with `body` (sent as `application/json` when it
    /// parses as JSON, as text otherwise). Any status works, 200 included,
    /// to serve a malformed answer.
    Error {
        /// The HTTP status.
        status: StatusCode,
        /// The body.
        body: String,
    },
    /// Wait this long, then answer normally (to trip client timeouts).
    Delay(Duration),
    /// Answer successfully with an empty vector, as for a series that does
    /// not exist.
    Empty,
    /// Answer with the data as it was this long before the evaluation time
    /// (a Prometheus whose scrapes lag).
    Stale(Duration),
}

impl FaultResponse {
    /// [`FaultResponse::Error`] with `status` and `body`.
    pub fn error(status: StatusCode, body: impl Into<String>) -> FaultResponse {
        FaultResponse::Error {
            status,
            body: body.into(),
        }
    }
}

type Responder = Arc<dyn Fn(&str) -> Option<FaultResponse> + Send + Sync>;

/// Faults to inject: queued ones first, then the responder's; and query
/// aliases.
#[derive(Default)]
struct Faults {
    queued: VecDeque<FaultResponse>,
    responder: Option<Responder>,
    /// Whitespace-collapsed query text → the query evaluated instead.
    aliases: BTreeMap<String, String>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Faults")
            .field("queued", &self.queued)
            .field("responder", &self.responder.as_ref().map(|_| "Fn(&str)"))
            .field("aliases", &self.aliases)
            .finish()
    }
}

/// A request to `/api/v1/query` as the fake received it.
#[derive(Clone, Debug)]
pub struct ReceivedQuery {
    /// `GET` or `POST`.
    pub method: Method,
    /// The `query` parameter (empty if missing).
    pub query: String,
    /// The `time` parameter as sent.
    pub time: Option<String>,
    /// Where the query was evaluated: `time`, or the store's clock when
    /// absent (`None` when `time` did not parse).
    pub evaluated_at: Option<Timestamp>,
    /// Every request header.
    pub headers: HeaderMap,
}

impl ReceivedQuery {
    /// The value of the header `name` (case-insensitive), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `Authorization` header (`Bearer …`, `Basic …`).
    pub fn authorization(&self) -> Option<&str> {
        self.header(http::header::AUTHORIZATION.as_str())
    }
}

#[derive(Debug)]
struct PrometheusState {
    store: SeriesStore,
    queries: Mutex<Vec<ReceivedQuery>>,
    faults: Mutex<Faults>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Recording and scripting stay usable after a panicking test thread.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Prometheus's HTTP query API on `127.0.0.1:<ephemeral port>`, evaluating
/// PromQL over a shared [`SeriesStore`]. Stops when dropped.
#[derive(Debug)]
pub struct FakePrometheus {
    server: Server,
    state: Arc<PrometheusState>,
}

impl FakePrometheus {
    /// Serves a new, empty store.
    pub async fn start() -> Result<FakePrometheus, FakeError> {
        FakePrometheus::start_with(SeriesStore::new()).await
    }

    /// Serves `store` (which the caller keeps filling). Must run inside a
    /// Tokio runtime, which then runs the server.
    pub async fn start_with(store: SeriesStore) -> Result<FakePrometheus, FakeError> {
        let state = Arc::new(PrometheusState {
            store,
            queries: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
        });
        let router = Router::new()
            .route("/api/v1/query", get(query).post(query))
            .route(
                "/-/ready",
                get(|| async { "Prometheus Server is Ready.\n" }),
            )
            .route(
                "/-/healthy",
                get(|| async { "Prometheus Server is Healthy.\n" }),
            )
            .with_state(Arc::clone(&state));
        let server = Server::start("Prometheus", router).await?;
        Ok(FakePrometheus { server, state })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash: the provider's
    /// `address`.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// The socket the fake listens on.
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// The store the fake serves (a clone shares it).
    pub fn store(&self) -> &SeriesStore {
        &self.state.store
    }

    /// Every query received so far, oldest first (faulted ones included).
    pub fn queries(&self) -> Vec<ReceivedQuery> {
        lock(&self.state.queries).clone()
    }

    /// Forgets the queries received so far.
    pub fn clear_queries(&self) {
        lock(&self.state.queries).clear();
    }

    /// Decides, per query text, whether to answer with a fault instead
    /// (`None`: evaluate normally). Replaces any previous responder.
    pub fn set_responder(
        &self,
        responder: impl Fn(&str) -> Option<FaultResponse> + Send + Sync + 'static,
    ) {
        lock(&self.state.faults).responder = Some(Arc::new(responder));
    }

    /// Removes the responder: queries are evaluated normally again.
    pub fn clear_responder(&self) {
        lock(&self.state.faults).responder = None;
    }

    /// Answers the next query with `response` (queued after earlier ones,
    /// before the responder is consulted).
    pub fn answer_next(&self, response: FaultResponse) {
        lock(&self.state.faults).queued.push_back(response);
    }

    /// Answers the next `count` queries with `status` and `body`, before
    /// the responder is consulted (calls queue up one after the other).
    pub fn fail_next(&self, count: usize, status: StatusCode, body: impl Into<String>) {
        let fault = FaultResponse::error(status, body);
        lock(&self.state.faults)
            .queued
            .extend(std::iter::repeat_n(fault, count));
    }

    /// Evaluates `replacement` whenever the query `query` arrives
    /// (compared with runs of whitespace collapsed, as weir's provider
    /// sends them). The simulator answers a MetricTemplate's query, whose
    /// series exist only in the user's cluster, from a simulated process:
    /// the query must arrive exactly as the template renders it, or it is
    /// evaluated as written and finds nothing.
    pub fn alias(&self, query: &str, replacement: &str) {
        lock(&self.state.faults)
            .aliases
            .insert(collapse_whitespace(query), replacement.to_owned());
    }

    /// Stops serving and waits until the port is closed.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// `text` with runs of whitespace as one space, trimmed.
fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl PrometheusState {
    fn fault_for(&self, query: &str) -> Option<FaultResponse> {
        let responder = {
            let mut faults = lock(&self.faults);
            if let Some(fault) = faults.queued.pop_front() {
                return Some(fault);
            }
            faults.responder.clone()
        };
        // Called without the lock: a responder may script further faults.
        responder.and_then(|responder| responder(query))
    }

    fn alias_of(&self, query: &str) -> Option<String> {
        lock(&self.faults)
            .aliases
            .get(&collapse_whitespace(query))
            .cloned()
    }
}

/// `GET|POST /api/v1/query`.
async fn query(
    State(state): State<Arc<PrometheusState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Like Go's r.FormValue: form body parameters first, then the URL's.
    let mut parameters: Vec<(String, String)> = Vec::new();
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if method == Method::POST && is_form {
        parameters.extend(form_urlencoded::parse(&body).into_owned());
    }
    if let Some(text) = uri.query() {
        parameters.extend(form_urlencoded::parse(text.as_bytes()).into_owned());
    }
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let query_text = parameter("query").unwrap_or_default();
    let time_text = parameter("time");
    let time = time_text.as_deref().map(format::parse_time).transpose();
    let evaluated_at = match &time {
        Ok(Some(time)) => Some(*time),
        Ok(None) => Some(state.store.now()),
        Err(_) => None,
    };
    lock(&state.queries).push(ReceivedQuery {
        method,
        query: query_text.clone(),
        time: time_text,
        evaluated_at,
        headers,
    });

    let mut evaluated_at = evaluated_at;
    match state.fault_for(&query_text) {
        Some(FaultResponse::Error { status, body }) => return raw_response(status, body),
        Some(FaultResponse::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(FaultResponse::Empty) => {
            return json_response(StatusCode::OK, format::empty_vector_body());
        }
        Some(FaultResponse::Stale(by)) => {
            evaluated_at = evaluated_at.map(|time| time.saturating_sub(by));
        }
        None => {}
    }
    let query_text = state.alias_of(&query_text).unwrap_or(query_text);

    let result = match time {
        Err(error) => Err(error),
        Ok(_) => {
            let store = state.store.clone();
            tokio::task::spawn_blocking(move || store.evaluate(&query_text, evaluated_at))
                .await
                .unwrap_or_else(|error| {
                    Err(QueryError::Internal {
                        message: format!("the evaluation task failed: {error}"),
                    })
                })
        }
    };
    match result {
        Ok(result) => json_response(StatusCode::OK, format::success_body(&result)),
        Err(error) => json_response(
            error.status(),
            format::error_body(error.error_type(), &error.to_string()),
        ),
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

fn raw_response(status: StatusCode, body: String) -> Response {
    let content_type = if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}
