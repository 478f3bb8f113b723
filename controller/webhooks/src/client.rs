//! The retrying webhook client: go-retryablehttp's default retry policy and
//! backoff around one `POST` per attempt.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use weir_api::CanaryWebhook;
use weir_engine::ports::WebhookPayload;
use weir_http::ClientOptions;

use crate::error::{WebhookError, without_url};

/// The largest response body read, in bytes. Bodies are only quoted in
/// error messages, and 64 KiB holds any error page worth quoting while
/// bounding what a misbehaving hook can make the controller buffer.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How much of a response body an error message quotes, in characters: the
/// message becomes a Kubernetes event, which should stay one readable line.
pub const BODY_EXCERPT_CHARS: usize = 200;

/// The highest status that counts as success. Flagger's rule (`StatusCode >
/// 202` fails): gates answer 202 to open and 203–299 mean "not yet".
const LAST_SUCCESS_STATUS: u16 = 202;

/// How long to wait between attempts: go-retryablehttp's `DefaultBackoff`.
///
/// The wait before retry `n` (0 for the first retry) is `min·2^n`, at most
/// `max`. After a 429 or 503 with a `Retry-After` in seconds, the wait is
/// that many seconds instead, also at most `max` (go-retryablehttp does not
/// cap it; weir does so one header cannot stall a rollout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub min: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// go-retryablehttp's defaults (`RetryWaitMin`, `RetryWaitMax`), which
    /// Flagger does not change.
    pub const GO_RETRYABLEHTTP: Backoff = Backoff {
        min: Duration::from_secs(1),
        max: Duration::from_secs(30),
    };

    /// The wait before retry number `retry` (0 for the first), given the
    /// `Retry-After` of the answer that is retried, if it counts.
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(retry_after) = retry_after {
            return retry_after.min(self.max);
        }
        // Past 2^31 the product overflows; the wait is `max` long before.
        2u32.checked_pow(retry)
            .and_then(|factor| self.min.checked_mul(factor))
            .map_or(self.max, |wait| wait.min(self.max))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::GO_RETRYABLEHTTP
    }
}

/// Posts webhook payloads the way Flagger does (see the crate docs).
///
/// Cheap to clone: the HTTP clients are shared, and so are their connection
/// pools.
#[derive(Clone, Debug)]
pub struct WebhookClient {
    /// Verifies server certificates.
    verifying: reqwest::Client,
    /// Accepts any certificate, for hooks with `disableTLS`.
    insecure: reqwest::Client,
    backoff: Backoff,
}

impl WebhookClient {
    /// A client with go-retryablehttp's backoff. The HTTP clients have no
    /// timeout of their own: each attempt gets the hook's.
    pub fn new() -> Result<WebhookClient, WebhookError> {
        let verifying =
            weir_http::client(&ClientOptions::default()).map_err(WebhookError::Client)?;
        let insecure = weir_http::client(&ClientOptions {
            insecure_skip_verify: true,
            ..ClientOptions::default()
        })
        .map_err(WebhookError::Client)?;
        Ok(WebhookClient {
            verifying,
            insecure,
            backoff: Backoff::default(),
        })
    }

    /// The same client waiting `backoff` between attempts (tests use
    /// milliseconds).
    pub fn with_backoff(mut self, backoff: Backoff) -> WebhookClient {
        self.backoff = backoff;
        self
    }

    /// The wait between attempts.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// Calls `hook` with `payload`: Flagger's `callWebhook`. Up to
    /// `hook.retries` retries (none when negative), each attempt limited to
    /// the hook's `timeout`; `Ok` iff the final status is 202 or less.
    ///
    /// An unparsable `timeout` or URL fails the call before anything is sent.
    pub async fn call(
        &self,
        hook: &CanaryWebhook,
        payload: &WebhookPayload,
    ) -> Result<(), WebhookError> {
        let timeout = hook
            .timeout_or_default()
            .map_err(|source| WebhookError::InvalidTimeout {
                timeout: hook.timeout.clone().unwrap_or_default(),
                source,
            })?;
        // go-retryablehttp runs no retries for a negative `RetryMax`.
        let retries = u32::try_from(hook.retries).unwrap_or(0);
        let client = if hook.disable_tls {
            &self.insecure
        } else {
            &self.verifying
        };
        self.post(client, &hook.url, payload, timeout, retries + 1)
            .await
    }

