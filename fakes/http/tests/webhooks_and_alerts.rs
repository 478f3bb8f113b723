//! WebhookReceiver and AlertSink over real HTTP on loopback.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;
use weir_fakes_http::{AlertFormat, AlertSink, CannedResponse, WaitError, WebhookReceiver};

fn client() -> reqwest::Client {
    weir_http::client(&weir_http::ClientOptions::default()).expect("a default client builds")
}

async fn post_json(url: &str, payload: &serde_json::Value) -> (StatusCode, String) {
    let response = client()
        .post(url)
        .json(payload)
        .send()
        .await
        .expect("the fake answers");
    let status = response.status();
    (status, response.text().await.expect("a body"))
}

#[tokio::test]
async fn the_receiver_records_method_path_query_headers_and_body() {
    let receiver = WebhookReceiver::start().await.expect("starts");
    let payload = json!({
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": "6d5c8f",
        "metadata": {"cmd": "hey -z 1m http://podinfo-canary.test:9898/"}
    });
    let response = client()
        .post(receiver.url_for("/gate/check?attempt=1"))
        .header("Authorization", "Bearer hook-token")
        .json(&payload)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "OK");
    let _ = client()
        .get(receiver.url_for("/healthz"))
        .send()
        .await
        .expect("answers");

    let calls = receiver.calls();
    assert_eq!(calls.len(), 2);
    let call = &calls[0];
    assert_eq!(call.method, http::Method::POST);
    assert_eq!(call.path, "/gate/check");
    assert_eq!(call.query.as_deref(), Some("attempt=1"));
    assert_eq!(call.header("authorization"), Some("Bearer hook-token"));
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(call.json.as_ref(), Some(&payload));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&call.body).expect("JSON"),
        payload
    );
    assert_eq!(calls[1].method, http::Method::GET);
    assert!(calls[1].json.is_none(), "an empty body is not JSON");
    assert_eq!(receiver.calls_to("/healthz").len(), 1);
    assert!(receiver.calls_to("/gate").is_empty(), "paths match exactly");
    receiver.clear_calls();
    assert_eq!(receiver.call_count(), 0);
}

