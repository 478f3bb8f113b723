//! A [`Notifier`]: where and how one AlertProvider (or the global
//! notifier) posts alerts, and the [`ClientCache`] its requests go through.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use weir_api::alert_provider::{DEFAULT_ALERT_CHANNEL, DEFAULT_ALERT_USERNAME};
use weir_api::analysis::CrossNamespaceRef;
use weir_api::objects::Objects;
use weir_api::{AlertProviderSpec, AlertProviderType};
use weir_engine::ports::Notification;
use weir_http::{ClientOptions, HttpError};

use crate::error::{AddressSource, AlertError, Origin};
use crate::payload::Payload;

/// Flagger gives every notification request 5 seconds (connect, send and
/// answer): an alert is not worth holding up the canary's tick for longer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of an error response is read. Chat systems answer errors with a
/// line of text or a small JSON document; only an excerpt is quoted anyway.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// How many characters of an error response an error message quotes: enough
/// for Slack's `invalid_payload` or Teams' explanation, short enough for an
/// event or a log line.
const ERROR_BODY_EXCERPT: usize = 300;

/// Discord accepts Slack's payload on its webhook URL with `/slack` appended
/// (Discord's "Slack-compatible webhook").
const DISCORD_SLACK_SUFFIX: &str = "/slack";

/// Where and how alerts for one AlertProvider (or the global notifier) are
/// posted: the chat system, the resolved webhook address, the optional bot
/// token, the Slack username and channel, and the proxy.
///
/// Built afresh for every alert from the provider and its Secret, as
/// Flagger does, so an edited provider or a rotated Secret applies at the
/// next alert. The HTTP client is not part of it: see [`ClientCache`].
#[derive(Clone)]
pub struct Notifier {
    origin: Origin,
    kind: AlertProviderType,
    /// Discord's already ends in `/slack`.
    address: Url,
    token: Option<String>,
    username: String,
    channel: String,
    proxy: Option<String>,
}

/// The settings of a notifier, before its address is checked.
#[derive(Clone)]
pub(crate) struct NotifierSettings {
    pub(crate) origin: Origin,
    pub(crate) kind: AlertProviderType,
    pub(crate) address: String,
    pub(crate) address_source: AddressSource,
    pub(crate) token: Option<String>,
    pub(crate) username: String,
    pub(crate) channel: String,
    pub(crate) proxy: Option<String>,
}

impl Notifier {
    /// The notifier for the AlertProvider `reference` points to. The
    /// reference's namespace must be set (the engine defaults it to the
    /// Canary's).
    pub fn lookup<O: Objects + ?Sized>(
        reference: &CrossNamespaceRef,
        objects: &O,
    ) -> Result<Notifier, AlertError> {
        let namespace = reference
            .namespace
            .as_deref()
            .filter(|namespace| !namespace.is_empty())
            .ok_or_else(|| AlertError::ProviderNamespaceMissing {
                name: reference.name.clone(),
            })?;
        let provider = objects
            .alert_provider(namespace, &reference.name)
            .map_err(AlertError::Provider)?;
        Notifier::from_provider(namespace, &reference.name, &provider.spec, objects)
    }

