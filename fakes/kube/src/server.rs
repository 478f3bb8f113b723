//! The HTTP front: the API server's paths, verbs and query parameters on
//! loopback, mapped onto the [`Store`]; injected faults and the request log.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::discovery;
use crate::error::{ApiError, FakeKubeError};
use crate::patch::PatchBody;
use crate::registry::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{
    DEFAULT_WATCH_HISTORY, DeleteOptions, Deletion, Part, Propagation, Store, object_name,
};
use crate::watch::{self as watch_stream, WatchRequest, WatchStart, metadata_only};

/// How long [`FakeApiServer::shutdown`] lets requests in flight finish
/// before dropping their connections. Watches end at once on shutdown, so
/// only ordinary requests can be in flight; they take milliseconds.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How the fake API server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// How many changes are kept for watches resuming from an older
    /// `resourceVersion`; older ones get `410 Expired`.
    pub watch_history: usize,
    /// How often an idle watch with `allowWatchBookmarks` gets a BOOKMARK.
    /// The API server sends one about every minute.
    pub bookmark_interval: Duration,
    /// How long a watch without `timeoutSeconds` lasts. The API server
    /// picks 30 to 60 minutes.
    pub default_watch_timeout: Duration,
    /// The largest request body accepted. The API server's limit is 3 MiB
    /// for writes to etcd.
    pub max_body_bytes: usize,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            watch_history: DEFAULT_WATCH_HISTORY,
            bookmark_interval: Duration::from_secs(60),
            default_watch_timeout: Duration::from_secs(30 * 60),
            max_body_bytes: 3 * 1024 * 1024,
        }
    }
}

/// A failure to inject into writes, for testing a client's retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 409 `Conflict`, worded as for a stale `resourceVersion`.
    Conflict,
    /// 500 `InternalError`.
    InternalError,
    /// 503 `ServiceUnavailable`. kube-rs's default client retries these by
    /// itself, with backoff.
    ServiceUnavailable,
    /// 429 `TooManyRequests`. kube-rs's default client retries these too.
    TooManyRequests,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path, such as `/apis/apps/v1/namespaces/test/deployments/podinfo`.
    pub path: String,
    /// The query string, if any (still percent-encoded).
    pub query: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The response's status code.
    pub status: u16,
}

/// Which writes a fault rule fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultScope {
    AnyWrite,
    StatusWrites,
}

#[derive(Debug, Clone)]
struct FaultRule {
    kind: String,
    scope: FaultScope,
    remaining: usize,
    fault: Fault,
}

/// The state the handlers share.
#[derive(Debug)]
struct App {
    store: Store,
    options: ServerOptions,
    faults: Mutex<Vec<FaultRule>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Becomes true when the server stops: open watches end.
    stopping: watch::Receiver<bool>,
    address: SocketAddr,
}

/// A fake Kubernetes API server on `127.0.0.1:<ephemeral port>`, serving
/// the objects of a [`Store`] over the REST API as kube-rs uses it. It runs
/// on the Tokio runtime it was started in and stops when dropped (or on
/// [`FakeApiServer::shutdown`]); the store outlives it if cloned.
#[derive(Debug)]
pub struct FakeApiServer {
    app: Arc<App>,
    url: String,
    stopping: watch::Sender<bool>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    /// Starts a server with a new store and default options.
    pub async fn start() -> Result<FakeApiServer, FakeKubeError> {
        FakeApiServer::start_with(ServerOptions::default()).await
    }

    /// Starts a server with a new store.
    pub async fn start_with(options: ServerOptions) -> Result<FakeApiServer, FakeKubeError> {
        let store = Store::with_watch_history(options.watch_history);
        FakeApiServer::serve(store, options).await
    }

