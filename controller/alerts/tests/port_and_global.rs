//! The global notifier's configuration and the engine's `Alerts` port.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use weir_alerts::{AlertError, ClientCache, GlobalNotifierConfig, HttpAlerts, Origin};
use weir_api::analysis::CrossNamespaceRef;
use weir_api::objects::InMemoryObjects;
use weir_api::{AlertProvider, AlertProviderSpec, AlertProviderType, AlertSeverity};
use weir_engine::ports::{Alerts, Notification};
use weir_http::Bridge;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn notification() -> Notification {
    Notification {
        canary_name: "podinfo".to_owned(),
        namespace: "test".to_owned(),
        message: "Canary analysis completed successfully, promotion finished.".to_owned(),
        fields: vec![("Cluster".to_owned(), "prod-eu-1".to_owned())],
        severity: AlertSeverity::Info,
    }
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

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("the body is JSON")
}

fn environment(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let variables: HashMap<String, String> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    move |name| variables.get(name).cloned()
}

fn slack(url: &str, channel: &str) -> GlobalNotifierConfig {
    GlobalNotifierConfig {
        slack_url: Some(url.to_owned()),
        slack_channel: Some(channel.to_owned()),
        ..GlobalNotifierConfig::default()
    }
}

#[test]
fn nothing_configured_means_no_global_notifier() {
    let config = GlobalNotifierConfig::default().from_env_with(environment(&[]));
    assert!(config.build().expect("nothing to check").is_none());
}

#[test]
fn microsoft_teams_wins_over_slack() {
    let config = GlobalNotifierConfig {
        msteams_url: Some("https://example.webhook.office.com/webhookb2/x".to_owned()),
        msteams_proxy_url: Some("http://proxy.test:3128".to_owned()),
        ..slack("https://hooks.slack.com/services/x", "general")
    };
    let notifier = config.build().expect("valid").expect("configured");
    assert_eq!(notifier.kind(), AlertProviderType::Msteams);
    assert_eq!(notifier.origin(), &Origin::GlobalTeams);
    assert_eq!(notifier.destination(), "https://example.webhook.office.com");
    assert_eq!(notifier.proxy(), Some("http://proxy.test:3128"));
}

#[test]
fn the_teams_environment_variable_alone_selects_teams() {
    let config =
        slack("https://hooks.slack.com/services/x", "general").from_env_with(environment(&[(
            "MSTEAMS_URL",
            "https://example.webhook.office.com/webhookb2/x",
        )]));
    let notifier = config.build().expect("valid").expect("configured");
    assert_eq!(notifier.kind(), AlertProviderType::Msteams);
}

#[test]
fn environment_variables_fill_in_unset_flags() {
    let config = GlobalNotifierConfig {
        slack_channel: Some("deployments".to_owned()),
        ..GlobalNotifierConfig::default()
    }
    .from_env_with(environment(&[
        ("SLACK_URL", "https://hooks.slack.com/services/x"),
        ("SLACK_TOKEN", "xoxb-1"),
        ("SLACK_PROXY_URL", "http://proxy.test:3128"),
    ]));
    let notifier = config.build().expect("valid").expect("configured");
    assert_eq!(notifier.kind(), AlertProviderType::Slack);
    assert_eq!(notifier.destination(), "https://hooks.slack.com");
    assert_eq!(notifier.channel(), "deployments");
    assert_eq!(notifier.username(), "flagger");
    assert_eq!(notifier.proxy(), Some("http://proxy.test:3128"));
    assert!(notifier.sends_token());
}

#[test]
fn a_non_empty_environment_variable_wins_over_its_flag_as_in_flagger() {
    let config = slack("https://flag.example/hook", "general").from_env_with(environment(&[
        ("SLACK_URL", "https://env.example/hook"),
        ("SLACK_PROXY_URL", ""),
    ]));
    assert_eq!(
        config.slack_url.as_deref(),
        Some("https://env.example/hook")
    );
    assert_eq!(config.slack_proxy_url, None, "an empty variable is unset");
    let notifier = config.build().expect("valid").expect("configured");
    assert_eq!(notifier.destination(), "https://env.example");
}

