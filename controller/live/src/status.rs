//! The Canary's status (the engine's only memory) and its finalizer, written
//! through the status subresource with Flagger's conflict retries.
//!
//! ```text
//!   write_status(canary) ──▶ GET latest ── replace its status ──▶ PUT /status
//!                               ▲                                   │ 409 Conflict
//!                               └────── backoff 10ms · 5ⁿ ──────────┘ (4 attempts)
//! ```
//!
//! Only the status is replaced: the spec and metadata of the latest object
//! are written back as read, so a user's concurrent edit of the spec is
//! never undone by a status write.

use std::time::Duration;

use kube::api::{Api, PostParams};
use weir_api::Canary;
use weir_engine::ports::{PortError, StatusStore};
use weir_http::Bridge;

/// Flagger's finalizer, kept so that Canaries move between Flagger and weir.
pub const FINALIZER: &str = "finalizer.flagger.app";

/// client-go's `retry.DefaultBackoff`: 4 steps from 10 ms, five times longer
/// each (10, 50, 250, 1250 ms), which Flagger's `RetryOnConflict` uses.
const CONFLICT_RETRIES: u32 = 4;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(10);
const RETRY_FACTOR: u32 = 5;

/// The status and finalizer port over the Kubernetes API.
#[derive(Clone)]
pub struct KubeStatus {
    api: Api<Canary>,
    bridge: Bridge,
}

impl std::fmt::Debug for KubeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeStatus").finish_non_exhaustive()
    }
}

impl KubeStatus {
    /// Writes Canaries of one namespace.
    pub fn new(client: kube::Client, namespace: &str, bridge: Bridge) -> KubeStatus {
        KubeStatus {
            api: Api::namespaced(client, namespace),
            bridge,
        }
    }
}

/// Whether `error` is the API server refusing a stale `resourceVersion`.
pub fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// The waits between conflicting writes: `retry.DefaultBackoff`.
pub(crate) fn conflict_delays() -> impl Iterator<Item = Duration> {
    (0..CONFLICT_RETRIES - 1).map(|step| FIRST_RETRY_DELAY * RETRY_FACTOR.pow(step))
}

/// Runs `attempt` until it succeeds, fails with something other than a
/// conflict, or the retries run out.
pub async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut delay = FIRST_RETRY_DELAY;
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if is_conflict(&error) && tries < CONFLICT_RETRIES => {
                tokio::time::sleep(delay).await;
                delay *= RETRY_FACTOR;
                tries += 1;
            }
            result => return result,
        }
    }
}

fn port_error(what: &str, canary: &Canary, error: &kube::Error) -> PortError {
    PortError::new(format!(
        "{what} of canary {}.{} failed: {error}",
        canary.name(),
        canary.namespace()
    ))
}

impl StatusStore for KubeStatus {
    fn write_status(&mut self, canary: &Canary) -> Result<(), PortError> {
        let api = &self.api;
        let name = canary.name();
        let status = canary.status.clone();
        self.bridge
            .run(retry_on_conflict(|| {
                let status = status.clone();
                async move {
                    let mut latest = api.get_status(name).await?;
                    latest.status = status;
                    api.replace_status(name, &PostParams::default(), &latest)
                        .await
                        .map(drop)
                }
            }))
            .map_err(|error| port_error("status update", canary, &error))
    }

    fn remove_finalizer(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.bridge
            .run(set_finalizer(&self.api, canary.name(), false))
            .map_err(|error| port_error("finalizer removal", canary, &error))
    }
}

/// Adds weir's (Flagger's) finalizer to the Canary `name`, or removes it
/// (Flagger removes it as soon as `revertOnDeletion` is turned off, and
/// once a revert on deletion is done). A Canary already gone is fine.
pub async fn set_finalizer(
    api: &Api<Canary>,
    name: &str,
    present: bool,
) -> Result<(), kube::Error> {
    retry_on_conflict(|| async move {
        let Some(mut latest) = api.get_opt(name).await? else {
            return Ok(());
        };
        let finalizers = latest.metadata.finalizers.get_or_insert_with(Vec::new);
        if finalizers.iter().any(|finalizer| finalizer == FINALIZER) == present {
            return Ok(());
        }
        if present {
            finalizers.push(FINALIZER.to_owned());
        } else {
            finalizers.retain(|finalizer| finalizer != FINALIZER);
        }
        api.replace(name, &PostParams::default(), &latest)
            .await
            .map(drop)
    })
    .await
}