    /// Starts a server for an existing store: a restarted API server that
    /// keeps its objects (watches of the old one have ended). The store
    /// keeps its own watch history; `options.watch_history` is not used.
    pub async fn serve(
        store: Store,
        options: ServerOptions,
    ) -> Result<FakeApiServer, FakeKubeError> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|source| FakeKubeError::Bind { source })?;
        let address = listener
            .local_addr()
            .map_err(|source| FakeKubeError::Bind { source })?;
        let (stopping, stopping_receiver) = watch::channel(false);
        let app = Arc::new(App {
            store,
            options,
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            stopping: stopping_receiver,
            address,
        });
        let router = Router::new().fallback(handle).with_state(Arc::clone(&app));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async {
                // A dropped sender stops the server as well as a sent ().
                let _ = stopped.await;
            };
            // An accept error ends the fake; clients then see connection errors.
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(signal)
                .await;
        });
        Ok(FakeApiServer {
            app,
            url: format!("http://{address}"),
            stopping,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.app.address
    }

    /// The objects: seed, read and edit them without HTTP.
    pub fn store(&self) -> &Store {
        &self.app.store
    }

    /// Fails the next `count` writes (create, replace, patch, delete, on
    /// the object or its status) of objects of this kind (any group) with
    /// `fault`. Rules add up: each write consumes one failure of the first
    /// matching rule.
    pub fn fail_next_writes(&self, kind: &str, count: usize, fault: Fault) {
        self.add_fault(kind, FaultScope::AnyWrite, count, fault);
    }

    /// Fails the next `count` writes to the `status` subresource of objects
    /// of this kind with `fault`.
    pub fn fail_next_status_writes(&self, kind: &str, count: usize, fault: Fault) {
        self.add_fault(kind, FaultScope::StatusWrites, count, fault);
    }

    fn add_fault(&self, kind: &str, scope: FaultScope, count: usize, fault: Fault) {
        if count == 0 {
            return;
        }
        lock(&self.app.faults).push(FaultRule {
            kind: kind.to_string(),
            scope,
            remaining: count,
            fault,
        });
    }

    /// Forgets injected faults that have not fired yet.
    pub fn clear_faults(&self) {
        lock(&self.app.faults).clear();
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.app.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.app.requests).clear();
    }

    /// Stops accepting, ends open watches, lets requests in flight finish
    /// for a moment, and waits until the listener is closed.
    pub async fn shutdown(mut self) {
        self.stopping.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

#[cfg(feature = "client")]
impl FakeApiServer {
    /// A kube-rs configuration for this server: plain HTTP, no
    /// credentials, default namespace `default`.
    pub fn kube_config(&self) -> Result<kube::Config, FakeKubeError> {
        let uri = self
            .url
            .parse::<http::Uri>()
            .map_err(|source| FakeKubeError::Url {
                url: self.url.clone(),
                source,
            })?;
        Ok(kube::Config::new(uri))
    }

    /// A kube-rs client for this server (built from [`FakeApiServer::kube_config`]).
    pub fn client(&self) -> Result<kube::Client, FakeKubeError> {
        kube::Client::try_from(self.kube_config()?).map_err(|source| FakeKubeError::Client {
            url: self.url.clone(),
            source: Box::new(source),
        })
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stopping.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded lists stay consistent if a holder panicked: pushes and
    // clears are single steps.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every request: read the body, route, answer, record.
async fn handle(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|value: &http::HeaderValue| value.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(CONTENT_TYPE);
    let accept = header(ACCEPT).unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let response = match axum::body::to_bytes(body, app.options.max_body_bytes).await {
        Ok(body) => {
            let request = ApiRequest {
                method: &parts.method,
                path: &path,
                query: Query::parse(query.as_deref()),
                content_type: content_type.as_deref().unwrap_or_default(),
                accept: &accept,
                body,
            };
            app.route(&request)
                .unwrap_or_else(|error| error_response(&error))
        }
        Err(_) => error_response(&ApiError::bad_request(format!(
            "the request body is larger than the fake API server's limit of {} bytes",
            app.options.max_body_bytes
        ))),
    };
    lock(&app.requests).push(RecordedRequest {
        method: parts.method.clone(),
        path,
        query,
        content_type,
        status: response.status().as_u16(),
    });
    response
}

/// A request, read.
#[derive(Debug)]
struct ApiRequest<'a> {
    method: &'a Method,
    path: &'a str,
    query: Query,
    content_type: &'a str,
    accept: &'a str,
    body: Bytes,
}

impl ApiRequest<'_> {
    fn metadata_only(&self) -> bool {
        self.accept.contains("as=PartialObjectMetadata")
    }

    fn render(&self, object: Value) -> Value {
        if self.metadata_only() {
            metadata_only(&object)
        } else {
            object
        }
    }

    /// The body as a JSON (or, by content type, YAML) object.
    fn object_body(&self) -> Result<Value, ApiError> {
        let decoded = if self.content_type.contains("yaml") {
            let text = std::str::from_utf8(&self.body)
                .map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
            serde_saphyr::from_str::<Value>(text)
                .map_err(|error| ApiError::bad_request(format!("error decoding YAML: {error}")))?
        } else {
            serde_json::from_slice::<Value>(&self.body).map_err(|error| {
                ApiError::bad_request(format!(
                    "the body of the request could not be decoded as JSON: {error}"
                ))
            })?
        };
        if decoded.is_object() {
            Ok(decoded)
        } else {
            Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ))
        }
    }
}

