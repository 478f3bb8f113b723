//! Flagger-compatible alert notifiers behind the engine's `Alerts` port:
//! Slack, Discord, Rocket.Chat, Microsoft Teams and Google Chat.
//!
//! The engine decides *whether* and *where* to alert (severity routing,
//! `muteAlert`, the metadata fields); this crate turns a
//! [`Notification`](weir_engine::ports::Notification) into the HTTP
//! request Flagger would make.
//!
//! ```text
//!  engine tick (blocking thread)
//!    │ Alerts::send(providerRef, notification)    Alerts::send_global(notification)
//!    ▼                                                        │
//!  HttpAlerts ──Objects──▶ AlertProvider ──secretRef──▶ Secret │ {address, token}
//!    │                          │                              │
//!    │                          ▼                              ▼
//!    │        Notifier {kind, address, token, username, channel, proxy}
//!    │                          │      (the global one is built once, at startup,
//!    │                          │       from GlobalNotifierConfig)
//!    │                          ▼
//!    │        Payload::render ─▶ Slack message | Teams MessageCard | Google Chat card
//!    │                          │      (Go-compatible JSON: Flagger's bytes)
//!    ▼                          ▼
//!  Bridge::run ──▶ ClientCache[proxy] ──POST application/json──▶ chat system
//!                  (5 s timeout)          Authorization: Bearer (Slack token)
//!                                         2xx = sent; otherwise an AlertError
//! ```
//!
//! * [`payload`]: the documents each chat system receives, field for field
//!   as Flagger sends them (colours per severity, `icon_emoji`,
//!   `mrkdwn_in`, `short`, the Google Chat HTML), encoded with Go's string
//!   escaping, so the bytes are identical to Flagger's.
//! * [`Notifier`]: one provider's resolved settings, rebuilt for every
//!   alert from the AlertProvider and its Secret (as Flagger does), so
//!   edits and rotated Secrets apply at the next alert.
//! * [`ClientCache`]: one HTTP client per proxy setting, shared.
//! * [`GlobalNotifierConfig`]: Flagger's `-slack-*` / `-msteams-*` flags and
//!   environment variables, for Canaries without `analysis.alerts`.
//! * [`HttpAlerts`]: the port.
//!
//! # Differences from Flagger
//!
//! Payloads, headers, defaults and timeouts are Flagger's. What differs is
//! how problems surface:
//!
//! * **Configuration errors are errors, not silence.** Flagger replaces an
//!   unusable notifier by a no-op and logs once (global notifier) or per
//!   alert (providers). Here, [`GlobalNotifierConfig::build`] fails on an
//!   invalid URL, a Slack URL without channel or username, or a token,
//!   channel or proxy without the URL it belongs to, so the controller can
//!   refuse to start; it returns `None` (no global notifier) only when
//!   nothing is configured. An AlertProvider with neither `address` nor
//!   `secretRef` is an error naming the provider, where Flagger sends
//!   nothing and says nothing.
//! * **Addresses must be absolute http(s) URLs.** Go's `ParseRequestURI`
//!   accepts any scheme, and the request then fails.
//! * **Secret values are trimmed** (`SecretData::text`): an address or
//!   token stored with a trailing newline works, where Flagger's URL
//!   parsing or the chat system would reject it.
//! * **Discord's `/slack` suffix is tested on the URL's path**, so a query
//!   (`?thread_id=...`) or a trailing slash does not produce `/slack/slack`.
//! * **Any 2xx answer is success**; errors carry the status and an excerpt
//!   of the body (Flagger reports the body only).
//! * **Secrets stay secret.** Error messages and `Debug` output show the
//!   destination's scheme, host and port, never the webhook path, query or
//!   token (Flagger logs invalid URLs in full).
//! * **Clients are reused** per proxy setting (Flagger builds a transport
//!   per proxied request); nothing observable changes but the connection
//!   reuse.
//!
//! As in Flagger, the Secret's `token` is sent only to Slack (it is a Slack
//! bot token), and a warning has the colour of an info message: only
//! errors are red.

mod error;
mod global;
mod notifier;
pub mod payload;
mod port;

pub use error::{AddressSource, AlertError, Origin};
pub use global::{
    GlobalNotifierConfig, MSTEAMS_PROXY_URL_ENV, MSTEAMS_URL_ENV, SLACK_PROXY_URL_ENV,
    SLACK_TOKEN_ENV, SLACK_URL_ENV,
};
pub use notifier::{ClientCache, DEFAULT_TIMEOUT, Notifier};
pub use payload::Payload;
pub use port::HttpAlerts;
