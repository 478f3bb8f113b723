//! The object store: JSON objects keyed by (group, version, plural,
//! namespace, name), the server-managed metadata, deletion with finalizers
//! and owner-reference garbage collection, and the history of changes that
//! watches are served from.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::error::{ApiError, StoreError};
use crate::patch::{self, PatchBody};
use crate::registry::{Registry, ResourceType};
use crate::selector::{FieldSelector, LabelSelector};

/// How many changes the store keeps for watches resuming from an older
/// `resourceVersion` by default. The API server's watch cache keeps a few
/// minutes of changes; this covers every test and simulated run while
/// bounding memory, and a watch from before it gets 410 and relists, as it
/// would from a real server.
pub(crate) const DEFAULT_WATCH_HISTORY: usize = 4096;

/// Identifies one stored object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjectKey {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) plural: String,
    /// `""` for cluster-scoped objects.
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl ObjectKey {
    fn new(resource: &ResourceType, namespace: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: resource.group.clone(),
            version: resource.version.clone(),
            plural: resource.plural.clone(),
            namespace: if resource.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }

    fn is_of(&self, resource: &ResourceType) -> bool {
        self.group == resource.group
            && self.version == resource.version
            && self.plural == resource.plural
    }
}

/// What happened to an object in one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One committed change, as watches replay it.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) resource_version: u64,
    pub(crate) key: ObjectKey,
    pub(crate) kind: ChangeKind,
    /// The object after the change (for `Deleted`, its last state with the
    /// deletion's resource version).
    pub(crate) object: Value,
    /// The object before the change, for `Modified`: a watch with a
    /// selector turns a change into ADDED or DELETED when the object starts
    /// or stops matching.
    pub(crate) previous: Option<Value>,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The object itself: with a status subresource, the stored status wins.
    Main,
    /// The `status` subresource: only `status` changes.
    Status,
    /// Everything (direct edits by tests and the fake kubelet).
    Whole,
}

/// The outcome of a delete.
#[derive(Debug, Clone)]
pub(crate) enum Deletion {
    /// The object is gone; its last state.
    Removed(Value),
    /// The object has finalizers: it now has a `deletionTimestamp` and stays
    /// until they are removed.
    Finalizing(Value),
}

/// How dependents are treated when their owner is deleted
/// (`propagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Propagation {
    /// Dependents are deleted after the owner (also used for `Foreground`).
    #[default]
    Background,
    /// Dependents lose their owner reference and stay.
    Orphan,
}

/// The options of a delete request.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteOptions {
    pub(crate) dry_run: bool,
    pub(crate) propagation: Propagation,
    pub(crate) precondition_uid: Option<String>,
    pub(crate) precondition_resource_version: Option<String>,
}

/// A page of a list.
#[derive(Debug, Clone)]
pub(crate) struct ListPage {
    pub(crate) items: Vec<Value>,
    pub(crate) resource_version: u64,
    /// Where the next page starts (namespace, name), when there is one.
    pub(crate) continue_after: Option<(String, String)>,
    pub(crate) remaining: usize,
}

/// Why a watch cannot continue from where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WatchGap {
    /// The changes after this version are no longer kept.
    Expired { requested: u64, oldest: u64 },
}

/// The store's shared state, behind one mutex: every operation is short
/// and none awaits while holding it.
#[derive(Debug)]
struct State {
    registry: Registry,
    objects: BTreeMap<ObjectKey, Value>,
    /// The global counter all resource versions come from, like etcd's
    /// revision: every committed change takes the next value.
    resource_version: u64,
    history: VecDeque<Arc<Change>>,
    history_capacity: usize,
    /// A watch from this version or later can be replayed from `history`.
    oldest_replayable: u64,
    /// Bumped by `expire_watches`: watches opened before end with 410.
    watch_epoch: u64,
    uid_counter: u64,
    uid_seed: u32,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// The latest resource version, published after every commit so that
    /// watches and the kubelet wake up.
    changes: watch::Sender<u64>,
}

/// The fake API server's objects, shared by the HTTP handlers, the fake
/// kubelet and tests (a cheap handle: clones share the same store).
///
/// Direct access takes an object's `apiVersion`, kind, namespace (`""` for
/// cluster-scoped kinds) and name, or a typed k8s-openapi object. It goes
/// through the same code as HTTP requests: server-managed metadata is set,
/// finalizers and owner references are honoured, and watches see the
/// changes. Unlike HTTP writes, direct writes may set `status` together
/// with the rest of the object, and are never failed by injected faults.
#[derive(Debug, Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl Default for Store {
    fn default() -> Store {
        Store::new()
    }
}

impl Store {
    /// An empty store with the built-in resource types and the `default`
    /// and `kube-system` namespaces.
    pub fn new() -> Store {
        Store::with_watch_history(DEFAULT_WATCH_HISTORY)
    }

