//! Errors: the API server's failures as `meta/v1 Status` bodies
//! ([`ApiError`]), direct store access ([`StoreError`]) and starting the
//! fakes ([`FakeKubeError`]).

use serde_json::{Value, json};

use crate::registry::{RegistryError, ResourceType};

/// A failed API request, rendered as the API server's `Status` body with the
/// same `reason`, `code` and message wording (apimachinery
/// `k8s.io/apimachinery/pkg/api/errors`), so clients classify it as they
/// would a real one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The object does not exist (404 `NotFound`).
    #[error("{} \"{name}\" not found", .resource.qualified_resource())]
    NotFound {
        /// The object's type.
        resource: Box<ResourceType>,
        /// The object's name.
        name: String,
    },
    /// No resource is served at the path (404 `NotFound`).
    #[error("the server could not find the requested resource")]
    UnknownPath {
        /// The request's path.
        path: String,
    },
    /// An object with this name exists (409 `AlreadyExists`).
    #[error("{} \"{name}\" already exists", .resource.qualified_resource())]
    AlreadyExists {
        /// The object's type.
        resource: Box<ResourceType>,
        /// The object's name.
        name: String,
    },
    /// A precondition failed, typically a stale `resourceVersion`
    /// (409 `Conflict`).
    #[error("Operation cannot be fulfilled on {} \"{name}\": {problem}", .resource.qualified_resource())]
    Conflict {
        /// The object's type.
        resource: Box<ResourceType>,
        /// The object's name.
        name: String,
        /// What conflicted.
        problem: String,
    },
    /// The object is not acceptable (422 `Invalid`).
    #[error("{} \"{name}\" is invalid: {}", .kind, .causes.join(", "))]
    Invalid {
        /// The qualified kind (`Deployment.apps`).
        kind: String,
        /// The object's name (may be empty).
        name: String,
        /// Each problem as `field: reason`.
        causes: Vec<String>,
    },
    /// A patch decodes but does not apply, such as a failing JSON patch
    /// `test` (422, reason `Invalid`, as the API server reports it).
    #[error("{message}")]
    Unprocessable {
        /// What failed.
        message: String,
    },
    /// The request is malformed (400 `BadRequest`).
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
    },
    /// The verb is not served on this path (405 `MethodNotAllowed`).
    #[error("{verb} is not supported on resources of kind \"{resource}\"")]
    MethodNotAllowed {
        /// The resource the path names.
        resource: String,
        /// The attempted verb.
        verb: String,
    },
    /// The requested `resourceVersion` is no longer in the watch history
    /// (410, reason `Expired` as the API server sends it).
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The version asked for.
        requested: u64,
        /// The oldest version the server can still serve from.
        oldest: u64,
    },
    /// A patch's content type is not one the server applies (415).
    #[error(
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
    )]
    UnsupportedMediaType {
        /// The content type received.
        content_type: String,
    },
    /// A fault injected by a test (500 `InternalError`).
    #[error("Internal error occurred: {message}")]
    Internal {
        /// What the test asked to report.
        message: String,
    },
    /// A fault injected by a test (503 `ServiceUnavailable`).
    #[error("{message}")]
    ServiceUnavailable {
        /// What the test asked to report.
        message: String,
    },
    /// A fault injected by a test (429 `TooManyRequests`).
    #[error("{message}")]
    TooManyRequests {
        /// What the test asked to report.
        message: String,
    },
}

