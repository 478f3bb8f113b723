//! `WebhookClient` and `HttpWebhooks` against real HTTP servers: wiremock,
//! a port nobody listens on, and a self-signed HTTPS server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use weir_api::{CanaryPhase, CanaryWebhook};
use weir_engine::ports::{PortError, WebhookPayload, Webhooks};
use weir_http::{Bridge, HttpError};
use weir_webhooks::{Backoff, HttpWebhooks, WebhookClient, WebhookError};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Waits short enough to keep the suite fast, long enough to be real sleeps.
const FAST: Backoff = Backoff {
    min: Duration::from_millis(1),
    max: Duration::from_millis(5),
};

fn client() -> WebhookClient {
    WebhookClient::new()
        .expect("the HTTP clients build")
        .with_backoff(FAST)
}

fn hook(url: &str) -> CanaryWebhook {
    CanaryWebhook {
        name: "gate".to_owned(),
        url: url.to_owned(),
        ..CanaryWebhook::default()
    }
}

/// The global `-event-webhook` as the engine passes it.
fn global_event_hook(url: &str) -> CanaryWebhook {
    CanaryWebhook {
        name: "events".to_owned(),
        r#type: weir_api::WebhookType::Event,
        ..hook(url)
    }
}

fn hook_with_retries(url: &str, retries: i32) -> CanaryWebhook {
    CanaryWebhook {
        retries,
        ..hook(url)
    }
}

fn payload(metadata: Option<BTreeMap<String, String>>) -> WebhookPayload {
    WebhookPayload {
        name: "podinfo".to_owned(),
        namespace: "test".to_owned(),
        phase: CanaryPhase::Progressing,
        checksum: "7b4c9d5f8".to_owned(),
        metadata,
    }
}

/// A server answering every POST with `response`.
async fn server_answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on by default")
}

async fn only_body(server: &MockServer) -> String {
    let requests = received(server).await;
    assert_eq!(requests.len(), 1, "exactly one request expected");
    String::from_utf8(requests[0].body.clone()).expect("the payload is UTF-8")
}

/// A local port nobody listens on: bound, then released.
fn refusing_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("a bound address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/gate")
}

// --- payloads ---------------------------------------------------------------

#[tokio::test]
async fn a_hook_with_metadata_posts_flaggers_payload_byte_for_byte() {
    let server = server_answering(ResponseTemplate::new(200)).await;
    let metadata = BTreeMap::from([
        ("type".to_owned(), "cmd".to_owned()),
        (
            "cmd".to_owned(),
            "hey -z 1m -q 10 http://podinfo-canary.test:9898/".to_owned(),
        ),
    ]);
    let mut hook = hook(&format!("{}/gate", server.uri()));
    hook.metadata = Some(metadata.clone());

    client()
        .call(&hook, &payload(Some(metadata)))
        .await
        .expect("200 passes");

    assert_eq!(
        only_body(&server).await,
        r#"{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"7b4c9d5f8","metadata":{"cmd":"hey -z 1m -q 10 http://podinfo-canary.test:9898/","type":"cmd"}}"#
    );
}

#[tokio::test]
async fn a_hook_without_metadata_omits_the_metadata_field() {
    let server = server_answering(ResponseTemplate::new(200)).await;

    client()
        .call(&hook(&server.uri()), &payload(None))
        .await
        .expect("200 passes");

    assert_eq!(
        only_body(&server).await,
        r#"{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"7b4c9d5f8"}"#
    );
}

#[tokio::test]
async fn an_event_payload_carries_the_event_message_type_and_timestamp() {
    let server = server_answering(ResponseTemplate::new(202)).await;
    let event = WebhookPayload {
        phase: CanaryPhase::Failed,
        metadata: Some(BTreeMap::from([
            (
                "eventMessage".to_owned(),
                "Canary failed! Scaling down podinfo.test".to_owned(),
            ),
            ("eventType".to_owned(), "Warning".to_owned()),
            ("timestamp".to_owned(), "1767225600000".to_owned()),
        ])),
        ..payload(None)
    };

    client()
        .call(&global_event_hook(&server.uri()), &event)
        .await
        .expect("202 passes");

    assert_eq!(
        only_body(&server).await,
        r#"{"name":"podinfo","namespace":"test","phase":"Failed","checksum":"7b4c9d5f8","metadata":{"eventMessage":"Canary failed! Scaling down podinfo.test","eventType":"Warning","timestamp":"1767225600000"}}"#
    );
}

