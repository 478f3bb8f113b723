//! Notifiers against wiremock: what each chat system receives, how the
//! address, token and proxy are resolved, and how failures are reported.

use std::time::Duration;

use serde_json::{Value, json};
use weir_alerts::{AlertError, ClientCache, Notifier, Origin};
use weir_api::analysis::CrossNamespaceRef;
use weir_api::metric_template::SecretRef;
use weir_api::objects::{InMemoryObjects, SecretData};
use weir_api::{AlertProvider, AlertProviderSpec, AlertProviderType, AlertSeverity};
use weir_engine::ports::Notification;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const NAMESPACE: &str = "test";

fn info() -> Notification {
    Notification {
        canary_name: "podinfo".to_owned(),
        namespace: NAMESPACE.to_owned(),
        message: "New revision detected, progressing canary analysis.".to_owned(),
        fields: vec![
            ("Target".to_owned(), "Deployment/podinfo.test".to_owned()),
            ("Failed checks threshold".to_owned(), "5".to_owned()),
            ("Progress deadline".to_owned(), "600s".to_owned()),
            (
                "Traffic routing".to_owned(),
                "Weight step: 10 max: 50".to_owned(),
            ),
        ],
        severity: AlertSeverity::Info,
    }
}

fn error() -> Notification {
    Notification {
        canary_name: "podinfo".to_owned(),
        namespace: NAMESPACE.to_owned(),
        message: "Canary analysis failed, Deployment scaled to zero.".to_owned(),
        fields: vec![("Cluster".to_owned(), "prod-eu-1".to_owned())],
        severity: AlertSeverity::Error,
    }
}

fn spec(kind: AlertProviderType, address: &str) -> AlertProviderSpec {
    AlertProviderSpec {
        r#type: kind,
        address: Some(address.to_owned()),
        ..AlertProviderSpec::default()
    }
}

fn provider(name: &str, spec: AlertProviderSpec) -> AlertProvider {
    let mut provider = AlertProvider::new(name, spec);
    provider.metadata.namespace = Some(NAMESPACE.to_owned());
    provider
}

fn reference(name: &str) -> CrossNamespaceRef {
    CrossNamespaceRef {
        name: name.to_owned(),
        namespace: Some(NAMESPACE.to_owned()),
    }
}

/// The notifier for `spec`, named `alerts`, with `objects` as the cluster.
fn notifier(spec: AlertProviderSpec, objects: &InMemoryObjects) -> Result<Notifier, AlertError> {
    let objects = objects
        .clone()
        .with_alert_provider(provider("alerts", spec));
    Notifier::lookup(&reference("alerts"), &objects)
}

