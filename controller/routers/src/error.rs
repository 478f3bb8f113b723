//! Why a routing object could not be generated or read.

/// A router failure. The messages follow Flagger's where Flagger has one, so
/// events and logs read the same; the rest name the Canary field to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// A delegate VirtualService must have neither hosts nor gateways.
    #[error(
        "VirtualService {name}.{namespace} cannot have hosts and gateways when delegation enabled"
    )]
    DelegationWithHostsOrGateways { name: String, namespace: String },

    /// The VirtualService routes nothing to the primary or the canary.
    #[error("VirtualService {name}.{namespace} does not contain routes for {primary} and {canary}")]
    NoRoutes {
        name: String,
        namespace: String,
        primary: String,
        canary: String,
    },

    /// The annotation that holds a VirtualService's original spec is not valid JSON.
    #[error(
        "VirtualService {name}.{namespace} failed to unmarshal annotation {annotation}: {reason}"
    )]
    OriginalConfiguration {
        name: String,
        namespace: String,
        annotation: String,
        reason: String,
    },

    /// `spec.service.gatewayRefs` is empty: an HTTPRoute needs a parent Gateway.
    #[error(
        "spec.service.gatewayRefs: GatewayRefs must be specified when using Gateway API as a provider"
    )]
    MissingGatewayRefs,

    /// A match condition Gateway API cannot express.
    #[error("{field}: {reason}")]
    UnsupportedMatch {
        /// The Canary field, e.g. `spec.service.match[0].uri`.
        field: String,
        reason: String,
    },

    /// A parent Gateway has not accepted the current generation of the HTTPRoute.
    #[error(
        "HTTPRoute {name}.{namespace} parent {parent} is not ready (status: {status}, observed generation: {observed_generation}, current generation: {current_generation})"
    )]
    ParentNotReady {
        name: String,
        namespace: String,
        parent: String,
        status: String,
        observed_generation: i64,
        current_generation: i64,
    },
}
