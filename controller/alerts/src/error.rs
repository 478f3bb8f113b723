//! Why an alert could not be sent, or a notifier not built.
//!
//! Messages name the notifier (the AlertProvider or the global notifier)
//! and, for configuration problems, what is missing and where to set it.
//! They never contain a token or an address read from a Secret: webhook
//! URLs are credentials (anyone holding a Slack hook URL can post to the
//! channel), so requests are described by their origin
//! (`https://hooks.slack.com`) only.

use std::fmt;

use weir_api::AlertProviderType;
use weir_api::objects::LookupError;
use weir_http::HttpError;

/// Which notifier an error is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An `AlertProvider` referenced by a Canary's `analysis.alerts`.
    Provider {
        /// The provider's namespace.
        namespace: String,
        /// The provider's name.
        name: String,
    },
    /// The controller's global Slack notifier (`-slack-url`).
    GlobalSlack,
    /// The controller's global Microsoft Teams notifier (`-msteams-url`).
    GlobalTeams,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Provider { namespace, name } => write!(f, "AlertProvider {namespace}/{name}"),
            Origin::GlobalSlack => f.write_str("global Slack notifier"),
            Origin::GlobalTeams => f.write_str("global MS Teams notifier"),
        }
    }
}

/// Where a notifier's address came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddressSource {
    /// The AlertProvider's `spec.address`.
    Spec,
    /// Key `address` of the AlertProvider's `secretRef`.
    Secret {
        /// The Secret's namespace (the provider's).
        namespace: String,
        /// The Secret's name.
        name: String,
    },
    /// A controller flag or its environment variable.
    Setting(&'static str),
}

impl fmt::Display for AddressSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressSource::Spec => f.write_str("spec.address"),
            AddressSource::Secret { namespace, name } => {
                write!(f, "key `address` of Secret {namespace}/{name}")
            }
            AddressSource::Setting(setting) => f.write_str(setting),
        }
    }
}

/// Why a notifier could not be built or an alert not delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// The engine defaults the namespace; a reference without one is a bug
    /// in the caller, reported rather than guessed.
    #[error("the reference to AlertProvider {name} has no namespace")]
    ProviderNamespaceMissing {
        /// The provider's name.
        name: String,
    },
    /// The AlertProvider does not exist or cannot be read.
    #[error("{0}")]
    Provider(LookupError),
    /// The Secret named by `spec.secretRef` does not exist or cannot be read.
    #[error("{origin}: spec.secretRef: {source}")]
    Secret {
        /// The provider.
        origin: Origin,
        /// Why the Secret could not be read (boxed: it is large, and rare).
        source: Box<LookupError>,
    },
    /// `spec.secretRef` is set but its Secret has no (non-empty) `address`.
    #[error(
        "{origin}: Secret {namespace}/{secret} has no `address` key (or it is empty); \
         it is required when spec.secretRef is set"
    )]
    SecretAddressMissing {
        /// The provider.
        origin: Origin,
        /// The Secret's namespace.
        namespace: String,
        /// The Secret's name.
        secret: String,
    },
    /// Neither `spec.address` nor `spec.secretRef`.
    #[error(
        "{origin} has no address: set spec.address, or spec.secretRef to a Secret with key `address`"
    )]
    AddressMissing {
        /// The provider.
        origin: Origin,
    },
    /// The address is not an absolute http(s) URL. The address itself is
    /// left out: it may come from a Secret.
    #[error("{origin}: {address_source} is not an absolute http(s) URL: {reason}")]
    InvalidAddress {
        /// The notifier.
        origin: Origin,
        /// Where the address was set.
        address_source: AddressSource,
        /// What is wrong with it, without quoting it.
        reason: String,
    },
    /// The global notifier's configuration is incomplete or contradictory.
    #[error("{origin}: {problem}")]
    GlobalConfig {
        /// Which global notifier.
        origin: Origin,
        /// What is wrong, naming the flags and variables involved.
        problem: String,
    },
    /// The HTTP client could not be built (a bad proxy URL).
    #[error("{origin}: {source}")]
    Client {
        /// The notifier.
        origin: Origin,
        /// Why the client could not be built.
        source: HttpError,
    },
    /// The payload could not be encoded (never expected: all fields are strings).
    #[error("{origin}: cannot encode the {} payload: {message}", .kind.as_str())]
    Encode {
        /// The notifier.
        origin: Origin,
        /// The chat system.
        kind: AlertProviderType,
        /// serde_json's message.
        message: String,
    },
    /// The request failed or timed out.
    #[error("{origin} ({}): {source}", .kind.as_str())]
    Transport {
        /// The notifier.
        origin: Origin,
        /// The chat system.
        kind: AlertProviderType,
        /// What failed, described by the destination's origin only.
        source: HttpError,
    },
    /// The chat system answered with a status other than 2xx.
    #[error(
        "{origin} ({}): {destination} answered HTTP {status}{}: {body}",
        .kind.as_str(),
        reason(*.status)
    )]
    Status {
        /// The notifier.
        origin: Origin,
        /// The chat system.
        kind: AlertProviderType,
        /// Scheme, host and port only.
        destination: String,
        /// The HTTP status code.
        status: u16,
        /// An excerpt of the response body, or a note that it was empty or unreadable.
        body: String,
    },
}

/// ` Internal Server Error` for 500: the reason phrase, when there is one.
fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default()
}