    /// Posts `payload` to `url` until it succeeds, fails for good or
    /// `attempts` attempts have been made.
    async fn post(
        &self,
        client: &reqwest::Client,
        url: &str,
        payload: &WebhookPayload,
        timeout: Duration,
        attempts: u32,
    ) -> Result<(), WebhookError> {
        let body = serde_json::to_vec(payload)
            .map_err(|error| WebhookError::Payload(error.to_string()))?;
        let target = parse_url(url)?;
        let shown_url = redacted(&target);
        // A zero `http.Client.Timeout` means "none" in Go.
        let timeout = (!timeout.is_zero()).then_some(timeout);
        let attempt = Attempt {
            client,
            target: &target,
            shown_url: &shown_url,
            body: &body,
            timeout,
        };
        let mut made = 0;
        loop {
            made += 1;
            let (failure, retry_after) = match attempt.run().await {
                Outcome::Success => return Ok(()),
                Outcome::Final(failure) => return Err(failure),
                Outcome::Retryable {
                    failure,
                    retry_after,
                } => (failure, retry_after),
            };
            if made >= attempts {
                return Err(WebhookError::GaveUp {
                    url: shown_url,
                    attempts: made,
                    last: Box::new(failure),
                });
            }
            tokio::time::sleep(self.backoff.wait(made - 1, retry_after)).await;
        }
    }
}

/// One `POST`, repeated by [`WebhookClient::post`].
struct Attempt<'a> {
    client: &'a reqwest::Client,
    target: &'a Url,
    /// The URL for messages, password redacted.
    shown_url: &'a str,
    body: &'a [u8],
    timeout: Option<Duration>,
}

/// What an attempt came to, judged by go-retryablehttp's
/// `DefaultRetryPolicy` and Flagger's success rule.
enum Outcome {
    Success,
    /// A failure retrying cannot cure.
    Final(WebhookError),
    /// A failure worth another attempt, with the answer's `Retry-After` when
    /// the backoff honours it.
    Retryable {
        failure: WebhookError,
        retry_after: Option<Duration>,
    },
}

impl Attempt<'_> {
    async fn run(&self) -> Outcome {
        let mut request = self
            .client
            .post(self.target.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(self.body.to_vec());
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let failure = WebhookError::Transport(weir_http::describe(
                    &error,
                    self.shown_url,
                    self.timeout,
                ));
                return if is_retryable_error(&error) {
                    Outcome::Retryable {
                        failure,
                        retry_after: None,
                    }
                } else {
                    Outcome::Final(failure)
                };
            }
        };
        let status = response.status();
        if status.as_u16() <= LAST_SUCCESS_STATUS {
            return Outcome::Success;
        }
        let retry_after = retry_after(status, response.headers());
        // Read even when retrying: it frees the connection for the next
        // attempt, and the last body is quoted when retries run out.
        let failure = WebhookError::Status {
            status: status.as_u16(),
            body: body_excerpt(response, self.timeout).await,
        };
        if is_retryable_status(status) {
            Outcome::Retryable {
                failure,
                retry_after,
            }
        } else {
            Outcome::Final(failure)
        }
    }
}

/// `url` if it can be posted to: it parses and is `http` or `https`
/// (go-retryablehttp does not retry an unsupported scheme, and reqwest would
/// only say "builder error").
fn parse_url(url: &str) -> Result<Url, WebhookError> {
    let parsed = Url::parse(url).map_err(|error| WebhookError::InvalidUrl {
        url: url.to_owned(),
        reason: error.to_string(),
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        scheme => Err(WebhookError::InvalidUrl {
            url: redacted(&parsed),
            reason: format!("unsupported scheme `{scheme}`, use http or https"),
        }),
    }
}

/// `url` for messages, which end up in Kubernetes events: a password is
/// shown as `xxxxx`, as go-retryablehttp's `redactURL` does.
fn redacted(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    match shown.set_password(Some("xxxxx")) {
        Ok(()) => shown.to_string(),
        // Only URLs that cannot have credentials refuse one; never show it.
        Err(()) => format!("{}://<redacted>", url.scheme()),
    }
}

/// go-retryablehttp's `DefaultRetryPolicy` for a status: 429 and every 5xx
/// but 501 (Not Implemented will not become implemented by retrying).
fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.as_u16() >= 500 && status != StatusCode::NOT_IMPLEMENTED)
}

/// go-retryablehttp's `DefaultRetryPolicy` for a request that got no answer:
/// connection errors and timeouts are retried; a request that cannot be
/// built, too many redirects and a certificate that fails verification are
/// not.
fn is_retryable_error(error: &reqwest::Error) -> bool {
    !(error.is_builder() || error.is_redirect() || is_certificate_failure(error))
}

/// Whether the TLS handshake rejected the server's certificate.
fn is_certificate_failure(error: &reqwest::Error) -> bool {
    chain_has_invalid_certificate(error)
}

