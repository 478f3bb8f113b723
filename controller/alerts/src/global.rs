//! The global notifier: where alerts go for Canaries without
//! `analysis.alerts` (Flagger's `-slack-*` and `-msteams-*` flags).

use std::fmt;

use weir_api::AlertProviderType;
use weir_api::alert_provider::DEFAULT_ALERT_USERNAME;

use crate::error::{AddressSource, AlertError, Origin};
use crate::notifier::{Notifier, NotifierSettings, non_empty, redact_url};

/// Environment variable for `-slack-url`.
pub const SLACK_URL_ENV: &str = "SLACK_URL";
/// Environment variable for `-slack-token`.
pub const SLACK_TOKEN_ENV: &str = "SLACK_TOKEN";
/// Environment variable for `-slack-proxy-url`.
pub const SLACK_PROXY_URL_ENV: &str = "SLACK_PROXY_URL";
/// Environment variable for `-msteams-url`.
pub const MSTEAMS_URL_ENV: &str = "MSTEAMS_URL";
/// Environment variable for `-msteams-proxy-url`.
pub const MSTEAMS_PROXY_URL_ENV: &str = "MSTEAMS_PROXY_URL";

/// How error messages name the settings: flag and environment variable.
const SLACK_URL_SETTING: &str = "-slack-url / SLACK_URL";
const MSTEAMS_URL_SETTING: &str = "-msteams-url / MSTEAMS_URL";

/// The global notifier's settings: Flagger's flags and their environment
/// variables.
///
/// | field | flag | environment |
/// |---|---|---|
/// | `slack_url` | `-slack-url` | `SLACK_URL` |
/// | `slack_token` | `-slack-token` | `SLACK_TOKEN` |
/// | `slack_proxy_url` | `-slack-proxy-url` | `SLACK_PROXY_URL` |
/// | `slack_user` | `-slack-user` (default `flagger`) | |
/// | `slack_channel` | `-slack-channel` | |
/// | `msteams_url` | `-msteams-url` | `MSTEAMS_URL` |
/// | `msteams_proxy_url` | `-msteams-proxy-url` | `MSTEAMS_PROXY_URL` |
///
/// Fill the fields from the flags, then [`from_env`](Self::from_env): as in
/// Flagger (`fromEnv` in `cmd/flagger/main.go`), a non-empty environment
/// variable wins over its flag. Empty strings mean unset.
#[derive(Clone, PartialEq, Eq)]
pub struct GlobalNotifierConfig {
    /// Slack incoming-webhook or `chat.postMessage` URL.
    pub slack_url: Option<String>,
    /// Slack bot token, sent as `Authorization: Bearer`.
    pub slack_token: Option<String>,
    /// HTTP(S) proxy for Slack.
    pub slack_proxy_url: Option<String>,
    /// Slack username (Flagger's default: `flagger`).
    pub slack_user: String,
    /// Slack channel; required with a Slack URL (Flagger has no default here).
    pub slack_channel: Option<String>,
    /// Microsoft Teams incoming-webhook URL; wins over Slack.
    pub msteams_url: Option<String>,
    /// HTTP(S) proxy for Microsoft Teams.
    pub msteams_proxy_url: Option<String>,
}

impl Default for GlobalNotifierConfig {
    fn default() -> GlobalNotifierConfig {
        GlobalNotifierConfig {
            slack_url: None,
            slack_token: None,
            slack_proxy_url: None,
            slack_user: DEFAULT_ALERT_USERNAME.to_owned(),
            slack_channel: None,
            msteams_url: None,
            msteams_proxy_url: None,
        }
    }
}