    /// Like [`Store::new`], keeping `capacity` changes for watches that
    /// resume from an older resource version.
    pub fn with_watch_history(capacity: usize) -> Store {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos() ^ (elapsed.as_secs() as u32))
            .unwrap_or(0);
        let state = State {
            registry: Registry::with_builtin_types(),
            objects: BTreeMap::new(),
            resource_version: 0,
            history: VecDeque::new(),
            history_capacity: capacity.max(1),
            oldest_replayable: 0,
            watch_epoch: 0,
            uid_counter: 0,
            uid_seed: seed,
        };
        let (changes, _) = watch::channel(0);
        let store = Store {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                changes,
            }),
        };
        for namespace in ["default", "kube-system"] {
            // Cannot fail: the names are valid and the store is empty.
            let _ = store.create(&json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace},
            }));
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent data:
        // every mutation is committed in one step at its end.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `operation` under the lock, then wakes watches if it committed
    /// anything.
    fn mutate<R>(&self, operation: impl FnOnce(&mut State) -> R) -> R {
        let (result, before, after, epoch_changed) = {
            let mut state = self.lock();
            let before = state.resource_version;
            let epoch = state.watch_epoch;
            let result = operation(&mut state);
            (
                result,
                before,
                state.resource_version,
                state.watch_epoch != epoch,
            )
        };
        if after != before || epoch_changed {
            self.shared.changes.send_replace(after);
        }
        result
    }

    // ----- resource types -------------------------------------------------

    /// Registers a resource type (a CRD), or updates the registration of
    /// the same kind at the same group/version/plural.
    pub fn register(&self, resource: ResourceType) -> Result<(), StoreError> {
        self.lock().registry.register(resource)?;
        Ok(())
    }

    /// Every registered resource type, in registration order.
    pub fn resource_types(&self) -> Vec<ResourceType> {
        self.lock().registry.types().to_vec()
    }

    pub(crate) fn resource_by_plural(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<ResourceType> {
        self.lock()
            .registry
            .by_plural(group, version, plural)
            .cloned()
    }

    pub(crate) fn serves(&self, group: &str, version: &str) -> bool {
        self.lock().registry.serves(group, version)
    }

    pub(crate) fn groups(&self) -> Vec<(String, Vec<String>)> {
        self.lock().registry.groups()
    }

    pub(crate) fn resource_by_kind(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<ResourceType, StoreError> {
        self.lock()
            .registry
            .by_kind(api_version, kind)
            .cloned()
            .ok_or_else(|| StoreError::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            })
    }

    // ----- direct access --------------------------------------------------

    /// The latest resource version (the number of changes committed).
    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    /// A receiver of the latest resource version, updated after every
    /// change (and when watches are expired).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// Waits until `condition` holds, re-checking after every change, for at
    /// most `timeout`. Returns whether it held.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&Store) -> bool,
    ) -> bool {
        let mut changes = self.subscribe();
        let deadline = instant_after(tokio::time::Instant::now(), timeout);
        loop {
            changes.borrow_and_update();
            if condition(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as the store: only the timeout ends.
                Ok(Err(_)) | Err(_) => return condition(self),
            }
        }
    }

    /// Creates an object as a POST would, except that `status` is kept.
    /// Namespaced objects without `metadata.namespace` go to `default`.
    /// Returns the stored object with its server-managed metadata.
    pub fn create<T: Serialize>(&self, object: &T) -> Result<Value, StoreError> {
        let (resource, namespace, object) = self.typed_body(object)?;
        let created = self.mutate(|state| {
            state.create(&resource, &namespace, object, CreateMode::KeepStatus, false)
        })?;
        Ok(created)
    }

    /// Creates the object, or replaces the stored one (spec and status,
    /// whatever its `resourceVersion`). Returns the stored object.
    pub fn put<T: Serialize>(&self, object: &T) -> Result<Value, StoreError> {
        let (resource, namespace, object) = self.typed_body(object)?;
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let stored = self.mutate(|state| {
            let key = ObjectKey::new(&resource, &namespace, &name);
            match state.objects.get(&key).cloned() {
                Some(existing) => {
                    let mut candidate = object;
                    remove_metadata_field(&mut candidate, "resourceVersion");
                    let updated = build_update(&resource, &existing, candidate, Part::Whole);
                    state.commit_update(&resource, &key, &existing, updated, false)
                }
                None => state.create(&resource, &namespace, object, CreateMode::KeepStatus, false),
            }
        })?;
        Ok(stored)
    }

    /// The stored object, if any.
    pub fn get_value(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, StoreError> {
        let resource = self.resource_by_kind(api_version, kind)?;
        Ok(self
            .lock()
            .objects
            .get(&ObjectKey::new(&resource, namespace, name))
            .cloned())
    }

    /// The stored object as a k8s-openapi type, if any.
    pub fn get<K>(&self, namespace: &str, name: &str) -> Result<Option<K>, StoreError>
    where
        K: k8s_openapi::Resource + DeserializeOwned,
    {
        self.get_value(K::API_VERSION, K::KIND, namespace, name)?
            .map(|value| decode(K::KIND, name, value))
            .transpose()
    }

    /// The stored objects of a kind, in one namespace or (with `None`) all,
    /// ordered by namespace and name.
    pub fn list_values(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let resource = self.resource_by_kind(api_version, kind)?;
        let state = self.lock();
        Ok(state
            .objects
            .iter()
            .filter(|(key, _)| key.is_of(&resource))
            .filter(|(key, _)| namespace.is_none_or(|namespace| key.namespace == namespace))
            .map(|(_, object)| object.clone())
            .collect())
    }

    /// The stored objects of a k8s-openapi type, in one namespace or all.
    pub fn list<K>(&self, namespace: Option<&str>) -> Result<Vec<K>, StoreError>
    where
        K: k8s_openapi::Resource + DeserializeOwned,
    {
        self.list_values(K::API_VERSION, K::KIND, namespace)?
            .into_iter()
            .map(|value| {
                let name = object_name(&value).to_string();
                decode(K::KIND, &name, value)
            })
            .collect()
    }

    /// Edits a stored object in place, atomically: spec, status, labels,
    /// finalizers… (server-managed metadata is kept). Removing the last
    /// finalizer of an object being deleted removes it. An edit that changes
    /// nothing commits nothing. Returns the stored object.
    ///
    /// `edit` runs under the store's lock: it must not call the store.
    pub fn edit_value(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<Value, StoreError> {
        let resource = self.resource_by_kind(api_version, kind)?;
        let edited = self.mutate(|state| {
            let key = ObjectKey::new(&resource, namespace, name);
            let existing = state
                .objects
                .get(&key)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&resource, name))?;
            let mut candidate = existing.clone();
            edit(&mut candidate);
            if !candidate.is_object() {
                return Err(ApiError::bad_request("an edit must leave a JSON object"));
            }
            let updated = build_update(&resource, &existing, candidate, Part::Whole);
            state.commit_update(&resource, &key, &existing, updated, false)
        })?;
        Ok(edited)
    }

    /// Edits a stored object as a k8s-openapi type (see [`Store::edit_value`]).
    pub fn edit<K>(
        &self,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut K),
    ) -> Result<K, StoreError>
    where
        K: k8s_openapi::Resource + Serialize + DeserializeOwned,
    {
        let mut conversion_error = None;
        let edited = self.edit_value(K::API_VERSION, K::KIND, namespace, name, |value| {
            match serde_json::from_value::<K>(value.clone()) {
                Ok(mut typed) => {
                    edit(&mut typed);
                    match serde_json::to_value(&typed) {
                        Ok(encoded) => *value = encoded,
                        Err(error) => conversion_error = Some(error),
                    }
                }
                Err(error) => conversion_error = Some(error),
            }
        });
        if let Some(source) = conversion_error {
            return Err(StoreError::Conversion {
                kind: K::KIND.to_string(),
                name: name.to_string(),
                source,
            });
        }
        decode(K::KIND, name, edited?)
    }

    /// Deletes an object as a DELETE would (finalizers keep it, with a
    /// `deletionTimestamp`, until removed; dependents are garbage
    /// collected). Returns its last state.
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, StoreError> {
        let resource = self.resource_by_kind(api_version, kind)?;
        let deletion = self
            .mutate(|state| state.delete(&resource, namespace, name, &DeleteOptions::default()))?;
        Ok(match deletion {
            Deletion::Removed(object) | Deletion::Finalizing(object) => object,
        })
    }

    /// Forgets the change history and ends every open watch with a
    /// `410 Expired` error event, as an API server does when its watch
    /// cache is reset: clients must list again.
    pub fn expire_watches(&self) {
        self.mutate(|state| {
            state.history.clear();
            state.oldest_replayable = state.resource_version;
            state.watch_epoch += 1;
        });
    }

    fn typed_body<T: Serialize>(
        &self,
        object: &T,
    ) -> Result<(ResourceType, String, Value), StoreError> {
        let object = serde_json::to_value(object).map_err(|source| StoreError::Conversion {
            kind: "object".to_string(),
            name: String::new(),
            source,
        })?;
        let api_version = object.get("apiVersion").and_then(Value::as_str);
        let kind = object.get("kind").and_then(Value::as_str);
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return Err(StoreError::NotAnObject {
                problem: "a JSON object with apiVersion and kind is required".to_string(),
            });
        };
        let resource = self.resource_by_kind(api_version, kind)?;
        let namespace = match object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        {
            Some(namespace) if !namespace.is_empty() => namespace.to_string(),
            _ if resource.namespaced => "default".to_string(),
            _ => String::new(),
        };
        Ok((resource, namespace, object))
    }

    // ----- operations shared with the HTTP handlers -----------------------

    pub(crate) fn api_create(
        &self,
        resource: &ResourceType,
        namespace: &str,
        object: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        self.mutate(|state| {
            state.create(resource, namespace, object, CreateMode::DropStatus, dry_run)
        })
    }

    pub(crate) fn api_get(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.lock()
            .objects
            .get(&ObjectKey::new(resource, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, name))
    }

    pub(crate) fn api_list(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_after: Option<&(String, String)>,
    ) -> ListPage {
        let state = self.lock();
        let matching: Vec<(&ObjectKey, &Value)> = state
            .objects
            .iter()
            .filter(|(key, _)| key.is_of(resource))
            .filter(|(key, _)| namespace.is_none_or(|namespace| key.namespace == namespace))
            .filter(|(key, _)| {
                continue_after.is_none_or(|(namespace, name)| {
                    (key.namespace.as_str(), key.name.as_str())
                        > (namespace.as_str(), name.as_str())
                })
            })
            .filter(|(_, object)| labels.matches(object) && fields.matches(object))
            .collect();
        let taken = limit.map_or(matching.len(), |limit| limit.min(matching.len()));
        let remaining = matching.len() - taken;
        let continue_after = match (remaining, taken.checked_sub(1)) {
            (1.., Some(last)) => matching
                .get(last)
                .map(|(key, _)| (key.namespace.clone(), key.name.clone())),
            _ => None,
        };
        ListPage {
            items: matching
                .into_iter()
                .take(taken)
                .map(|(_, object)| object.clone())
                .collect(),
            resource_version: state.resource_version,
            continue_after,
            remaining,
        }
    }

    pub(crate) fn api_replace(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        body: Value,
        part: Part,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        self.mutate(|state| state.replace(resource, namespace, name, body, part, dry_run))
    }

    pub(crate) fn api_patch(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        patch: &PatchBody,
        part: Part,
        dry_run: bool,
    ) -> Result<(Value, bool), ApiError> {
        self.mutate(|state| state.patch(resource, namespace, name, patch, part, dry_run))
    }

    pub(crate) fn api_delete(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deletion, ApiError> {
        self.mutate(|state| state.delete(resource, namespace, name, options))
    }

    /// Writes a workload's status unless the object changed since it was
    /// read (the kubelet then recomputes from the newer object).
    pub(crate) fn write_status_if_unchanged(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        read_at: &str,
        status: Value,
    ) -> bool {
        self.mutate(|state| {
            let key = ObjectKey::new(resource, namespace, name);
            let Some(existing) = state.objects.get(&key).cloned() else {
                return false;
            };
            if resource_version_of(&existing) != read_at {
                return false;
            }
            let mut updated = existing.clone();
            set_field(&mut updated, "status", status);
            let updated = build_update(resource, &existing, updated, Part::Status);
            state
                .commit_update(resource, &key, &existing, updated, false)
                .is_ok()
        })
    }

    /// The objects of a type matching a watch's scope, and the version they
    /// were read at.
    pub(crate) fn snapshot(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
    ) -> (Vec<Value>, u64, u64) {
        let state = self.lock();
        let objects = state
            .objects
            .iter()
            .filter(|(key, _)| key.is_of(resource))
            .filter(|(key, _)| namespace.is_none_or(|namespace| key.namespace == namespace))
            .map(|(_, object)| object.clone())
            .collect();
        (objects, state.resource_version, state.watch_epoch)
    }

    /// The changes after `after`, and the version they run up to, or why
    /// they cannot be replayed.
    pub(crate) fn changes_since(
        &self,
        after: u64,
        epoch: u64,
    ) -> Result<(Vec<Arc<Change>>, u64), WatchGap> {
        let state = self.lock();
        if epoch != state.watch_epoch || after < state.oldest_replayable {
            return Err(WatchGap::Expired {
                requested: after,
                oldest: state.oldest_replayable + 1,
            });
        }
        let changes = state
            .history
            .iter()
            .filter(|change| change.resource_version > after)
            .cloned()
            .collect();
        Ok((changes, state.resource_version.max(after)))
    }

    /// The current watch epoch, and whether a watch may start from `after`.
    pub(crate) fn watch_start(&self, after: u64) -> (u64, Result<(), WatchGap>) {
        let state = self.lock();
        let check = if after < state.oldest_replayable {
            Err(WatchGap::Expired {
                requested: after,
                oldest: state.oldest_replayable + 1,
            })
        } else {
            Ok(())
        };
        (state.watch_epoch, check)
    }
}

