//! App Mesh `appmesh.k8s.aws/v1beta2` VirtualNode, VirtualRouter and
//! VirtualService, as far as Flagger writes them.
//!
//! Field names, order and optionality follow the App Mesh controller's Go
//! types as vendored by Flagger (`pkg/apis/appmesh/v1beta2`). `awsName` and
//! `meshRef` are filled in by the App Mesh controller and kept on updates;
//! status is the controller's and not modelled; fields Flagger never writes
//! are opaque JSON.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metadata::ObjectMetadata;

/// `apiVersion` of the v1beta2 objects.
pub const API_VERSION: &str = "appmesh.k8s.aws/v1beta2";

/// A VirtualNode: the pods selected by `podSelector`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNode {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    #[serde(default)]
    pub spec: VirtualNodeSpec,
}

/// Pods, listener, DNS name, backends and logging of a node.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNodeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_discovery: Option<ServiceDiscovery>,
    /// The virtual services the node may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<Backend>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_defaults: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Set by the App Mesh admission webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_ref: Option<Value>,
}

/// The port a node receives traffic on, and its timeouts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub port_mapping: PortMapping,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ListenerTimeout>,
}

/// A port and its protocol (`http`, `grpc`, ...).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PortMapping {
    pub port: i64,
    pub protocol: String,
}

/// Timeouts by protocol; Flagger sets the HTTP one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListenerTimeout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpTimeout>,
}

/// Request and idle timeouts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpTimeout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_request: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<Duration>,
}

/// A duration in `s` or `ms`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Duration {
    pub unit: String,
    pub value: i64,
}

/// How the mesh finds the node's pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDiscovery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_cloud_map: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsServiceDiscovery>,
}

/// A DNS name resolving to the pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsServiceDiscovery {
    pub hostname: String,
}

/// A virtual service the node may send traffic to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    pub virtual_service: VirtualServiceBackend,
}

/// A virtual service by Kubernetes reference or by ARN.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct VirtualServiceBackend {
    #[serde(
        default,
        rename = "virtualServiceRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_service_ref: Option<Reference>,
    #[serde(
        default,
        rename = "virtualServiceARN",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_service_arn: Option<String>,
    #[serde(
        default,
        rename = "clientPolicy",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_policy: Option<Value>,
}

/// A reference to an App Mesh object; the namespace defaults to the referrer's.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Reference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// Access logging.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Logging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLog>,
}

/// Where access logs go.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessLog {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileAccessLog>,
}

/// A file in the Envoy container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FileAccessLog {
    pub path: String,
}

/// A VirtualRouter: routes for the services that use it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualRouter {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    #[serde(default)]
    pub spec: VirtualRouterSpec,
}

/// Listener and routes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualRouterSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<VirtualRouterListener>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// Set by the App Mesh admission webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_ref: Option<Value>,
}

/// The port the router listens on.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualRouterListener {
    pub port_mapping: PortMapping,
}

/// A route; among matching routes the lowest priority wins.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_route: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_route: Option<HttpRoute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_route: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_route: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// An HTTP route: condition, weighted targets, retries, timeout.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    #[serde(rename = "match")]
    pub r#match: HttpRouteMatch,
    pub action: HttpRouteAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<HttpRetryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HttpTimeout>,
}

/// Headers, method, path prefix and scheme.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRouteMatch {
    /// All must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpRouteHeader>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

/// A header condition.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRouteHeader {
    pub name: String,
    /// Without a match method the header only has to be present.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub r#match: Option<HeaderMatchMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invert: Option<bool>,
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

/// A node (by reference or ARN) and its relative weight.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightedTarget {
    #[serde(
        default,
        rename = "virtualNodeRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_node_ref: Option<Reference>,
    #[serde(
        default,
        rename = "virtualNodeARN",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_node_arn: Option<String>,
    pub weight: i64,
}

/// Retries of failed requests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRetryPolicy {
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
    #[serde(rename = "maxRetries")]
    pub max_retries: i64,
    #[serde(rename = "perRetryTimeout")]
    pub per_retry_timeout: Duration,
}

/// A VirtualService: a service name backed by a router (or a node).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualService {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    #[serde(default)]
    pub spec: VirtualServiceSpec,
}

/// What provides the service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<VirtualServiceProvider>,
    /// Set by the App Mesh admission webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_ref: Option<Value>,
}

/// A node or a router.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceProvider {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_node: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_router: Option<VirtualRouterServiceProvider>,
}

/// A router by Kubernetes reference or by ARN.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualRouterServiceProvider {
    #[serde(
        default,
        rename = "virtualRouterRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_router_ref: Option<Reference>,
    #[serde(
        default,
        rename = "virtualRouterARN",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_router_arn: Option<String>,
}