    /// The notifier for AlertProvider `namespace/name` with `spec`.
    ///
    /// With `spec.secretRef`, the Secret (in the provider's namespace) must
    /// have a non-empty key `address`, which replaces `spec.address`; its
    /// optional key `token` is sent to Slack as `Authorization: Bearer`.
    /// Username and channel default to Flagger's `flagger` and `general`.
    pub fn from_provider<O: Objects + ?Sized>(
        namespace: &str,
        name: &str,
        spec: &AlertProviderSpec,
        objects: &O,
    ) -> Result<Notifier, AlertError> {
        let origin = Origin::Provider {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        let (address, address_source, token) = match &spec.secret_ref {
            Some(secret_ref) => {
                let secret = objects
                    .secret(namespace, &secret_ref.name)
                    .map_err(|source| AlertError::Secret {
                        origin: origin.clone(),
                        source: Box::new(source),
                    })?;
                let address =
                    secret
                        .text("address")
                        .ok_or_else(|| AlertError::SecretAddressMissing {
                            origin: origin.clone(),
                            namespace: namespace.to_owned(),
                            secret: secret_ref.name.clone(),
                        })?;
                let source = AddressSource::Secret {
                    namespace: namespace.to_owned(),
                    name: secret_ref.name.clone(),
                };
                (address, source, secret.text("token"))
            }
            None => {
                let address = non_empty(spec.address.as_deref()).ok_or_else(|| {
                    AlertError::AddressMissing {
                        origin: origin.clone(),
                    }
                })?;
                (address.to_owned(), AddressSource::Spec, None)
            }
        };
        Notifier::new(NotifierSettings {
            origin,
            kind: spec.r#type,
            address,
            address_source,
            token,
            username: non_empty(spec.username.as_deref())
                .unwrap_or(DEFAULT_ALERT_USERNAME)
                .to_owned(),
            channel: non_empty(spec.channel.as_deref())
                .unwrap_or(DEFAULT_ALERT_CHANNEL)
                .to_owned(),
            proxy: non_empty(spec.proxy.as_deref()).map(str::to_owned),
        })
    }

    /// Checks the address (an absolute http or https URL) and, for Discord,
    /// appends `/slack` unless the path already ends with it.
    pub(crate) fn new(settings: NotifierSettings) -> Result<Notifier, AlertError> {
        let invalid = |reason: String| AlertError::InvalidAddress {
            origin: settings.origin.clone(),
            address_source: settings.address_source.clone(),
            reason,
        };
        // url's messages ("relative URL without a base", "invalid port
        // number") never quote the input, which may come from a Secret.
        let mut address =
            Url::parse(settings.address.trim()).map_err(|error| invalid(error.to_string()))?;
        if !matches!(address.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the scheme is `{}`, not http or https",
                address.scheme()
            )));
        }
        if settings.kind == AlertProviderType::Discord {
            address = discord_slack_endpoint(address);
        }
        Ok(Notifier {
            origin: settings.origin,
            kind: settings.kind,
            address,
            token: settings.token,
            username: settings.username,
            channel: settings.channel,
            proxy: settings.proxy,
        })
    }

    /// Which provider (or global notifier) this is.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The chat system.
    pub fn kind(&self) -> AlertProviderType {
        self.kind
    }

    /// The Slack username (Slack, Discord, Rocket.Chat).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The Slack channel (Slack, Discord, Rocket.Chat).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The proxy requests go through, if any.
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// Whether a bot token is sent (`Authorization: Bearer`).
    pub fn sends_token(&self) -> bool {
        self.bearer_token().is_some()
    }

    /// Scheme, host and port of the address: what messages may show. The
    /// full address is a credential and never shown.
    pub fn destination(&self) -> String {
        self.address.origin().ascii_serialization()
    }

    /// `notification` as this notifier's chat system renders it.
    pub fn payload(&self, notification: &Notification) -> Payload {
        Payload::render(self.kind, &self.username, &self.channel, notification)
    }

    /// The token is Slack's only: Flagger hands the Secret's `token` to its
    /// Slack notifier alone (it is a Slack bot token, for
    /// `chat.postMessage`), and the other chat systems' webhooks
    /// authenticate by their URL.
    fn bearer_token(&self) -> Option<&str> {
        match self.kind {
            AlertProviderType::Slack => self.token.as_deref(),
            _ => None,
        }
    }

    /// POSTs `notification`. Succeeds on any 2xx answer.
    pub async fn send(
        &self,
        clients: &ClientCache,
        notification: &Notification,
    ) -> Result<(), AlertError> {
        let kind = self.kind;
        let client = clients
            .client(self.proxy())
            .map_err(|source| AlertError::Client {
                origin: self.origin.clone(),
                source,
            })?;
        let body = self
            .payload(notification)
            .to_json()
            .map_err(|error| AlertError::Encode {
                origin: self.origin.clone(),
                kind,
                message: error.to_string(),
            })?;
        let destination = self.destination();
        let timeout = clients.timeout();
        let mut request = client
            .post(self.address.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(token) = self.bearer_token() {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|error| AlertError::Transport {
                origin: self.origin.clone(),
                kind,
                // Without the URL: reqwest's messages would quote the full address.
                source: weir_http::describe(&error.without_url(), &destination, Some(timeout)),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = match weir_http::read_body(response, ERROR_BODY_LIMIT, Some(timeout)).await {
            Ok(body) if body.iter().all(u8::is_ascii_whitespace) => "(empty body)".to_owned(),
            Ok(body) => weir_http::excerpt(&String::from_utf8_lossy(&body), ERROR_BODY_EXCERPT),
            // read_body's errors name the full URL: describe them without it.
            Err(HttpError::BodyTooLarge { limit, .. }) => {
                format!("(body larger than {limit} bytes)")
            }
            Err(HttpError::Timeout { .. }) => {
                format!("(body not received within {}s)", timeout.as_secs_f64())
            }
            Err(HttpError::Transport { message, .. } | HttpError::Config(message)) => {
                format!("(body unreadable: {message})")
            }
        };
        Err(AlertError::Status {
            origin: self.origin.clone(),
            kind,
            destination,
            status: status.as_u16(),
            body,
        })
    }
}

/// Addresses and tokens are credentials: Debug shows where requests go
/// (scheme, host, port) and whether a token is set, nothing more.
impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("origin", &self.origin)
            .field("kind", &self.kind)
            .field("destination", &self.destination())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("username", &self.username)
            .field("channel", &self.channel)
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .finish()
    }
}

