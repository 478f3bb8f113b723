//! The objects an analysis reads besides the Canary: MetricTemplates,
//! AlertProviders and the Secrets they reference.
//!
//! ```text
//!   Canary.analysis.metrics[].templateRef ──▶ MetricTemplate ──secretRef──▶ Secret (template's namespace)
//!   Canary.analysis.alerts[].providerRef  ──▶ AlertProvider  ──secretRef──▶ Secret (provider's namespace)
//! ```
//!
//! The live controller answers from its watch caches, the simulator and
//! tests from memory ([`InMemoryObjects`]). Lookups are synchronous: they
//! read caches, never the network.

use std::collections::BTreeMap;
use std::fmt;

use crate::{AlertProvider, MetricTemplate};

/// Why an object could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{kind} {namespace}/{name} not found")]
    NotFound {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    /// The cache or API server could not answer.
    #[error("cannot read {kind} {namespace}/{name}: {message}")]
    Unavailable {
        kind: &'static str,
        namespace: String,
        name: String,
        message: String,
    },
}

impl LookupError {
    pub fn not_found(kind: &'static str, namespace: &str, name: &str) -> LookupError {
        LookupError::NotFound {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

/// A Secret's decoded `data`.
///
/// Values are trimmed of surrounding whitespace when read as text: a token
/// stored with `echo token | base64` carries a newline that Flagger would
/// send as part of the header, and that no provider accepts.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretData(BTreeMap<String, Vec<u8>>);

impl SecretData {
    pub fn new(data: BTreeMap<String, Vec<u8>>) -> SecretData {
        SecretData(data)
    }

    /// A secret from text values.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> SecretData {
        SecretData(
            pairs
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.as_bytes().to_vec()))
                .collect(),
        )
    }

    /// The value of `key` as trimmed UTF-8 text; `None` when the key is
    /// missing, empty, or not text.
    pub fn text(&self, key: &str) -> Option<String> {
        let value = std::str::from_utf8(self.0.get(key)?).ok()?.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// [`SecretData::text`], kept secret.
    pub fn secret(&self, key: &str) -> Option<SecretString> {
        self.text(key).map(SecretString)
    }

    pub fn bytes(&self, key: &str) -> Option<&[u8]> {
        self.0.get(key).map(Vec::as_slice)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Secret values never appear in logs or debug output.
impl fmt::Debug for SecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A value read from a Secret: usable, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> SecretString {
        SecretString(value.into())
    }

    /// The value, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where MetricTemplates, AlertProviders and Secrets are read from.
pub trait Objects: Send + Sync {
    fn metric_template(&self, namespace: &str, name: &str) -> Result<MetricTemplate, LookupError>;
    fn alert_provider(&self, namespace: &str, name: &str) -> Result<AlertProvider, LookupError>;
    fn secret(&self, namespace: &str, name: &str) -> Result<SecretData, LookupError>;
}

impl<T: Objects + ?Sized> Objects for std::sync::Arc<T> {
    fn metric_template(&self, namespace: &str, name: &str) -> Result<MetricTemplate, LookupError> {
        (**self).metric_template(namespace, name)
    }
    fn alert_provider(&self, namespace: &str, name: &str) -> Result<AlertProvider, LookupError> {
        (**self).alert_provider(namespace, name)
    }
    fn secret(&self, namespace: &str, name: &str) -> Result<SecretData, LookupError> {
        (**self).secret(namespace, name)
    }
}

/// Objects held in memory, keyed by namespace and name.
#[derive(Clone, Debug, Default)]
pub struct InMemoryObjects {
    pub metric_templates: BTreeMap<(String, String), MetricTemplate>,
    pub alert_providers: BTreeMap<(String, String), AlertProvider>,
    pub secrets: BTreeMap<(String, String), SecretData>,
}

fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_owned(), name.to_owned())
}

impl InMemoryObjects {
    /// Adds a MetricTemplate under its own namespace (`default` if unset).
    pub fn with_metric_template(mut self, template: MetricTemplate) -> InMemoryObjects {
        let namespace = template
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = template.metadata.name.clone().unwrap_or_default();
        self.metric_templates.insert((namespace, name), template);
        self
    }

    /// Adds an AlertProvider under its own namespace (`default` if unset).
    pub fn with_alert_provider(mut self, provider: AlertProvider) -> InMemoryObjects {
        let namespace = provider
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = provider.metadata.name.clone().unwrap_or_default();
        self.alert_providers.insert((namespace, name), provider);
        self
    }

    pub fn with_secret(mut self, namespace: &str, name: &str, data: SecretData) -> InMemoryObjects {
        self.secrets.insert(key(namespace, name), data);
        self
    }
}

impl Objects for InMemoryObjects {
    fn metric_template(&self, namespace: &str, name: &str) -> Result<MetricTemplate, LookupError> {
        self.metric_templates
            .get(&key(namespace, name))
            .cloned()
            .ok_or_else(|| LookupError::not_found("MetricTemplate", namespace, name))
    }

    fn alert_provider(&self, namespace: &str, name: &str) -> Result<AlertProvider, LookupError> {
        self.alert_providers
            .get(&key(namespace, name))
            .cloned()
            .ok_or_else(|| LookupError::not_found("AlertProvider", namespace, name))
    }

    fn secret(&self, namespace: &str, name: &str) -> Result<SecretData, LookupError> {
        self.secrets
            .get(&key(namespace, name))
            .cloned()
            .ok_or_else(|| LookupError::not_found("Secret", namespace, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_text_is_trimmed_and_empty_values_are_missing() {
        let secret = SecretData::from_pairs([("token", "abc\n"), ("empty", " \n"), ("user", "me")]);
        assert_eq!(secret.text("token").as_deref(), Some("abc"));
        assert_eq!(secret.text("empty"), None);
        assert_eq!(secret.text("absent"), None);
        assert_eq!(secret.text("user").as_deref(), Some("me"));
    }

    #[test]
    fn secret_values_never_appear_in_debug_output() {
        let secret = SecretData::from_pairs([("token", "s3cr3t")]);
        let debug = format!("{secret:?}");
        assert!(
            debug.contains("token") && !debug.contains("s3cr3t"),
            "{debug}"
        );
        let value = secret.secret("token").expect("present");
        assert_eq!(format!("{value:?}"), "<redacted>");
        assert_eq!(value.expose(), "s3cr3t");
    }

    #[test]
    fn a_missing_object_names_its_kind_namespace_and_name() {
        let objects = InMemoryObjects::default();
        let error = objects.secret("test", "prom-auth").expect_err("absent");
        assert_eq!(error.to_string(), "Secret test/prom-auth not found");
    }
}
