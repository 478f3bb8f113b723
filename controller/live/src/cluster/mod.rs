//! The engine's cluster ports over kube-rs: workloads and scalers
//! (`workloads`), Services and routing objects (`routing`).

pub mod routing;
pub mod workloads;

pub use routing::{KubeRouting, RoutingSettings};
pub use workloads::KubeWorkloads;

use weir_engine::ports::PortError;

/// A Kubernetes error as an event-friendly message: what failed, on which
/// object, and the API server's reason.
pub(crate) fn failed(
    action: &str,
    kind: &str,
    name: &str,
    namespace: &str,
    error: impl std::fmt::Display,
) -> PortError {
    PortError::new(format!("{kind} {name}.{namespace} {action} error: {error}"))
}
