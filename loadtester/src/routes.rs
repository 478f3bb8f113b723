//! The HTTP API: routes, handlers and their error responses.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tracing::{info, warn};

use crate::LoadTester;
use crate::flags::parse_go_bool;
use crate::metrics;
use crate::payload::WebhookPayload;
use crate::tasks::{self, BlockingResult, TaskKind, TaskTypeError};

/// The largest request body accepted. Flagger's payloads are a few hundred
/// bytes; a megabyte leaves room for long commands while keeping a
/// misbehaving client from making the service buffer without bound.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body flagger-loadtester writes with every 403.
const FORBIDDEN: &str = "Forbidden";

/// Why a request was refused before anything ran.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("request body larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("reading the request body failed: {0}")]
    BodyUnreadable(String),
    #[error("decoding the request body failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The namespace does not match `-namespace-regexp`.
    #[error("{FORBIDDEN}")]
    Forbidden,
    #[error("metadata not found in payload")]
    MetadataMissing,
    #[error("cmd not found in metadata")]
    CommandMissing,
    #[error(transparent)]
    TaskType(#[from] TaskTypeError),
}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        let status = match self {
            RequestError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::Forbidden => StatusCode::FORBIDDEN,
            RequestError::BodyUnreadable(_)
            | RequestError::Json(_)
            | RequestError::MetadataMissing
            | RequestError::CommandMissing
            | RequestError::TaskType(_) => StatusCode::BAD_REQUEST,
        };
        if status != StatusCode::FORBIDDEN {
            warn!(status = status.as_u16(), "request refused: {self}");
        }
        (status, self.to_string()).into_response()
    }
}

/// The router for `tester`'s state.
pub(crate) fn router(tester: LoadTester) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/gate/approve", get(approve).post(approve))
        .route("/gate/halt", get(halt).post(halt))
        .route("/gate/check", post(gate_check))
        .route("/gate/open", post(gate_open))
        .route("/gate/close", post(gate_close))
        .route("/rollback/check", post(rollback_check))
        .route("/rollback/open", post(rollback_open))
        .route("/rollback/close", post(rollback_close))
        .route("/", post(submit_task))
        // flagger-loadtester serves task submission on every other path too.
        .fallback(submit_task_on_any_path)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            tester.clone(),
            count_requests,
        ))
        .with_state(tester)
}

async fn count_requests(
    State(tester): State<LoadTester>,
    request: Request,
    next: Next,
) -> Response {
    // Routes by their pattern; every other path is a task submission, so
    // unknown paths cannot blow up the label set.
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "/".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    tester
        .inner
        .metrics
        .count_request(&path, response.status().as_u16());
    response
}

async fn healthz() -> &'static str {
    "OK"
}

async fn metrics_text(State(tester): State<LoadTester>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        tester.inner.metrics.encode(),
    )
        .into_response()
}

async fn approve() -> &'static str {
    "OK"
}

async fn halt() -> (StatusCode, &'static str) {
    (StatusCode::FORBIDDEN, FORBIDDEN)
}

/// Decodes the body and applies `-namespace-regexp`, in flagger-loadtester's
/// order: a malformed body is a 400 even from a forbidden namespace.
fn authorized_payload(
    tester: &LoadTester,
    body: Result<Bytes, BytesRejection>,
) -> Result<WebhookPayload, RequestError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            RequestError::BodyTooLarge
        } else {
            RequestError::BodyUnreadable(rejection.body_text())
        }
    })?;
    let payload = WebhookPayload::from_json(&body)?;
    if !tester.authorizes(&payload.namespace) {
        info!(
            namespace = payload.namespace,
            "namespace does not match -namespace-regexp"
        );
        return Err(RequestError::Forbidden);
    }
    Ok(payload)
}

fn check(tester: &LoadTester, key: &str, what: &str) -> Response {
    let approved = tester.is_gate_open(key);
    info!("{key} {what} check: approved {approved}");
    if approved {
        (StatusCode::OK, "Approved").into_response()
    } else {
        (StatusCode::FORBIDDEN, FORBIDDEN).into_response()
    }
}

fn set_gate(tester: &LoadTester, key: &str, what: &str, open: bool) -> StatusCode {
    tester.set_gate(key, open);
    info!("{key} {what} {}", if open { "opened" } else { "closed" });
    StatusCode::ACCEPTED
}

fn rollback_key(payload: &WebhookPayload) -> String {
    format!("rollback.{}", payload.canary_key())
}

async fn gate_check(
    State(tester): State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RequestError> {
    let payload = authorized_payload(&tester, body)?;
    Ok(check(&tester, &payload.canary_key(), "gate"))
}

async fn gate_open(
    State(tester): State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, RequestError> {
    let payload = authorized_payload(&tester, body)?;
    Ok(set_gate(&tester, &payload.canary_key(), "gate", true))
}

async fn gate_close(
    State(tester): State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, RequestError> {
    let payload = authorized_payload(&tester, body)?;
    Ok(set_gate(&tester, &payload.canary_key(), "gate", false))
}

async fn rollback_check(
    State(tester): State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RequestError> {
    let payload = authorized_payload(&tester, body)?;
    Ok(check(&tester, &rollback_key(&payload), "rollback"))
}

async fn rollback_open(
    State(tester): State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, RequestError> {
    let payload = authorized_payload(&tester, body)?;
    Ok(set_gate(&tester, &rollback_key(&payload), "rollback", true))
}

async fn rollback_close(
    State(tester): State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, RequestError> {
    let payload = authorized_payload(&tester, body)?;
    Ok(set_gate(
        &tester,
        &rollback_key(&payload),
        "rollback",
        false,
    ))
}

async fn submit_task_on_any_path(
    method: Method,
    state: State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RequestError> {
    if method != Method::POST {
        return Ok((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response());
    }
    submit_task(state, body).await
}

async fn submit_task(
    State(tester): State<LoadTester>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RequestError> {
    let mut payload = authorized_payload(&tester, body)?;
    if payload.metadata.is_empty() {
        return Err(RequestError::MetadataMissing);
    }
    let canary = payload.canary_key();
    let metadata = &mut payload.metadata;
    let kind = TaskKind::parse(metadata.get("type").map_or("cmd", String::as_str))?;
    // strconv.ParseBool, with anything unparsable meaning false, as in
    // flagger-loadtester.
    let flag = |name: &str| metadata.get(name).and_then(|value| parse_go_bool(value)) == Some(true);
    let return_output = flag("returnCmdOutput");
    let log_output = flag("logCmdOutput");

    if kind == TaskKind::Cmd {
        let command = metadata.remove("cmd").ok_or(RequestError::CommandMissing)?;
        tasks::start_cmd(&tester, canary, command, log_output);
        return Ok(StatusCode::ACCEPTED.into_response());
    }

    // A blocking task without `cmd` runs its program with no arguments, as
    // flagger-loadtester does.
    let command = metadata.remove("cmd").unwrap_or_default();
    info!(
        canary,
        task_type = kind.as_str(),
        "{} command {command}",
        kind.as_str()
    );
    Ok(
        match tasks::run_blocking(&tester, kind, canary, command).await {
            BlockingResult::Succeeded(output) if return_output => {
                let content_type = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
                (StatusCode::OK, content_type, output).into_response()
            }
            BlockingResult::Succeeded(_) => StatusCode::OK.into_response(),
            BlockingResult::Failed(message) => {
                (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
            }
            BlockingResult::Cancelled => (
                StatusCode::SERVICE_UNAVAILABLE,
                "weir-loadtester is shutting down; the task was killed",
            )
                .into_response(),
        },
    )
}
