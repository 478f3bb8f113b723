//! Gateway API (`gateway.networking.k8s.io/v1` HTTPRoutes) on Istio's
//! Gateway implementation, as Flagger's test/gatewayapi runs it: progressive
//! canary promotion, rollback, and A/B testing with a header match.
//!
//! ```text
//!  Gateway istio-ingress/gateway (*.example.com, Service gateway-istio)
//!     └─ HTTPRoute <ns>/podinfo, host <ns>.example.com
//!          ├─ podinfo-primary:9898  weight 100 − w
//!          └─ podinfo-canary:9898   weight w      (A/B: header rule → canary)
//! ```
//!
//! The Canaries leave `spec.provider` unset, as Flagger's tests do: the
//! overlay's `-mesh-provider` decides, which is part of what is tested.
//! Each test needs a cluster set up by `e2e/kind.sh` and
//! `e2e/install.sh gatewayapi`; on a cluster installed for another provider
//! it says so and passes without doing anything.

use std::time::Duration;

use weir_api::CanaryPhase;
use weir_api::status::ConditionStatus;
use weir_e2e::routes::HttpRoute;
use weir_e2e::scenario::{PRIMARY, TARGET, phase_of};
use weir_e2e::{
    AB_VERSION, Cluster, Failure, INITIAL_VERSION, Observation, PROMOTED_VERSION, REJECTED_VERSION,
    Scenario, TestedProvider, canaries,
};

const ROUTE: &str = "podinfo";
const APEX: &str = "podinfo";
const APEX_PRIMARY: &str = "podinfo-primary";
const APEX_CANARY: &str = "podinfo-canary";
const GATEWAY_NAMESPACE: &str = "istio-ingress";
const GATEWAY: &str = "gateway";

/// How long Istio may take to write the route's status.
const ROUTE_ACCEPTANCE_TIMEOUT: Duration = Duration::from_secs(60);

async fn gateway_api_cluster() -> Result<Option<Cluster>, Failure> {
    Cluster::for_provider(TestedProvider::GatewayApi).await
}

/// The HTTPRoute, which must exist.
async fn current_route(scenario: &Scenario) -> Result<HttpRoute, Failure> {
    match scenario.http_route(ROUTE).await? {
        Some(route) => Ok(route),
        None => Err(scenario
            .fail(format!(
                "HTTPRoute {}/{ROUTE} does not exist",
                scenario.namespace()
            ))
            .await),
    }
}

/// Checks that the route sends everything to the primary.
async fn expect_all_traffic_on_the_primary(scenario: &Scenario) -> Result<(), Failure> {
    let route = current_route(scenario).await?;
    let weights = route.weights(APEX_PRIMARY, APEX_CANARY);
    scenario
        .check(
            weights == Some((100, 0)) && route.max_weight_of(APEX_CANARY) == 0,
            || {
                format!(
                    "HTTPRoute {}/{ROUTE} should send everything to {APEX_PRIMARY}; \
                     (primary, canary) weights {weights:?}, rules {:?}",
                    scenario.namespace(),
                    route.spec.rules
                )
            },
        )
        .await
}

/// Records the largest canary weight the route gave during a run, and
/// fails if the two weights ever stop adding up to 100.
#[derive(Debug, Default)]
struct WeightLog {
    largest_canary_weight: i32,
}

impl WeightLog {
    async fn observe(&mut self, scenario: &Scenario) -> Result<(), Failure> {
        let route = current_route(scenario).await?;
        if let Some((primary, canary)) = route.weights(APEX_PRIMARY, APEX_CANARY) {
            scenario
                .check(primary + canary == 100, || {
                    format!("the route's weights (primary {primary}, canary {canary}) do not add up to 100")
                })
                .await?;
            self.largest_canary_weight = self.largest_canary_weight.max(canary);
        }
        Ok(())
    }
}