impl GlobalNotifierConfig {
    /// This configuration with the process environment merged in: each
    /// non-empty variable replaces its flag's value.
    pub fn from_env(self) -> GlobalNotifierConfig {
        self.from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with `lookup` as the environment.
    pub fn from_env_with(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> GlobalNotifierConfig {
        let merge = |flag: &mut Option<String>, variable: &str| {
            if let Some(value) = lookup(variable).filter(|value| !value.is_empty()) {
                *flag = Some(value);
            }
        };
        merge(&mut self.slack_url, SLACK_URL_ENV);
        merge(&mut self.slack_token, SLACK_TOKEN_ENV);
        merge(&mut self.slack_proxy_url, SLACK_PROXY_URL_ENV);
        merge(&mut self.msteams_url, MSTEAMS_URL_ENV);
        merge(&mut self.msteams_proxy_url, MSTEAMS_PROXY_URL_ENV);
        self
    }

    /// The global notifier: MS Teams if a Teams URL is set, else Slack if a
    /// Slack URL is set, else `None` (alerts without providers go nowhere).
    ///
    /// Unlike Flagger, which logs an error and silently falls back to a
    /// no-op notifier, an unusable configuration is an error here, meant to
    /// stop the controller at startup: an invalid URL, a Slack URL without
    /// a channel or username, or settings that cannot take effect (a token,
    /// channel or proxy without the URL they belong to).
    pub fn build(&self) -> Result<Option<Notifier>, AlertError> {
        let slack_url = non_empty(self.slack_url.as_deref());
        let slack_token = non_empty(self.slack_token.as_deref());
        let slack_proxy = non_empty(self.slack_proxy_url.as_deref());
        let slack_channel = non_empty(self.slack_channel.as_deref());
        let msteams_url = non_empty(self.msteams_url.as_deref());
        let msteams_proxy = non_empty(self.msteams_proxy_url.as_deref());

        if let Some(address) = msteams_url {
            // Teams wins over Slack, as in Flagger: the Slack settings are
            // then unused.
            return Notifier::new(NotifierSettings {
                origin: Origin::GlobalTeams,
                kind: AlertProviderType::Msteams,
                address: address.to_owned(),
                address_source: AddressSource::Setting(MSTEAMS_URL_SETTING),
                token: None,
                username: String::new(),
                channel: String::new(),
                proxy: msteams_proxy.map(str::to_owned),
            })
            .map(Some);
        }
        if msteams_proxy.is_some() {
            return Err(incomplete(
                Origin::GlobalTeams,
                "-msteams-proxy-url / MSTEAMS_PROXY_URL",
                MSTEAMS_URL_SETTING,
            ));
        }

        let Some(address) = slack_url else {
            let orphans = [
                (slack_token.is_some(), "-slack-token / SLACK_TOKEN"),
                (slack_proxy.is_some(), "-slack-proxy-url / SLACK_PROXY_URL"),
                (slack_channel.is_some(), "-slack-channel"),
            ];
            return match orphans.iter().find(|(set, _)| *set) {
                Some((_, setting)) => {
                    Err(incomplete(Origin::GlobalSlack, setting, SLACK_URL_SETTING))
                }
                None => Ok(None),
            };
        };
        let username =
            non_empty(Some(&self.slack_user)).ok_or_else(|| AlertError::GlobalConfig {
                origin: Origin::GlobalSlack,
                problem: "-slack-user is empty; Slack needs a username to post as".to_owned(),
            })?;
        let channel = slack_channel.ok_or_else(|| AlertError::GlobalConfig {
            origin: Origin::GlobalSlack,
            problem: format!(
                "{SLACK_URL_SETTING} is set but -slack-channel is not; Slack needs a channel"
            ),
        })?;
        Notifier::new(NotifierSettings {
            origin: Origin::GlobalSlack,
            kind: AlertProviderType::Slack,
            address: address.to_owned(),
            address_source: AddressSource::Setting(SLACK_URL_SETTING),
            token: slack_token.map(str::to_owned),
            username: username.to_owned(),
            channel: channel.to_owned(),
            proxy: slack_proxy.map(str::to_owned),
        })
        .map(Some)
    }
}

fn incomplete(origin: Origin, setting: &str, required: &str) -> AlertError {
    AlertError::GlobalConfig {
        origin,
        problem: format!("{setting} is set but {required} is not"),
    }
}

/// The URLs are credentials and the token is one: Debug shows only which
/// are present, and proxies without their credentials.
impl fmt::Debug for GlobalNotifierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("GlobalNotifierConfig")
            .field("slack_url", &redacted(&self.slack_url))
            .field("slack_token", &redacted(&self.slack_token))
            .field(
                "slack_proxy_url",
                &self.slack_proxy_url.as_deref().map(redact_url),
            )
            .field("slack_user", &self.slack_user)
            .field("slack_channel", &self.slack_channel)
            .field("msteams_url", &redacted(&self.msteams_url))
            .field(
                "msteams_proxy_url",
                &self.msteams_proxy_url.as_deref().map(redact_url),
            )
            .finish()
    }
}