impl ApiError {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath { .. } => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Invalid { .. } | ApiError::Unprocessable { .. } => 422,
            ApiError::BadRequest { .. } => 400,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Expired { .. } => 410,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::Internal { .. } => 500,
            ApiError::ServiceUnavailable { .. } => 503,
            ApiError::TooManyRequests { .. } => 429,
        }
    }

    /// The `reason` of the `Status` body.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath { .. } => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::Unprocessable { .. } => "Invalid",
            ApiError::BadRequest { .. } => "BadRequest",
            ApiError::MethodNotAllowed { .. } => "MethodNotAllowed",
            ApiError::Expired { .. } => "Expired",
            ApiError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            ApiError::Internal { .. } => "InternalError",
            ApiError::ServiceUnavailable { .. } => "ServiceUnavailable",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
        }
    }

    /// The `meta/v1 Status` body the API server answers with.
    pub fn to_status(&self) -> Value {
        let details = match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name, .. } => Some(json!({
                "name": name,
                "group": resource.group,
                "kind": resource.plural,
            })),
            ApiError::Invalid { kind, name, causes } => {
                let (kind, group) = kind.split_once('.').unwrap_or((kind.as_str(), ""));
                Some(json!({
                    "name": name,
                    "group": group,
                    "kind": kind,
                    "causes": causes.iter().map(|cause| {
                        let (field, message) = cause.split_once(": ").unwrap_or(("", cause.as_str()));
                        json!({"reason": "FieldValueInvalid", "message": message, "field": field})
                    }).collect::<Vec<_>>(),
                }))
            }
            ApiError::UnknownPath { .. } => Some(json!({})),
            _ => None,
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if let (Some(details), Some(body)) = (details, status.as_object_mut()) {
            body.insert("details".to_string(), details);
        }
        status
    }

    pub(crate) fn not_found(resource: &ResourceType, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: Box::new(resource.clone()),
            name: name.to_string(),
        }
    }

    pub(crate) fn conflict(
        resource: &ResourceType,
        name: &str,
        problem: impl Into<String>,
    ) -> ApiError {
        ApiError::Conflict {
            resource: Box::new(resource.clone()),
            name: name.to_string(),
            problem: problem.into(),
        }
    }

    /// The API server's wording for an update based on a stale object.
    pub(crate) fn stale(resource: &ResourceType, name: &str) -> ApiError {
        ApiError::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub(crate) fn invalid(
        resource: &ResourceType,
        name: &str,
        cause: impl Into<String>,
    ) -> ApiError {
        ApiError::Invalid {
            kind: resource.qualified_kind(),
            name: name.to_string(),
            causes: vec![cause.into()],
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
        }
    }
}

/// Why a direct store access (seeding, reading or editing objects without
/// HTTP) failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The API server would have refused the same operation.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No resource type is registered for this `apiVersion` and kind.
    #[error("no resource type is registered for {api_version} {kind}; register it first")]
    UnknownKind {
        /// The requested `apiVersion`.
        api_version: String,
        /// The requested kind.
        kind: String,
    },
    /// A resource type could not be registered.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// An object given to the store is not a JSON object with `apiVersion`
    /// and `kind`.
    #[error("cannot store the object: {problem}")]
    NotAnObject {
        /// What is missing.
        problem: String,
    },
    /// A typed object could not be converted to or from JSON.
    #[error("cannot convert {kind} {name:?} between JSON and its Rust type: {source}")]
    Conversion {
        /// The object's kind.
        kind: String,
        /// The object's name, if known.
        name: String,
        /// serde_json's reason.
        source: serde_json::Error,
    },
}

/// Why a fake could not start.
#[derive(Debug, thiserror::Error)]
pub enum FakeKubeError {
    /// The loopback listener could not be opened.
    #[error("cannot listen on 127.0.0.1 for the fake API server: {source}")]
    Bind {
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The fake was started outside a Tokio runtime.
    #[error("the fake {fake} must be started inside a Tokio runtime")]
    NoRuntime {
        /// Which fake.
        fake: &'static str,
    },
    /// The server's URL is not a valid URI (cannot happen for a loopback
    /// address; reported rather than assumed).
    #[cfg(feature = "client")]
    #[error("the fake API server's URL {url} is not a valid URI: {source}")]
    Url {
        /// The server's URL.
        url: String,
        /// http's reason.
        source: http::uri::InvalidUri,
    },
    /// A kube-rs client for the fake could not be built.
    #[cfg(feature = "client")]
    #[error("cannot build a kube client for the fake API server at {url}: {source}")]
    Client {
        /// The server's URL.
        url: String,
        /// kube-rs's reason.
        source: Box<kube::Error>,
    },
}