#[tokio::test]
#[ignore = "needs kind cluster"]
async fn a_gateway_api_canary_initializes_its_primary_services_and_route() -> Result<(), Failure> {
    let Some(cluster) = gateway_api_cluster().await? else {
        return Ok(());
    };
    let scenario = Scenario::start(cluster, "gatewayapi-initialization").await?;
    scenario
        .apply_canary(canaries::GATEWAY_API_PASSING, PROMOTED_VERSION)
        .await?;

    let canary = scenario.wait_for_initialized().await?;

    scenario.expect_primary_runs(INITIAL_VERSION).await?;
    scenario.expect_target_scaled_to_zero().await?;
    scenario.expect_service_selects(APEX, PRIMARY).await?;
    scenario
        .expect_service_selects(APEX_PRIMARY, PRIMARY)
        .await?;
    scenario.expect_service_selects(APEX_CANARY, TARGET).await?;

    let route = current_route(&scenario).await?;
    let host = format!("{}.example.com", scenario.namespace());
    scenario
        .check(route.spec.hostnames == [host.clone()], || {
            format!(
                "HTTPRoute hostnames {:?}, expected [{host:?}]",
                route.spec.hostnames
            )
        })
        .await?;
    scenario
        .check(
            route.spec.parent_refs.iter().any(|parent| {
                parent.name == GATEWAY && parent.namespace.as_deref() == Some(GATEWAY_NAMESPACE)
            }),
            || {
                format!(
                    "HTTPRoute parentRefs {:?} do not name {GATEWAY_NAMESPACE}/{GATEWAY}",
                    route.spec.parent_refs
                )
            },
        )
        .await?;
    expect_all_traffic_on_the_primary(&scenario).await?;
    scenario
        .wait_until(
            &format!("Gateway {GATEWAY_NAMESPACE}/{GATEWAY} to accept the HTTPRoute"),
            ROUTE_ACCEPTANCE_TIMEOUT,
            async || {
                let route = current_route(&scenario).await?;
                Ok(if route.accepted_by(GATEWAY_NAMESPACE, GATEWAY) {
                    Observation::Done(())
                } else {
                    Observation::Waiting(format!("route status {:?}", route.status))
                })
            },
        )
        .await?;
    scenario
        .expect_promoted_condition(&canary, ConditionStatus::True, "Initialized")
        .await?;

    scenario.finish().await
}

#[tokio::test]
#[ignore = "needs kind cluster"]
async fn an_image_change_is_promoted_by_shifting_gateway_traffic() -> Result<(), Failure> {
    let Some(cluster) = gateway_api_cluster().await? else {
        return Ok(());
    };
    let scenario = Scenario::start(cluster, "gatewayapi-promotion").await?;
    scenario
        .apply_canary(canaries::GATEWAY_API_PASSING, PROMOTED_VERSION)
        .await?;
    scenario.wait_for_initialized().await?;

    scenario.set_image(PROMOTED_VERSION).await?;
    let mut weights = WeightLog::default();
    let run = scenario
        .wait_for_outcome(CanaryPhase::Succeeded, async |_| {
            weights.observe(&scenario).await
        })
        .await?;

    let largest = weights.largest_canary_weight;
    scenario
        .check((10..=30).contains(&largest), || {
            format!(
                "the canary's largest route weight during the analysis was {largest}; \
                 stepWeight 10 up to maxWeight 30 should have reached 10 to 30 \
                 (phases seen: {})",
                run.phases_text()
            )
        })
        .await?;
    expect_all_traffic_on_the_primary(&scenario).await?;
    scenario.expect_primary_runs(PROMOTED_VERSION).await?;
    scenario.expect_target_scaled_to_zero().await?;
    scenario
        .expect_promoted_condition(&run.canary, ConditionStatus::True, "Succeeded")
        .await?;
    scenario.expect_event("Promotion completed!").await?;

    scenario.finish().await
}

