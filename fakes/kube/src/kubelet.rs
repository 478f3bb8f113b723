//! The fake kubelet: plays the Deployment and DaemonSet controllers (and
//! the kubelets under them) by writing workload status as they would.
//!
//! ```text
//!   spec change (generation N)            after `ready_after`
//!   ───────────────────────────▶ Progressing ─────────────────▶ Complete
//!   observedGeneration = N        updated pods not available     all desired pods
//!   Progressing=True              yet; old pods still serve      updated, ready and
//!     ReplicaSetUpdated                                          available
//!                                   │ Readiness::Never: stays     Progressing=True
//!                                   │ Readiness::ProgressDeadline  NewReplicaSetAvailable
//!                                   ▼  Exceeded: after the delay  Available=True
//!                                 Progressing=False
//!                                   ProgressDeadlineExceeded
//! ```
//!
//! A new generation starts over: a changed pod template from the
//! beginning (old pods keep serving: `replicas` counts them, so
//! `replicas > updatedReplicas` until the rollout completes), a scale-only
//! change with the pods already there (scaling down completes at once, as
//! does anything scaled to zero).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::FakeKubeError;
use crate::store::{Store, instant_after, metadata_str, now_timestamp, resource_version_of};

/// The kind of a workload the kubelet rolls out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` DaemonSet.
    DaemonSet,
}

impl WorkloadKind {
    fn kind(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::DaemonSet => "DaemonSet",
        }
    }
}

