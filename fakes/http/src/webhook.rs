//! [`WebhookReceiver`]: records every request and answers per a script.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use tokio::sync::watch;

use crate::server::{FakeError, Server};

/// One request as the receiver got it.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    /// The method (`POST` for webhooks and notifiers).
    pub method: Method,
    /// The path, e.g. `/gate/approve`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Every request header.
    pub headers: HeaderMap,
    /// The body as sent.
    pub body: Bytes,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
    /// When it arrived (wall clock).
    pub received_at: SystemTime,
}

impl RecordedCall {
    /// The value of the header `name` (case-insensitive), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body as text (lossy for invalid UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer the receiver gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CannedResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body (sent as `application/json` when it parses as JSON, as
    /// text otherwise).
    pub body: String,
    /// Wait this long before answering (overrides the receiver's delay).
    pub delay: Option<Duration>,
}

impl CannedResponse {
    /// `status` with `body`, answered at once.
    pub fn new(status: StatusCode, body: impl Into<String>) -> CannedResponse {
        CannedResponse {
            status,
            body: body.into(),
            delay: None,
        }
    }

    /// The same answer after `delay`.
    pub fn with_delay(mut self, delay: Duration) -> CannedResponse {
        self.delay = Some(delay);
        self
    }
}

impl Default for CannedResponse {
    /// 200 `OK`, as the Flagger loadtester answers.
    fn default() -> CannedResponse {
        CannedResponse::new(StatusCode::OK, "OK")
    }
}

/// Why waiting for calls gave up.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// Fewer calls than expected arrived in time.
    #[error("{received} of the {expected} expected calls arrived within {timeout:?}")]
    Timeout {
        /// How many calls were expected.
        expected: usize,
        /// How many arrived.
        received: usize,
        /// How long the wait lasted.
        timeout: Duration,
    },
}

/// Which answer a call gets: the queued ones first (in arrival order), then
/// the path's, then the default.
#[derive(Debug, Default)]
struct Script {
    queued: VecDeque<CannedResponse>,
    by_path: HashMap<String, CannedResponse>,
    default: CannedResponse,
    delay: Option<Duration>,
}

impl Script {
    fn answer(&mut self, path: &str) -> CannedResponse {
        let mut answer = self
            .queued
            .pop_front()
            .or_else(|| self.by_path.get(path).cloned())
            .unwrap_or_else(|| self.default.clone());
        if answer.delay.is_none() {
            answer.delay = self.delay;
        }
        answer
    }
}

#[derive(Debug)]
struct ReceiverState {
    calls: Mutex<Vec<RecordedCall>>,
    script: Mutex<Script>,
    /// The number of calls recorded, for waiters.
    count: watch::Sender<usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Recording and scripting stay usable after a panicking test thread.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An HTTP endpoint on `127.0.0.1:<ephemeral port>` that records every
/// request (any method, any path) and answers per a script: 200 `OK` by
/// default, per-path answers, the next N answers, an optional delay.
/// Stops when dropped.
#[derive(Debug)]
pub struct WebhookReceiver {
    server: Server,
    state: Arc<ReceiverState>,
}

impl WebhookReceiver {
    /// Starts a receiver answering 200 `OK`. Must run inside a Tokio
    /// runtime, which then runs the server.
    pub async fn start() -> Result<WebhookReceiver, FakeError> {
        WebhookReceiver::start_named("webhook receiver").await
    }

    pub(crate) async fn start_named(fake: &'static str) -> Result<WebhookReceiver, FakeError> {
        let state = Arc::new(ReceiverState {
            calls: Mutex::new(Vec::new()),
            script: Mutex::new(Script::default()),
            count: watch::Sender::new(0),
        });
        let router = Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&state));
        let server = Server::start(fake, router).await?;
        Ok(WebhookReceiver { server, state })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// The URL of `path` on this receiver (`path` starts with `/`).
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// The socket the receiver listens on.
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.state.calls).clone()
    }

    /// The calls to `path` (exactly, query string aside), oldest first.
    pub fn calls_to(&self, path: &str) -> Vec<RecordedCall> {
        lock(&self.state.calls)
            .iter()
            .filter(|call| call.path == path)
            .cloned()
            .collect()
    }

    /// How many calls arrived so far.
    pub fn call_count(&self) -> usize {
        lock(&self.state.calls).len()
    }

    /// Forgets the calls so far (waiting counts from zero again).
    pub fn clear_calls(&self) {
        let mut calls = lock(&self.state.calls);
        calls.clear();
        self.state.count.send_replace(0);
    }

    /// Answers calls that match no other rule with `response`.
    pub fn set_default_response(&self, response: CannedResponse) {
        lock(&self.state.script).default = response;
    }

    /// Answers every call to `path` with `response` (unless a queued answer
    /// comes first).
    pub fn respond_to(&self, path: &str, response: CannedResponse) {
        lock(&self.state.script)
            .by_path
            .insert(path.to_owned(), response);
    }

    /// Answers the next `count` calls, to any path, with `status` and
    /// `body`; then the other rules apply again.
    pub fn fail_next(&self, count: usize, status: StatusCode, body: impl Into<String>) {
        self.answer_next(count, CannedResponse::new(status, body));
    }

    /// Answers the next `count` calls, to any path, with `response`.
    pub fn answer_next(&self, count: usize, response: CannedResponse) {
        lock(&self.state.script)
            .queued
            .extend(std::iter::repeat_n(response, count));
    }

    /// Delays every answer that has no delay of its own (`None`: answer at once).
    pub fn set_delay(&self, delay: Option<Duration>) {
        lock(&self.state.script).delay = delay;
    }

    /// Waits until at least `count` calls have arrived (counting those
    /// already recorded) and returns them all; gives up after `timeout`.
    /// For senders that post asynchronously (event webhooks, alerts).
    pub async fn wait_for_calls(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedCall>, WaitError> {
        let mut received = self.state.count.subscribe();
        let arrived = tokio::time::timeout(timeout, received.wait_for(|seen| *seen >= count)).await;
        match arrived {
            Ok(Ok(_)) => Ok(self.calls()),
            // The sender lives as long as `self`, so only the timeout can end the wait.
            _ => Err(WaitError::Timeout {
                expected: count,
                received: self.call_count(),
                timeout,
            }),
        }
    }

    /// Stops serving and waits until the port is closed.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Every request: record, then answer per the script.
async fn receive(
    State(state): State<Arc<ReceiverState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let json = serde_json::from_slice(&body).ok();
    let call = RecordedCall {
        method,
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
        json,
        received_at: SystemTime::now(),
    };
    {
        let mut calls = lock(&state.calls);
        calls.push(call);
        state.count.send_replace(calls.len());
    }
    let answer = lock(&state.script).answer(&path);
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    let content_type = if serde_json::from_str::<serde_json::Value>(&answer.body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    (
        answer.status,
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        answer.body,
    )
        .into_response()
}