#[tokio::test]
#[ignore = "needs kind cluster"]
async fn a_failing_webhook_rolls_gateway_traffic_back_to_the_primary() -> Result<(), Failure> {
    let Some(cluster) = gateway_api_cluster().await? else {
        return Ok(());
    };
    let scenario = Scenario::start(cluster, "gatewayapi-rollback").await?;
    scenario
        .apply_canary(canaries::GATEWAY_API_FAILING, REJECTED_VERSION)
        .await?;
    scenario.wait_for_initialized().await?;

    scenario.set_image(REJECTED_VERSION).await?;
    let mut weights = WeightLog::default();
    let run = scenario
        .wait_for_outcome(CanaryPhase::Failed, async |_| {
            weights.observe(&scenario).await
        })
        .await?;

    let largest = weights.largest_canary_weight;
    scenario
        .check(largest >= 10, || {
            format!(
                "traffic never moved to the canary before the rollback (largest weight \
                 {largest}; phases seen: {})",
                run.phases_text()
            )
        })
        .await?;
    expect_all_traffic_on_the_primary(&scenario).await?;
    scenario.expect_primary_runs(INITIAL_VERSION).await?;
    scenario.expect_target_scaled_to_zero().await?;
    scenario
        .expect_promoted_condition(&run.canary, ConditionStatus::False, "Failed")
        .await?;
    scenario
        .expect_event("failed checks threshold reached 2")
        .await?;

    scenario.finish().await
}

#[tokio::test]
#[ignore = "needs kind cluster"]
async fn ab_testing_routes_the_matching_header_to_the_canary() -> Result<(), Failure> {
    let Some(cluster) = gateway_api_cluster().await? else {
        return Ok(());
    };
    let scenario = Scenario::start(cluster, "gatewayapi-ab").await?;
    scenario
        .apply_canary(canaries::GATEWAY_API_AB, AB_VERSION)
        .await?;
    scenario.wait_for_initialized().await?;

    scenario.set_image(AB_VERSION).await?;
    // The route as it was during the first iteration: weir writes the
    // routes before it counts the iteration.
    let mut during_analysis: Option<HttpRoute> = None;
    let run = scenario
        .wait_for_outcome(CanaryPhase::Succeeded, async |canary| {
            let iterating = phase_of(canary) == CanaryPhase::Progressing
                && canary
                    .status
                    .as_ref()
                    .is_some_and(|status| status.iterations >= 1);
            if iterating && during_analysis.is_none() {
                during_analysis = Some(current_route(&scenario).await?);
            }
            Ok(())
        })
        .await?;

    let Some(ab_route) = during_analysis else {
        return Err(scenario
            .fail(format!(
                "never saw the Canary iterating, so the A/B route was never checked; \
                 phases seen: {}",
                run.phases_text()
            ))
            .await);
    };
    let rules = &ab_route.spec.rules;
    let describe = || format!("the A/B route's rules: {rules:#?}");
    scenario
        .check(rules.len() == 2, || {
            format!(
                "expected two rules (insiders, everyone else); {}",
                describe()
            )
        })
        .await?;
    let insiders = &rules[0];
    let everyone = &rules[1];
    scenario
        .check(
            insiders.matches_header_exactly("x-canary", "insider"),
            || {
                format!(
                    "the first rule should match x-canary: insider exactly; {}",
                    describe()
                )
            },
        )
        .await?;
    scenario
        .check(
            insiders.weight_of(APEX_CANARY) == Some(100)
                && insiders.weight_of(APEX_PRIMARY).unwrap_or(0) == 0,
            || {
                format!(
                    "the first rule should send insiders to {APEX_CANARY} only; {}",
                    describe()
                )
            },
        )
        .await?;
    scenario
        .check(
            !everyone.has_header_matches()
                && everyone.weight_of(APEX_PRIMARY) == Some(100)
                && everyone.weight_of(APEX_CANARY).unwrap_or(0) == 0,
            || {
                format!(
                    "the second rule should send everyone else to {APEX_PRIMARY}; {}",
                    describe()
                )
            },
        )
        .await?;
    expect_all_traffic_on_the_primary(&scenario).await?;
    scenario.expect_primary_runs(AB_VERSION).await?;
    scenario.expect_target_scaled_to_zero().await?;

    scenario.finish().await
}
