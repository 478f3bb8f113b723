//! Approval gates: confirm-rollout, confirm-traffic-increase, confirm-promotion.

mod common;

use common::{canary, started};
use weir_api::CanaryPhase::*;
use weir_engine::{Decision, RollbackReason};

fn gated(hooks: &str) -> weir_api::Canary {
    canary(&format!(
        r#"  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 25
    maxWeight: 50
    metrics:
    - name: request-success-rate
      thresholdRange: {{min: 99}}
    webhooks:
{hooks}"#
    ))
}

#[test]
fn confirm_rollout_holds_a_new_revision_in_waiting_until_approved() {
    let mut h = started(gated(
        r#"    - {name: approve, type: confirm-rollout, url: "http://tester/gate/check"}"#,
    ));
    h.world.webhooks.close("approve");
    let first = h.tick();
    assert_eq!(
        (first.decision, first.phase),
        (Decision::WaitingForApproval, Waiting)
    );
    assert_eq!(
        first.events,
        ["Halt podinfo.test advancement waiting for approval approve"]
    );
    assert_eq!(first.alerts, ["Canary is waiting for approval."]);
    assert_eq!(
        h.world.cluster.target.replicas, 0,
        "not scaled up while waiting"
    );

    let again = h.tick();
    assert_eq!(again.phase, Waiting);
    assert!(
        again.events.is_empty() && again.alerts.is_empty(),
        "the gate is re-checked quietly"
    );
    assert_eq!(again.webhooks, ["approve"]);

    h.world.webhooks.open("approve");
    let approved = h.tick();
    assert_eq!(
        (approved.decision, approved.phase),
        (Decision::Started, Progressing)
    );
    assert_eq!(
        approved.events,
        [
            "Confirm-rollout check approve passed",
            "New revision detected! Scaling up podinfo.test"
        ]
    );
    assert_eq!(h.world.cluster.target.replicas, 1);
    let payloads: Vec<_> = h
        .world
        .webhooks
        .calls
        .iter()
        .map(|call| call.payload.phase)
        .collect();
    assert_eq!(
        payloads,
        [Initialized, Waiting, Waiting],
        "confirm-rollout gets the current phase"
    );
}

#[test]
fn a_muted_gate_waits_without_alerting() {
    let mut h = started(gated(
        r#"    - {name: approve, type: confirm-rollout, muteAlert: true, url: "http://tester/gate/check"}"#,
    ));
    h.world.webhooks.close("approve");
    let record = h.tick();
    assert_eq!(record.phase, Waiting);
    assert!(record.alerts.is_empty());
}

#[test]
fn confirm_traffic_increase_halts_every_step_until_approved() {
    let mut h = started(gated(
        r#"    - {name: more, type: confirm-traffic-increase, url: "http://tester/gate/check"}"#,
    ));
    h.tick();
    h.world.webhooks.close("more");
    let held = h.tick();
    assert_eq!(
        (held.decision, held.routes.canary),
        (Decision::WaitingForTrafficIncrease, 0)
    );
    assert_eq!(
        held.events[1],
        "Halt podinfo.test advancement waiting for traffic increase approval more"
    );
    assert_eq!(
        held.alerts,
        ["Canary traffic increase is waiting for approval."]
    );
    assert_eq!(held.failed_checks, 0, "a closed gate is not a failed check");
    h.world.webhooks.open("more");
    let moved = h.tick();
    assert_eq!(
        (moved.decision, moved.routes.canary),
        (Decision::Advanced, 25)
    );
    assert!(
        moved
            .events
            .contains(&"Confirm-traffic-increase check more passed".to_owned())
    );
    // Kept from Flagger: the gate also guards the promotion step (§18 #15).
    h.world.webhooks.close("more");
    h.tick(); // 25 -> held
    h.world.webhooks.open("more");
    assert_eq!(h.tick().routes.canary, 50);
    h.world.webhooks.close("more");
    assert_eq!(h.tick().decision, Decision::WaitingForTrafficIncrease);
    h.world.webhooks.open("more");
    assert_eq!(h.tick().decision, Decision::Promoting);
}

