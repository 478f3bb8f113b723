//! The parts of a Gateway API `HTTPRoute` the tests check: which backends
//! get which weight, which header matches send traffic where, and whether
//! the Gateway accepted the route.
//!
//! ```text
//!  progressive canary            A/B testing
//!  rules[0] matches: PathPrefix /     rules[0] matches: header x-canary=insider
//!           podinfo-primary 90                 podinfo-primary   0
//!           podinfo-canary  10                 podinfo-canary  100
//!                                     rules[1] matches: PathPrefix /
//!                                              podinfo-primary 100
//! ```

use serde::Deserialize;

/// An `HTTPRoute`, reduced to what the tests read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// `spec`.
    #[serde(default)]
    pub spec: HttpRouteSpec,
    /// `status`.
    #[serde(default)]
    pub status: HttpRouteStatus,
}

/// `HTTPRoute.spec`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// The Gateways the route attaches to.
    #[serde(default)]
    pub parent_refs: Vec<ParentRef>,
    /// The hosts the route serves.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// The rules, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A Gateway the route attaches to.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    /// The Gateway's name.
    pub name: String,
    /// The Gateway's namespace (the route's when absent).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// One routing rule.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The requests the rule applies to (any of them).
    #[serde(default)]
    pub matches: Vec<Match>,
    /// Where matching requests go.
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
}

/// A request match.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    /// Header conditions (all of them).
    #[serde(default)]
    pub headers: Vec<HeaderMatch>,
}

/// A header condition.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HeaderMatch {
    /// `Exact` (the API's default when absent) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub match_type: Option<String>,
    /// The header's name.
    pub name: String,
    /// The value to match.
    pub value: String,
}

/// A backend Service and its weight.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackendRef {
    /// The Service's name.
    pub name: String,
    /// The Service port.
    #[serde(default)]
    pub port: Option<i32>,
    /// The weight (the API's default, 1, when absent).
    #[serde(default)]
    pub weight: Option<i32>,
}

/// `HTTPRoute.status`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteStatus {
    /// One entry per Gateway that looked at the route.
    #[serde(default)]
    pub parents: Vec<ParentStatus>,
}

/// A Gateway's verdict on the route.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ParentStatus {
    /// The Gateway.
    pub parent_ref: ParentRef,
    /// `Accepted`, `ResolvedRefs`, ...
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// A status condition.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type.
    #[serde(rename = "type")]
    pub condition_type: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Why, in one word.
    #[serde(default)]
    pub reason: String,
}

/// The weight the Gateway API gives a backendRef without one.
const DEFAULT_WEIGHT: i32 = 1;

impl BackendRef {
    /// The weight, with the API's default applied.
    pub fn effective_weight(&self) -> i32 {
        self.weight.unwrap_or(DEFAULT_WEIGHT)
    }
}

impl Rule {
    /// The weight this rule gives the Service `service`, if it is a backend.
    pub fn weight_of(&self, service: &str) -> Option<i32> {
        self.backend_refs
            .iter()
            .find(|backend| backend.name == service)
            .map(BackendRef::effective_weight)
    }

    /// Whether some match of this rule requires header `name` to equal
    /// `value` exactly (header names compare case-insensitively, as HTTP's).
    pub fn matches_header_exactly(&self, name: &str, value: &str) -> bool {
        self.matches.iter().any(|request_match| {
            request_match.headers.iter().any(|header| {
                header.name.eq_ignore_ascii_case(name)
                    && header.value == value
                    && header
                        .match_type
                        .as_deref()
                        .is_none_or(|kind| kind == "Exact")
            })
        })
    }

    /// Whether any match of this rule looks at headers.
    pub fn has_header_matches(&self) -> bool {
        self.matches
            .iter()
            .any(|request_match| !request_match.headers.is_empty())
    }
}

impl HttpRoute {
    /// Reads a route from its JSON form.
    pub fn from_json(value: serde_json::Value) -> Result<HttpRoute, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// `(primary, canary)` weights of the progressive rule: the last rule
    /// with both Services as backends, as Flagger's router reads them back.
    pub fn weights(&self, primary: &str, canary: &str) -> Option<(i32, i32)> {
        self.spec
            .rules
            .iter()
            .rev()
            .find_map(|rule| Some((rule.weight_of(primary)?, rule.weight_of(canary)?)))
    }

