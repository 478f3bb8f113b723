//! The objects a tick reads besides the Canary: MetricTemplates and
//! AlertProviders from watch caches, and the Secrets they reference,
//! fetched before the tick.
//!
//! ```text
//!   reflector stores: MetricTemplate, AlertProvider   (watched like Flagger's informers)
//!        │
//!   prefetch(canary) ── templateRefs / providerRefs ──▶ secretRefs ──GET──▶ Secrets (this tick only)
//!        │
//!        ▼
//!   TickObjects: weir_api::objects::Objects, answered from memory
//! ```
//!
//! Secrets are not watched: a cluster-wide Secret cache would hold every
//! credential in the cluster in the controller's memory. Reading only the
//! Secrets a Canary's templates and providers name, once per tick, keeps
//! them fresh (a rotated token applies at the next tick) and the memory
//! small. The lookups the engine makes during the tick are then synchronous
//! reads of memory, as the `Objects` trait requires.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use weir_api::objects::{LookupError, Objects, SecretData};
use weir_api::{AlertProvider, Canary, MetricTemplate};

/// The watch caches of MetricTemplates and AlertProviders.
#[derive(Clone)]
pub struct Caches {
    pub templates: Store<MetricTemplate>,
    pub providers: Store<AlertProvider>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("templates", &self.templates.state().len())
            .field("providers", &self.providers.state().len())
            .finish()
    }
}

/// What one tick may read: the caches and the Secrets fetched for it.
#[derive(Clone, Debug)]
pub struct TickObjects {
    caches: Caches,
    secrets: BTreeMap<(String, String), Result<SecretData, LookupError>>,
}

impl TickObjects {
    /// Reads the Secrets `canary`'s MetricTemplates and AlertProviders
    /// name. A Secret that cannot be read is remembered as such, so the
    /// provider that needs it reports why.
    pub async fn prefetch(client: &kube::Client, caches: &Caches, canary: &Canary) -> TickObjects {
        let mut wanted: Vec<(String, String)> = Vec::new();
        let analysis = canary.spec.analysis();
        for metric in &analysis.metrics {
            let Some(reference) = &metric.template_ref else {
                continue;
            };
            let namespace = namespace_or(reference.namespace.as_deref(), canary);
            let key = ObjectRef::<MetricTemplate>::new(&reference.name).within(&namespace);
            if let Some(secret) = caches
                .templates
                .get(&key)
                .and_then(|template| template.spec.provider.secret_ref.clone())
            {
                // The Secret lives beside the template.
                wanted.push((namespace, secret.name));
            }
        }
        for alert in &analysis.alerts {
            let reference = &alert.provider_ref;
            let namespace = namespace_or(reference.namespace.as_deref(), canary);
            let key = ObjectRef::<AlertProvider>::new(&reference.name).within(&namespace);
            if let Some(secret) = caches
                .providers
                .get(&key)
                .and_then(|provider| provider.spec.secret_ref.clone())
            {
                wanted.push((namespace, secret.name));
            }
        }
        wanted.sort();
        wanted.dedup();
        let mut secrets = BTreeMap::new();
        for (namespace, name) in wanted {
            let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
            let result = match api.get_opt(&name).await {
                Ok(Some(secret)) => Ok(secret_data(&secret)),
                Ok(None) => Err(LookupError::not_found("Secret", &namespace, &name)),
                Err(error) => Err(LookupError::Unavailable {
                    kind: "Secret",
                    namespace: namespace.clone(),
                    name: name.clone(),
                    message: error.to_string(),
                }),
            };
            secrets.insert((namespace, name), result);
        }
        TickObjects {
            caches: caches.clone(),
            secrets,
        }
    }
}

fn namespace_or(namespace: Option<&str>, canary: &Canary) -> String {
    namespace
        .filter(|namespace| !namespace.is_empty())
        .unwrap_or(canary.namespace())
        .to_owned()
}

/// A Secret's `data` (and `stringData`, which a client may have set).
pub fn secret_data(secret: &Secret) -> SecretData {
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.0.clone()))
        .collect();
    for (key, value) in secret.string_data.iter().flatten() {
        data.entry(key.clone())
            .or_insert_with(|| value.as_bytes().to_vec());
    }
    SecretData::new(data)
}

impl Objects for TickObjects {
    fn metric_template(&self, namespace: &str, name: &str) -> Result<MetricTemplate, LookupError> {
        self.caches
            .templates
            .get(&ObjectRef::new(name).within(namespace))
            .map(Arc::unwrap_or_clone)
            .ok_or_else(|| LookupError::not_found("MetricTemplate", namespace, name))
    }

    fn alert_provider(&self, namespace: &str, name: &str) -> Result<AlertProvider, LookupError> {
        self.caches
            .providers
            .get(&ObjectRef::new(name).within(namespace))
            .map(Arc::unwrap_or_clone)
            .ok_or_else(|| LookupError::not_found("AlertProvider", namespace, name))
    }

    fn secret(&self, namespace: &str, name: &str) -> Result<SecretData, LookupError> {
        self.secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .unwrap_or_else(|| Err(LookupError::not_found("Secret", namespace, name)))
    }
}