#[tokio::test]
async fn paths_answer_as_scripted_and_the_next_n_calls_fail_before_the_rules_apply_again() {
    let receiver = WebhookReceiver::start().await.expect("starts");
    receiver.respond_to(
        "/gate/approve",
        CannedResponse::new(StatusCode::FORBIDDEN, "not approved"),
    );
    receiver.set_default_response(CannedResponse::new(StatusCode::ACCEPTED, "{\"ok\":true}"));
    let approve = receiver.url_for("/gate/approve");
    let other = receiver.url_for("/rollout");
    assert_eq!(
        post_json(&approve, &json!({})).await,
        (StatusCode::FORBIDDEN, "not approved".to_owned())
    );
    assert_eq!(post_json(&other, &json!({})).await.0, StatusCode::ACCEPTED);

    receiver.fail_next(2, StatusCode::SERVICE_UNAVAILABLE, "try later");
    assert_eq!(
        post_json(&other, &json!({})).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post_json(&approve, &json!({})).await,
        (StatusCode::SERVICE_UNAVAILABLE, "try later".to_owned())
    );
    assert_eq!(
        post_json(&approve, &json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(post_json(&other, &json!({})).await.0, StatusCode::ACCEPTED);
    assert_eq!(receiver.call_count(), 6, "failed calls are recorded too");
}

#[tokio::test]
async fn a_delay_holds_the_answer_back_long_enough_to_trip_a_client_timeout() {
    let receiver = WebhookReceiver::start().await.expect("starts");
    receiver.set_delay(Some(Duration::from_millis(150)));
    let started = Instant::now();
    assert_eq!(
        post_json(receiver.url(), &json!({})).await.0,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(150));

    receiver.set_delay(None);
    receiver.respond_to(
        "/slow",
        CannedResponse::default().with_delay(Duration::from_millis(300)),
    );
    let impatient = weir_http::client(&weir_http::ClientOptions {
        timeout: Some(Duration::from_millis(50)),
        ..weir_http::ClientOptions::default()
    })
    .expect("a client with a timeout builds");
    let error = impatient
        .post(receiver.url_for("/slow"))
        .send()
        .await
        .expect_err("the delay outlasts the timeout");
    assert!(error.is_timeout(), "{error}");
    let started = Instant::now();
    assert_eq!(
        post_json(&receiver.url_for("/fast"), &json!({})).await.0,
        StatusCode::OK
    );
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn waiting_returns_once_asynchronous_senders_have_called_and_times_out_otherwise() {
    let receiver = WebhookReceiver::start().await.expect("starts");
    let url = receiver.url_for("/events");
    let sender = tokio::spawn(async move {
        for index in 0..3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = post_json(&url, &json!({"index": index})).await;
        }
    });
    let calls = receiver
        .wait_for_calls(3, Duration::from_secs(5))
        .await
        .expect("three calls arrive");
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[2].json.as_ref().map(|body| &body["index"]),
        Some(&json!(2))
    );
    sender.await.expect("the sender finishes");

    let started = Instant::now();
    let error = receiver
        .wait_for_calls(4, Duration::from_millis(100))
        .await
        .expect_err("no fourth call");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(matches!(
        error,
        WaitError::Timeout {
            expected: 4,
            received: 3,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "3 of the 4 expected calls arrived within 100ms"
    );
}

/// Flagger's Slack payload (pkg/notifier/slack.go).
fn slack_payload(message: &str, color: &str) -> serde_json::Value {
    json!({
        "channel": "general",
        "username": "flagger",
        "icon_url": "",
        "icon_emoji": ":rocket:",
        "attachments": [{
            "color": color,
            "author_name": "podinfo.test",
            "text": message,
            "mrkdwn_in": ["text"],
            "fields": [
                {"title": "Target", "value": "Deployment/podinfo.test", "short": false},
                {"title": "Failed checks threshold", "value": "5", "short": false}
            ]
        }]
    })
}

#[tokio::test]
async fn the_sink_reads_the_message_out_of_slack_discord_and_rocket_chat_posts() {
    let sink = AlertSink::start().await.expect("starts");
    let (status, _) = post_json(
        &sink.url_for("/services/T000/B000/XXX"),
        &slack_payload(
            "New revision detected, progressing canary analysis.",
            "good",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    post_json(
        &sink.url_for("/api/webhooks/1/abc/slack"),
        &slack_payload("Failed checks threshold reached 5", "danger"),
    )
    .await;
    post_json(
        &sink.url_for("/hooks/rocket"),
        &slack_payload("Canary is waiting for approval.", "#FF0000"),
    )
    .await;

    let messages = sink.messages();
    assert_eq!(messages.len(), 3);
    let first = &messages[0];
    assert_eq!(first.format, AlertFormat::Slack);
    assert_eq!(
        first.text.as_deref(),
        Some("New revision detected, progressing canary analysis.")
    );
    assert_eq!(first.subject.as_deref(), Some("podinfo.test"));
    assert_eq!(first.color.as_deref(), Some("good"));
    assert_eq!(first.field("Failed checks threshold"), Some("5"));
    assert_eq!(first.fields.len(), 2);
    assert_eq!(messages[1].call.path, "/api/webhooks/1/abc/slack");
    assert_eq!(messages[1].color.as_deref(), Some("danger"));
    assert_eq!(
        sink.texts(),
        [
            "New revision detected, progressing canary analysis.",
            "Failed checks threshold reached 5",
            "Canary is waiting for approval."
        ]
    );
}

#[tokio::test]
async fn the_sink_reads_teams_message_cards_and_google_chat_cards() {
    let sink = AlertSink::start().await.expect("starts");
    let teams = json!({
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": "FF0000",
        "summary": "podinfo.test",
        "sections": [{
            "activityTitle": "Progress deadline exceeded canary deployment podinfo.test not ready",
            "activitySubtitle": "podinfo.test",
            "facts": [{"name": "Traffic routing", "value": "Weight step: 10 max: 50"}]
        }]
    });
    let google_chat = json!({
        "cards": [{
            "header": {
                "title": "Flagger",
                "subtitle": "podinfo.test",
                "imageUrl": "https://flagger.app/favicon.png"
            },
            "sections": [
                {"widgets": [{"textParagraph": {
                    "text": "<font color=#848484><strong>Canary analysis completed successfully, promotion finished.</strong></font>"
                }}]},
                {"widgets": [{"textParagraph": {
                    "text": "Target<br><font color=#848484><strong>Deployment/podinfo.test</strong></font>"
                }}]}
            ]
        }]
    });
    post_json(&sink.url_for("/teams"), &teams).await;
    post_json(&sink.url_for("/v1/spaces/AAA/messages"), &google_chat).await;
    post_json(&sink.url_for("/plain"), &json!({"text": "hello"})).await;
    let _ = client()
        .post(sink.url_for("/garbage"))
        .body("not json")
        .send()
        .await
        .expect("answers");

    let messages = sink
        .wait_for_messages(4, Duration::from_secs(5))
        .await
        .expect("all four were posted");
    assert_eq!(messages[0].format, AlertFormat::MicrosoftTeams);
    assert_eq!(
        messages[0].text.as_deref(),
        Some("Progress deadline exceeded canary deployment podinfo.test not ready")
    );
    assert_eq!(messages[0].subject.as_deref(), Some("podinfo.test"));
    assert_eq!(messages[0].color.as_deref(), Some("FF0000"));
    assert_eq!(
        messages[0].field("Traffic routing"),
        Some("Weight step: 10 max: 50")
    );

    assert_eq!(messages[1].format, AlertFormat::GoogleChat);
    assert_eq!(
        messages[1].text.as_deref(),
        Some("Canary analysis completed successfully, promotion finished.")
    );
    assert_eq!(messages[1].subject.as_deref(), Some("podinfo.test"));
    assert_eq!(messages[1].field("Target"), Some("Deployment/podinfo.test"));

    assert_eq!(messages[2].format, AlertFormat::PlainText);
    assert_eq!(messages[2].text.as_deref(), Some("hello"));
    assert_eq!(messages[3].format, AlertFormat::Unrecognized);
    assert_eq!(messages[3].text, None);
    assert_eq!(messages[3].call.body_text(), "not json");
}

#[tokio::test]
async fn the_sink_can_be_told_to_fail_so_notifier_errors_can_be_tested() {
    let sink = AlertSink::start().await.expect("starts");
    sink.receiver()
        .fail_next(1, StatusCode::BAD_REQUEST, "invalid_payload");
    let payload = slack_payload("Canary promotion is waiting for approval.", "good");
    assert_eq!(
        post_json(sink.url(), &payload).await,
        (StatusCode::BAD_REQUEST, "invalid_payload".to_owned())
    );
    assert_eq!(post_json(sink.url(), &payload).await.0, StatusCode::OK);
    assert_eq!(sink.messages().len(), 2, "the refused post is recorded too");
    let url = sink.url().to_owned();
    sink.shutdown().await;
    assert!(client().post(url).send().await.is_err());
}

#[tokio::test]
async fn a_dropped_receiver_stops_listening() {
    let receiver = WebhookReceiver::start().await.expect("starts");
    let url = receiver.url().to_owned();
    assert_eq!(post_json(&url, &json!({})).await.0, StatusCode::OK);
    drop(receiver);
    // Dropping only signals the server task: give it a moment to close.
    let mut closed = false;
    for _ in 0..50 {
        if client().post(&url).send().await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "the receiver still answers after being dropped");
}