    /// The largest weight any rule gives `service` (0 when no rule does).
    pub fn max_weight_of(&self, service: &str) -> i32 {
        self.spec
            .rules
            .iter()
            .filter_map(|rule| rule.weight_of(service))
            .max()
            .unwrap_or(0)
    }

    /// Whether the Gateway `namespace/name` reported the route `Accepted`.
    pub fn accepted_by(&self, namespace: &str, name: &str) -> bool {
        self.status.parents.iter().any(|parent| {
            parent.parent_ref.name == name
                && parent.parent_ref.namespace.as_deref() == Some(namespace)
                && parent.conditions.iter().any(|condition| {
                    condition.condition_type == "Accepted" && condition.status == "True"
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ab_route() -> HttpRoute {
        HttpRoute::from_json(json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "spec": {
                "parentRefs": [{"name": "gateway", "namespace": "istio-ingress"}],
                "hostnames": ["gatewayapi-ab.example.com"],
                "rules": [
                    {
                        "matches": [{
                            "path": {"type": "PathPrefix", "value": "/"},
                            "headers": [{"type": "Exact", "name": "x-canary", "value": "insider"}]
                        }],
                        "backendRefs": [
                            {"group": "", "kind": "Service", "name": "podinfo-primary", "port": 9898, "weight": 0},
                            {"group": "", "kind": "Service", "name": "podinfo-canary", "port": 9898, "weight": 100}
                        ]
                    },
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                        "backendRefs": [
                            {"group": "", "kind": "Service", "name": "podinfo-primary", "port": 9898, "weight": 100}
                        ]
                    }
                ]
            },
            "status": {"parents": [{
                "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gateway", "namespace": "istio-ingress"},
                "controllerName": "istio.io/gateway-controller",
                "conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted"},
                    {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}
                ]
            }]}
        }))
        .expect("a valid HTTPRoute")
    }

    #[test]
    fn the_ab_rule_sends_the_insiders_to_the_canary_and_the_rest_to_the_primary() {
        let route = ab_route();
        let [insiders, everyone] = route.spec.rules.as_slice() else {
            panic!("two rules expected: {route:?}");
        };
        assert!(insiders.matches_header_exactly("X-Canary", "insider"));
        assert_eq!(insiders.weight_of("podinfo-canary"), Some(100));
        assert_eq!(insiders.weight_of("podinfo-primary"), Some(0));
        assert!(!everyone.has_header_matches());
        assert_eq!(everyone.weight_of("podinfo-primary"), Some(100));
        assert_eq!(everyone.weight_of("podinfo-canary"), None);
    }

    #[test]
    fn weights_come_from_the_last_rule_naming_both_services() {
        assert_eq!(
            ab_route().weights("podinfo-primary", "podinfo-canary"),
            Some((0, 100))
        );
        assert_eq!(ab_route().max_weight_of("podinfo-canary"), 100);
        assert_eq!(ab_route().max_weight_of("podinfo-other"), 0);
    }

    #[test]
    fn a_regular_expression_is_not_an_exact_match() {
        let rule: Rule = serde_json::from_value(json!({
            "matches": [{"headers": [{"type": "RegularExpression", "name": "x-canary", "value": "insider"}]}]
        }))
        .expect("a valid rule");
        assert!(!rule.matches_header_exactly("x-canary", "insider"));
    }

    #[test]
    fn a_backend_without_a_weight_weighs_one() {
        let rule: Rule =
            serde_json::from_value(json!({"backendRefs": [{"name": "podinfo-primary"}]}))
                .expect("a valid rule");
        assert_eq!(rule.weight_of("podinfo-primary"), Some(1));
    }

    #[test]
    fn acceptance_is_read_per_gateway() {
        let route = ab_route();
        assert!(route.accepted_by("istio-ingress", "gateway"));
        assert!(!route.accepted_by("default", "gateway"));
        assert!(!HttpRoute::default().accepted_by("istio-ingress", "gateway"));
    }
}
