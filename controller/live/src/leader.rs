//! Leader election with a `coordination.k8s.io/v1` Lease, as client-go's
//! `leaderelection` does it for Flagger (`-enable-leader-election`).
//!
//! ```text
//!   acquire: every RETRY_PERIOD ──▶ Lease free, expired or ours? ──yes──▶ write it (resourceVersion)
//!                                          │ no                               │ leader
//!                                          └── wait ◀──────────────────────────┘
//!   hold:    every RETRY_PERIOD renew; no successful renewal for RENEW_DEADLINE ──▶ leadership lost
//!   release: on shutdown, hand the Lease back (holder cleared, 1 s duration)
//! ```
//!
//! The Lease is `flagger-leader-election`, so a weir controller and a Flagger
//! controller never run side by side on the same cluster: whichever holds
//! the Lease acts, the other waits. Losing leadership ends the process, as
//! in Flagger: the Deployment restarts it, and it waits for the Lease again.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};

/// The Lease's name: Flagger's, so that Flagger and weir exclude each other.
pub const LEASE_NAME: &str = "flagger-leader-election";

/// Flagger's timings (`LeaseDuration`, `RenewDeadline`, `RetryPeriod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// How long a holder's claim lasts without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// How often candidates try to acquire, and the leader renews.
    pub retry_period: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            lease_duration: Duration::from_secs(60),
            renew_deadline: Duration::from_secs(15),
            retry_period: Duration::from_secs(5),
        }
    }
}

/// Why leadership ended.
#[derive(Debug, thiserror::Error)]
pub enum LeadershipError {
    #[error(
        "leadership lost: the Lease {namespace}/{LEASE_NAME} could not be renewed for {deadline:?}: {last_error}"
    )]
    Lost {
        namespace: String,
        deadline: Duration,
        last_error: String,
    },
}

/// One candidate for the Lease.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    namespace: String,
    identity: String,
    timings: Timings,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("namespace", &self.namespace)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// What one attempt found.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Attempt {
    /// We hold the Lease (acquired or renewed).
    Leading,
    /// Someone else holds it.
    Following { holder: String },
}

impl LeaderElector {
    /// A candidate named `identity` (hostname and a random suffix, as
    /// client-go names candidates).
    pub fn new(
        client: kube::Client,
        namespace: &str,
        identity: String,
        timings: Timings,
    ) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            identity,
            timings,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Waits until this candidate holds the Lease.
    pub async fn acquire(&self) {
        let mut announced = None;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(Attempt::Leading) => {
                    tracing::info!(identity = %self.identity, "acting as elected leader");
                    return;
                }
                Ok(Attempt::Following { holder }) => {
                    if announced.as_ref() != Some(&holder) {
                        tracing::info!("another instance has been elected as leader: {holder}");
                        announced = Some(holder);
                    }
                }
                Err(error) => tracing::warn!("cannot acquire the leader Lease: {error}"),
            }
            tokio::time::sleep(self.timings.retry_period).await;
        }
    }

    /// Renews the Lease until renewal fails for longer than the renew
    /// deadline (leadership lost), or another candidate took it.
    pub async fn hold(&self) -> LeadershipError {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.timings.retry_period).await;
            let error = match self.try_acquire_or_renew().await {
                Ok(Attempt::Leading) => {
                    last_renewal = tokio::time::Instant::now();
                    continue;
                }
                Ok(Attempt::Following { holder }) => format!("{holder} holds it"),
                Err(error) => error.to_string(),
            };
            if last_renewal.elapsed() >= self.timings.renew_deadline || error.ends_with("holds it")
            {
                return LeadershipError::Lost {
                    namespace: self.namespace.clone(),
                    deadline: self.timings.renew_deadline,
                    last_error: error,
                };
            }
            tracing::warn!("cannot renew the leader Lease: {error}");
        }
    }

    /// Hands the Lease back so that another candidate need not wait for it
    /// to expire (client-go's `ReleaseOnCancel`).
    pub async fn release(&self) {
        let result = async {
            let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
                return Ok(());
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(Timestamp::now()));
            self.api
                .replace(LEASE_NAME, &PostParams::default(), &lease)
                .await
                .map(drop)
        }
        .await;
        if let Err(error) = result {
            tracing::warn!("cannot release the leader Lease: {error}");
        }
    }

    async fn try_acquire_or_renew(&self) -> Result<Attempt, kube::Error> {
        let now = Timestamp::now();
        let duration_seconds =
            i32::try_from(self.timings.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.to_owned()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(duration_seconds),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Leading),
                // Another candidate created it first.
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Following {
                    holder: "another candidate".to_owned(),
                }),
                Err(error) => Err(error),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == self.identity;
        if !ours && !holder.is_empty() && !expired(spec, now) {
            return Ok(Attempt::Following { holder });
        }
        if !ours {
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = Some(self.identity.clone());
        spec.lease_duration_seconds = Some(duration_seconds);
        spec.renew_time = Some(MicroTime(now));
        // `replace` carries the resourceVersion read: a candidate that
        // wrote in between makes this a 409, and we follow.
        match self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Attempt::Leading),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Following {
                holder: "another candidate".to_owned(),
            }),
            Err(error) => Err(error),
        }
    }
}

/// Whether the holder's claim has lapsed at `now`.
fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let Some(MicroTime(renewed)) = spec.renew_time else {
        return true;
    };
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    renewed.checked_add(duration).is_ok_and(|until| until < now)
}

/// A candidate identity: the hostname (the pod's name) and a random suffix,
/// so that two processes on one host differ.
pub fn candidate_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "weir-controller".to_owned());
    format!("{host}_{}", crate::random_letters(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(renewed_seconds_ago: i64, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some("other".to_owned()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(
                Timestamp::now()
                    .checked_sub(SignedDuration::from_secs(renewed_seconds_ago))
                    .expect("in range"),
            )),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_claim_lapses_after_its_duration_without_renewal() {
        assert!(!expired(&spec(10, 60), Timestamp::now()));
        assert!(expired(&spec(61, 60), Timestamp::now()));
        assert!(expired(&LeaseSpec::default(), Timestamp::now()));
    }

    #[test]
    fn identities_name_the_host_and_differ() {
        let first = candidate_identity();
        let second = candidate_identity();
        assert!(first.contains('_'), "{first}");
        assert_ne!(first, second);
    }
}
