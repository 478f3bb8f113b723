//! Istio `networking.istio.io/v1beta1` objects, as far as Flagger writes them.
//!
//! Field names and optionality follow Flagger's Go types
//! (`pkg/apis/istio/v1beta1`), so the JSON and YAML serialized here match what
//! Flagger stores: `hosts` and destination `weight`s are always written, empty
//! lists and unset fields never. Fields Flagger never writes (`fault`,
//! `redirect`, subsets, ...) are not modelled; reading a VirtualService that
//! has them keeps only the modelled fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weir_api::service::{CorsPolicy, Headers, HttpRetry, TrafficPolicy};

use crate::metadata::ObjectMetadata;

/// `apiVersion` of the objects Flagger's Istio router writes.
pub const API_VERSION: &str = "networking.istio.io/v1beta1";

/// An Istio VirtualService.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualService {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    pub spec: VirtualServiceSpec,
}

/// Routing rules for the hosts of a VirtualService.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct VirtualServiceSpec {
    /// Always written, even empty (a delegate VirtualService has `hosts: []`).
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    /// HTTP rules; the first one whose `match` the request satisfies wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpRoute>,
    /// Rules for opaque TCP traffic (`spec.service.appProtocol: tcp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp: Vec<TcpRoute>,
}

/// One HTTP rule: conditions, destinations and what happens on the way.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// Flagger names its session-affinity rules so it can recognise them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Any one entry must hold; empty matches every request.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub r#match: Vec<HttpMatchRequest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<HttpRouteDestination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<HttpRewrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<HttpRetry>,
    /// Requests are copied here too; the copies' responses are discarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Destination>,
    /// Percentage of requests mirrored; absent means all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_percentage: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_policy: Option<CorsPolicy>,
    /// Header operations for every destination of the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
}

/// A weighted destination of an HTTP or TCP rule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HttpRouteDestination {
    pub destination: Destination,
    /// Always written: Istio reads a missing weight as 0 when there are
    /// several destinations. A single destination gets all traffic whatever
    /// its weight.
    #[serde(default)]
    pub weight: i32,
    /// Header operations for responses from this destination only (session
    /// affinity's `Set-Cookie`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
}

/// A Kubernetes Service, optionally a port of it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
}

/// A port, by number.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PortSelector {
    pub number: u32,
}

/// A percentage in `[0, 100]`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Percent {
    pub value: f64,
}

/// Istio's rewrite: Flagger drops `spec.service.rewrite.type`, which only
/// Gateway API understands.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRewrite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

/// Istio's `HTTPMatchRequest`: every condition set in one entry must hold.
///
/// Unlike `weir_api::service::HttpMatchRequest`, header conditions can carry
/// `suffix`: Flagger copies `analysis.match` headers (which allow it) into the
/// VirtualService unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpMatchRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<StringMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<StringMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<StringMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<StringMatch>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, StringMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_params: BTreeMap<String, StringMatch>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_uri_case: bool,
    /// The entry does not match if any of these headers matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub without_headers: BTreeMap<String, StringMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
}

/// A string condition: one of `exact`, `prefix`, `suffix` (Flagger's
/// extension), `regex` (RE2, matching the whole string). All empty means
/// "present".
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct StringMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// A TCP rule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TcpRoute {
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub r#match: Vec<L4MatchAttributes>,
    /// Always written, like Go's `json:"route"`.
    #[serde(default)]
    pub route: Vec<HttpRouteDestination>,
}

/// A TCP condition; Flagger only ever sets the port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct L4MatchAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

/// An Istio DestinationRule: Flagger writes one per generated Service, so
/// `spec.service.trafficPolicy` applies to both primary and canary.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRule {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMetadata,
    pub spec: DestinationRuleSpec,
}

/// The host a DestinationRule applies to and its traffic policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRuleSpec {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_policy: Option<TrafficPolicy>,
}

impl From<&weir_api::service::StringMatch> for StringMatch {
    fn from(condition: &weir_api::service::StringMatch) -> Self {
        StringMatch {
            exact: condition.exact.clone(),
            prefix: condition.prefix.clone(),
            suffix: None,
            regex: condition.regex.clone(),
        }
    }
}

impl From<&weir_api::service::HeaderMatch> for StringMatch {
    fn from(condition: &weir_api::service::HeaderMatch) -> Self {
        StringMatch {
            exact: condition.exact.clone(),
            prefix: condition.prefix.clone(),
            suffix: condition.suffix.clone(),
            regex: condition.regex.clone(),
        }
    }
}

fn string_matches<'a, T: 'a>(
    conditions: impl IntoIterator<Item = (&'a String, &'a T)>,
) -> BTreeMap<String, StringMatch>
where
    StringMatch: From<&'a T>,
{
    conditions
        .into_iter()
        .map(|(name, condition)| (name.clone(), StringMatch::from(condition)))
        .collect()
}

impl From<&weir_api::service::HttpMatchRequest> for HttpMatchRequest {
    fn from(request: &weir_api::service::HttpMatchRequest) -> Self {
        HttpMatchRequest {
            name: request.name.clone(),
            uri: request.uri.as_ref().map(StringMatch::from),
            scheme: request.scheme.as_ref().map(StringMatch::from),
            method: request.method.as_ref().map(StringMatch::from),
            authority: request.authority.as_ref().map(StringMatch::from),
            headers: string_matches(&request.headers),
            port: request.port,
            source_labels: request.source_labels.clone(),
            gateways: request.gateways.clone(),
            query_params: string_matches(&request.query_params),
            ignore_uri_case: request.ignore_uri_case.unwrap_or(false),
            without_headers: string_matches(&request.without_headers),
            source_namespace: request.source_namespace.clone(),
        }
    }
}

impl From<&weir_api::analysis::AnalysisMatch> for HttpMatchRequest {
    fn from(request: &weir_api::analysis::AnalysisMatch) -> Self {
        HttpMatchRequest {
            headers: string_matches(&request.headers),
            query_params: string_matches(&request.query_params),
            source_labels: request.source_labels.clone(),
            ..HttpMatchRequest::default()
        }
    }
}