/// Whether a create keeps a `status` given in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CreateMode {
    /// An API create of a type with a status subresource: the API server
    /// ignores the status (it is the controllers' to write).
    DropStatus,
    /// Seeding by a test.
    KeepStatus,
}

impl State {
    fn next_resource_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    fn record(&mut self, change: Change) {
        self.history.push_back(Arc::new(change));
        while self.history.len() > self.history_capacity {
            if let Some(dropped) = self.history.pop_front() {
                self.oldest_replayable = dropped.resource_version;
            }
        }
    }

    fn new_uid(&mut self) -> String {
        self.uid_counter += 1;
        // Unique within the store, shaped like the API server's v4 UUIDs.
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            self.uid_seed,
            (self.uid_counter >> 48) & 0xffff,
            (self.uid_counter >> 36) & 0xfff,
            (self.uid_counter >> 24) & 0xfff,
            self.uid_counter & 0xffff_ffff_ffff
        )
    }

    fn uid_exists(&self, uid: &str) -> bool {
        self.objects
            .values()
            .any(|object| object.pointer("/metadata/uid").and_then(Value::as_str) == Some(uid))
    }

    fn insert(&mut self, key: ObjectKey, mut object: Value) -> Value {
        let resource_version = self.next_resource_version();
        set_metadata_field(
            &mut object,
            "resourceVersion",
            json!(resource_version.to_string()),
        );
        self.objects.insert(key.clone(), object.clone());
        self.record(Change {
            resource_version,
            key,
            kind: ChangeKind::Added,
            object: object.clone(),
            previous: None,
        });
        object
    }

    fn overwrite(&mut self, key: &ObjectKey, mut object: Value, previous: Value) -> Value {
        let resource_version = self.next_resource_version();
        set_metadata_field(
            &mut object,
            "resourceVersion",
            json!(resource_version.to_string()),
        );
        self.objects.insert(key.clone(), object.clone());
        self.record(Change {
            resource_version,
            key: key.clone(),
            kind: ChangeKind::Modified,
            object: object.clone(),
            previous: Some(previous),
        });
        object
    }

    /// Removes an object and, in turn, what only it owned and, for a
    /// namespace, what it contained. Returns the removed object's last
    /// state.
    fn remove_and_collect(&mut self, key: &ObjectKey, propagation: Propagation) -> Option<Value> {
        let mut first = None;
        let mut pending = vec![(key.clone(), propagation)];
        while let Some((key, propagation)) = pending.pop() {
            let Some(mut object) = self.objects.remove(&key) else {
                continue;
            };
            let resource_version = self.next_resource_version();
            set_metadata_field(
                &mut object,
                "resourceVersion",
                json!(resource_version.to_string()),
            );
            self.record(Change {
                resource_version,
                key: key.clone(),
                kind: ChangeKind::Deleted,
                object: object.clone(),
                previous: None,
            });
            let uid = object
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if first.is_none() {
                first = Some(object);
            }
            if key.group.is_empty() && key.plural == "namespaces" {
                // The namespace controller deletes what the namespace held.
                let contained: Vec<ObjectKey> = self
                    .objects
                    .keys()
                    .filter(|contained| contained.namespace == key.name)
                    .cloned()
                    .collect();
                for contained in contained {
                    if self.mark_deleting(&contained) {
                        pending.push((contained, Propagation::Background));
                    }
                }
            }
            if uid.is_empty() {
                continue;
            }
            for dependent in self.dependents_of(&uid) {
                match propagation {
                    Propagation::Orphan => self.drop_owner_reference(&dependent, &uid),
                    Propagation::Background => {
                        if self.has_other_live_owner(&dependent, &uid) {
                            self.drop_owner_reference(&dependent, &uid);
                        } else if self.mark_deleting(&dependent) {
                            pending.push((dependent, Propagation::Background));
                        }
                    }
                }
            }
        }
        first
    }

    fn dependents_of(&self, uid: &str) -> Vec<ObjectKey> {
        self.objects
            .iter()
            .filter(|(_, object)| owner_uids(object).any(|owner| owner == uid))
            .map(|(key, _)| key.clone())
            .collect()
    }

    fn has_other_live_owner(&self, dependent: &ObjectKey, removed_uid: &str) -> bool {
        let Some(object) = self.objects.get(dependent) else {
            return false;
        };
        owner_uids(object)
            .filter(|owner| *owner != removed_uid)
            .any(|owner| self.uid_exists(owner))
    }

    fn drop_owner_reference(&mut self, key: &ObjectKey, uid: &str) {
        let Some(previous) = self.objects.get(key).cloned() else {
            return;
        };
        let mut updated = previous.clone();
        if let Some(references) = updated
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            references
                .retain(|reference| reference.get("uid").and_then(Value::as_str) != Some(uid));
        }
        tidy_metadata(&mut updated);
        self.overwrite(key, updated, previous);
    }

    /// Starts deleting an object: true when it can be removed now, false
    /// when finalizers keep it (it then gets a `deletionTimestamp`).
    fn mark_deleting(&mut self, key: &ObjectKey) -> bool {
        let Some(object) = self.objects.get(key).cloned() else {
            return false;
        };
        if finalizers(&object).is_empty() {
            return true;
        }
        if object.pointer("/metadata/deletionTimestamp").is_none() {
            let mut updated = object.clone();
            set_metadata_field(&mut updated, "deletionTimestamp", json!(now_timestamp()));
            set_metadata_field(&mut updated, "deletionGracePeriodSeconds", json!(0));
            self.overwrite(key, updated, object);
        }
        false
    }

    fn create(
        &mut self,
        resource: &ResourceType,
        namespace: &str,
        mut object: Value,
        mode: CreateMode,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        check_type_meta(resource, &object)?;
        ensure_metadata(&mut object)?;
        let body_namespace = metadata_str(&object, "namespace")
            .unwrap_or_default()
            .to_string();
        if resource.namespaced {
            if namespace.is_empty() {
                return Err(ApiError::bad_request(
                    "a namespace is required for a namespaced resource",
                ));
            }
            if !body_namespace.is_empty() && body_namespace != namespace {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            set_metadata_field(&mut object, "namespace", json!(namespace));
        } else {
            remove_metadata_field(&mut object, "namespace");
        }
        if metadata_str(&object, "resourceVersion").is_some_and(|version| !version.is_empty()) {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let name = match metadata_str(&object, "name").filter(|name| !name.is_empty()) {
            Some(name) => name.to_string(),
            None => match metadata_str(&object, "generateName").filter(|prefix| !prefix.is_empty())
            {
                Some(prefix) => {
                    let prefix = prefix.to_string();
                    self.generate_name(resource, namespace, &prefix)
                }
                None => {
                    return Err(ApiError::invalid(
                        resource,
                        "",
                        "metadata.name: Required value: name or generateName is required",
                    ));
                }
            },
        };
        validate_name(resource, &name)?;
        if resource.namespaced {
            validate_namespace_name(resource, &name, namespace)?;
        }
        set_metadata_field(&mut object, "name", json!(name));
        let key = ObjectKey::new(resource, namespace, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::AlreadyExists {
                resource: Box::new(resource.clone()),
                name,
            });
        }
        let uid = self.new_uid();
        set_metadata_field(&mut object, "uid", json!(uid));
        set_metadata_field(&mut object, "creationTimestamp", json!(now_timestamp()));
        set_metadata_field(&mut object, "generation", json!(1));
        for server_field in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
        ] {
            remove_metadata_field(&mut object, server_field);
        }
        if mode == CreateMode::DropStatus && resource.status_subresource {
            remove_field(&mut object, "status");
        }
        if resource.group.is_empty()
            && resource.kind == "Namespace"
            && object.get("status").is_none()
        {
            // The namespace lifecycle: a new namespace is Active.
            set_field(&mut object, "status", json!({"phase": "Active"}));
        }
        tidy(&mut object);
        if dry_run {
            return Ok(object);
        }
        Ok(self.insert(key, object))
    }

    /// A name for `generateName`: the prefix and five random characters
    /// from the API server's alphabet (no vowels, no look-alikes).
    fn generate_name(&mut self, resource: &ResourceType, namespace: &str, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        // The API server truncates the prefix so the name fits 63 characters.
        const MAX_PREFIX: usize = 58;
        let prefix: String = prefix.chars().take(MAX_PREFIX).collect();
        loop {
            self.uid_counter += 1;
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (self.uid_seed, self.uid_counter).hash(&mut hasher);
            let mut bits = hasher.finish();
            let mut name = prefix.clone();
            for _ in 0..5 {
                let index = (bits % ALPHABET.len() as u64) as usize;
                name.push(char::from(ALPHABET[index]));
                bits /= ALPHABET.len() as u64;
            }
            if !self
                .objects
                .contains_key(&ObjectKey::new(resource, namespace, &name))
            {
                return name;
            }
        }
    }

    fn existing(&self, resource: &ResourceType, key: &ObjectKey) -> Result<Value, ApiError> {
        self.objects
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, &key.name))
    }

    fn replace(
        &mut self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        body: Value,
        part: Part,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        check_type_meta(resource, &body)?;
        let mut body = body;
        ensure_metadata(&mut body)?;
        check_identity(resource, &body, namespace, name)?;
        let key = ObjectKey::new(resource, namespace, name);
        let existing = self.existing(resource, &key)?;
        check_preconditions(resource, &existing, &body)?;
        let updated = build_update(resource, &existing, body, part);
        self.commit_update(resource, &key, &existing, updated, dry_run)
    }

    fn patch(
        &mut self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        patch: &PatchBody,
        part: Part,
        dry_run: bool,
    ) -> Result<(Value, bool), ApiError> {
        let key = ObjectKey::new(resource, namespace, name);
        let Some(existing) = self.objects.get(&key).cloned() else {
            return match patch {
                // Server-side apply creates what does not exist.
                PatchBody::Apply(applied) if part == Part::Main => {
                    let mut object = applied.clone();
                    ensure_metadata(&mut object)?;
                    check_identity(resource, &object, namespace, name)?;
                    set_metadata_field(&mut object, "name", json!(name));
                    let created =
                        self.create(resource, namespace, object, CreateMode::DropStatus, dry_run)?;
                    Ok((created, true))
                }
                _ => Err(ApiError::not_found(resource, name)),
            };
        };
        let patched = patch::apply(patch, &existing)
            .map_err(|problem| problem.into_api_error(resource, name))?;
        check_type_meta(resource, &patched)?;
        let mut patched = patched;
        ensure_metadata(&mut patched)?;
        check_identity(resource, &patched, namespace, name)?;
        check_preconditions(resource, &existing, &patched)?;
        let updated = build_update(resource, &existing, patched, part);
        Ok((
            self.commit_update(resource, &key, &existing, updated, dry_run)?,
            false,
        ))
    }

    /// Commits an update built by [`build_update`]: checks the finalizer
    /// rule, bumps `generation` when more than metadata and status changed,
    /// skips no-op writes (no new resource version, no event, as the API
    /// server does), and removes an object being deleted once its last
    /// finalizer is gone.
    fn commit_update(
        &mut self,
        resource: &ResourceType,
        key: &ObjectKey,
        existing: &Value,
        mut updated: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let deleting = existing.pointer("/metadata/deletionTimestamp").is_some();
        if deleting {
            let before: HashSet<&str> = finalizers(existing).into_iter().collect();
            let added: Vec<&str> = finalizers(&updated)
                .into_iter()
                .filter(|finalizer| !before.contains(finalizer))
                .collect();
            if !added.is_empty() {
                return Err(ApiError::invalid(
                    resource,
                    &key.name,
                    format!(
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    ),
                ));
            }
        }
        if without_metadata_and_status(existing) != without_metadata_and_status(&updated) {
            let generation = existing
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            set_metadata_field(
                &mut updated,
                "generation",
                json!(generation.saturating_add(1)),
            );
        }
        if updated == *existing {
            return Ok(updated);
        }
        if dry_run {
            return Ok(updated);
        }
        if deleting && finalizers(&updated).is_empty() {
            let previous = existing.clone();
            // Commit the finalizer removal's state, then remove it.
            self.objects.insert(key.clone(), updated);
            let removed = self.remove_and_collect(key, Propagation::Background);
            return Ok(removed.unwrap_or(previous));
        }
        Ok(self.overwrite(key, updated, existing.clone()))
    }

    fn delete(
        &mut self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deletion, ApiError> {
        let key = ObjectKey::new(resource, namespace, name);
        let existing = self.existing(resource, &key)?;
        if let Some(uid) = &options.precondition_uid {
            let stored = metadata_str(&existing, "uid").unwrap_or_default();
            if uid != stored {
                return Err(ApiError::conflict(
                    resource,
                    name,
                    format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {stored}"
                    ),
                ));
            }
        }
        if let Some(version) = &options.precondition_resource_version {
            let stored = resource_version_of(&existing);
            if version != stored {
                return Err(ApiError::conflict(
                    resource,
                    name,
                    format!(
                        "Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object meta: {stored}"
                    ),
                ));
            }
        }
        let has_finalizers = !finalizers(&existing).is_empty();
        if options.dry_run {
            return Ok(if has_finalizers {
                Deletion::Finalizing(existing)
            } else {
                Deletion::Removed(existing)
            });
        }
        if options.propagation == Propagation::Orphan {
            let uid = metadata_str(&existing, "uid")
                .unwrap_or_default()
                .to_string();
            for dependent in self.dependents_of(&uid) {
                self.drop_owner_reference(&dependent, &uid);
            }
        }
        if has_finalizers {
            self.mark_deleting(&key);
            return Ok(Deletion::Finalizing(self.existing(resource, &key)?));
        }
        let removed = self.remove_and_collect(&key, options.propagation);
        Ok(Deletion::Removed(removed.unwrap_or(existing)))
    }
}

