//! Why a webhook call failed, worded for a Kubernetes event.

use reqwest::StatusCode;
use weir_api::duration::DurationError;
use weir_http::HttpError;

/// Why a webhook call failed.
///
/// The engine puts the message into events such as `Halt podinfo.test
/// advancement external check <hook> failed <message>`, so each says what
/// went wrong in a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The hook's `timeout` is not a Go duration; nothing was sent, as in
    /// Flagger.
    #[error("invalid timeout: {source}")]
    InvalidTimeout {
        /// The `timeout` as written.
        timeout: String,
        source: DurationError,
    },
    /// The URL cannot be requested; nothing was sent.
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The payload could not be encoded as JSON.
    #[error("cannot encode the payload as JSON: {0}")]
    Payload(String),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(HttpError),
    /// The server answered with a status that fails the call and is not
    /// retried (anything above 202 but 429 and 5xx, or 501).
    #[error("{}", status_message(*status, body))]
    Status {
        status: u16,
        /// The start of the response body, trimmed; empty when there was none.
        body: String,
    },
    /// The request failed without an answer, for a reason retrying does not
    /// cure (too many redirects, certificate verification failure).
    #[error(transparent)]
    Transport(HttpError),
    /// Every attempt failed with a retryable failure.
    #[error("POST {url} giving up after {attempts} attempt(s): {}", last.detail())]
    GaveUp {
        /// The URL, password redacted.
        url: String,
        attempts: u32,
        /// The last attempt's failure ([`WebhookError::Status`] or
        /// [`WebhookError::Transport`]).
        last: Box<WebhookError>,
    },
}

impl WebhookError {
    /// The message without the URL, which the "giving up" message already
    /// names: "timed out after 10s" rather than "http://gate/: timed out
    /// after 10s".
    fn detail(&self) -> String {
        match self {
            WebhookError::Transport(error) => without_url(error),
            other => other.to_string(),
        }
    }
}

/// `error`'s message without its leading `<url>: `.
pub(crate) fn without_url(error: &HttpError) -> String {
    let message = error.to_string();
    let url = match error {
        HttpError::Timeout { url, .. }
        | HttpError::Transport { url, .. }
        | HttpError::BodyTooLarge { url, .. } => url,
        HttpError::Config(_) => return message,
    };
    match message
        .strip_prefix(url.as_str())
        .and_then(|rest| rest.strip_prefix(": "))
    {
        Some(rest) => rest.to_owned(),
        None => message,
    }
}

/// `403 Forbidden: <body>`, or `403 Forbidden` without a body; codes
/// without a standard reason are shown alone (`599: <body>`).
fn status_message(status: u16, body: &str) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason());
    let line = match reason {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    };
    if body.is_empty() {
        line
    } else {
        format!("{line}: {body}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_refused_call_shows_the_status_line_and_the_body() {
        let error = WebhookError::Status {
            status: 403,
            body: "Forbidden by policy".to_owned(),
        };
        assert_eq!(error.to_string(), "403 Forbidden: Forbidden by policy");
    }

    #[test]
    fn a_refused_call_without_a_body_shows_only_the_status_line() {
        let error = WebhookError::Status {
            status: 204,
            body: String::new(),
        };
        assert_eq!(error.to_string(), "204 No Content");
    }

    #[test]
    fn a_status_without_a_standard_reason_is_shown_as_a_number() {
        let error = WebhookError::Status {
            status: 299,
            body: "odd".to_owned(),
        };
        assert_eq!(error.to_string(), "299: odd");
    }

    #[test]
    fn giving_up_names_the_url_once() {
        let url = "http://gate.test/approve".to_owned();
        let error = WebhookError::GaveUp {
            url: url.clone(),
            attempts: 3,
            last: Box::new(WebhookError::Transport(HttpError::Timeout {
                url,
                timeout: Duration::from_secs(10),
            })),
        };
        assert_eq!(
            error.to_string(),
            "POST http://gate.test/approve giving up after 3 attempt(s): timed out after 10s"
        );
    }

    #[test]
    fn giving_up_after_error_statuses_quotes_the_last_one() {
        let error = WebhookError::GaveUp {
            url: "http://gate.test/".to_owned(),
            attempts: 1,
            last: Box::new(WebhookError::Status {
                status: 503,
                body: "draining".to_owned(),
            }),
        };
        assert_eq!(
            error.to_string(),
            "POST http://gate.test/ giving up after 1 attempt(s): 503 Service Unavailable: draining"
        );
    }
}