/// One workload, for per-workload readiness overrides.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Workload {
    /// Deployment or DaemonSet.
    pub kind: WorkloadKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl Workload {
    /// A Deployment.
    pub fn deployment(namespace: &str, name: &str) -> Workload {
        Workload {
            kind: WorkloadKind::Deployment,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// A DaemonSet.
    pub fn daemon_set(namespace: &str, name: &str) -> Workload {
        Workload {
            kind: WorkloadKind::DaemonSet,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// How a workload's rollouts end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Every rollout completes this long after it starts.
    After(Duration),
    /// Rollouts never complete: new pods never become available.
    Never,
    /// Rollouts fail this long after they start: the Deployment's
    /// `Progressing` condition turns False with `ProgressDeadlineExceeded`
    /// (DaemonSets have no such condition and stay progressing).
    ProgressDeadlineExceeded {
        /// How long until the deadline is reported exceeded.
        after: Duration,
    },
}

/// How the fake kubelet behaves.
#[derive(Debug, Clone)]
pub struct KubeletOptions {
    /// How long a rollout takes unless overridden per workload. Short by
    /// default so tests are fast, yet long enough that a controller sees
    /// the workload progressing first.
    pub ready_after: Duration,
    /// How many nodes DaemonSets run on (a node selector can exclude them;
    /// nodes carry `kubernetes.io/hostname: fake-node-<i>`,
    /// `kubernetes.io/os: linux` and `kubernetes.io/arch: amd64`).
    pub nodes: u32,
}

impl Default for KubeletOptions {
    fn default() -> KubeletOptions {
        KubeletOptions {
            ready_after: Duration::from_millis(100),
            nodes: 1,
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    overrides: Mutex<HashMap<Workload, Readiness>>,
    /// Wakes the loop when an override changes.
    wake: Notify,
}

/// A running fake kubelet. It stops when dropped (or on
/// [`FakeKubelet::stop`]).
#[derive(Debug)]
pub struct FakeKubelet {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeKubelet {
    /// Starts rolling out the store's Deployments and DaemonSets on the
    /// current Tokio runtime.
    pub fn start(store: &Store, options: KubeletOptions) -> Result<FakeKubelet, FakeKubeError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| FakeKubeError::NoRuntime { fake: "kubelet" })?;
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = oneshot::channel();
        let task = runtime.spawn(run(store.clone(), options, Arc::clone(&shared), stopped));
        Ok(FakeKubelet {
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Overrides how this workload's rollouts end (the current one
    /// included).
    pub fn set_readiness(&self, workload: Workload, readiness: Readiness) {
        self.overrides().insert(workload, readiness);
        self.shared.wake.notify_one();
    }

    /// Returns the workload to the default readiness.
    pub fn clear_readiness(&self, workload: &Workload) {
        self.overrides().remove(workload);
        self.shared.wake.notify_one();
    }

    fn overrides(&self) -> std::sync::MutexGuard<'_, HashMap<Workload, Readiness>> {
        // A map insert or remove cannot leave it inconsistent.
        self.shared
            .overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the kubelet and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Progressing,
    Complete,
    DeadlineExceeded,
}

/// What the kubelet remembers of a workload (by uid) between passes.
#[derive(Debug, Clone)]
struct Rollout {
    generation: i64,
    template: String,
    started: Instant,
    /// Pods of an older template exist while this rollout runs.
    replaces_pods: bool,
    /// Pods available when this rollout started.
    previously_available: i64,
    /// Seen already rolled out (a seeded status): complete until the next
    /// generation.
    adopted: bool,
}

async fn run(
    store: Store,
    options: KubeletOptions,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut changes = store.subscribe();
    let mut rollouts: HashMap<String, Rollout> = HashMap::new();
    loop {
        changes.borrow_and_update();
        let next_wake = reconcile(&store, &options, &shared, &mut rollouts, Instant::now());
        let sleep = async {
            match next_wake {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = sleep => {}
            () = shared.wake.notified() => {}
            _ = &mut stopped => return,
        }
    }
}

/// One pass over every workload; returns when the next rollout completes
/// or fails.
fn reconcile(
    store: &Store,
    options: &KubeletOptions,
    shared: &Shared,
    rollouts: &mut HashMap<String, Rollout>,
    now: Instant,
) -> Option<Instant> {
    let overrides = shared
        .overrides
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut next_wake: Option<Instant> = None;
    let mut seen = HashSet::new();
    for kind in [WorkloadKind::Deployment, WorkloadKind::DaemonSet] {
        let Ok(resource) = store.resource_by_kind("apps/v1", kind.kind()) else {
            continue;
        };
        let Ok(objects) = store.list_values("apps/v1", kind.kind(), None) else {
            continue;
        };
        for object in objects {
            let uid = metadata_str(&object, "uid").unwrap_or_default().to_string();
            let namespace = metadata_str(&object, "namespace")
                .unwrap_or_default()
                .to_string();
            let name = metadata_str(&object, "name")
                .unwrap_or_default()
                .to_string();
            seen.insert(uid.clone());
            let rollout = track(rollouts, &uid, kind, &object, now);
            if rollout.adopted {
                // A status seeded for the current generation is left as
                // it is until the next generation.
                continue;
            }
            let workload = Workload {
                kind,
                namespace: namespace.clone(),
                name: name.clone(),
            };
            let readiness = overrides
                .get(&workload)
                .copied()
                .unwrap_or(Readiness::After(options.ready_after));
            let desired = desired_pods(kind, &object, options);
            let (phase, wake) = phase_of(rollout, readiness, desired, now);
            if let Some(wake) = wake {
                next_wake = Some(next_wake.map_or(wake, |next| next.min(wake)));
            }
            let status = match kind {
                WorkloadKind::Deployment => deployment_status(&object, rollout, phase, desired),
                WorkloadKind::DaemonSet => daemon_set_status(&object, rollout, phase, desired),
            };
            if object.get("status") != Some(&status) {
                // A newer object (a spec change racing this pass) is left for
                // the next pass, which the change itself triggers.
                store.write_status_if_unchanged(
                    &resource,
                    &namespace,
                    &name,
                    resource_version_of(&object),
                    status,
                );
            }
        }
    }
    rollouts.retain(|uid, _| seen.contains(uid));
    next_wake
}

/// The rollout for this object's generation, starting a new one when the
/// generation changed.
fn track<'a>(
    rollouts: &'a mut HashMap<String, Rollout>,
    uid: &str,
    kind: WorkloadKind,
    object: &Value,
    now: Instant,
) -> &'a Rollout {
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let template = object
        .pointer("/spec/template")
        .map(Value::to_string)
        .unwrap_or_default();
    let available = available_pods(kind, object);
    match rollouts.entry(uid.to_string()) {
        Entry::Occupied(entry) => {
            let rollout = entry.into_mut();
            if rollout.generation != generation {
                *rollout = Rollout {
                    generation,
                    replaces_pods: rollout.template != template && available > 0,
                    template,
                    started: now,
                    previously_available: available,
                    adopted: false,
                };
            }
            rollout
        }
        Entry::Vacant(entry) => {
            let observed = object
                .pointer("/status/observedGeneration")
                .and_then(Value::as_i64);
            entry.insert(Rollout {
                generation,
                template,
                started: now,
                replaces_pods: false,
                previously_available: available,
                adopted: observed == Some(generation),
            })
        }
    }
}

fn phase_of(
    rollout: &Rollout,
    readiness: Readiness,
    desired: i64,
    now: Instant,
) -> (Phase, Option<Instant>) {
    if rollout.adopted || desired == 0 {
        return (Phase::Complete, None);
    }
    let elapsed = now.saturating_duration_since(rollout.started);
    match readiness {
        Readiness::Never => (Phase::Progressing, None),
        Readiness::After(delay) if elapsed >= delay => (Phase::Complete, None),
        Readiness::After(delay) => (
            Phase::Progressing,
            Some(instant_after(rollout.started, delay)),
        ),
        Readiness::ProgressDeadlineExceeded { after } if elapsed >= after => {
            (Phase::DeadlineExceeded, None)
        }
        Readiness::ProgressDeadlineExceeded { after } => (
            Phase::Progressing,
            Some(instant_after(rollout.started, after)),
        ),
    }
}

fn integer_at(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

fn available_pods(kind: WorkloadKind, object: &Value) -> i64 {
    match kind {
        WorkloadKind::Deployment => integer_at(object, "/status/availableReplicas"),
        WorkloadKind::DaemonSet => integer_at(object, "/status/numberAvailable"),
    }
    .unwrap_or(0)
}

/// Pods the workload wants: `spec.replicas` (default 1) for a Deployment,
/// the nodes its node selector admits for a DaemonSet.
fn desired_pods(kind: WorkloadKind, object: &Value, options: &KubeletOptions) -> i64 {
    match kind {
        WorkloadKind::Deployment => integer_at(object, "/spec/replicas").unwrap_or(1).max(0),
        WorkloadKind::DaemonSet => {
            let selector = object
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object);
            (0..options.nodes)
                .filter(|node| {
                    let hostname = format!("fake-node-{node}");
                    selector.is_none_or(|selector| {
                        selector.iter().all(|(key, value)| {
                            let label = match key.as_str() {
                                "kubernetes.io/hostname" => Some(hostname.as_str()),
                                "kubernetes.io/os" => Some("linux"),
                                "kubernetes.io/arch" => Some("amd64"),
                                _ => None,
                            };
                            label.is_some() && value.as_str() == label
                        })
                    })
                })
                .count() as i64
        }
    }
}

/// How many pods may be unavailable during a rolling update:
/// `maxUnavailable` as a count or a percentage of the desired pods rounded
/// down (default 25%), or all of them for `Recreate`.
fn max_unavailable(object: &Value, desired: i64) -> i64 {
    if object
        .pointer("/spec/strategy/type")
        .and_then(Value::as_str)
        == Some("Recreate")
    {
        return desired;
    }
    match object.pointer("/spec/strategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(count)) => count.as_i64().unwrap_or(0),
        Some(Value::String(text)) => text
            .strip_suffix('%')
            .and_then(|percent| percent.parse::<i64>().ok())
            .map_or(0, |percent| desired.saturating_mul(percent) / 100),
        _ => desired / 4,
    }
}

/// The ReplicaSet name the Deployment controller would use: the name and
/// the pod-template hash (FNV-1a of the template, its decimal digits
/// mapped onto the API server's safe alphabet, as `rand.SafeEncodeString`).
fn replica_set_name(object: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let template = object
        .pointer("/spec/template")
        .map(Value::to_string)
        .unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    for byte in template.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let encoded: String = hash
        .to_string()
        .bytes()
        .map(|digit| char::from(ALPHABET[usize::from(digit) % ALPHABET.len()]))
        .collect();
    format!(
        "{}-{encoded}",
        metadata_str(object, "name").unwrap_or_default()
    )
}

/// A condition, keeping the previous timestamps when nothing about it
/// changed (the transition time only moves when the status flips).
fn condition(
    existing: Option<&Value>,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
) -> Value {
    let status = if status { "True" } else { "False" };
    let previous = existing
        .and_then(|status| status.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|condition| condition.get("type").and_then(Value::as_str) == Some(kind))
        });
    let now = now_timestamp();
    let same_status = previous
        .is_some_and(|previous| previous.get("status").and_then(Value::as_str) == Some(status));
    let unchanged = same_status
        && previous.is_some_and(|previous| {
            previous.get("reason").and_then(Value::as_str) == Some(reason)
                && previous.get("message").and_then(Value::as_str) == Some(message)
        });
    let previous_time = |field: &str| {
        previous
            .and_then(|previous| previous.get(field))
            .cloned()
            .unwrap_or_else(|| json!(now))
    };
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": if unchanged { previous_time("lastUpdateTime") } else { json!(now) },
        "lastTransitionTime": if same_status { previous_time("lastTransitionTime") } else { json!(now) },
        "reason": reason,
        "message": message,
    })
}

/// Inserts `value` unless it is zero: the API server omits zero counts
/// (`omitempty`), and clients must read a missing count as 0.
fn insert_count(status: &mut serde_json::Map<String, Value>, field: &str, value: i64) {
    if value != 0 {
        status.insert(field.to_string(), json!(value));
    }
}

fn deployment_status(object: &Value, rollout: &Rollout, phase: Phase, desired: i64) -> Value {
    let previously_available = rollout.previously_available.min(desired).max(0);
    let (replicas, updated, available) = match phase {
        Phase::Complete => (desired, desired, desired),
        Phase::Progressing | Phase::DeadlineExceeded if rollout.replaces_pods => {
            // New pods are created but not ready; the old ones still serve.
            (
                rollout.previously_available.saturating_add(desired),
                desired,
                previously_available,
            )
        }
        Phase::Progressing | Phase::DeadlineExceeded => (desired, desired, previously_available),
    };
    let existing = object.get("status");
    let replica_set = replica_set_name(object);
    let minimum_available = available >= desired.saturating_sub(max_unavailable(object, desired));
    let available_condition = if minimum_available {
        condition(
            existing,
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        condition(
            existing,
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let progressing_condition = match phase {
        Phase::Complete => condition(
            existing,
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{replica_set}\" has successfully progressed."),
        ),
        Phase::Progressing => condition(
            existing,
            "Progressing",
            true,
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{replica_set}\" is progressing."),
        ),
        Phase::DeadlineExceeded => condition(
            existing,
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{replica_set}\" has timed out progressing."),
        ),
    };
    let mut status = serde_json::Map::new();
    status.insert("observedGeneration".to_string(), json!(rollout.generation));
    insert_count(&mut status, "replicas", replicas);
    insert_count(&mut status, "updatedReplicas", updated);
    insert_count(&mut status, "readyReplicas", available);
    insert_count(&mut status, "availableReplicas", available);
    insert_count(
        &mut status,
        "unavailableReplicas",
        desired.saturating_sub(available).max(0),
    );
    status.insert(
        "conditions".to_string(),
        json!([available_condition, progressing_condition]),
    );
    Value::Object(status)
}

fn daemon_set_status(_object: &Value, rollout: &Rollout, phase: Phase, desired: i64) -> Value {
    let previously_available = rollout.previously_available.min(desired).max(0);
    let (updated, available) = match phase {
        Phase::Complete => (desired, desired),
        // New pods replace old ones node by node; until then the old ones serve.
        Phase::Progressing | Phase::DeadlineExceeded if rollout.replaces_pods => {
            (0, previously_available)
        }
        Phase::Progressing | Phase::DeadlineExceeded => (desired, previously_available),
    };
    let mut status = serde_json::Map::new();
    // These four are required fields of DaemonSetStatus: always present.
    status.insert("currentNumberScheduled".to_string(), json!(desired));
    status.insert("desiredNumberScheduled".to_string(), json!(desired));
    status.insert("numberMisscheduled".to_string(), json!(0));
    status.insert("numberReady".to_string(), json!(available));
    status.insert("observedGeneration".to_string(), json!(rollout.generation));
    insert_count(&mut status, "updatedNumberScheduled", updated);
    insert_count(&mut status, "numberAvailable", available);
    insert_count(
        &mut status,
        "numberUnavailable",
        desired.saturating_sub(available).max(0),
    );
    Value::Object(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replica_set_name_is_stable_and_changes_with_the_template() {
        let first = json!({"metadata": {"name": "podinfo"}, "spec": {"template": {"a": 1}}});
        let second = json!({"metadata": {"name": "podinfo"}, "spec": {"template": {"a": 2}}});
        assert_eq!(replica_set_name(&first), replica_set_name(&first.clone()));
        assert_ne!(replica_set_name(&first), replica_set_name(&second));
        assert!(replica_set_name(&first).starts_with("podinfo-"));
    }

    #[test]
    fn max_unavailable_defaults_to_a_quarter_rounded_down() {
        let deployment = json!({"spec": {}});
        assert_eq!(max_unavailable(&deployment, 1), 0);
        assert_eq!(max_unavailable(&deployment, 8), 2);
        let percent = json!({"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": "50%"}}}});
        assert_eq!(max_unavailable(&percent, 3), 1);
        let count = json!({"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": 2}}}});
        assert_eq!(max_unavailable(&count, 3), 2);
    }

    #[test]
    fn daemon_sets_run_on_the_nodes_their_selector_admits() {
        let options = KubeletOptions {
            nodes: 3,
            ..KubeletOptions::default()
        };
        let everywhere = json!({"spec": {"template": {"spec": {}}}});
        let one = json!({"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/hostname": "fake-node-1"}}}}});
        let none = json!({"spec": {"template": {"spec": {"nodeSelector": {"flagger.app/scale-to-zero": "true"}}}}});
        assert_eq!(
            desired_pods(WorkloadKind::DaemonSet, &everywhere, &options),
            3
        );
        assert_eq!(desired_pods(WorkloadKind::DaemonSet, &one, &options), 1);
        assert_eq!(desired_pods(WorkloadKind::DaemonSet, &none, &options), 0);
    }
}