/// Decoded query parameters.
#[derive(Debug, Default)]
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(query: Option<&str>) -> Query {
        Query {
            pairs: query
                .map(|query| {
                    form_urlencoded::parse(query.as_bytes())
                        .map(|(key, value)| (key.into_owned(), value.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("" | "false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid value {other:?} for the query parameter {name}: expected true or false"
            ))),
        }
    }

    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: {other:?}: supported values: \"All\""
            ))),
        }
    }

    fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .filter(|value| !value.is_empty())
            .map(|value| {
                value.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "invalid value {value:?} for the query parameter {name}: expected a non-negative integer"
                    ))
                })
            })
            .transpose()
    }
}

/// A path the server knows.
#[derive(Debug, PartialEq)]
enum Route<'a> {
    Version,
    Health,
    CoreVersions,
    Groups,
    Group(&'a str),
    GroupVersion {
        group: &'a str,
        version: &'a str,
    },
    Resource {
        group: &'a str,
        version: &'a str,
        rest: Vec<&'a str>,
    },
    Unknown,
}

fn parse_route(path: &str) -> Route<'_> {
    let trimmed = path.trim_end_matches('/');
    let Some(trimmed) = trimmed.strip_prefix('/') else {
        return Route::Unknown;
    };
    let segments: Vec<&str> = trimmed.split('/').collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        return Route::Unknown;
    }
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz"] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["api", version] => Route::GroupVersion { group: "", version },
        ["api", version, rest @ ..] => Route::Resource {
            group: "",
            version,
            rest: rest.to_vec(),
        },
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group(group),
        ["apis", group, version] => Route::GroupVersion { group, version },
        ["apis", group, version, rest @ ..] => Route::Resource {
            group,
            version,
            rest: rest.to_vec(),
        },
        _ => Route::Unknown,
    }
}

/// A resolved resource path.
#[derive(Debug)]
struct Target {
    resource: ResourceType,
    /// `None` on cluster-scoped paths (and all-namespaces lists).
    namespace: Option<String>,
    name: Option<String>,
    /// The path ends in `/status`.
    status: bool,
}

impl Target {
    fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    fn part(&self) -> Part {
        if self.status {
            Part::Status
        } else {
            Part::Main
        }
    }
}