/// `url` without path, query or credentials.
pub(crate) fn redact_url(url: &str) -> String {
    Url::parse(url)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_else(|_| "<unparsable>".to_owned())
}

/// Discord's Slack-compatible endpoint: `<address>/slack`, unless the path
/// already ends with `/slack`. Unlike Flagger, which tests the suffix of the
/// whole URL, the path is tested, so a query (`?thread_id=...`) or a
/// trailing slash does not lead to `/slack/slack`.
fn discord_slack_endpoint(mut address: Url) -> Url {
    let path = address.path().trim_end_matches('/');
    if !path.ends_with(DISCORD_SLACK_SUFFIX) {
        let path = format!("{path}{DISCORD_SLACK_SUFFIX}");
        address.set_path(&path);
    }
    address
}

/// `value` trimmed, or `None` when it is missing or blank: Flagger treats an
/// empty string as unset everywhere.
pub(crate) fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// HTTP clients for notifiers, one per proxy setting, shared by clones.
///
/// A `reqwest::Client` holds a connection pool and TLS configuration:
/// building one per alert would cost a TLS handshake per alert and throw
/// the pool away. Every client has the same timeout.
#[derive(Clone)]
pub struct ClientCache {
    timeout: Duration,
    clients: Arc<Mutex<HashMap<Option<String>, reqwest::Client>>>,
}

impl ClientCache {
    /// Clients whose requests time out after `timeout` (Flagger: [`DEFAULT_TIMEOUT`]).
    pub fn new(timeout: Duration) -> ClientCache {
        ClientCache {
            timeout,
            clients: Arc::default(),
        }
    }

    /// The whole-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The client for `proxy` (`None`: direct, or `HTTP(S)_PROXY` from the
    /// environment, as Go's default transport does).
    pub fn client(&self, proxy: Option<&str>) -> Result<reqwest::Client, HttpError> {
        let key = non_empty(proxy).map(str::to_owned);
        // A panic while holding the lock cannot leave the map inconsistent:
        // it is only ever inserted into whole.
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = weir_http::client(&ClientOptions {
            timeout: Some(self.timeout),
            proxy: key.clone(),
            ..ClientOptions::default()
        })?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// How many clients have been built (one per distinct proxy setting).
    pub fn len(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no client has been built yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for ClientCache {
    fn default() -> ClientCache {
        ClientCache::new(DEFAULT_TIMEOUT)
    }
}

impl fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCache")
            .field("timeout", &self.timeout)
            .field("clients", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(address: &str) -> String {
        discord_slack_endpoint(Url::parse(address).expect("test address")).to_string()
    }

    #[test]
    fn discord_addresses_get_the_slack_suffix_once() {
        assert_eq!(
            endpoint("https://discord.com/api/webhooks/1/abc"),
            "https://discord.com/api/webhooks/1/abc/slack"
        );
        assert_eq!(
            endpoint("https://discord.com/api/webhooks/1/abc/"),
            "https://discord.com/api/webhooks/1/abc/slack"
        );
        assert_eq!(
            endpoint("https://discord.com/api/webhooks/1/abc/slack"),
            "https://discord.com/api/webhooks/1/abc/slack"
        );
        assert_eq!(
            endpoint("https://discord.com/api/webhooks/1/abc?thread_id=7"),
            "https://discord.com/api/webhooks/1/abc/slack?thread_id=7"
        );
        assert_eq!(
            endpoint("https://discord.test"),
            "https://discord.test/slack"
        );
    }

    #[test]
    fn clients_are_built_once_per_proxy_setting() {
        let clients = ClientCache::default();
        clients.client(None).expect("direct client");
        clients.client(Some("")).expect("blank proxy means direct");
        clients
            .client(Some("http://proxy.test:3128"))
            .expect("proxied client");
        clients
            .client(Some("http://proxy.test:3128"))
            .expect("cached");
        assert_eq!(clients.len(), 2);
        assert_eq!(clients.clone().len(), 2, "clones share the cache");
    }

    #[test]
    fn debug_output_shows_neither_the_address_path_nor_the_token() {
        let notifier = Notifier::new(NotifierSettings {
            origin: Origin::GlobalSlack,
            kind: AlertProviderType::Slack,
            address: "https://hooks.slack.com/services/T000/B000/s3cr3tpath".to_owned(),
            address_source: AddressSource::Setting("-slack-url"),
            token: Some("xoxb-s3cr3t-token".to_owned()),
            username: "flagger".to_owned(),
            channel: "general".to_owned(),
            proxy: Some("http://user:pa55word@proxy.test:3128".to_owned()),
        })
        .expect("valid settings");
        let debug = format!("{notifier:?}");
        assert!(debug.contains("https://hooks.slack.com"), "{debug}");
        for secret in ["s3cr3tpath", "xoxb-s3cr3t-token", "pa55word"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
