//! Traffic-management providers (`spec.provider`, `-mesh-provider`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The providers Flagger's CRD accepts in `spec.provider`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum Provider {
    #[serde(rename = "apisix")]
    Apisix,
    #[serde(rename = "appmesh")]
    AppMesh,
    #[serde(rename = "appmesh:v1beta2")]
    AppMeshV1beta2,
    #[serde(rename = "contour")]
    Contour,
    #[serde(rename = "gatewayapi:v1")]
    GatewayApiV1,
    #[serde(rename = "gatewayapi:v1beta1")]
    GatewayApiV1beta1,
    #[serde(rename = "gloo")]
    Gloo,
    #[serde(rename = "istio")]
    Istio,
    #[serde(rename = "knative")]
    Knative,
    #[serde(rename = "kubernetes")]
    Kubernetes,
    #[serde(rename = "kuma")]
    Kuma,
    #[serde(rename = "linkerd")]
    Linkerd,
    #[serde(rename = "nginx")]
    Nginx,
    #[serde(rename = "osm")]
    Osm,
    #[serde(rename = "skipper")]
    Skipper,
    #[serde(rename = "smi:v1alpha1")]
    SmiV1alpha1,
    #[serde(rename = "smi:v1alpha2")]
    SmiV1alpha2,
    #[serde(rename = "smi:v1alpha3")]
    SmiV1alpha3,
    #[serde(rename = "traefik")]
    Traefik,
}

impl Provider {
    pub const ALL: [Provider; 19] = [
        Provider::Apisix,
        Provider::AppMesh,
        Provider::AppMeshV1beta2,
        Provider::Contour,
        Provider::GatewayApiV1,
        Provider::GatewayApiV1beta1,
        Provider::Gloo,
        Provider::Istio,
        Provider::Knative,
        Provider::Kubernetes,
        Provider::Kuma,
        Provider::Linkerd,
        Provider::Nginx,
        Provider::Osm,
        Provider::Skipper,
        Provider::SmiV1alpha1,
        Provider::SmiV1alpha2,
        Provider::SmiV1alpha3,
        Provider::Traefik,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Apisix => "apisix",
            Provider::AppMesh => "appmesh",
            Provider::AppMeshV1beta2 => "appmesh:v1beta2",
            Provider::Contour => "contour",
            Provider::GatewayApiV1 => "gatewayapi:v1",
            Provider::GatewayApiV1beta1 => "gatewayapi:v1beta1",
            Provider::Gloo => "gloo",
            Provider::Istio => "istio",
            Provider::Knative => "knative",
            Provider::Kubernetes => "kubernetes",
            Provider::Kuma => "kuma",
            Provider::Linkerd => "linkerd",
            Provider::Nginx => "nginx",
            Provider::Osm => "osm",
            Provider::Skipper => "skipper",
            Provider::SmiV1alpha1 => "smi:v1alpha1",
            Provider::SmiV1alpha2 => "smi:v1alpha2",
            Provider::SmiV1alpha3 => "smi:v1alpha3",
            Provider::Traefik => "traefik",
        }
    }

    /// AppMesh routers must exist before the primary so that sidecars get injected.
    pub fn is_app_mesh(self) -> bool {
        matches!(self, Provider::AppMesh | Provider::AppMeshV1beta2)
    }

    /// Whether the provider's router can mirror traffic to the canary. Flagger
    /// only reports mirroring from Istio (and Gateway API during blue/green).
    pub fn supports_mirroring(self) -> bool {
        matches!(
            self,
            Provider::Istio | Provider::GatewayApiV1 | Provider::GatewayApiV1beta1
        )
    }

    /// Whether the router mirrors traffic during a progressive (weighted)
    /// canary. Flagger's Gateway API routers add their `RequestMirror`
    /// filter only with `iterations` (blue/green), so there `mirror` works
    /// for blue/green alone; Istio mirrors in both strategies.
    pub fn mirrors_progressive_canaries(self) -> bool {
        self == Provider::Istio
    }

    /// Whether the provider's router can route by request headers (A/B
    /// testing). Not Traefik: its router ignores `analysis.match`, so an A/B
    /// analysis there would send everyone to the canary.
    pub fn supports_ab_testing(self) -> bool {
        matches!(
            self,
            Provider::Istio
                | Provider::GatewayApiV1
                | Provider::GatewayApiV1beta1
                | Provider::AppMesh
                | Provider::AppMeshV1beta2
                | Provider::Contour
                | Provider::Gloo
                | Provider::Nginx
                | Provider::Apisix
        )
    }

    /// Whether the provider's router implements cookie-based session affinity.
    pub fn supports_session_affinity(self) -> bool {
        matches!(
            self,
            Provider::Istio | Provider::GatewayApiV1 | Provider::GatewayApiV1beta1
        )
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown provider name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider `{0}`: expected one of {list}", list = Provider::ALL.map(Provider::as_str).join(", "))]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    /// Parses a provider name. Unlike Flagger, which silently falls back to the
    /// Istio router for names it does not know (semantics §18 #12), this is an
    /// error. The `gatewayapi` name without a version is not valid in Flagger's
    /// CRD either, so it is rejected here too.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|provider| provider.as_str() == input)
            .ok_or_else(|| UnknownProvider(input.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for provider in Provider::ALL {
            let json = serde_json::to_string(&provider).expect("serialize");
            assert_eq!(json, format!("\"{}\"", provider.as_str()));
            assert_eq!(provider.as_str().parse::<Provider>(), Ok(provider));
        }
    }

    #[test]
    fn unknown_names_are_errors_not_istio() {
        let error = "gatewayapi".parse::<Provider>().expect_err("unversioned");
        assert!(error.to_string().contains("gatewayapi:v1"), "{error}");
    }
}