/// Whether `error` or a cause is rustls' `InvalidCertificate`. It sits
/// inside `io::Error`s (one per layer of tokio-rustls and hyper), and
/// `io::Error::source` skips the error an `io::Error` wraps, so each one is
/// opened with `get_ref` instead.
fn chain_has_invalid_certificate(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if matches!(
            error.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        ) {
            return true;
        }
        if let Some(wrapped) = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            // The wrapped error's own chain is the rest of this one.
            return chain_has_invalid_certificate(wrapped);
        }
        current = error.source();
    }
    false
}

/// The `Retry-After` of a 429 or 503 answer, in seconds, as
/// go-retryablehttp's `DefaultBackoff` reads it; `None` for other statuses,
/// a missing header or an HTTP date.
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// The start of `response`'s body for an error message, or why it could not
/// be read.
async fn body_excerpt(response: reqwest::Response, timeout: Option<Duration>) -> String {
    match weir_http::read_body(response, BODY_LIMIT, timeout).await {
        Ok(body) => weir_http::excerpt(&String::from_utf8_lossy(&body), BODY_EXCERPT_CHARS),
        // The error names the response's URL, password and all: drop it.
        Err(error) => format!("(body not read: {})", without_url(&error)),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_default_backoff_doubles_from_one_second_up_to_thirty() {
        let backoff = Backoff::default();
        let waits: Vec<u64> = (0..7)
            .map(|retry| backoff.wait(retry, None).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn the_backoff_stays_at_its_maximum_for_any_number_of_retries() {
        let backoff = Backoff::default();
        for retry in [31, 32, 64, u32::MAX] {
            assert_eq!(backoff.wait(retry, None), 30 * SECOND, "retry {retry}");
        }
    }

    #[test]
    fn retry_after_replaces_the_exponential_wait_but_never_exceeds_the_maximum() {
        let backoff = Backoff::default();
        assert_eq!(backoff.wait(4, Some(3 * SECOND)), 3 * SECOND);
        assert_eq!(backoff.wait(0, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(backoff.wait(0, Some(3600 * SECOND)), 30 * SECOND);
    }

    #[test]
    fn retry_after_counts_only_in_seconds_and_only_on_429_and_503() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        for status in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert_eq!(retry_after(status, &headers), Some(7 * SECOND), "{status}");
        }
        for status in [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY] {
            assert_eq!(retry_after(status, &headers), None, "{status}");
        }
        for value in ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "soon", ""] {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(
                retry_after(StatusCode::TOO_MANY_REQUESTS, &headers),
                None,
                "{value:?}"
            );
        }
        assert_eq!(
            retry_after(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new()),
            None
        );
    }

    #[test]
    fn statuses_are_retried_like_go_retryablehttp_does() {
        let retried =
            |code: u16| is_retryable_status(StatusCode::from_u16(code).expect("valid code"));
        for code in [429, 500, 502, 503, 504, 599, 999] {
            assert!(retried(code), "{code} must be retried");
        }
        for code in [203, 204, 301, 400, 403, 404, 408, 501] {
            assert!(!retried(code), "{code} must not be retried");
        }
    }

    #[test]
    fn only_http_and_https_urls_are_posted_to() {
        assert!(parse_url("http://gate.test/approve").is_ok());
        assert!(parse_url("https://gate.test/approve").is_ok());
        let error = parse_url("ftp://gate.test/").expect_err("ftp is not HTTP");
        assert_eq!(
            error.to_string(),
            "invalid URL `ftp://gate.test/`: unsupported scheme `ftp`, use http or https"
        );
        let error = parse_url("gate.test/approve").expect_err("not absolute");
        assert!(
            error
                .to_string()
                .starts_with("invalid URL `gate.test/approve`: "),
            "{error}"
        );
    }

    #[test]
    fn certificate_failures_are_found_inside_nested_io_errors() {
        let rejected = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let nested = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rejected,
        ));
        assert!(chain_has_invalid_certificate(&nested));
        let other_tls_failure = std::io::Error::other(rustls::Error::DecryptError);
        assert!(!chain_has_invalid_certificate(&other_tls_failure));
        assert!(!chain_has_invalid_certificate(&std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        )));
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        let url = Url::parse("https://ci:s3cret@gate.test/approve?x=1").expect("valid URL");
        assert_eq!(redacted(&url), "https://ci:xxxxx@gate.test/approve?x=1");
        let url = Url::parse("https://ci@gate.test/").expect("valid URL");
        assert_eq!(redacted(&url), "https://ci@gate.test/");
    }
}
