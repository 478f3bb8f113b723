//! Flagger-compatible webhook calls: gates (`confirm-*`), load tests
//! (`pre-rollout`, `rollout`), `post-rollout`, `rollback` and event hooks,
//! behind the engine's [`Webhooks`](weir_engine::ports::Webhooks) port.
//!
//! Flagger posts webhooks with hashicorp/go-retryablehttp
//! (`pkg/controller/webhook.go`, `callWebhook`); [`WebhookClient`] does what
//! that client does with its default policies:
//!
//! ```text
//!   call(hook, payload)
//!     │  timeout = hook `timeout` (10s when unset); unparsable → Err, nothing sent
//!     ▼
//!  ┌▶ attempt n: POST <url>, Content-Type: application/json, per-attempt timeout
//!  │    │
//!  │    ▼
//!  │  retry policy ─┬─ status ≤ 202 ─────────────────────────────▶ Ok(())
//!  │  (Default-     ├─ any other status but 429 and 5xx, or 501 ─▶ Err("403 Forbidden: <body>")
//!  │   RetryPolicy) ├─ bad URL or scheme, too many redirects,
//!  │                │  certificate verification failure ─────────▶ Err(<transport error>)
//!  │                └─ 429, 5xx but 501, connection error, timeout: retryable
//!  │    │
//!  │    ▼
//!  │  n = retries + 1? ── yes ───────────────────────────────────▶ Err("POST <url> giving up
//!  │    │ no                                                          after n attempt(s): <last>")
//!  │    ▼
//!  └─ backoff (DefaultBackoff): Retry-After seconds on 429/503,
//!     else min·2^(n-1); never longer than max (min 1s, max 30s)
//! ```
//!
//! Success is a final status of **202 or less**: 203–299 fail. That is
//! Flagger's rule, kept on purpose because gates in the wild answer 202 to
//! open and treat 203–299 as "not yet".
//!
//! [`HttpWebhooks`] adapts a [`WebhookClient`] to the engine's synchronous
//! port through a [`weir_http::Bridge`].
//!
//! # Where weir differs from Flagger
//!
//! * **Messages.** They end up in Kubernetes events (`Halt podinfo.test
//!   advancement external check gate failed <error>`), so they say what
//!   happened. Flagger returns the bare response body for a refused call and
//!   `POST <url> giving up after N attempt(s)` when retries run out; weir
//!   returns `403 Forbidden: <body excerpt>` and `POST <url> giving up after
//!   N attempt(s): <last status and body excerpt, or the transport error>`.
//!   Bodies are read up to 64 KiB and quoted up to 200 characters. A password
//!   in the URL is shown as `xxxxx`, as go-retryablehttp does.
//! * **`Retry-After` is capped** at the backoff maximum (30 s): one header
//!   cannot stall a rollout for an hour. go-retryablehttp waits as long as
//!   the header says. Only the seconds form is read; an HTTP date (which
//!   recent go-retryablehttp releases also accept) falls back to the
//!   exponential backoff.
//! * **Certificate failures.** go-retryablehttp recognises an untrusted
//!   certificate by type or message, depending on its version; weir treats
//!   every certificate rustls rejects (unknown issuer, expired, wrong name)
//!   as final, since none of them heals by retrying.
//!
//! Event hooks are called like every other hook, with their own `timeout`,
//! `retries` and `disableTLS` (as Flagger 1.44 does); the global
//! `-event-webhook` arrives as a hook named `events` without any, so it gets
//! one attempt of 10 s.
//!
//! A zero `timeout` (`0s`) means no per-attempt timeout, as a zero
//! `http.Client.Timeout` does in Go.

mod client;
mod error;
mod port;

pub use client::{BODY_EXCERPT_CHARS, BODY_LIMIT, Backoff, WebhookClient};
pub use error::WebhookError;
pub use port::HttpWebhooks;
