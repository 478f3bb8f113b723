//! A fake Kubernetes API server on loopback, enough of the REST API for
//! kube-rs (typed and dynamic `Api`s, `watcher`, discovery), and a fake
//! kubelet that rolls Deployments and DaemonSets out. weir's live
//! controller runs against it in integration tests, unchanged.
//!
//! ```text
//!   kube::Client (controller, test)        test code
//!        │ HTTP/1.1, JSON                      │ server.store().create/get/edit/delete
//!        ▼                                     │ server.fail_next_writes(kind, n, fault)
//!   ┌───────────────────────────────┐          │ server.requests()
//!   │ FakeApiServer 127.0.0.1:0     │          │
//!   │  route: /api, /apis, /version │          │
//!   │   /api/v1/…, /apis/{g}/{v}/…  │          │
//!   │  record request, inject fault │          │
//!   └──────────────┬────────────────┘          │
//!                  ▼                           ▼
//!   ┌─────────────────────────────────────────────────────────┐
//!   │ Store (one mutex)                                       │
//!   │  registry: group/version/kind/plural, scope, /status    │
//!   │  objects: (group, version, plural, ns, name) → JSON     │
//!   │  resourceVersion: one global counter                    │
//!   │  history: last N changes ──▶ watch streams (NDJSON)     │
//!   │  finalizers, owner-reference GC, namespace cleanup      │
//!   └──────────────▲──────────────────────────────────────────┘
//!                  │ status writes (observedGeneration, replicas, conditions)
//!   ┌──────────────┴─────────┐
//!   │ FakeKubelet            │ Deployment/DaemonSet: progressing → ready after a
//!   │ per-workload overrides │ delay; never ready; ProgressDeadlineExceeded
//!   └────────────────────────┘
//! ```
//!
//! # Using it
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use weir_fakes_kube::{FakeApiServer, FakeKubelet, KubeletOptions};
//! let server = FakeApiServer::start().await?;
//! let kubelet = FakeKubelet::start(server.store(), KubeletOptions::default())?;
//! // With the `client` feature: let client = server.client()?;
//! // Without: kube::Client::try_from(kube::Config::new(server.url().parse()?))?
//! # Ok(())
//! # }
//! ```
//!
//! The library does not depend on kube-rs's client: the optional `client`
//! feature adds `FakeApiServer::client()` and `FakeApiServer::kube_config()`
//! for crates that have it anyway (the live controller's tests). kube-rs's
//! default client retries 429 and 503 answers by itself; injected
//! [`Fault::ServiceUnavailable`] and [`Fault::TooManyRequests`] are only
//! seen by the caller once those retries are exhausted.
//!
//! # What is served
//!
//! * Resource types: the [`builtin_resource_types`] (everything weir reads
//!   or writes) and any [`Store::register`]ed CRD. Namespaced paths
//!   (`/api/v1/namespaces/{ns}/{plural}/{name}`), cluster-scoped ones, and
//!   all-namespaces lists and watches; `/status` for types with a status
//!   subresource; discovery (`/api`, `/api/v1`, `/apis`, `/apis/{g}`,
//!   `/apis/{g}/{v}`, and aggregated discovery v2), `/version`, `/healthz`.
//! * Verbs: get; list with `labelSelector` (`=`, `==`, `!=`, `in`, `notin`,
//!   exists, `!key`, `>`, `<`), `fieldSelector` (`metadata.name`,
//!   `metadata.namespace`, and the API server's per-kind fields for Pods,
//!   core Events, Secrets and Namespaces), `limit`/`continue`; watch
//!   (`resourceVersion`, `allowWatchBookmarks`, `timeoutSeconds`,
//!   `sendInitialEvents`); create; replace; patch (merge, JSON,
//!   strategic-merge, apply); delete; deletecollection; `dryRun=All`;
//!   `PartialObjectMetadata` responses when asked for by `Accept`.
//! * Server-managed metadata: `uid`, `resourceVersion` (a global counter,
//!   as strings), `creationTimestamp`, `generation` (1 on create, +1 when
//!   anything but `metadata` and `status` changes), `generateName`,
//!   `deletionTimestamp`. A write that changes nothing commits nothing (no
//!   new resource version, no watch event), as on a real server.
//! * Optimistic concurrency: a `resourceVersion` (or `uid`) in a PUT body,
//!   a patch, or delete preconditions must match, else 409 `Conflict` with
//!   the API server's wording. PUT without one is unconditional.
//! * Status subresource: writes to `/status` change only `status`; writes
//!   to the object keep the stored status; a create drops `status`.
//! * Deletion: objects with finalizers get a `deletionTimestamp` and stay
//!   until the last finalizer is removed (no new finalizer may be added
//!   meanwhile); then, and for objects without finalizers, they are removed
//!   and their dependents collected: an object whose owner references all
//!   point at removed uids is deleted in turn, one with another live owner
//!   loses the dangling reference. `propagationPolicy: Orphan` strips the
//!   references instead. Deleting a Namespace deletes what it contains.
//! * Watches are replayed from the last [`ServerOptions::watch_history`]
//!   changes; older resource versions (and every open watch after
//!   [`Store::expire_watches`]) get an `ERROR` event with a `Status` of code
//!   410, on which kube-runtime's watcher lists again. Label-selected
//!   watches see an object as ADDED or DELETED when it starts or stops
//!   matching.
//! * Errors are `meta/v1 Status` bodies with the API server's `reason` and
//!   `code`: `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`,
//!   `BadRequest`, `MethodNotAllowed`, `Expired` (410), …; malformed JSON,
//!   selectors and patches are 400s, never panics.
//!
//! # What the fake does not do
//!
//! * No authentication, authorization, admission (webhooks, quotas,
//!   `NamespaceLifecycle`: objects may be created in namespaces that do not
//!   exist), defaulting (a Deployment without `replicas` stays without it;
//!   the kubelet reads it as 1) or schema validation (beyond `apiVersion`,
//!   `kind`, names and namespaces). `null` fields are dropped, as decoding
//!   and CRD pruning would; unknown fields are kept.
//! * No conversion between versions: each version of a kind (HTTPRoute
//!   `v1` and `v1beta1`, TrafficSplit `v1alpha1`..`v1alpha3`, the two Event
//!   APIs) is a separate collection.
//! * Strategic merge patches are merge patches: lists are replaced whole,
//!   not merged by key (`containers` by `name`), and `$patch`,
//!   `$setElementOrder`, `$retainKeys` directives are dropped.
//! * Server-side apply merges the applied object like a merge patch: no
//!   `managedFields`, no field ownership (fields a manager stops applying
//!   stay), no conflicts between managers; `fieldManager` is required and
//!   `force` accepted, as on the API server.
//! * Garbage collection runs in the request that removed the owner, not
//!   asynchronously; `Foreground` propagation behaves like `Background`;
//!   dependents whose owner never existed are not collected.
//! * Lists serve the present state only: `resourceVersionMatch=Exact` with
//!   another version is answered 410; pages after the first reflect changes
//!   made between pages.
//! * No `scale`, `log`, `exec` or other subresources, no protobuf, no
//!   Table output, no `/openapi`.
//! * The kubelet creates no Pods or ReplicaSets and enforces no
//!   `progressDeadlineSeconds` (see [`Readiness`]); it ignores `paused`.
//!
//! # Differences from Flagger
//!
//! None: this is test infrastructure. It does model what Flagger's
//! readiness checks read (`observedGeneration`, `updatedReplicas`,
//! `replicas`, `availableReplicas`, the `Progressing` reason; a DaemonSet's
//! `updatedNumberScheduled` and `numberAvailable`), so weir's checks see
//! the same signals a cluster gives Flagger.

mod discovery;
mod error;
mod kubelet;
mod patch;
mod registry;
mod selector;
mod server;
mod store;
mod watch;

pub use error::{ApiError, FakeKubeError, StoreError};
pub use kubelet::{FakeKubelet, KubeletOptions, Readiness, Workload, WorkloadKind};
pub use registry::{RegistryError, ResourceType, builtin_resource_types};
pub use server::{FakeApiServer, Fault, RecordedRequest, ServerOptions};
pub use store::Store;