impl App {
    fn route(&self, request: &ApiRequest<'_>) -> Result<Response, ApiError> {
        let unknown = || ApiError::UnknownPath {
            path: request.path.to_string(),
        };
        let route = parse_route(request.path);
        if !matches!(route, Route::Resource { .. } | Route::Unknown)
            && *request.method != Method::GET
        {
            return Err(ApiError::MethodNotAllowed {
                resource: request.path.to_string(),
                verb: request.method.to_string(),
            });
        }
        match route {
            Route::Version => Ok(json_response(StatusCode::OK, &discovery::version())),
            Route::Health => {
                Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain")], "ok").into_response())
            }
            Route::CoreVersions if discovery::wants_aggregated(request.accept) => {
                let core = vec![(String::new(), vec!["v1".to_string()])];
                Ok(aggregated_response(&discovery::aggregated(
                    &core,
                    &self.store.resource_types(),
                )))
            }
            Route::CoreVersions => Ok(json_response(
                StatusCode::OK,
                &discovery::core_versions(&self.address.to_string()),
            )),
            Route::Groups if discovery::wants_aggregated(request.accept) => {
                Ok(aggregated_response(&discovery::aggregated(
                    &self.store.groups(),
                    &self.store.resource_types(),
                )))
            }
            Route::Groups => Ok(json_response(
                StatusCode::OK,
                &discovery::group_list(&self.store.groups()),
            )),
            Route::Group(group) => {
                let groups = self.store.groups();
                let (name, versions) = groups
                    .iter()
                    .find(|(name, _)| name == group)
                    .ok_or_else(unknown)?;
                Ok(json_response(
                    StatusCode::OK,
                    &discovery::group(name, versions),
                ))
            }
            Route::GroupVersion { group, version } => {
                if !self.store.serves(group, version) {
                    return Err(unknown());
                }
                let resources: Vec<ResourceType> = self
                    .store
                    .resource_types()
                    .into_iter()
                    .filter(|resource| resource.group == group && resource.version == version)
                    .collect();
                let group_version = if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                };
                Ok(json_response(
                    StatusCode::OK,
                    &discovery::resource_list(&group_version, &resources),
                ))
            }
            Route::Resource {
                group,
                version,
                rest,
            } => {
                let target = self.resolve(group, version, &rest).ok_or_else(unknown)?;
                self.resource_request(request, &target)
            }
            Route::Unknown => Err(unknown()),
        }
    }

    /// Resolves `[namespaces/{ns}/]{plural}[/{name}[/status]]` against the
    /// registry. `namespaces/{name}/…` is the Namespace object itself unless
    /// the third segment is a namespaced plural of this group/version.
    fn resolve(&self, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
        let namespaced_form = match rest {
            ["namespaces", _, plural, ..] => self
                .store
                .resource_by_plural(group, version, plural)
                .is_some_and(|resource| resource.namespaced),
            _ => false,
        };
        let (namespace, tail) = if namespaced_form {
            (Some(rest.get(1)?.to_string()), rest.get(2..)?)
        } else {
            (None, rest)
        };
        let (plural, name, subresource) = match tail {
            [plural] => (*plural, None, None),
            [plural, name] => (*plural, Some(*name), None),
            [plural, name, subresource] => (*plural, Some(*name), Some(*subresource)),
            _ => return None,
        };
        let resource = self.store.resource_by_plural(group, version, plural)?;
        if namespace.is_none() && resource.namespaced && name.is_some() {
            // A namespaced object needs its namespace in the path.
            return None;
        }
        let status = match subresource {
            None => false,
            Some("status") if resource.status_subresource => true,
            Some(_) => return None,
        };
        Some(Target {
            resource,
            namespace,
            name: name.map(str::to_string),
            status,
        })
    }

    fn check_fault(&self, target: &Target, name: &str) -> Result<(), ApiError> {
        let mut faults = lock(&self.faults);
        let Some(rule) = faults.iter_mut().find(|rule| {
            rule.remaining > 0
                && rule.kind == target.resource.kind
                && (rule.scope == FaultScope::AnyWrite || target.status)
        }) else {
            return Ok(());
        };
        rule.remaining -= 1;
        let fault = rule.fault;
        faults.retain(|rule| rule.remaining > 0);
        Err(match fault {
            Fault::Conflict => ApiError::stale(&target.resource, name),
            Fault::InternalError => ApiError::Internal {
                message: "a failure injected by the test".to_string(),
            },
            Fault::ServiceUnavailable => ApiError::ServiceUnavailable {
                message: "the server is currently unable to handle the request".to_string(),
            },
            Fault::TooManyRequests => ApiError::TooManyRequests {
                message:
                    "the server has received too many requests and has asked us to try again later"
                        .to_string(),
            },
        })
    }

    fn resource_request(
        &self,
        request: &ApiRequest<'_>,
        target: &Target,
    ) -> Result<Response, ApiError> {
        let method_not_allowed = || ApiError::MethodNotAllowed {
            resource: target.resource.qualified_resource(),
            verb: request.method.to_string(),
        };
        let store = &self.store;
        let resource = &target.resource;
        let namespace = target.namespace();
        match (request.method, target.name.as_deref()) {
            (&Method::GET, None) if !target.status => {
                if request.query.flag("watch")? {
                    self.watch(request, target)
                } else {
                    self.list(request, target)
                }
            }
            (&Method::GET, Some(name)) => {
                let object = store.api_get(resource, namespace, name)?;
                Ok(json_response(StatusCode::OK, &request.render(object)))
            }
            (&Method::POST, None) if !target.status => {
                if resource.namespaced && target.namespace.is_none() {
                    return Err(method_not_allowed());
                }
                let body = request.object_body()?;
                self.check_fault(target, object_name(&body))?;
                let created =
                    store.api_create(resource, namespace, body, request.query.dry_run()?)?;
                Ok(json_response(StatusCode::CREATED, &request.render(created)))
            }
            (&Method::PUT, Some(name)) => {
                let body = request.object_body()?;
                self.check_fault(target, name)?;
                let replaced = store.api_replace(
                    resource,
                    namespace,
                    name,
                    body,
                    target.part(),
                    request.query.dry_run()?,
                )?;
                Ok(json_response(StatusCode::OK, &request.render(replaced)))
            }
            (&Method::PATCH, Some(name)) => {
                let patch = PatchBody::decode(request.content_type, &request.body)?;
                let force = request.query.flag("force")?;
                let manager = request.query.get("fieldManager").unwrap_or_default();
                if patch.is_apply() && manager.is_empty() {
                    return Err(ApiError::Invalid {
                        kind: "PatchOptions.meta.k8s.io".to_string(),
                        name: String::new(),
                        causes: vec![
                            "fieldManager: Required value: is required for apply patch".to_string(),
                        ],
                    });
                }
                if force && !patch.is_apply() {
                    return Err(ApiError::Invalid {
                        kind: "PatchOptions.meta.k8s.io".to_string(),
                        name: String::new(),
                        causes: vec![
                            "force: Forbidden: may not be specified for non-apply patch"
                                .to_string(),
                        ],
                    });
                }
                self.check_fault(target, name)?;
                let (patched, created) = store.api_patch(
                    resource,
                    namespace,
                    name,
                    &patch,
                    target.part(),
                    request.query.dry_run()?,
                )?;
                let code = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                Ok(json_response(code, &request.render(patched)))
            }
            (&Method::DELETE, Some(name)) if !target.status => {
                let options = self.delete_options(request)?;
                self.check_fault(target, name)?;
                match store.api_delete(resource, namespace, name, &options)? {
                    Deletion::Removed(object) => {
                        Ok(json_response(StatusCode::OK, &request.render(object)))
                    }
                    Deletion::Finalizing(object) => {
                        Ok(json_response(StatusCode::ACCEPTED, &request.render(object)))
                    }
                }
            }
            (&Method::DELETE, None) if !target.status => {
                if resource.namespaced && target.namespace.is_none() {
                    return Err(method_not_allowed());
                }
                let options = self.delete_options(request)?;
                self.check_fault(target, "")?;
                let labels = label_selector(&request.query)?;
                let fields = field_selector(&request.query, resource)?;
                let page = store.api_list(
                    resource,
                    target.namespace.as_deref(),
                    &labels,
                    &fields,
                    None,
                    None,
                );
                let mut deleted = Vec::new();
                for item in page.items {
                    // Objects deleted in the meantime (by garbage collection
                    // of an earlier item) are skipped, as the API server does.
                    match store.api_delete(resource, namespace, object_name(&item), &options) {
                        Ok(Deletion::Removed(object) | Deletion::Finalizing(object)) => {
                            deleted.push(request.render(object));
                        }
                        Err(ApiError::NotFound { .. }) => {}
                        Err(error) => return Err(error),
                    }
                }
                Ok(json_response(
                    StatusCode::OK,
                    &list_body(request, resource, deleted, store.resource_version(), None),
                ))
            }
            _ => Err(method_not_allowed()),
        }
    }

    fn delete_options(&self, request: &ApiRequest<'_>) -> Result<DeleteOptions, ApiError> {
        let body = if request.body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice::<Value>(&request.body).map_err(|error| {
                ApiError::bad_request(format!(
                    "the DeleteOptions body could not be decoded: {error}"
                ))
            })?
        };
        let policy = body
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .or_else(|| request.query.get("propagationPolicy"));
        let propagation = match policy {
            None | Some("Background" | "Foreground") => Propagation::Background,
            Some("Orphan") => Propagation::Orphan,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
        };
        let body_dry_run = body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|values| values.iter().any(|value| value == "All"));
        let precondition = |field: &str| {
            body.pointer(&format!("/preconditions/{field}"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Ok(DeleteOptions {
            dry_run: body_dry_run || request.query.dry_run()?,
            propagation,
            precondition_uid: precondition("uid"),
            precondition_resource_version: precondition("resourceVersion"),
        })
    }

    fn list(&self, request: &ApiRequest<'_>, target: &Target) -> Result<Response, ApiError> {
        let query = &request.query;
        let labels = label_selector(query)?;
        let fields = field_selector(query, &target.resource)?;
        // The API server treats limit=0 as no limit.
        let limit = query
            .number("limit")?
            .filter(|limit| *limit > 0)
            .map(|limit| usize::try_from(limit).unwrap_or(usize::MAX));
        let continue_after = query
            .get("continue")
            .filter(|token| !token.is_empty())
            .map(parse_continue)
            .transpose()?;
        // Parsed even when unused, so a malformed version is refused.
        let requested = query.number("resourceVersion")?.unwrap_or(0);
        if query.get("resourceVersionMatch") == Some("Exact") {
            let current = self.store.resource_version();
            if requested != current {
                // The fake keeps only the present state of objects.
                return Err(ApiError::Expired {
                    requested,
                    oldest: current,
                });
            }
        }
        let page = self.store.api_list(
            &target.resource,
            target.namespace.as_deref(),
            &labels,
            &fields,
            limit,
            continue_after.as_ref(),
        );
        let continuation = page.continue_after.as_ref().map(|(namespace, name)| {
            (
                format!("{}:{namespace}:{name}", page.resource_version),
                page.remaining,
            )
        });
        let items = page
            .items
            .into_iter()
            .map(|item| request.render(item))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &list_body(
                request,
                &target.resource,
                items,
                page.resource_version,
                continuation,
            ),
        ))
    }

    fn watch(&self, request: &ApiRequest<'_>, target: &Target) -> Result<Response, ApiError> {
        let query = &request.query;
        let labels = label_selector(query)?;
        let fields = field_selector(query, &target.resource)?;
        let bookmarks = query.flag("allowWatchBookmarks")?;
        let send_initial_events = match query.get("sendInitialEvents") {
            None => None,
            Some(_) => Some(query.flag("sendInitialEvents")?),
        };
        let resource_version = query.number("resourceVersion")?.unwrap_or(0);
        let list_options_invalid = |cause: &str| ApiError::Invalid {
            kind: "ListOptions.meta.k8s.io".to_string(),
            name: String::new(),
            causes: vec![cause.to_string()],
        };
        let start = match send_initial_events {
            Some(true) => {
                if query.get("resourceVersionMatch") != Some("NotOlderThan") {
                    return Err(list_options_invalid(
                        "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    ));
                }
                if !bookmarks {
                    return Err(list_options_invalid(
                        "allowWatchBookmarks: Forbidden: sendInitialEvents requires allowWatchBookmarks=true",
                    ));
                }
                WatchStart::Now {
                    initial_events: true,
                    initial_events_end: true,
                }
            }
            _ if resource_version == 0 => WatchStart::Now {
                initial_events: send_initial_events != Some(false),
                initial_events_end: false,
            },
            _ => WatchStart::After(resource_version),
        };
        let timeout = query
            .number("timeoutSeconds")?
            .map_or(self.options.default_watch_timeout, Duration::from_secs);
        let watch_request = WatchRequest {
            resource: target.resource.clone(),
            namespace: target.namespace.clone(),
            labels,
            fields,
            start,
            timeout,
            bookmarks,
            metadata_only: request.metadata_only(),
        };
        let stream = watch_stream::stream(
            self.store.clone(),
            watch_request,
            self.stopping.clone(),
            self.options.bookmark_interval,
        );
        Ok((
            StatusCode::OK,
            [(CONTENT_TYPE, "application/json")],
            Body::from_stream(stream),
        )
            .into_response())
    }
}

fn label_selector(query: &Query) -> Result<LabelSelector, ApiError> {
    LabelSelector::parse(query.get("labelSelector").unwrap_or_default())
}

fn field_selector(query: &Query, resource: &ResourceType) -> Result<FieldSelector, ApiError> {
    FieldSelector::parse(query.get("fieldSelector").unwrap_or_default(), resource)
}

/// Continue tokens are `<resourceVersion>:<namespace>:<name>` of the last
/// item served; clients treat them as opaque.
fn parse_continue(token: &str) -> Result<(String, String), ApiError> {
    let invalid = || ApiError::bad_request(format!("continue key is not valid: {token:?}"));
    let mut parts = token.splitn(3, ':');
    let (Some(version), Some(namespace), Some(name)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if version.parse::<u64>().is_err() || name.is_empty() {
        return Err(invalid());
    }
    Ok((namespace.to_string(), name.to_string()))
}

fn list_body(
    request: &ApiRequest<'_>,
    resource: &ResourceType,
    items: Vec<Value>,
    resource_version: u64,
    continuation: Option<(String, usize)>,
) -> Value {
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if let (Some((token, remaining)), Some(fields)) = (continuation, metadata.as_object_mut()) {
        fields.insert("continue".to_string(), json!(token));
        fields.insert("remainingItemCount".to_string(), json!(remaining));
    }
    let (kind, api_version) = if request.metadata_only() {
        (
            "PartialObjectMetadataList".to_string(),
            "meta.k8s.io/v1".to_string(),
        )
    } else {
        (format!("{}List", resource.kind), resource.api_version())
    };
    json!({
        "kind": kind,
        "apiVersion": api_version,
        "metadata": metadata,
        "items": items,
    })
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    (code, [(CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn aggregated_response(body: &Value) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, discovery::AGGREGATED_DISCOVERY)],
        body.to_string(),
    )
        .into_response()
}

fn error_response(error: &ApiError) -> Response {
    let code = StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &error.to_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_routed_like_the_api_server() {
        assert_eq!(parse_route("/version"), Route::Version);
        assert_eq!(parse_route("/api"), Route::CoreVersions);
        assert_eq!(parse_route("/apis/"), Route::Groups);
        assert_eq!(parse_route("/apis/apps"), Route::Group("apps"));
        assert_eq!(
            parse_route("/apis/apps/v1"),
            Route::GroupVersion {
                group: "apps",
                version: "v1"
            }
        );
        assert_eq!(
            parse_route("/api/v1/namespaces/test/configmaps/a"),
            Route::Resource {
                group: "",
                version: "v1",
                rest: vec!["namespaces", "test", "configmaps", "a"]
            }
        );
        assert_eq!(parse_route("/apis//v1"), Route::Unknown);
        assert_eq!(parse_route("relative"), Route::Unknown);
    }

    #[test]
    fn continue_tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(
            parse_continue("12:test:podinfo").expect("valid token"),
            ("test".to_string(), "podinfo".to_string())
        );
        assert!(parse_continue("garbage").is_err());
        assert!(parse_continue("x:test:podinfo").is_err());
    }
}
