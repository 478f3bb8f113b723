//! Watch streams: newline-delimited JSON events replayed from the store's
//! change history, then followed live.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::registry::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Change, ChangeKind, Store, WatchGap, instant_after};

/// Where a watch starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WatchStart {
    /// Synthetic ADDED events for the objects that exist now, then the
    /// changes after them (`resourceVersion` unset or `"0"`). With
    /// `initial_events_end`, a BOOKMARK annotated
    /// `k8s.io/initial-events-end` follows the synthetic events
    /// (`sendInitialEvents=true`).
    Now {
        initial_events: bool,
        initial_events_end: bool,
    },
    /// The changes after this resource version.
    After(u64),
}

/// What a watch request asked for.
#[derive(Debug, Clone)]
pub(crate) struct WatchRequest {
    pub(crate) resource: ResourceType,
    /// `None` watches all namespaces.
    pub(crate) namespace: Option<String>,
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
    pub(crate) start: WatchStart,
    /// When the server ends the watch (`timeoutSeconds`).
    pub(crate) timeout: Duration,
    /// `allowWatchBookmarks`.
    pub(crate) bookmarks: bool,
    /// Objects are rendered as `PartialObjectMetadata`.
    pub(crate) metadata_only: bool,
}

impl WatchRequest {
    fn in_scope(&self, change: &Change) -> bool {
        change.key.group == self.resource.group
            && change.key.version == self.resource.version
            && change.key.plural == self.resource.plural
            && self
                .namespace
                .as_ref()
                .is_none_or(|namespace| *namespace == change.key.namespace)
    }

    fn selects(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    fn render(&self, object: &Value) -> Value {
        if self.metadata_only {
            metadata_only(object)
        } else {
            object.clone()
        }
    }

    /// The event a change is to this watch: selectors turn a modification
    /// into ADDED or DELETED when the object starts or stops matching, as
    /// the API server's watch cache does.
    fn event_for(&self, change: &Change) -> Option<Bytes> {
        if !self.in_scope(change) {
            return None;
        }
        let now = self.selects(&change.object);
        let event_type = match change.kind {
            ChangeKind::Added => now.then_some("ADDED"),
            ChangeKind::Deleted => now.then_some("DELETED"),
            ChangeKind::Modified => {
                let before = change
                    .previous
                    .as_ref()
                    .is_some_and(|previous| self.selects(previous));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }?;
        Some(event_line(event_type, self.render(&change.object)))
    }

    fn bookmark(&self, resource_version: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": resource_version.to_string()});
        if initial_events_end && let Some(metadata) = metadata.as_object_mut() {
            metadata.insert(
                "annotations".to_string(),
                json!({"k8s.io/initial-events-end": "true"}),
            );
        }
        event_line(
            "BOOKMARK",
            json!({
                "kind": self.resource.kind,
                "apiVersion": self.resource.api_version(),
                "metadata": metadata,
            }),
        )
    }
}

/// An object reduced to `meta.k8s.io/v1 PartialObjectMetadata`.
pub(crate) fn metadata_only(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn event_line(event_type: &str, object: Value) -> Bytes {
    let mut line = json!({"type": event_type, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn error_line(error: &ApiError) -> Bytes {
    event_line("ERROR", error.to_status())
}

/// The state a watch stream carries between events.
struct WatchState {
    store: Store,
    request: WatchRequest,
    changes: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
    /// Every change up to this version has been considered.
    cursor: u64,
    epoch: u64,
    pending: VecDeque<Bytes>,
    deadline: Instant,
    bookmark_interval: Duration,
    next_bookmark: Instant,
    finished: bool,
}

/// The body of a watch response: events until `timeoutSeconds`, the
/// server's shutdown, or an error event.
pub(crate) fn stream(
    store: Store,
    request: WatchRequest,
    stopping: watch::Receiver<bool>,
    bookmark_interval: Duration,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let changes = store.subscribe();
    let mut pending = VecDeque::new();
    let mut finished = false;
    let (cursor, epoch) = match request.start {
        WatchStart::Now {
            initial_events,
            initial_events_end,
        } => {
            let namespace = request.namespace.as_deref();
            let (objects, resource_version, epoch) = store.snapshot(&request.resource, namespace);
            if initial_events {
                pending.extend(
                    objects
                        .iter()
                        .filter(|object| request.selects(object))
                        .map(|object| event_line("ADDED", request.render(object))),
                );
            }
            if initial_events_end {
                pending.push_back(request.bookmark(resource_version, true));
            }
            (resource_version, epoch)
        }
        WatchStart::After(resource_version) => {
            let (epoch, check) = store.watch_start(resource_version);
            if let Err(gap) = check {
                pending.push_back(gap_line(gap));
                finished = true;
            }
            (resource_version, epoch)
        }
    };
    let now = Instant::now();
    let state = WatchState {
        deadline: instant_after(now, request.timeout),
        next_bookmark: instant_after(now, bookmark_interval),
        store,
        request,
        changes,
        stopping,
        cursor,
        epoch,
        pending,
        bookmark_interval,
        finished,
    };
    futures::stream::unfold(state, next_line)
}

fn gap_line(gap: WatchGap) -> Bytes {
    match gap {
        WatchGap::Expired { requested, oldest } => {
            error_line(&ApiError::Expired { requested, oldest })
        }
    }
}

async fn next_line(mut state: WatchState) -> Option<(Result<Bytes, Infallible>, WatchState)> {
    loop {
        if let Some(line) = state.pending.pop_front() {
            return Some((Ok(line), state));
        }
        if state.finished || *state.stopping.borrow() {
            return None;
        }
        // Mark the current version seen before reading, so a change
        // committed after the read wakes the wait below.
        state.changes.borrow_and_update();
        match state.store.changes_since(state.cursor, state.epoch) {
            Err(gap) => {
                state.pending.push_back(gap_line(gap));
                state.finished = true;
                continue;
            }
            Ok((changes, latest)) => {
                for change in &changes {
                    if let Some(line) = state.request.event_for(change) {
                        state.pending.push_back(line);
                    }
                }
                state.cursor = latest;
            }
        }
        if !state.pending.is_empty() {
            continue;
        }
        let bookmarks = state.request.bookmarks;
        let wake = {
            let WatchState {
                changes,
                stopping,
                deadline,
                next_bookmark,
                ..
            } = &mut state;
            tokio::select! {
                changed = changes.changed() => match changed {
                    Ok(()) => Wake::Changed,
                    Err(_) => Wake::Stop,
                },
                _ = tokio::time::sleep_until(*deadline) => Wake::TimedOut,
                _ = tokio::time::sleep_until(*next_bookmark), if bookmarks => Wake::Bookmark,
                _ = stopping.wait_for(|stop| *stop) => Wake::Stop,
            }
        };
        match wake {
            Wake::Changed => {}
            Wake::TimedOut => {
                // The API server sends a last bookmark when a watch times
                // out, so the client resumes from the newest version.
                if bookmarks {
                    let line = state.request.bookmark(state.cursor, false);
                    state.pending.push_back(line);
                }
                state.finished = true;
            }
            Wake::Bookmark => {
                let line = state.request.bookmark(state.cursor, false);
                state.pending.push_back(line);
                state.next_bookmark = instant_after(Instant::now(), state.bookmark_interval);
            }
            Wake::Stop => state.finished = true,
        }
    }
}

/// Why a waiting watch woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Changed,
    TimedOut,
    Bookmark,
    Stop,
}
