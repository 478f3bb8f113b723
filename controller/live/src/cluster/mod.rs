//! The engine's cluster ports over kube-rs: workloads and scalers
//! (`workloads`), Services and routing objects (`routing`).

pub mod workloads;

pub use workloads::KubeWorkloads;