async fn answering(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

async fn received(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

fn json_body(request: &Request) -> Value {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request
            .headers
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("application/json")
    );
    serde_json::from_slice(&request.body).expect("the body is JSON")
}

/// Sends `info()` then `error()` through `spec`'s notifier and returns the
/// two bodies and the path they were posted to.
async fn bodies_for(spec_for: impl Fn(&str) -> AlertProviderSpec) -> (Vec<Value>, Vec<String>) {
    let server = answering(200).await;
    let notifier =
        notifier(spec_for(&server.uri()), &InMemoryObjects::default()).expect("valid provider");
    let clients = ClientCache::default();
    notifier.send(&clients, &info()).await.expect("info sent");
    notifier.send(&clients, &error()).await.expect("error sent");
    let requests = received(&server).await;
    (
        requests.iter().map(json_body).collect(),
        requests
            .iter()
            .map(|request| request.url.path().to_owned())
            .collect(),
    )
}

fn slack_golden(username: &str, channel: &str, ok: &str, danger: &str) -> [Value; 2] {
    [
        json!({
            "channel": channel,
            "username": username,
            "icon_url": "",
            "icon_emoji": ":rocket:",
            "attachments": [{
                "color": ok,
                "author_name": "podinfo.test",
                "text": "New revision detected, progressing canary analysis.",
                "mrkdwn_in": ["text"],
                "fields": [
                    {"title": "Target", "value": "Deployment/podinfo.test", "short": false},
                    {"title": "Failed checks threshold", "value": "5", "short": false},
                    {"title": "Progress deadline", "value": "600s", "short": false},
                    {"title": "Traffic routing", "value": "Weight step: 10 max: 50", "short": false}
                ]
            }]
        }),
        json!({
            "channel": channel,
            "username": username,
            "icon_url": "",
            "icon_emoji": ":rocket:",
            "attachments": [{
                "color": danger,
                "author_name": "podinfo.test",
                "text": "Canary analysis failed, Deployment scaled to zero.",
                "mrkdwn_in": ["text"],
                "fields": [
                    {"title": "Cluster", "value": "prod-eu-1", "short": false}
                ]
            }]
        }),
    ]
}

#[tokio::test]
async fn slack_receives_flaggers_message_with_the_providers_username_and_channel() {
    let (bodies, paths) = bodies_for(|uri| AlertProviderSpec {
        username: Some("weir-bot".to_owned()),
        channel: Some("deployments".to_owned()),
        ..spec(AlertProviderType::Slack, &format!("{uri}/services/T0/B0/x"))
    })
    .await;
    assert_eq!(
        bodies,
        slack_golden("weir-bot", "deployments", "good", "danger")
    );
    assert_eq!(paths, ["/services/T0/B0/x", "/services/T0/B0/x"]);
}

#[tokio::test]
async fn discord_receives_the_slack_message_on_its_slack_compatible_endpoint() {
    let (bodies, paths) = bodies_for(|uri| {
        spec(
            AlertProviderType::Discord,
            &format!("{uri}/api/webhooks/1/abc"),
        )
    })
    .await;
    assert_eq!(bodies, slack_golden("flagger", "general", "good", "danger"));
    assert_eq!(
        paths,
        ["/api/webhooks/1/abc/slack", "/api/webhooks/1/abc/slack"]
    );
}

#[tokio::test]
async fn a_discord_address_already_ending_in_slack_is_not_given_a_second_suffix() {
    let (_, paths) = bodies_for(|uri| {
        spec(
            AlertProviderType::Discord,
            &format!("{uri}/api/webhooks/1/abc/slack"),
        )
    })
    .await;
    assert_eq!(
        paths,
        ["/api/webhooks/1/abc/slack", "/api/webhooks/1/abc/slack"]
    );
}

#[tokio::test]
async fn rocket_chat_receives_the_slack_message_with_hex_colours() {
    let (bodies, paths) =
        bodies_for(|uri| spec(AlertProviderType::Rocket, &format!("{uri}/hooks/abc"))).await;
    assert_eq!(
        bodies,
        slack_golden("flagger", "general", "#0076D7", "#FF0000")
    );
    assert_eq!(paths, ["/hooks/abc", "/hooks/abc"]);
}

#[tokio::test]
async fn microsoft_teams_receives_a_message_card_red_for_errors() {
    let (bodies, _) = bodies_for(|uri| AlertProviderSpec {
        // Teams ignores username and channel.
        username: Some("weir-bot".to_owned()),
        channel: Some("deployments".to_owned()),
        ..spec(AlertProviderType::Msteams, &format!("{uri}/webhookb2/x"))
    })
    .await;
    let golden = [
        json!({
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": "0076D7",
            "summary": "podinfo.test",
            "sections": [{
                "activityTitle": "New revision detected, progressing canary analysis.",
                "activitySubtitle": "podinfo.test",
                "facts": [
                    {"name": "Target", "value": "Deployment/podinfo.test"},
                    {"name": "Failed checks threshold", "value": "5"},
                    {"name": "Progress deadline", "value": "600s"},
                    {"name": "Traffic routing", "value": "Weight step: 10 max: 50"}
                ]
            }]
        }),
        json!({
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": "FF0000",
            "summary": "podinfo.test",
            "sections": [{
                "activityTitle": "Canary analysis failed, Deployment scaled to zero.",
                "activitySubtitle": "podinfo.test",
                "facts": [
                    {"name": "Cluster", "value": "prod-eu-1"}
                ]
            }]
        }),
    ];
    assert_eq!(bodies, golden);
}

#[tokio::test]
async fn google_chat_receives_a_card_with_flaggers_html() {
    let (bodies, _) =
        bodies_for(|uri| spec(AlertProviderType::Gchat, &format!("{uri}/v1/spaces/x"))).await;
    let header = json!({
        "title": "Flagger",
        "subtitle": "podinfo.test",
        "imageUrl": "https://flagger.app/favicon.png"
    });
    let paragraph = |text: &str| json!({"widgets": [{"textParagraph": {"text": text}}]});
    let golden = [
        json!({"cards": [{
            "header": header,
            "sections": [
                paragraph("<font color=#848484><strong>New revision detected, progressing canary analysis.</strong></font>"),
                paragraph("Target<br><font color=#848484><strong>Deployment/podinfo.test</strong></font>"),
                paragraph("Failed checks threshold<br><font color=#848484><strong>5</strong></font>"),
                paragraph("Progress deadline<br><font color=#848484><strong>600s</strong></font>"),
                paragraph("Traffic routing<br><font color=#848484><strong>Weight step: 10 max: 50</strong></font>")
            ]
        }]}),
        // Google Chat cards have no colour: errors look like info.
        json!({"cards": [{
            "header": header,
            "sections": [
                paragraph("<font color=#848484><strong>Canary analysis failed, Deployment scaled to zero.</strong></font>"),
                paragraph("Cluster<br><font color=#848484><strong>prod-eu-1</strong></font>")
            ]
        }]}),
    ];
    assert_eq!(bodies, golden);
}

#[tokio::test]
async fn the_body_is_encoded_byte_for_byte_as_gos_json_marshal_encodes_it() {
    let server = answering(200).await;
    let notifier = notifier(
        spec(AlertProviderType::Gchat, &server.uri()),
        &InMemoryObjects::default(),
    )
    .expect("valid provider");
    let mut notification = error();
    notification.fields.clear();
    notifier
        .send(&ClientCache::default(), &notification)
        .await
        .expect("sent");
    let requests = received(&server).await;
    assert_eq!(
        String::from_utf8_lossy(&requests[0].body),
        r#"{"cards":[{"header":{"title":"Flagger","subtitle":"podinfo.test","imageUrl":"https://flagger.app/favicon.png"},"sections":[{"widgets":[{"textParagraph":{"text":"\u003cfont color=#848484\u003e\u003cstrong\u003eCanary analysis failed, Deployment scaled to zero.\u003c/strong\u003e\u003c/font\u003e"}}]}]}]}"#
    );
}

fn secret_ref(name: &str) -> Option<SecretRef> {
    Some(SecretRef {
        name: name.to_owned(),
    })
}

#[tokio::test]
async fn the_secrets_token_is_sent_to_slack_as_a_bearer_token() {
    let server = answering(200).await;
    let objects = InMemoryObjects::default().with_secret(
        NAMESPACE,
        "slack-bot",
        SecretData::from_pairs([
            (
                "address",
                format!("{}/api/chat.postMessage\n", server.uri()).as_str(),
            ),
            ("token", "xoxb-123\n"),
        ]),
    );
    let notifier = notifier(
        AlertProviderSpec {
            secret_ref: secret_ref("slack-bot"),
            ..AlertProviderSpec::default()
        },
        &objects,
    )
    .expect("valid provider");
    notifier
        .send(&ClientCache::default(), &info())
        .await
        .expect("sent");
    let requests = received(&server).await;
    assert_eq!(requests[0].url.path(), "/api/chat.postMessage");
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok()),
        Some("Bearer xoxb-123")
    );
}

