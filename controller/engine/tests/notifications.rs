//! Alerts, event webhooks and session-affinity cookies.

mod common;

use common::{canary, started};
use weir_api::CanaryPhase::*;
use weir_engine::Decision;

fn with_alerts() -> weir_api::Canary {
    canary(
        r#"  analysis:
    interval: 1m
    threshold: 1
    stepWeight: 50
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
    webhooks:
    - {name: approve, type: confirm-rollout, url: "http://tester/gate/check"}
    alerts:
    - {name: everything, severity: info, providerRef: {name: slack}}
    - {name: problems, severity: warn, providerRef: {name: slack, namespace: ops}}
    - {name: failures, severity: error, providerRef: {name: pager}}
    - {name: unset, providerRef: {name: teams}}
"#,
    )
}

fn receivers(h: &weir_fakes::Harness, message: &str) -> Vec<String> {
    h.world
        .alerts
        .sent
        .iter()
        .filter(|call| call.notification.message == message)
        .map(|call| {
            let provider = call.provider.as_ref().expect("provider");
            format!(
                "{}/{}",
                provider.namespace.as_deref().unwrap_or_default(),
                provider.name
            )
        })
        .collect()
}

#[test]
fn alerts_reach_the_providers_subscribed_at_their_severity_or_below() {
    let mut h = started(with_alerts());
    h.world.webhooks.close("approve");
    h.tick();
    h.world.webhooks.open("approve");
    h.world.metrics.set("request-success-rate", 10.0);
    h.run_to(Failed, 10);

    // info: every subscription (an unset severity is info, unlike in Flagger).
    assert_eq!(
        receivers(&h, "New Deployment detected, initialization completed."),
        ["test/slack", "test/teams"]
    );
    // warn: info and warn subscriptions.
    assert_eq!(
        receivers(&h, "Canary is waiting for approval."),
        ["test/slack", "ops/slack", "test/teams"]
    );
    // error: everyone.
    assert_eq!(
        receivers(&h, "Failed checks threshold reached 1"),
        ["test/slack", "ops/slack", "test/pager", "test/teams"]
    );
}

#[test]
fn without_alert_providers_alerts_go_to_the_global_notifier() {
    let mut h = started(common::podinfo());
    h.config.cluster_name = Some("eu-west-1".into());
    h.run_to(Succeeded, 20);
    let sent: Vec<(bool, &str)> = h
        .world
        .alerts
        .sent
        .iter()
        .map(|call| (call.provider.is_none(), call.notification.message.as_str()))
        .collect();
    assert_eq!(
        sent,
        [
            (true, "New Deployment detected, initialization completed."),
            (true, "New revision detected, progressing canary analysis."),
            (
                true,
                "Canary analysis completed successfully, promotion finished."
            ),
        ]
    );
    let progressing = &h.world.alerts.sent[1].notification;
    assert_eq!(
        progressing.fields[0],
        ("Cluster".to_owned(), "eu-west-1".to_owned())
    );
    assert_eq!(progressing.fields.len(), 5, "cluster + metadata");
    assert_eq!(
        h.world.alerts.sent[2].notification.fields.len(),
        1,
        "only the cluster name"
    );
}

#[test]
fn every_event_is_forwarded_to_the_canarys_event_webhooks() {
    let mut h = started(canary(
        r#"  analysis:
    interval: 1m
    threshold: 1
    stepWeight: 50
    webhooks:
    - name: audit
      type: event
      url: "http://audit/"
      metadata: {team: payments, eventType: ignored}
"#,
    ));
    h.config.event_webhook = Some("http://global/".into());
    let started_tick = h.tick();
    assert_eq!(
        started_tick.events,
        ["New revision detected! Scaling up podinfo.test"]
    );
    let (url, payload) = h.world.webhooks.events.last().expect("forwarded");
    assert_eq!(
        url, "http://audit/",
        "the canary's hook overrides the global one"
    );
    assert_eq!(
        payload.phase, Progressing,
        "the event's phase, not the stored one"
    );
    let metadata = payload.metadata.as_ref().expect("metadata");
    assert_eq!(
        metadata["eventMessage"],
        "New revision detected! Scaling up podinfo.test"
    );
    assert_eq!(
        metadata["eventType"], "Normal",
        "event fields win over hook metadata"
    );
    assert_eq!(metadata["team"], "payments");
    assert!(metadata["timestamp"].parse::<i64>().is_ok());
    assert_eq!(
        h.world.webhooks.events.len(),
        h.world.events.recorded.len(),
        "every event, including initialization's"
    );
    assert!(
        h.world
            .webhooks
            .events
            .iter()
            .all(|(url, _)| url == "http://audit/")
    );
}

#[test]
fn the_global_event_webhook_receives_events_of_canaries_without_their_own() {
    let mut h = started(common::podinfo());
    h.config.event_webhook = Some("http://global/".into());
    h.tick();
    let urls: Vec<&str> = h
        .world
        .webhooks
        .events
        .iter()
        .map(|(url, _)| url.as_str())
        .collect();
    assert_eq!(urls, ["http://global/"]);
}

#[test]
fn session_affinity_cookies_are_in_status_before_the_router_reads_them() {
    let mut h = started(canary(
        r#"  provider: istio
  analysis:
    interval: 1m
    threshold: 1
    stepWeight: 50
    sessionAffinity:
      cookieName: canary-session
      primaryCookieName: primary-session
"#,
    ));
    h.tick();
    let first = h.tick();
    assert_eq!(first.decision, Decision::Advanced);
    let status = h.status();
    assert_eq!(status.session_affinity_cookie, "canary-session=aaaaaaaaaa");
    assert_eq!(
        status.primary_session_affinity_cookie,
        "primary-session=aaaaaaaaab"
    );
    assert_eq!(
        h.world.router.last_cookie, "canary-session=aaaaaaaaaa",
        "set before routing"
    );
    h.run_to(Succeeded, 10);
    let status = h.status();
    assert_eq!(status.session_affinity_cookie, "");
    assert_eq!(
        status.previous_session_affinity_cookie,
        "canary-session=aaaaaaaaaa"
    );
}