/// The object a write stores: the candidate's content, with the stored
/// status when the write may not change it (or only the candidate's status
/// when only it may change), and the server-managed metadata kept.
fn build_update(resource: &ResourceType, existing: &Value, candidate: Value, part: Part) -> Value {
    let mut updated = match part {
        Part::Status => {
            let mut updated = existing.clone();
            match candidate.get("status") {
                Some(status) => set_field(&mut updated, "status", status.clone()),
                None => remove_field(&mut updated, "status"),
            }
            updated
        }
        Part::Main if resource.status_subresource => {
            let mut updated = candidate;
            match existing.get("status") {
                Some(status) => set_field(&mut updated, "status", status.clone()),
                None => remove_field(&mut updated, "status"),
            }
            updated
        }
        Part::Main | Part::Whole => candidate,
    };
    // Whatever the client sent, these stay as the server set them.
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
    ] {
        match existing.pointer(&format!("/metadata/{field}")) {
            Some(value) => set_metadata_field(&mut updated, field, value.clone()),
            None => remove_metadata_field(&mut updated, field),
        }
    }
    tidy(&mut updated);
    updated
}

/// The body's `apiVersion` and `kind` must name the resource.
fn check_type_meta(resource: &ResourceType, object: &Value) -> Result<(), ApiError> {
    let Some(body) = object.as_object() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let api_version = body
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind.is_empty() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in the request body",
        ));
    }
    if api_version.is_empty() {
        return Err(ApiError::bad_request(
            "Object 'apiVersion' is missing in the request body",
        ));
    }
    if api_version != resource.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            resource.api_version()
        )));
    }
    if kind != resource.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({}) for {}",
            resource.kind,
            resource.qualified_resource()
        )));
    }
    Ok(())
}