#[tokio::test]
async fn payloads_are_posted_as_application_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;

    client()
        .call(&hook(&server.uri()), &payload(None))
        .await
        .expect("the JSON mock answers 200");

    let requests = received(&server).await;
    let content_types: Vec<_> = requests[0].headers.get_all("content-type").iter().collect();
    assert_eq!(content_types, ["application/json"]);
}

// --- the success rule -------------------------------------------------------

#[tokio::test]
async fn statuses_200_and_202_succeed() {
    let server = MockServer::start().await;
    for status in [200, 202] {
        Mock::given(path(format!("/{status}")))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
    }
    for status in [200, 202] {
        client()
            .call(&hook(&format!("{}/{status}", server.uri())), &payload(None))
            .await
            .unwrap_or_else(|error| panic!("{status} must pass, got {error}"));
    }
}

#[tokio::test]
async fn statuses_203_and_204_fail_without_retries() {
    let server = MockServer::start().await;
    for status in [203, 204] {
        Mock::given(path(format!("/{status}")))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client();

    let error = client
        .call(
            &hook_with_retries(&format!("{}/203", server.uri()), 2),
            &payload(None),
        )
        .await
        .expect_err("203 fails");
    assert_eq!(error.to_string(), "203 Non Authoritative Information");

    let error = client
        .call(
            &hook_with_retries(&format!("{}/204", server.uri()), 2),
            &payload(None),
        )
        .await
        .expect_err("204 fails");
    assert_eq!(
        error,
        WebhookError::Status {
            status: 204,
            body: String::new()
        }
    );
}

#[tokio::test]
async fn a_403_is_reported_with_its_body() {
    let server = server_answering(ResponseTemplate::new(403).set_body_string("Forbidden")).await;

    let error = client()
        .call(&hook_with_retries(&server.uri(), 3), &payload(None))
        .await
        .expect_err("403 fails");

    assert_eq!(error.to_string(), "403 Forbidden: Forbidden");
    assert_eq!(received(&server).await.len(), 1, "4xx is not retried");
}

#[tokio::test]
async fn long_bodies_are_quoted_in_part_and_huge_ones_not_at_all() {
    let server = MockServer::start().await;
    Mock::given(path("/long"))
        .respond_with(ResponseTemplate::new(400).set_body_string("x".repeat(1000)))
        .mount(&server)
        .await;
    Mock::given(path("/huge"))
        .respond_with(ResponseTemplate::new(400).set_body_string("x".repeat(100_000)))
        .mount(&server)
        .await;

    let error = client()
        .call(&hook(&format!("{}/long", server.uri())), &payload(None))
        .await
        .expect_err("400 fails");
    let WebhookError::Status { body, .. } = &error else {
        panic!("expected a status error, got {error:?}");
    };
    assert_eq!(body.chars().count(), weir_webhooks::BODY_EXCERPT_CHARS + 1);
    assert!(body.ends_with('…'), "{body}");

    let error = client()
        .call(&hook(&format!("{}/huge", server.uri())), &payload(None))
        .await
        .expect_err("400 fails");
    assert_eq!(
        error.to_string(),
        "400 Bad Request: (body not read: response body larger than 65536 bytes)"
    );
}

// --- retries ----------------------------------------------------------------

#[tokio::test]
async fn a_500_is_retried_exactly_retries_times_then_gives_up() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("database is down"))
        .expect(4)
        .mount(&server)
        .await;
    let url = format!("{}/gate", server.uri());

    let error = client()
        .call(&hook_with_retries(&url, 3), &payload(None))
        .await
        .expect_err("500 fails");

    assert_eq!(
        error.to_string(),
        format!(
            "POST {url} giving up after 4 attempt(s): 500 Internal Server Error: database is down"
        )
    );
    assert_eq!(received(&server).await.len(), 4);
}