#[test]
fn confirm_promotion_holds_the_canary_at_max_weight_and_keeps_analysing() {
    let mut h = started(gated(
        r#"    - {name: promote, type: confirm-promotion, url: "http://tester/gate/check"}"#,
    ));
    h.world.webhooks.close("promote");
    let records = h.run_to(WaitingPromotion, 10);
    let waiting = records.last().expect("waiting");
    assert_eq!(waiting.decision, Decision::WaitingForPromotion);
    assert_eq!(
        waiting.events,
        ["Halt podinfo.test advancement waiting for promotion approval promote"]
    );
    assert_eq!(
        waiting.alerts,
        ["Canary promotion is waiting for approval."]
    );
    // Unlike Flagger, status keeps the real weight while waiting (§18 #14).
    assert_eq!((waiting.routes.canary, waiting.canary_weight), (50, 50));

    let metric_calls = h.world.metrics.calls.len();
    let still = h.tick();
    assert_eq!((still.phase, still.canary_weight), (WaitingPromotion, 50));
    assert!(still.alerts.is_empty(), "alerted once");
    assert_eq!(
        h.world.metrics.calls.len(),
        metric_calls + 1,
        "metrics keep running while waiting"
    );

    h.world.metrics.set("request-success-rate", 50.0);
    assert_eq!(h.tick().failed_checks, 1, "and failures still count");
    h.world.metrics.set("request-success-rate", 100.0);
    h.world.webhooks.open("promote");
    let approved = h.tick();
    assert_eq!(
        (approved.decision, approved.phase),
        (Decision::Promoting, Promoting)
    );
    assert_eq!(
        approved.events,
        [
            "Confirm-promotion check promote passed",
            "Copying podinfo.test template spec to podinfo-primary.test"
        ]
    );
}

#[test]
fn rollback_webhooks_are_honoured_while_waiting_for_approval() {
    let mut h = started(gated(
        r#"    - {name: approve, type: confirm-rollout, url: "http://tester/gate/check"}
    - {name: reject, type: rollback, url: "http://tester/rollback/check"}"#,
    ));
    h.world.webhooks.close("approve");
    h.world.webhooks.close("reject");
    assert_eq!(h.tick().phase, Waiting);
    h.world.webhooks.open("reject");
    let record = h.tick();
    assert_eq!(
        record.decision,
        Decision::RolledBack(RollbackReason::Webhook)
    );
    assert_eq!(record.phase, Failed);
    let reject = h
        .world
        .webhooks
        .calls
        .iter()
        .rev()
        .find(|call| call.name == "reject")
        .expect("called");
    assert_eq!(reject.payload.phase, Waiting);
    // The rejected revision is recorded and not analysed again.
    h.world.webhooks.open("approve");
    assert_eq!(h.tick().decision, Decision::Idle);
}

#[test]
fn webhook_payloads_carry_name_namespace_phase_checksum_and_metadata() {
    let mut h = started(gated(
        r#"    - name: load
      url: "http://tester/"
      metadata: {type: cmd, cmd: "hey -z 1m http://podinfo-canary.test:9898/"}"#,
    ));
    h.tick();
    h.tick();
    h.tick();
    let call = h.world.webhooks.calls.last().expect("called");
    assert_eq!(call.name, "load");
    let json = serde_json::to_value(&call.payload).expect("json");
    assert_eq!(json["name"], "podinfo");
    assert_eq!(json["namespace"], "test");
    assert_eq!(json["phase"], "Progressing");
    assert_eq!(json["metadata"]["type"], "cmd");
    assert!(
        json["checksum"]
            .as_str()
            .is_some_and(|checksum| !checksum.is_empty())
    );
    let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["checksum", "metadata", "name", "namespace", "phase"]);
}

#[test]
fn the_checksum_changes_with_the_revision() {
    let mut h = started(gated(
        r#"    - {name: approve, type: confirm-rollout, url: "http://tester/"}"#,
    ));
    h.run_to(Succeeded, 10);
    let first = h
        .world
        .webhooks
        .calls
        .last()
        .expect("called")
        .payload
        .checksum
        .clone();
    h.world.cluster.deploy("v3");
    h.tick();
    h.tick();
    let second = h
        .world
        .webhooks
        .calls
        .last()
        .expect("called")
        .payload
        .checksum
        .clone();
    assert_ne!(first, second);
}