/// The body's name and namespace, when given, must be the URL's.
fn check_identity(
    resource: &ResourceType,
    object: &Value,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    if let Some(body_name) = metadata_str(object, "name").filter(|body_name| !body_name.is_empty())
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if resource.namespaced
        && let Some(body_namespace) =
            metadata_str(object, "namespace").filter(|namespace| !namespace.is_empty())
        && body_namespace != namespace
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// A `resourceVersion` or `uid` in the written object is a precondition.
fn check_preconditions(
    resource: &ResourceType,
    existing: &Value,
    written: &Value,
) -> Result<(), ApiError> {
    let name = object_name(existing);
    if let Some(version) =
        metadata_str(written, "resourceVersion").filter(|version| !version.is_empty())
        && version != resource_version_of(existing)
    {
        return Err(ApiError::stale(resource, name));
    }
    if let Some(uid) = metadata_str(written, "uid").filter(|uid| !uid.is_empty()) {
        let stored = metadata_str(existing, "uid").unwrap_or_default();
        if uid != stored {
            return Err(ApiError::conflict(
                resource,
                name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {stored}"
                ),
            ));
        }
    }
    Ok(())
}

/// Names are RFC 1123 subdomains; namespaces and services RFC 1123 labels
/// (no dots, at most 63 characters), as the API server validates them.
fn validate_name(resource: &ResourceType, name: &str) -> Result<(), ApiError> {
    let label_only =
        resource.group.is_empty() && matches!(resource.kind.as_str(), "Namespace" | "Service");
    let (max, rule) = if label_only {
        (
            63,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        )
    } else {
        (
            253,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        )
    };
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (c == '.' && !label_only)
    };
    let alphanumeric =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = name.len() <= max
        && name.chars().all(allowed)
        && alphanumeric(name.chars().next())
        && alphanumeric(name.chars().last());
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            resource,
            name,
            format!("metadata.name: Invalid value: {name:?}: {rule}"),
        ))
    }
}

