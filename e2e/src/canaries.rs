//! The Canaries the scenarios apply: YAML files under
//! `e2e/manifests/canaries/`, written as a Flagger user writes them, with
//! placeholders `${NAMESPACE}`, `${VERSION}` (the podinfo version being
//! released) and `${INITIAL_VERSION}` (the version before it), filled in by
//! [`crate::Scenario::apply_canary`].
//!
//! | file | strategy | analysis |
//! |---|---|---|
//! | kubernetes-passing | blue/green, 3 iterations | gate, curl the canary for the new version, load test |
//! | kubernetes-failing | blue/green, 5 iterations | rollout webhook gets podinfo's `/status/500` |
//! | gatewayapi-passing | canary, 10% steps to 30% | gateway serves the primary, canary serves the new version, load test |
//! | gatewayapi-failing | canary, 10% steps to 30% | rollout webhook gets podinfo's `/status/500` |
//! | gatewayapi-ab | A/B on `x-canary: insider`, 3 iterations | the header reaches the canary through the gateway, the rest the primary |

/// A Canary manifest of `e2e/manifests/canaries/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanaryManifest {
    /// The file's name, for messages.
    pub file: &'static str,
    /// The file's text, placeholders unfilled.
    pub yaml: &'static str,
}

/// Blue/green on the kubernetes provider; the analysis passes.
pub const KUBERNETES_PASSING: CanaryManifest = CanaryManifest {
    file: "kubernetes-passing.yaml",
    yaml: include_str!("../manifests/canaries/kubernetes-passing.yaml"),
};

/// Blue/green on the kubernetes provider; every check fails.
pub const KUBERNETES_FAILING: CanaryManifest = CanaryManifest {
    file: "kubernetes-failing.yaml",
    yaml: include_str!("../manifests/canaries/kubernetes-failing.yaml"),
};

/// Progressive traffic shifting on the Gateway API; the analysis passes.
pub const GATEWAY_API_PASSING: CanaryManifest = CanaryManifest {
    file: "gatewayapi-passing.yaml",
    yaml: include_str!("../manifests/canaries/gatewayapi-passing.yaml"),
};

/// Progressive traffic shifting on the Gateway API; every check fails.
pub const GATEWAY_API_FAILING: CanaryManifest = CanaryManifest {
    file: "gatewayapi-failing.yaml",
    yaml: include_str!("../manifests/canaries/gatewayapi-failing.yaml"),
};

/// A/B testing on the Gateway API with a header match.
pub const GATEWAY_API_AB: CanaryManifest = CanaryManifest {
    file: "gatewayapi-ab.yaml",
    yaml: include_str!("../manifests/canaries/gatewayapi-ab.yaml"),
};

/// Every Canary manifest.
pub const ALL: [CanaryManifest; 5] = [
    KUBERNETES_PASSING,
    KUBERNETES_FAILING,
    GATEWAY_API_PASSING,
    GATEWAY_API_FAILING,
    GATEWAY_API_AB,
];

impl CanaryManifest {
    /// The manifest for namespace `namespace`, releasing `version`.
    pub fn render(&self, namespace: &str, version: &str) -> Result<String, crate::Failure> {
        crate::manifests::render(
            self.yaml,
            &[
                ("NAMESPACE", namespace),
                ("VERSION", version),
                ("INITIAL_VERSION", crate::INITIAL_VERSION),
            ],
        )
    }
}
