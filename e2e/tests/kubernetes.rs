//! Blue/green on the `kubernetes` provider (no mesh, no ingress), as
//! Flagger's test/kubernetes/test-deployment.sh runs it: Services only, the
//! apex Service always selecting the primary, the canary reachable through
//! `<service>-canary` for webhooks.
//!
//! ```text
//!  podinfo-svc ─────────▶ podinfo-primary pods   (apex: always the primary)
//!  podinfo-svc-primary ─▶ podinfo-primary pods
//!  podinfo-svc-canary ──▶ podinfo pods           (scaled up only during an analysis)
//! ```
//!
//! Each test needs a cluster set up by `e2e/kind.sh` and
//! `e2e/install.sh kubernetes`; on a cluster installed for another provider
//! it says so and passes without doing anything.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use weir_api::CanaryPhase;
use weir_api::status::ConditionStatus;
use weir_e2e::scenario::{PRIMARY, TARGET};
use weir_e2e::{
    Cluster, Failure, INITIAL_VERSION, PROMOTED_VERSION, REJECTED_VERSION, Scenario,
    TestedProvider, canaries,
};

const APEX: &str = "podinfo-svc";
const APEX_PRIMARY: &str = "podinfo-svc-primary";
const APEX_CANARY: &str = "podinfo-svc-canary";

/// Ports podinfo's container declares besides the one the Service names:
/// `portDiscovery: true` adds them to the Services.
const DISCOVERED_PORTS: [i32; 2] = [9797, 9999];

#[tokio::test]
#[ignore = "needs kind cluster"]
async fn a_blue_green_canary_initializes_its_primary_and_services() -> Result<(), Failure> {
    let Some(cluster) = Cluster::for_provider(TestedProvider::Kubernetes).await? else {
        return Ok(());
    };
    let scenario = Scenario::start(cluster, "kubernetes-initialization").await?;
    scenario
        .apply_canary(canaries::KUBERNETES_PASSING, PROMOTED_VERSION)
        .await?;

    let canary = scenario.wait_for_initialized().await?;

    scenario.expect_primary_runs(INITIAL_VERSION).await?;
    scenario.expect_target_scaled_to_zero().await?;
    let apex = scenario.expect_service_selects(APEX, PRIMARY).await?;
    scenario
        .expect_service_selects(APEX_PRIMARY, PRIMARY)
        .await?;
    scenario.expect_service_selects(APEX_CANARY, TARGET).await?;
    let ports = apex.spec.and_then(|spec| spec.ports).unwrap_or_default();
    let main_port = ports.iter().find(|port| port.port == 80);
    scenario
        .check(
            main_port.is_some_and(|port| {
                port.target_port == Some(IntOrString::Int(9898))
                    && port.name.as_deref() == Some("http")
            }),
            || format!("{APEX} should map port 80 (http) to 9898; its ports: {ports:?}"),
        )
        .await?;
    for discovered in DISCOVERED_PORTS {
        scenario
            .check(ports.iter().any(|port| port.port == discovered), || {
                format!("{APEX} lacks discovered port {discovered}; its ports: {ports:?}")
            })
            .await?;
    }
    scenario
        .expect_promoted_condition(&canary, ConditionStatus::True, "Initialized")
        .await?;
    scenario.expect_event("Initialization done!").await?;

    scenario.finish().await
}

#[tokio::test]
#[ignore = "needs kind cluster"]
async fn an_image_change_is_promoted_after_the_blue_green_analysis() -> Result<(), Failure> {
    let Some(cluster) = Cluster::for_provider(TestedProvider::Kubernetes).await? else {
        return Ok(());
    };
    let scenario = Scenario::start(cluster, "kubernetes-promotion").await?;
    scenario
        .apply_canary(canaries::KUBERNETES_PASSING, PROMOTED_VERSION)
        .await?;
    scenario.wait_for_initialized().await?;

    scenario.set_image(PROMOTED_VERSION).await?;
    let run = scenario
        .wait_for_outcome(CanaryPhase::Succeeded, async |_| Ok(()))
        .await?;

    scenario
        .check(run.went_through(CanaryPhase::Progressing), || {
            format!(
                "the Canary succeeded without an analysis; phases seen: {}",
                run.phases_text()
            )
        })
        .await?;
    scenario.expect_primary_runs(PROMOTED_VERSION).await?;
    scenario.expect_target_scaled_to_zero().await?;
    scenario.expect_service_selects(APEX, PRIMARY).await?;
    let status = run.canary.status.clone().unwrap_or_default();
    scenario
        .check(status.canary_weight == 0, || {
            format!(
                "a promoted Canary reports canaryWeight {}, expected 0",
                status.canary_weight
            )
        })
        .await?;
    scenario
        .expect_promoted_condition(&run.canary, ConditionStatus::True, "Succeeded")
        .await?;
    scenario.expect_event("Promotion completed!").await?;

    scenario.finish().await
}

#[tokio::test]
#[ignore = "needs kind cluster"]
async fn a_failing_webhook_rolls_the_blue_green_canary_back() -> Result<(), Failure> {
    let Some(cluster) = Cluster::for_provider(TestedProvider::Kubernetes).await? else {
        return Ok(());
    };
    let scenario = Scenario::start(cluster, "kubernetes-rollback").await?;
    scenario
        .apply_canary(canaries::KUBERNETES_FAILING, REJECTED_VERSION)
        .await?;
    scenario.wait_for_initialized().await?;

    scenario.set_image(REJECTED_VERSION).await?;
    let run = scenario
        .wait_for_outcome(CanaryPhase::Failed, async |_| Ok(()))
        .await?;

    scenario
        .check(run.went_through(CanaryPhase::Progressing), || {
            format!(
                "the Canary failed without an analysis; phases seen: {}",
                run.phases_text()
            )
        })
        .await?;
    scenario.expect_primary_runs(INITIAL_VERSION).await?;
    scenario.expect_target_scaled_to_zero().await?;
    scenario.expect_service_selects(APEX, PRIMARY).await?;
    scenario
        .expect_promoted_condition(&run.canary, ConditionStatus::False, "Failed")
        .await?;
    scenario
        .expect_event("failed checks threshold reached 2")
        .await?;

    scenario.finish().await
}