#[tokio::test]
async fn other_chat_systems_never_receive_the_token_as_in_flagger() {
    let server = answering(200).await;
    let objects = InMemoryObjects::default().with_secret(
        NAMESPACE,
        "discord",
        SecretData::from_pairs([("address", server.uri().as_str()), ("token", "xoxb-123")]),
    );
    let notifier = notifier(
        AlertProviderSpec {
            r#type: AlertProviderType::Discord,
            secret_ref: secret_ref("discord"),
            ..AlertProviderSpec::default()
        },
        &objects,
    )
    .expect("valid provider");
    assert!(!notifier.sends_token());
    notifier
        .send(&ClientCache::default(), &info())
        .await
        .expect("sent");
    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn a_secrets_address_overrides_spec_address() {
    let from_spec = answering(200).await;
    let from_secret = answering(200).await;
    let objects = InMemoryObjects::default().with_secret(
        NAMESPACE,
        "hook",
        SecretData::from_pairs([(
            "address",
            format!("{}/secret-hook", from_secret.uri()).as_str(),
        )]),
    );
    let notifier = notifier(
        AlertProviderSpec {
            secret_ref: secret_ref("hook"),
            ..spec(
                AlertProviderType::Slack,
                &format!("{}/spec-hook", from_spec.uri()),
            )
        },
        &objects,
    )
    .expect("valid provider");
    notifier
        .send(&ClientCache::default(), &info())
        .await
        .expect("sent");
    assert!(received(&from_spec).await.is_empty());
    let requests = received(&from_secret).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/secret-hook");
}

#[test]
fn a_missing_secret_is_an_error_naming_the_provider_and_the_secret() {
    let error = notifier(
        AlertProviderSpec {
            secret_ref: secret_ref("slack-url"),
            ..spec(
                AlertProviderType::Slack,
                "https://hooks.slack.com/services/x",
            )
        },
        &InMemoryObjects::default(),
    )
    .expect_err("the Secret is missing");
    assert_eq!(
        error.to_string(),
        "AlertProvider test/alerts: spec.secretRef: Secret test/slack-url not found"
    );
}

#[test]
fn a_secret_without_an_address_key_is_an_error_even_when_spec_address_is_set() {
    let objects = InMemoryObjects::default().with_secret(
        NAMESPACE,
        "slack-url",
        SecretData::from_pairs([
            ("url", "https://hooks.slack.com/services/x"),
            ("token", "t"),
        ]),
    );
    let error = notifier(
        AlertProviderSpec {
            secret_ref: secret_ref("slack-url"),
            ..spec(
                AlertProviderType::Slack,
                "https://hooks.slack.com/services/x",
            )
        },
        &objects,
    )
    .expect_err("the address key is missing");
    assert!(
        matches!(&error, AlertError::SecretAddressMissing { secret, .. } if secret == "slack-url"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message
            .starts_with("AlertProvider test/alerts: Secret test/slack-url has no `address` key"),
        "{message}"
    );
}

#[test]
fn a_missing_provider_is_an_error_naming_it() {
    let error = Notifier::lookup(&reference("on-call"), &InMemoryObjects::default())
        .expect_err("no such provider");
    assert_eq!(error.to_string(), "AlertProvider test/on-call not found");
}

#[test]
fn a_provider_without_address_or_secret_is_an_error_not_silence() {
    let error = notifier(
        AlertProviderSpec {
            address: Some("  ".to_owned()),
            ..AlertProviderSpec::default()
        },
        &InMemoryObjects::default(),
    )
    .expect_err("nowhere to send");
    assert_eq!(
        error,
        AlertError::AddressMissing {
            origin: Origin::Provider {
                namespace: NAMESPACE.to_owned(),
                name: "alerts".to_owned()
            }
        }
    );
}

#[test]
fn an_invalid_secret_address_is_an_error_that_does_not_quote_it() {
    let objects = InMemoryObjects::default().with_secret(
        NAMESPACE,
        "hook",
        SecretData::from_pairs([("address", "hooks.slack.com/services/T0/s3cr3t")]),
    );
    let error = notifier(
        AlertProviderSpec {
            secret_ref: secret_ref("hook"),
            ..AlertProviderSpec::default()
        },
        &objects,
    )
    .expect_err("not an absolute URL");
    let message = error.to_string();
    assert!(
        message.contains("key `address` of Secret test/hook is not an absolute http(s) URL"),
        "{message}"
    );
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[tokio::test]
async fn a_server_error_is_reported_with_status_and_body_but_without_the_secret_address() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("invalid_payload"))
        .mount(&server)
        .await;
    let objects = InMemoryObjects::default().with_secret(
        NAMESPACE,
        "hook",
        SecretData::from_pairs([
            (
                "address",
                format!("{}/services/T0/s3cr3t", server.uri()).as_str(),
            ),
            ("token", "xoxb-t0k3n"),
        ]),
    );
    let notifier = notifier(
        AlertProviderSpec {
            secret_ref: secret_ref("hook"),
            ..AlertProviderSpec::default()
        },
        &objects,
    )
    .expect("valid provider");
    let error = notifier
        .send(&ClientCache::default(), &info())
        .await
        .expect_err("500 is a failure");
    assert!(
        matches!(&error, AlertError::Status { status: 500, body, .. } if body == "invalid_payload"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "AlertProvider test/alerts (slack): {} answered HTTP 500 Internal Server Error: invalid_payload",
            server.uri()
        )
    );
    let debug = format!("{error:?} {notifier:?}");
    for secret in ["s3cr3t", "xoxb-t0k3n"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[tokio::test]
async fn any_2xx_answer_counts_as_sent() {
    let server = answering(202).await;
    let notifier = notifier(
        spec(AlertProviderType::Msteams, &server.uri()),
        &InMemoryObjects::default(),
    )
    .expect("valid provider");
    notifier
        .send(&ClientCache::default(), &info())
        .await
        .expect("202 Accepted is success");
}

#[tokio::test]
async fn a_slow_chat_system_times_out_after_the_configured_timeout() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let notifier = notifier(
        spec(
            AlertProviderType::Slack,
            &format!("{}/services/T0/s3cr3t", server.uri()),
        ),
        &InMemoryObjects::default(),
    )
    .expect("valid provider");
    let error = notifier
        .send(&ClientCache::new(Duration::from_millis(100)), &info())
        .await
        .expect_err("the answer comes too late");
    assert_eq!(
        error.to_string(),
        format!(
            "AlertProvider test/alerts (slack): {}: timed out after 100ms",
            server.uri()
        )
    );
}

#[tokio::test]
async fn the_proxy_setting_routes_the_request_through_the_proxy() {
    // A plain-http target is requested from the proxy in absolute form, so
    // wiremock can stand in for the proxy. `.invalid` never resolves: the
    // request can only arrive through the proxy.
    let proxy = answering(200).await;
    let notifier = notifier(
        AlertProviderSpec {
            proxy: Some(proxy.uri()),
            ..spec(
                AlertProviderType::Msteams,
                "http://chat.invalid/webhookb2/team",
            )
        },
        &InMemoryObjects::default(),
    )
    .expect("valid provider");
    notifier
        .send(&ClientCache::default(), &info())
        .await
        .expect("sent through the proxy");
    let requests = received(&proxy).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].url.as_str(),
        "http://chat.invalid/webhookb2/team"
    );
    assert_eq!(json_body(&requests[0])["@type"], "MessageCard");
}
