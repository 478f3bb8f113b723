//! Gloo Edge objects as Flagger writes them: `gloo.solo.io/v1` Upstream and
//! `gateway.solo.io/v1` RouteTable.
//!
//! Field names, order and optionality follow Flagger's Go types
//! (`pkg/apis/gloo/{gloo,gateway}/v1`): every field is `omitempty`, so a
//! destination's weight of 0 is not written (Gloo reads a missing weight as
//! 0). The settings an Upstream copies from `spec.upstreamRef` are kept as
//! opaque JSON: weir passes them through without interpreting them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metadata::ObjectMetadata;

/// `apiVersion` of Gloo's Upstreams.
pub const UPSTREAM_API_VERSION: &str = "gloo.solo.io/v1";
/// `apiVersion` of Gloo's RouteTables.
pub const ROUTE_TABLE_API_VERSION: &str = "gateway.solo.io/v1";

/// A Gloo Upstream: where Envoy sends a destination's requests.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Upstream {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    pub spec: UpstreamSpec,
}

/// A Kubernetes Service upstream plus the connection settings Flagger copies
/// from the configuration Upstream. Other upstream types (`static`, `aws`,
/// ...) are not modelled: reading a configuration Upstream drops them, as
/// Flagger does.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube: Option<KubeUpstream>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breakers: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_http2: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_stream_window_size: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_connection_window_size: Option<Value>,
    /// Gloo spells it `httpProxyHostName`.
    #[serde(
        default,
        rename = "httpProxyHostName",
        skip_serializing_if = "Option::is_none"
    )]
    pub http_proxy_hostname: Option<Value>,
}

/// A Kubernetes Service port, with the pods it selects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KubeUpstream {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_namespace: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub service_port: i32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
}

/// A RouteTable: routes a Gloo VirtualService delegates to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteTable {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    pub spec: RouteTableSpec,
}

/// The routes, tried in order.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTableSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// One route: conditions and weighted destinations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Any one matcher must hold; none matches every request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<Matcher>,
    /// Go's `omitempty` never omits a struct, so this is always written.
    #[serde(default)]
    pub route_action: RouteAction,
    /// The route takes the path condition of the VirtualService route that
    /// delegates to the table, so the table needs no path of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inheritable_path_matchers: bool,
}

/// Conditions on one request; all that are set must hold.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatcher>,
    #[serde(
        default,
        rename = "queryParameters",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub query_parameters: Vec<QueryParameterMatcher>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
}

/// A header condition: equal to `value`, matching it as an RE2 regular
/// expression when `regex` is set, or present when `value` is empty.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HeaderMatcher {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regex: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invert_match: bool,
}

/// A query parameter condition, read like [`HeaderMatcher`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryParameterMatcher {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regex: bool,
}

/// Where a matching request goes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteAction {
    #[serde(default)]
    pub multi: MultiDestination,
}

/// Several destinations sharing the traffic by weight.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiDestination {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<WeightedDestination>,
}

/// An Upstream and its share: weight / sum of the route's weights.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightedDestination {
    #[serde(default)]
    pub destination: Destination,
    /// Omitted when 0, like Go's `omitempty`.
    #[serde(default, skip_serializing_if = "is_zero_weight")]
    pub weight: u32,
}

/// A destination: an Upstream by reference.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Destination {
    pub upstream: ResourceRef,
}

/// A Gloo resource in some namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

fn is_zero_weight(value: &u32) -> bool {
    *value == 0
}
