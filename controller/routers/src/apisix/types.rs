//! Apache APISIX `apisix.apache.org/v2` ApisixRoute, as far as Flagger
//! copies and writes it.
//!
//! Field names, order and optionality follow Flagger's Go types
//! (`pkg/apis/apisix/v2`): a route's `name`, `match.paths`, `websocket` and
//! a backend's `weight` are always written, the rest only when set. Parts
//! the router copies without reading (timeouts, plugins, authentication)
//! are opaque JSON, so they are copied exactly as the user wrote them.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metadata::ObjectMetadata;

/// `apiVersion` of the ApisixRoutes Flagger reads and writes.
pub const API_VERSION: &str = "apisix.apache.org/v2";

/// An ApisixRoute: HTTP (and stream) routes of the APISIX ingress controller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApisixRoute {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    #[serde(default)]
    pub spec: ApisixRouteSpec,
}

/// HTTP and stream routes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ApisixRouteSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<ApisixRouteHttp>,
    /// Layer 4 routes; the canary route never has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stream: Vec<Value>,
}

/// One HTTP route: conditions, backends and plugins.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApisixRouteHttp {
    /// Unique within the ApisixRoute.
    pub name: String,
    /// Among routes matching the same path, the highest priority wins.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Value>,
    /// Go's `omitempty` never omits a struct, so this is always written.
    #[serde(default, rename = "match")]
    pub r#match: ApisixRouteHttpMatch,
    /// With several backends, APISIX splits traffic by their weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<ApisixRouteHttpBackend>,
    #[serde(default)]
    pub websocket: bool,
    #[serde(
        default,
        rename = "plugin_config_name",
        skip_serializing_if = "String::is_empty"
    )]
    pub plugin_config_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<ApisixRoutePlugin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Value>,
}

/// An APISIX plugin and its configuration, copied as written.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ApisixRoutePlugin {
    pub name: String,
    /// Always written, like Go's `json:"enable"`.
    #[serde(default)]
    pub enable: bool,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub config: Value,
}

/// Request conditions; all that are set must hold.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApisixRouteHttpMatch {
    /// Exact paths, or prefixes ending in `*`.
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_addrs: Vec<String>,
    /// Conditions on headers, query arguments, cookies or variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exprs: Vec<ApisixRouteHttpMatchExpr>,
}

/// `<subject> <op> <value>`, e.g. header `x-canary` `Equal` `insider`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ApisixRouteHttpMatchExpr {
    pub subject: ApisixRouteHttpMatchExprSubject,
    /// `Equal`, `RegexMatch`, `In`, ...
    pub op: String,
    /// The operand of `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<String>,
    /// The operand of every other operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What an expression looks at: `Header`, `Query`, `Cookie`, `Path`, ...
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ApisixRouteHttpMatchExprSubject {
    pub scope: String,
    #[serde(default)]
    pub name: String,
}

/// A Kubernetes Service in the route's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApisixRouteHttpBackend {
    pub service_name: String,
    /// A port number or name.
    pub service_port: IntOrString,
    /// `endpoints` (pod addresses, the default) or `service`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resolve_granularity: String,
    /// Always written; `null` lets the ingress controller choose.
    #[serde(default)]
    pub weight: Option<i32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subset: String,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}
