//! App Mesh `appmesh.k8s.aws/v1beta1` VirtualNode and VirtualService, as far
//! as Flagger writes them.
//!
//! Field names, order and optionality follow Flagger's Go types
//! (`pkg/apis/appmesh/v1beta1`): `meshName`, a route's `match.prefix` and
//! `action.weightedTargets` and a target's `weight` are always written, the
//! rest only when set. Status is written by the App Mesh controller and not
//! modelled; fields Flagger never writes are opaque JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metadata::ObjectMetadata;

/// `apiVersion` of the v1beta1 objects.
pub const API_VERSION: &str = "appmesh.k8s.aws/v1beta1";

/// A VirtualNode: a set of pods reachable in the mesh.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNode {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    #[serde(default)]
    pub spec: VirtualNodeSpec,
}

/// Mesh, listener, DNS name, backends and logging of a node.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNodeSpec {
    #[serde(default)]
    pub mesh_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_discovery: Option<ServiceDiscovery>,
    /// The virtual services the node may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<Backend>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
}

/// The port a node receives traffic on.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub port_mapping: PortMapping,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<Value>,
}

/// A port and its protocol (`http`, `grpc`, ...).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PortMapping {
    pub port: i64,
    pub protocol: String,
}

/// How the mesh finds the node's pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDiscovery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_map: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsServiceDiscovery>,
}

/// A DNS name resolving to the pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DnsServiceDiscovery {
    pub host_name: String,
}

/// A virtual service the node may send traffic to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    pub virtual_service: VirtualServiceBackend,
}

/// A virtual service, by name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceBackend {
    pub virtual_service_name: String,
}

/// Access logging.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Logging {
    /// Written even when unset, like Go's `json:"accessLog"`.
    #[serde(default)]
    pub access_log: Option<AccessLog>,
}

/// Where access logs go.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessLog {
    /// Written even when unset, like Go's `json:"file"`.
    #[serde(default)]
    pub file: Option<FileAccessLog>,
}

/// A file in the Envoy container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FileAccessLog {
    pub path: String,
}

/// A v1beta1 VirtualService: a service name with its router and routes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualService {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    #[serde(default)]
    pub spec: VirtualServiceSpec,
}

/// Mesh, router and routes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceSpec {
    #[serde(default)]
    pub mesh_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_router: Option<VirtualRouter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// The router the App Mesh controller creates for the service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualRouter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<VirtualRouterListener>,
}

/// The port the router listens on.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualRouterListener {
    pub port_mapping: PortMapping,
}

/// A route; among matching routes the lowest priority wins.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Route {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpRoute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// An HTTP route: condition, weighted targets, retries.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    #[serde(rename = "match")]
    pub r#match: HttpRouteMatch,
    pub action: HttpRouteAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<HttpRetryPolicy>,
}

/// A path prefix, and optionally method, headers and scheme.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRouteMatch {
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// All must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpRouteHeader>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

/// A header condition.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRouteHeader {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invert: Option<bool>,
    /// Without a match method the header only has to be present.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub r#match: Option<HeaderMatchMethod>,
}

/// How a header value is compared; every one set must hold.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderMatchMethod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
}

/// The weighted targets of a route.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteAction {
    pub weighted_targets: Vec<WeightedTarget>,
}

/// A node and its relative weight.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WeightedTarget {
    pub virtual_node_name: String,
    pub weight: i64,
}

/// Retries of failed requests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRetryPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_retry_timeout_millis: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i64>,
    #[serde(
        default,
        rename = "httpRetryEvents",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub http_retry_events: Vec<String>,
    #[serde(
        default,
        rename = "tcpRetryEvents",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tcp_retry_events: Vec<String>,
}