#[test]
fn a_slack_url_without_a_channel_is_an_error_where_flagger_would_go_silent() {
    let error = GlobalNotifierConfig {
        slack_url: Some("https://hooks.slack.com/services/x".to_owned()),
        ..GlobalNotifierConfig::default()
    }
    .build()
    .expect_err("Slack needs a channel");
    assert!(
        matches!(
            &error,
            AlertError::GlobalConfig {
                origin: Origin::GlobalSlack,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "global Slack notifier: -slack-url / SLACK_URL is set but -slack-channel is not; Slack needs a channel"
    );
}

#[test]
fn an_empty_slack_username_is_an_error() {
    let error = GlobalNotifierConfig {
        slack_user: String::new(),
        ..slack("https://hooks.slack.com/services/x", "general")
    }
    .build()
    .expect_err("Slack needs a username");
    assert!(
        error.to_string().contains("-slack-user is empty"),
        "{error}"
    );
}

#[test]
fn settings_without_their_url_are_an_error() {
    let token_only = GlobalNotifierConfig::default()
        .from_env_with(environment(&[("SLACK_TOKEN", "xoxb-s3cr3t")]))
        .build()
        .expect_err("a token without a URL cannot take effect");
    assert_eq!(
        token_only.to_string(),
        "global Slack notifier: -slack-token / SLACK_TOKEN is set but -slack-url / SLACK_URL is not"
    );
    let teams_proxy_only = GlobalNotifierConfig {
        msteams_proxy_url: Some("http://proxy.test:3128".to_owned()),
        ..slack("https://hooks.slack.com/services/x", "general")
    }
    .build()
    .expect_err("a Teams proxy without a Teams URL cannot take effect");
    assert!(
        matches!(
            teams_proxy_only,
            AlertError::GlobalConfig {
                origin: Origin::GlobalTeams,
                ..
            }
        ),
        "{teams_proxy_only:?}"
    );
}

#[test]
fn an_invalid_global_url_is_an_error_that_does_not_quote_it() {
    let error = slack("hooks.slack.com/services/T0/s3cr3t", "general")
        .build()
        .expect_err("not an absolute URL");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "global Slack notifier: -slack-url / SLACK_URL is not an absolute http(s) URL"
        ),
        "{message}"
    );
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[test]
fn the_configurations_debug_output_hides_urls_and_token() {
    let config = GlobalNotifierConfig {
        slack_token: Some("xoxb-s3cr3t".to_owned()),
        msteams_url: Some("https://example.webhook.office.com/webhookb2/s3cr3t".to_owned()),
        ..slack("https://hooks.slack.com/services/s3cr3t", "general")
    };
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("general"), "{debug}");
}

fn provider_objects(kind: AlertProviderType, address: &str) -> InMemoryObjects {
    let mut provider = AlertProvider::new(
        "on-call",
        AlertProviderSpec {
            r#type: kind,
            address: Some(address.to_owned()),
            ..AlertProviderSpec::default()
        },
    );
    provider.metadata.namespace = Some("alerting".to_owned());
    InMemoryObjects::default().with_alert_provider(provider)
}

fn on_call() -> CrossNamespaceRef {
    CrossNamespaceRef {
        name: "on-call".to_owned(),
        namespace: Some("alerting".to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_sends_from_a_blocking_task_with_the_global_slack_token_and_channel() {
    let server = answering(200).await;
    let global = GlobalNotifierConfig {
        slack_token: Some("xoxb-1".to_owned()),
        ..slack(
            &format!("{}/api/chat.postMessage", server.uri()),
            "releases",
        )
    }
    .build()
    .expect("valid")
    .expect("configured");
    let mut alerts = HttpAlerts::new(InMemoryObjects::default(), Bridge::current(), Some(global));
    tokio::task::spawn_blocking(move || alerts.send_global(&notification()))
        .await
        .expect("the blocking task finishes")
        .expect("sent");
    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/api/chat.postMessage");
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok()),
        Some("Bearer xoxb-1")
    );
    assert_eq!(body(&requests[0])["channel"], "releases");
}

#[test]
fn the_port_sends_from_a_plain_thread_through_the_referenced_provider() {
    let runtime = tokio::runtime::Runtime::new().expect("test runtime");
    let server = runtime.block_on(answering(200));
    let objects = provider_objects(
        AlertProviderType::Rocket,
        &format!("{}/hooks/x", server.uri()),
    );
    let mut alerts = HttpAlerts::new(objects, Bridge::new(runtime.handle().clone()), None);
    std::thread::spawn(move || alerts.send(&on_call(), &notification()))
        .join()
        .expect("the thread finishes")
        .expect("sent");
    let requests = runtime.block_on(received(&server));
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/hooks/x");
    assert_eq!(body(&requests[0])["attachments"][0]["color"], "#0076D7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_global_notifier_global_alerts_are_dropped_quietly() {
    let mut alerts = HttpAlerts::new(InMemoryObjects::default(), Bridge::current(), None);
    tokio::task::spawn_blocking(move || alerts.send_global(&notification()))
        .await
        .expect("the blocking task finishes")
        .expect("nothing to send is not an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_errors_name_the_provider_and_carry_the_status() {
    let server = answering(404).await;
    let objects = provider_objects(AlertProviderType::Gchat, &server.uri());
    let mut alerts = HttpAlerts::new(objects, Bridge::current(), None)
        .with_clients(ClientCache::new(Duration::from_secs(2)));
    let (not_found, missing_provider) = tokio::task::spawn_blocking(move || {
        (
            alerts.send(&on_call(), &notification()),
            alerts.send(
                &CrossNamespaceRef {
                    name: "missing".to_owned(),
                    namespace: Some("alerting".to_owned()),
                },
                &notification(),
            ),
        )
    })
    .await
    .expect("the blocking task finishes");
    let message = not_found.expect_err("404 is a failure").to_string();
    assert!(
        message.starts_with("AlertProvider alerting/on-call (gchat):")
            && message.contains("answered HTTP 404 Not Found"),
        "{message}"
    );
    assert_eq!(
        missing_provider.expect_err("no such provider").to_string(),
        "AlertProvider alerting/missing not found"
    );
}