fn validate_namespace_name(
    resource: &ResourceType,
    name: &str,
    namespace: &str,
) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let valid = namespace.len() <= 63
        && namespace.chars().all(allowed)
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            resource,
            name,
            format!(
                "metadata.namespace: Invalid value: {namespace:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
            ),
        ))
    }
}

fn ensure_metadata(object: &mut Value) -> Result<(), ApiError> {
    let Some(body) = object.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    match body.get("metadata") {
        None | Some(Value::Null) => {
            body.insert("metadata".to_string(), Value::Object(Map::new()));
            Ok(())
        }
        Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(ApiError::bad_request("metadata must be a JSON object")),
    }
}

/// `start + duration`, or a year from `start` when the duration is too
/// large to represent (a `timeoutSeconds` of `u64::MAX` must not panic).
pub(crate) fn instant_after(
    start: tokio::time::Instant,
    duration: Duration,
) -> tokio::time::Instant {
    /// Far enough for any test or simulation; small enough to add safely.
    const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 60 * 60);
    start
        .checked_add(duration)
        .or_else(|| start.checked_add(FAR_FUTURE))
        .unwrap_or(start)
}

/// The wall clock as the API server writes timestamps: RFC 3339, whole
/// seconds, UTC.
pub(crate) fn now_timestamp() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    i64::try_from(seconds)
        .ok()
        .and_then(|seconds| k8s_openapi::jiff::Timestamp::from_second(seconds).ok())
        .and_then(|now| k8s_openapi::jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", now).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

pub(crate) fn metadata_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

pub(crate) fn object_name(object: &Value) -> &str {
    metadata_str(object, "name").unwrap_or_default()
}

pub(crate) fn resource_version_of(object: &Value) -> &str {
    metadata_str(object, "resourceVersion").unwrap_or_default()
}

fn finalizers(object: &Value) -> Vec<&str> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|finalizers| finalizers.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn owner_uids(object: &Value) -> impl Iterator<Item = &str> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|reference| reference.get("uid").and_then(Value::as_str))
}

