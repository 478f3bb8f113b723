//! End-to-end tests of weir-controller on a kind cluster, modelled on
//! Flagger's own (`test/kubernetes`, `test/gatewayapi` in fluxcd/flagger).
//!
//! ```text
//!  e2e/kind.sh                 kind cluster "weir-e2e" (e2e/kind.yaml)
//!    │                         docker build deploy/Dockerfile        → weir/controller:e2e
//!    │                         docker build e2e/loadtester.Dockerfile → weir/loadtester:e2e
//!    │                         kind load: both, and the podinfo images
//!  e2e/install.sh <provider>   gatewayapi: Gateway API CRDs, Istio, Gateway istio-ingress/gateway
//!    │                         deploy/crds/crd.yaml, deploy/kustomize/<provider> (image swapped)
//!    │                         namespace test: weir-loadtester as flagger-loadtester, podinfo
//!    │                         ConfigMap default/weir-e2e: provider + controller location
//!  cargo test -p weir-e2e -- --ignored --test-threads=1
//!    │   every test: Cluster::for_provider ── skip if installed for another provider
//!    │               Scenario::start(namespace of its own) ── podinfo ready
//!    │               apply a Canary (YAML as a Flagger user writes it)
//!    │               change the image, wait for Succeeded / Failed, check
//!    │               the primary, the Services, the HTTPRoute, the events
//!  e2e/teardown.sh             kind delete cluster
//! ```
//!
//! Every test is `#[ignore = "needs kind cluster"]`, so `cargo test
//! --workspace` compiles them and runs only this crate's unit tests. Run
//! with `--ignored` and no cluster, a test fails within seconds with "no
//! kind cluster: run e2e/kind.sh first" ([`Cluster::connect`]).
//!
//! `tests/manifests.rs` and `tests/harness.rs` need no kind cluster and run
//! in `cargo test --workspace`: the Canary manifests through `weir validate`
//! and a real API server (weir-testkit), and the harness's connection and
//! failure report against a real kube-apiserver.
//!
//! A failing test prints what it waited for, what it saw last, and
//! [`diagnostics`]: the Canary's status, recent events, the Deployments,
//! the HTTPRoutes and the controller's log lines about the namespace.
//!
//! # Differences from Flagger's e2e tests
//!
//! * **Rust and kube-rs, not bash and kubectl**: the checks read typed
//!   status (phase, weights, conditions, HTTPRoute rules) instead of
//!   grepping `kubectl describe`, and failures dump the namespace rather
//!   than the whole controller log.
//! * **A namespace per test** instead of one shared `test` namespace, so a
//!   failed test leaves nothing behind that changes the next one; the
//!   gatewayapi tests also use a host per test for the same reason.
//! * **No Prometheus**: analyses are judged by webhooks on weir-loadtester
//!   (`bash` tasks that curl the canary, the gateway, or podinfo's
//!   `/status/500`), not by metric templates. weir's metric queries are
//!   tested against a real Prometheus by weir-metrics; here the point is
//!   the controller driving a real cluster.
//! * **Webhooks check routing**: the A/B test's webhook sends requests
//!   through the Istio gateway with and without the header and fails the
//!   analysis unless each reaches the version it should.

pub mod canaries;
pub mod cluster;
pub mod diagnostics;
pub mod failure;
pub mod manifests;
pub mod routes;
pub mod scenario;

pub use cluster::{Cluster, TestedProvider};
pub use failure::{Diagnostics, Failure};
pub use scenario::{Observation, Run, Scenario};

/// podinfo's image repository, as Flagger's e2e tests use it.
pub const PODINFO_REPOSITORY: &str = "ghcr.io/stefanprodan/podinfo";

/// The version `e2e/manifests/podinfo.yaml` deploys.
pub const INITIAL_VERSION: &str = "6.0.0";
/// The version a promotion test releases.
pub const PROMOTED_VERSION: &str = "6.0.1";
/// The version a rollback test tries to release.
pub const REJECTED_VERSION: &str = "6.0.2";
/// The version the A/B test releases.
pub const AB_VERSION: &str = "6.0.3";

/// podinfo's image at `version`.
pub fn podinfo_image(version: &str) -> String {
    format!("{PODINFO_REPOSITORY}:{version}")
}
