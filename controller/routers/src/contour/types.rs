//! Contour `projectcontour.io/v1` HTTPProxy, as far as Flagger writes it.
//!
//! Field names, order and optionality follow Contour's Go types (which
//! Flagger vendors), so the serialized object matches what Flagger stores:
//! a service `weight` of 0 and empty lists are left out (`omitempty`), a retry
//! policy's `count` is always written. Fields Flagger never writes
//! (`virtualhost`, `includes`, `tcpproxy`, load balancing, ...) are not
//! modelled; Flagger replaces the whole spec, so weir does too.

use serde::{Deserialize, Serialize};

use crate::metadata::ObjectMetadata;

/// `apiVersion` of the HTTPProxy.
pub const API_VERSION: &str = "projectcontour.io/v1";

/// An HTTPProxy without `virtualhost`: a set of routes a root HTTPProxy
/// includes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpProxy {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    pub spec: HttpProxySpec,
}

/// Routes, and the ingress class that selects the Contour serving them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpProxySpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// The controller flag `-ingress-class`; Contour instances started with
    /// `--ingress-class-name` serve only HTTPProxies of their class.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ingress_class_name: String,
}

/// One route: all its conditions must hold; the first matching route, by
/// Contour's precedence (longest prefix, then most header conditions), wins.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<MatchCondition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_policy: Option<TimeoutPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
}

/// A path prefix or a header condition (Flagger writes both in one entry).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchCondition {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMatchCondition>,
}

/// A condition on one request header; header names are case-insensitive.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderMatchCondition {
    pub name: String,
    /// The header's value contains this string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub contains: String,
    /// The header's value is exactly this string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exact: String,
}

/// A Kubernetes Service the route sends a share of its requests to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub name: String,
    pub port: i32,
    /// Left out when 0. Contour splits evenly when no service of a route has
    /// a weight, which is why `set_routes` refuses 0/0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers_policy: Option<HeadersPolicy>,
}

fn is_zero(weight: &i32) -> bool {
    *weight == 0
}

/// Request headers to set or remove on the way to a service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadersPolicy {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<HeaderValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A header name and value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderValue {
    pub name: String,
    pub value: String,
}

/// Timeouts of a route, as Go durations (`"30s"`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// How long Envoy waits for the upstream's response.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response: String,
    /// How long an upstream connection may stay idle.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub idle: String,
}

/// Retries of a route.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Always written; Contour reads 0 as its default of one retry.
    #[serde(default)]
    pub count: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub per_try_timeout: String,
    /// Envoy retry conditions (`5xx`, `gateway-error`, `reset`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_on: Vec<String>,
}