#[tokio::test]
async fn without_retries_or_with_negative_ones_a_500_gets_a_single_attempt() {
    let server = server_answering(ResponseTemplate::new(502)).await;
    let url = server.uri();
    let client = client();

    for retries in [0, -3] {
        let error = client
            .call(&hook_with_retries(&url, retries), &payload(None))
            .await
            .expect_err("502 fails");
        assert!(
            error
                .to_string()
                .contains("giving up after 1 attempt(s): 502 Bad Gateway"),
            "retries {retries}: {error}"
        );
    }
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn a_501_is_not_retried() {
    let server = server_answering(ResponseTemplate::new(501)).await;

    let error = client()
        .call(&hook_with_retries(&server.uri(), 3), &payload(None))
        .await
        .expect_err("501 fails");

    assert_eq!(error.to_string(), "501 Not Implemented");
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_capped_at_the_backoff_maximum() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "5"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // The exponential wait would be 1ms; Retry-After asks for 5s.
    let backoff = Backoff {
        min: Duration::from_millis(1),
        max: Duration::from_millis(150),
    };
    let client = client().with_backoff(backoff);

    let started = Instant::now();
    client
        .call(&hook_with_retries(&server.uri(), 1), &payload(None))
        .await
        .expect("the retry gets 200");
    let elapsed = started.elapsed();

    assert_eq!(received(&server).await.len(), 2);
    assert!(elapsed >= backoff.max, "Retry-After ignored: {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "Retry-After not capped: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_slow_server_times_out_on_every_attempt_and_the_message_names_the_timeout() {
    let server =
        server_answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(2))).await;
    let url = format!("{}/gate", server.uri());
    let mut hook = hook_with_retries(&url, 1);
    hook.timeout = Some("200ms".to_owned());

    let started = Instant::now();
    let error = client()
        .call(&hook, &payload(None))
        .await
        .expect_err("every attempt times out");

    assert_eq!(
        error.to_string(),
        format!("POST {url} giving up after 2 attempt(s): timed out after 200ms")
    );
    assert_eq!(received(&server).await.len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the timeout is per attempt: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_zero_timeout_means_no_timeout_as_in_go() {
    let server =
        server_answering(ResponseTemplate::new(200).set_delay(Duration::from_millis(50))).await;
    let mut hook = hook(&server.uri());
    hook.timeout = Some("0s".to_owned());

    client()
        .call(&hook, &payload(None))
        .await
        .expect("a slow answer still arrives");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let url = refusing_url();

    let error = client()
        .call(&hook_with_retries(&url, 2), &payload(None))
        .await
        .expect_err("nobody listens");

    let WebhookError::GaveUp { attempts, last, .. } = &error else {
        panic!("expected retries to run out, got {error:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(matches!(
        **last,
        WebhookError::Transport(HttpError::Transport { .. })
    ));
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "POST {url} giving up after 3 attempt(s): cannot connect"
        )),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn passwords_in_hook_urls_stay_out_of_messages() {
    let server = server_answering(ResponseTemplate::new(503)).await;
    let url = server.uri().replace("http://", "http://ci:s3cret@");

    let error = client()
        .call(&hook(&url), &payload(None))
        .await
        .expect_err("503 fails");

    let message = error.to_string();
    assert!(message.contains("ci:xxxxx@127.0.0.1"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

// --- requests that are never sent -------------------------------------------

#[tokio::test]
async fn an_unparsable_timeout_fails_before_anything_is_sent() {
    let server = server_answering(ResponseTemplate::new(200)).await;
    let mut hook = hook(&server.uri());
    hook.timeout = Some("soon".to_owned());

    let error = client()
        .call(&hook, &payload(None))
        .await
        .expect_err("`soon` is not a duration");

    assert!(
        matches!(&error, WebhookError::InvalidTimeout { timeout, .. } if timeout == "soon"),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("invalid timeout: `soon`"),
        "{error}"
    );
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn a_url_that_is_not_http_fails_before_anything_is_sent() {
    let error = client()
        .call(
            &hook_with_retries("ftp://gate.test/approve", 3),
            &payload(None),
        )
        .await
        .expect_err("ftp is not HTTP");

    assert!(
        matches!(error, WebhookError::InvalidUrl { .. }),
        "{error:?}"
    );
}

// --- event webhooks ---------------------------------------------------------

#[tokio::test]
async fn the_global_event_webhook_is_not_retried_and_follows_the_same_success_rule() {
    let server = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/no-content"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client();

    let error = client
        .call(
            &global_event_hook(&format!("{}/down", server.uri())),
            &payload(None),
        )
        .await
        .expect_err("500 fails");
    assert!(
        error
            .to_string()
            .contains("giving up after 1 attempt(s): 500 Internal Server Error"),
        "{error}"
    );

    let error = client
        .call(
            &global_event_hook(&format!("{}/no-content", server.uri())),
            &payload(None),
        )
        .await
        .expect_err("204 fails");
    assert_eq!(error.to_string(), "204 No Content");
}

// --- the engine's port ------------------------------------------------------

#[test]
fn the_port_calls_hooks_from_a_thread_outside_the_runtime() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(path("/open"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(path("/closed"))
            .respond_with(ResponseTemplate::new(403).set_body_string("not yet"))
            .mount(&server)
            .await;
        server
    });
    let mut port = HttpWebhooks::new(client(), Bridge::new(runtime.handle().clone()));
    let uri = server.uri();

    let (open, closed) = std::thread::spawn(move || {
        let open = port.call(&hook(&format!("{uri}/open")), &payload(None));
        let closed = port.call(&hook(&format!("{uri}/closed")), &payload(None));
        (open, closed)
    })
    .join()
    .expect("the caller thread does not panic");

    assert_eq!(open, Ok(()));
    assert_eq!(closed, Err(PortError::new("403 Forbidden: not yet")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_sends_events_from_a_blocking_task() {
    let server = server_answering(ResponseTemplate::new(202)).await;
    let mut port = HttpWebhooks::new(client(), Bridge::current());
    let url = server.uri();

    let result = tokio::task::spawn_blocking(move || {
        port.call_event(&global_event_hook(&url), &payload(None))
    })
    .await
    .expect("the blocking task does not panic");

    assert_eq!(result, Ok(()));
    assert_eq!(received(&server).await.len(), 1);
}

// --- TLS --------------------------------------------------------------------

/// An HTTPS server with a self-signed certificate that answers every request
/// with 200, counting connections and requests.
struct SelfSignedServer {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl SelfSignedServer {
    async fn start() -> SelfSignedServer {
        let certificate =
            CertificateDer::from(include_bytes!("fixtures/self-signed-cert.der").to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            include_bytes!("fixtures/self-signed-key.der").to_vec(),
        ));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .expect("the fixture certificate and key match");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("a bound address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (connection_count, request_count) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                connection_count.fetch_add(1, Ordering::SeqCst);
                let (acceptor, request_count) = (acceptor.clone(), request_count.clone());
                tokio::spawn(async move {
                    // A client that rejects the certificate ends the handshake.
                    let Ok(mut stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    if read_request(&mut stream).await.is_ok() {
                        request_count.fetch_add(1, Ordering::SeqCst);
                        let answer =
                            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                        // The client may be gone; nothing to report to.
                        let _ = stream.write_all(answer.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                });
            }
        });
        SelfSignedServer {
            url: format!("https://127.0.0.1:{port}/gate"),
            connections,
            requests,
        }
    }
}

/// Reads one HTTP/1.1 request: headers, then `content-length` bytes of body.
async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.extend_from_slice(&chunk[..read]);
        let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if received.len() >= end + 4 + length {
            return Ok(received);
        }
    }
}

#[tokio::test]
async fn disable_tls_accepts_a_self_signed_certificate() {
    let server = SelfSignedServer::start().await;
    let mut hook = hook(&server.url);
    hook.disable_tls = true;

    client()
        .call(&hook, &payload(None))
        .await
        .expect("disableTLS skips verification");

    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_self_signed_certificate_fails_verification_and_is_not_retried() {
    let server = SelfSignedServer::start().await;

    let error = client()
        .call(&hook_with_retries(&server.url, 3), &payload(None))
        .await
        .expect_err("the certificate is not trusted");

    assert!(
        matches!(error, WebhookError::Transport(_)),
        "a certificate failure is final: {error:?}"
    );
    assert!(error.to_string().contains("certificate"), "{error}");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}
