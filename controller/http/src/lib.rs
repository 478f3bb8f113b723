//! HTTP plumbing shared by everything in weir that talks to the outside
//! world during an analysis: metric providers, webhooks and alert notifiers.
//!
//! ```text
//!   engine (sync ports) ──▶ adapter ──Bridge::run──▶ async provider ──reqwest──▶ HTTP
//!                                        (blocks the calling thread,
//!                                         never a runtime worker)
//! ```
//!
//! * [`client`] builds a `reqwest::Client` with the options Flagger's
//!   clients have (timeout, `insecureSkipVerify` / `disableTLS`, a proxy),
//!   on rustls with the *ring* crypto provider, so no C build of aws-lc is
//!   needed.
//! * [`read_body`] reads a response body up to a limit: a misbehaving
//!   provider cannot make the controller buffer gigabytes.
//! * [`describe`] turns a `reqwest::Error` into a message a release engineer
//!   can act on ("timed out after 5s", "connection refused").
//! * [`Bridge`] runs async I/O from the engine's synchronous ports.

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

use bytes::Bytes;
use tokio::runtime::{Handle, RuntimeFlavor};

/// Why a request could not be made or answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The client could not be built (a bad proxy URL, ...).
    #[error("invalid HTTP client configuration: {0}")]
    Config(String),
    /// The request did not complete within its timeout.
    #[error("{url}: timed out after {}", format_timeout(*.timeout))]
    Timeout { url: String, timeout: Duration },
    /// Connection, TLS or protocol failure.
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// The body was larger than the caller accepts.
    #[error("{url}: response body larger than {limit} bytes")]
    BodyTooLarge { url: String, limit: usize },
}

fn format_timeout(timeout: Duration) -> String {
    if timeout.subsec_millis() == 0 {
        format!("{}s", timeout.as_secs())
    } else {
        format!("{}ms", timeout.as_millis())
    }
}

/// How a client connects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// Whole-request timeout (connect, send, headers and body).
    pub timeout: Option<Duration>,
    /// Accept any server certificate (`insecureSkipVerify`, `disableTLS`).
    pub insecure_skip_verify: bool,
    /// Send every request through this proxy (`http://`, `https://` or
    /// `socks5://`). Without it the `HTTP(S)_PROXY` environment applies, as
    /// for Go's default transport.
    pub proxy: Option<String>,
    /// PEM certificates trusted besides the system's (a cluster's CA).
    pub extra_root_certificates: Vec<Vec<u8>>,
}

/// Installs ring as the process's rustls crypto provider, once. reqwest is
/// built without a provider of its own (its default, aws-lc, is a slow C
/// build), so every client must be built after this.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only if another provider was installed first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client with `options`.
pub fn client(options: &ClientOptions) -> Result<reqwest::Client, HttpError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
        .tls_danger_accept_invalid_certs(options.insecure_skip_verify);
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if !options.extra_root_certificates.is_empty() {
        let mut certificates = Vec::new();
        for pem in &options.extra_root_certificates {
            certificates.extend(reqwest::Certificate::from_pem_bundle(pem).map_err(|error| {
                HttpError::Config(format!("root certificate: {}", source_chain(&error)))
            })?);
        }
        builder = builder.tls_certs_merge(certificates);
    }
    if let Some(proxy) = options.proxy.as_deref().filter(|proxy| !proxy.is_empty()) {
        let proxy = reqwest::Proxy::all(proxy).map_err(|error| {
            HttpError::Config(format!("proxy `{proxy}`: {}", source_chain(&error)))
        })?;
        builder = builder.proxy(proxy);
    }
    builder
        .build()
        .map_err(|error| HttpError::Config(source_chain(&error)))
}

/// `error` as a message: what failed and why, without reqwest's wrapping.
/// `timeout` is the limit the request ran under, for the message.
pub fn describe(error: &reqwest::Error, url: &str, timeout: Option<Duration>) -> HttpError {
    if let Some(timeout) = timeout.filter(|_| error.is_timeout()) {
        return HttpError::Timeout {
            url: url.to_owned(),
            timeout,
        };
    }
    let cause = root_cause(error);
    let message = if error.is_connect() {
        format!("cannot connect: {cause}")
    } else if error.is_builder() {
        format!("invalid request: {cause}")
    } else {
        cause
    };
    HttpError::Transport {
        url: url.to_owned(),
        message,
    }
}

/// The innermost cause of `error`: "connection refused" rather than
/// "error sending request for url (...)".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// `error` and its causes, joined: for configuration errors, where every
/// level says something.
fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error;
    while let Some(source) = current.source() {
        let text = source.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = source;
    }
    parts.join(": ")
}