fn set_field(object: &mut Value, field: &str, value: Value) {
    if let Some(body) = object.as_object_mut() {
        body.insert(field.to_string(), value);
    }
}

fn remove_field(object: &mut Value, field: &str) {
    if let Some(body) = object.as_object_mut() {
        body.remove(field);
    }
}

pub(crate) fn set_metadata_field(object: &mut Value, field: &str, value: Value) {
    if let Some(body) = object.as_object_mut() {
        let metadata = body
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !metadata.is_object() {
            *metadata = Value::Object(Map::new());
        }
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert(field.to_string(), value);
        }
    }
}

fn remove_metadata_field(object: &mut Value, field: &str) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove(field);
    }
}

/// The object without `metadata` and `status`: what `generation` tracks.
fn without_metadata_and_status(object: &Value) -> Value {
    let mut copy = object.clone();
    remove_field(&mut copy, "metadata");
    remove_field(&mut copy, "status");
    copy
}

/// Drops `null` fields everywhere (the API server's typed decoding and CRD
/// pruning drop them) and tidies metadata.
fn tidy(object: &mut Value) {
    fn drop_nulls(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                fields.retain(|_, field| !field.is_null());
                fields.values_mut().for_each(drop_nulls);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }
    drop_nulls(object);
    tidy_metadata(object);
}

/// Empty label, annotation, finalizer and owner lists are omitted, as Go's
/// `omitempty` does; managed fields and self links are not kept.
fn tidy_metadata(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.retain(|field, value| {
            let empty = match value {
                Value::Object(map) => map.is_empty(),
                Value::Array(items) => items.is_empty(),
                Value::String(text) => text.is_empty(),
                _ => false,
            };
            !(empty || field == "managedFields" || field == "selfLink")
        });
    }
}

fn decode<K: DeserializeOwned>(kind: &str, name: &str, value: Value) -> Result<K, StoreError> {
    serde_json::from_value(value).map_err(|source| StoreError::Conversion {
        kind: kind.to_string(),
        name: name.to_string(),
        source,
    })
}