/// Reads `response`'s body, refusing more than `limit` bytes.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    timeout: Option<Duration>,
) -> Result<Bytes, HttpError> {
    let url = response.url().to_string();
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(HttpError::BodyTooLarge { url, limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| describe(&error, &url, timeout))?
    {
        if body.len() + chunk.len() > limit {
            return Err(HttpError::BodyTooLarge { url, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// At most `limit` characters of `text`, for error messages that quote a
/// response body.
pub fn excerpt(text: &str, limit: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Runs async I/O on a Tokio runtime from a synchronous caller.
///
/// The engine's ports are synchronous (it never waits on time itself), while
/// HTTP clients are async. The live controller runs each tick on a blocking
/// thread (`tokio::task::spawn_blocking`), the wired simulator on its own
/// thread: from there, [`Bridge::run`] blocks until the future completes on
/// the runtime. Called from an async task of a multi-threaded runtime, it
/// first hands the worker's other tasks to another thread
/// (`block_in_place`) rather than stall them; on a current-thread runtime
/// it must be called from `spawn_blocking`.
#[derive(Clone, Debug)]
pub struct Bridge {
    handle: Handle,
}

impl Bridge {
    pub fn new(handle: Handle) -> Bridge {
        Bridge { handle }
    }

    /// A bridge to the runtime the caller runs in.
    ///
    /// # Panics
    /// Outside a Tokio runtime, like `Handle::current`.
    pub fn current() -> Bridge {
        Bridge::new(Handle::current())
    }

    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `future` to completion and returns its output.
    pub fn run<F: Future>(&self, future: F) -> F::Output {
        match Handle::try_current() {
            // On a worker (or a blocking thread) of a multi-threaded runtime:
            // `block_in_place` hands the worker's other tasks to another
            // thread first, and is a no-op on blocking threads.
            Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.handle.block_on(future))
            }
            _ => self.handle.block_on(future),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn a_slow_server_is_reported_as_a_timeout_naming_the_limit() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
            .mount(&server)
            .await;
        let timeout = Duration::from_millis(100);
        let client = client(&ClientOptions {
            timeout: Some(timeout),
            ..ClientOptions::default()
        })
        .expect("test setup");
        let error = client
            .get(server.uri())
            .send()
            .await
            .expect_err("must fail");
        let error = describe(&error, &server.uri(), Some(timeout));
        assert_eq!(
            error,
            HttpError::Timeout {
                url: server.uri(),
                timeout
            }
        );
        assert!(
            error.to_string().ends_with("timed out after 100ms"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        // Bind and drop a listener: its port is free and nobody answers.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("test setup")
            .local_addr()
            .expect("test setup")
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let client = client(&ClientOptions::default()).expect("test setup");
        let error = client.get(&url).send().await.expect_err("must fail");
        let message = describe(&error, &url, None).to_string();
        assert!(message.contains("cannot connect"), "{message}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_even_without_a_content_length() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(2048)))
            .mount(&server)
            .await;
        let client = client(&ClientOptions::default()).expect("test setup");
        let response = client.get(server.uri()).send().await.expect("test setup");
        let error = read_body(response, 1024, None)
            .await
            .expect_err("must fail");
        assert!(matches!(error, HttpError::BodyTooLarge { limit: 1024, .. }));

        let response = client.get(server.uri()).send().await.expect("test setup");
        assert_eq!(
            read_body(response, 4096, None)
                .await
                .expect("test setup")
                .len(),
            2048
        );
    }

    #[test]
    fn a_bad_proxy_is_a_configuration_error() {
        let error = client(&ClientOptions {
            proxy: Some("not a url".to_owned()),
            ..ClientOptions::default()
        })
        .expect_err("must fail");
        assert!(
            matches!(&error, HttpError::Config(message) if message.contains("not a url")),
            "{error}"
        );
    }

    #[test]
    fn the_bridge_runs_futures_from_a_thread_outside_the_runtime() {
        let runtime = tokio::runtime::Runtime::new().expect("test setup");
        let bridge = Bridge::new(runtime.handle().clone());
        let value = std::thread::spawn(move || {
            bridge.run(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                42
            })
        })
        .join()
        .expect("test setup");
        assert_eq!(value, 42);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bridge_does_not_stall_a_runtime_worker() {
        let bridge = Bridge::current();
        let value = bridge.run(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            7
        });
        assert_eq!(value, 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bridge_runs_futures_from_a_blocking_task() {
        let bridge = Bridge::current();
        let value = tokio::task::spawn_blocking(move || bridge.run(async { 9 }))
            .await
            .expect("test setup");
        assert_eq!(value, 9);
    }

    #[test]
    fn excerpts_cut_long_bodies_on_character_boundaries() {
        assert_eq!(excerpt("  short  ", 10), "short");
        assert_eq!(excerpt("ééééé", 3), "ééé…");
    }
}
