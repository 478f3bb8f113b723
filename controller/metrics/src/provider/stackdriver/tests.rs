//! The Stackdriver provider against wiremock: queries, tokens from keys and
//! from the metadata server, caching.
use std::collections::BTreeMap;

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::json;
use weir_api::metric_template::MetricProviderType;
use weir_api::objects::SecretData;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::super::test_support::{
    NOW_SECONDS, SHORT_TIMEOUT, context, impatient_context, spec, window, with_secret,
};
use super::super::{MetricsProvider, ProviderContext};
use super::*;

/// A throwaway key: see tests/fixtures/stackdriver/README.md.
const PRIVATE_KEY: &str = include_str!("../../../tests/fixtures/stackdriver/private-key.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("../../../tests/fixtures/stackdriver/public-key.der");

const PROJECT: &str = "weir-test";
const CLIENT_EMAIL: &str = "weir@weir-test.iam.gserviceaccount.com";
const TOKEN: &str = "ya29.test-token";
const QUERY_PATH: &str = "/v3/projects/weir-test/timeSeries:query";
const MQL: &str = "fetch k8s_container\n| metric 'istio.io/service/server/request_count'\n| align rate(1m)\n| every 1m\n| group_by [], [value: sum(value.request_count)]";

/// Settings that reach nothing but `server` and share nothing with other
/// tests.
fn settings(server: &MockServer) -> GoogleSettings {
    GoogleSettings {
        application_credentials: None,
        metadata_server: server.uri(),
        cache: Arc::default(),
    }
}

/// A key file whose token endpoint is `server`.
fn key_json(server: &MockServer) -> String {
    json!({
        "type": "service_account",
        "project_id": "project-of-the-key",
        "private_key_id": "test-key-id",
        "private_key": PRIVATE_KEY,
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "token_uri": format!("{}/token", server.uri()),
    })
    .to_string()
}

fn build(
    server: &MockServer,
    pairs: &[(&str, &str)],
    context: &ProviderContext,
    settings: &GoogleSettings,
) -> Result<Stackdriver, ProviderError> {
    let secret = SecretData::from_pairs(pairs.iter().copied());
    let spec = spec(MetricProviderType::Stackdriver, &server.uri());
    let spec = if pairs.is_empty() {
        spec
    } else {
        with_secret(spec)
    };
    Stackdriver::with_settings(
        &spec,
        Some(Credentials {
            secret: "test/credentials",
            data: &secret,
        }),
        context,
        settings,
    )
}

/// A provider with a service-account key, whose API and token endpoint
/// are both `server`.
fn keyed_provider(server: &MockServer, settings: &GoogleSettings) -> Stackdriver {
    let key = key_json(server);
    build(
        server,
        &[(PROJECT_KEY, PROJECT), (SERVICE_ACCOUNT_KEY, &key)],
        &context(),
        settings,
    )
    .expect("provider")
}

async fn mount_token(server: &MockServer, token: &str, expires_in: i64) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "expires_in": expires_in,
            "token_type": "Bearer",
        })))
        .mount(server)
        .await;
}

fn series_of(value: serde_json::Value) -> serde_json::Value {
    json!({
        "timeSeriesDescriptor": {"pointDescriptors": [{"key": "value", "valueType": "DOUBLE"}]},
        "timeSeriesData": [{
            "labelValues": [],
            "pointData": [{
                "values": [value],
                "timeInterval": {"startTime": "2026-12-01T11:59:00Z", "endTime": "2026-12-01T12:00:00Z"},
            }],
        }],
    })
}

async fn mount_answer(server: &MockServer, answer: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(server)
        .await;
}

/// `segment` of a JWT, decoded as JSON.
fn jwt_part(segment: &str) -> serde_json::Value {
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The form fields of the token requests `server` received.
async fn token_requests(server: &MockServer) -> Vec<BTreeMap<String, String>> {
    let requests: Vec<Request> = server.received_requests().await.expect("recording");
    requests
        .iter()
        .filter(|request| request.url.path() == "/token")
        .map(|request| {
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_query_posts_the_mql_to_the_projects_time_series_endpoint_with_the_bearer_token() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({ "query": MQL })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(series_of(json!({"doubleValue": 0.25}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let value = keyed_provider(&server, &settings(&server))
        .query(MQL, &window())
        .await;
    assert_eq!(value, Ok(0.25));
}

#[tokio::test]
async fn doubles_and_int64s_given_as_strings_or_numbers_are_read() {
    for (value, expected) in [
        (json!({"doubleValue": 99.5}), 99.5),
        (json!({"doubleValue": 0}), 0.0),
        (json!({"doubleValue": "Infinity"}), f64::INFINITY),
        (json!({"int64Value": "42"}), 42.0),
        (json!({"int64Value": 7}), 7.0),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 3600).await;
        mount_answer(&server, series_of(value.clone())).await;
        let read = keyed_provider(&server, &settings(&server))
            .query(MQL, &window())
            .await;
        assert_eq!(read, Ok(expected), "{value}");
    }
}

#[tokio::test]
async fn no_series_no_points_no_values_and_nan_are_no_values() {
    let no_points = json!({"timeSeriesData": [{"labelValues": [], "pointData": []}]});
    let no_values = json!({"timeSeriesData": [{"pointData": [{"values": []}]}]});
    for answer in [
        json!({}),
        json!({"timeSeriesData": [], "nextPageToken": "more"}),
        no_points,
        no_values,
        series_of(json!({})),
        series_of(json!({"doubleValue": "NaN"})),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 3600).await;
        mount_answer(&server, answer.clone()).await;
        let error = keyed_provider(&server, &settings(&server))
            .query(MQL, &window())
            .await
            .expect_err("no values");
        assert!(error.is_no_values(), "{answer}: {error}");
        // Only the first page is read, even when it names a next one.
        let requests = server.received_requests().await.expect("recording");
        let queries = requests
            .iter()
            .filter(|request| request.url.path() == QUERY_PATH)
            .count();
        assert_eq!(queries, 1, "{answer}");
    }
}

#[tokio::test]
async fn partial_errors_explain_an_empty_answer() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    mount_answer(
        &server,
        json!({"partialErrors": [{"code": 4, "message": "query deadline exceeded"}]}),
    )
    .await;
    let error = keyed_provider(&server, &settings(&server))
        .query(MQL, &window())
        .await
        .expect_err("no values");
    assert_eq!(
        error,
        QueryError::NoValues("no time series (query deadline exceeded)".to_owned())
    );
}

#[tokio::test]
async fn booleans_strings_and_distributions_are_errors_not_zero() {
    for (value, kind) in [
        (json!({"boolValue": true}), "a boolean"),
        (json!({"stringValue": "up"}), "a string"),
        (
            json!({"distributionValue": {"count": "3"}}),
            "a distribution",
        ),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 3600).await;
        mount_answer(&server, series_of(value)).await;
        let error = keyed_provider(&server, &settings(&server))
            .query(MQL, &window())
            .await
            .expect_err(kind);
        assert!(!error.is_no_values(), "{kind}: {error}");
        assert!(
            error
                .to_string()
                .contains(&format!("the first value is {kind}")),
            "{kind}: {error}"
        );
    }
}

#[tokio::test]
async fn a_google_error_is_reported_with_its_status_and_message() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    Mock::given(path(QUERY_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {
                "code": 400,
                "message": "Line 1, Col 1: 'fetch' expected.",
                "status": "INVALID_ARGUMENT",
            }
        })))
        .mount(&server)
        .await;
    let error = keyed_provider(&server, &settings(&server))
        .query("nonsense", &window())
        .await
        .expect_err("400");
    assert_eq!(
        error.to_string(),
        "stackdriver answered 400: INVALID_ARGUMENT: Line 1, Col 1: 'fetch' expected."
    );
    assert!(!error.is_no_values());
}

#[tokio::test]
async fn a_slow_api_times_out_with_an_error_not_no_data() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    Mock::given(path(QUERY_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(series_of(json!({"doubleValue": 1.0})))
                .set_delay(SHORT_TIMEOUT * 3),
        )
        .mount(&server)
        .await;
    let key = key_json(&server);
    let provider = build(
        &server,
        &[(PROJECT_KEY, PROJECT), (SERVICE_ACCOUNT_KEY, &key)],
        &impatient_context(),
        &settings(&server),
    )
    .expect("provider");
    let error = provider.query(MQL, &window()).await.expect_err("timeout");
    assert!(
        error.to_string().ends_with("timed out after 200ms"),
        "{error}"
    );
    assert!(error.to_string().starts_with("stackdriver: "), "{error}");
    assert!(!error.is_no_values(), "{error}");
}

#[tokio::test]
async fn the_jwt_is_rs256_with_the_keys_claims_and_verifies_with_its_public_key() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    mount_answer(&server, series_of(json!({"doubleValue": 1.0}))).await;
    keyed_provider(&server, &settings(&server))
        .query(MQL, &window())
        .await
        .expect("value");

    let requests = token_requests(&server).await;
    let [form] = requests.as_slice() else {
        panic!("expected one token request, got {requests:?}");
    };
    assert_eq!(
        form.get("grant_type").map(String::as_str),
        Some(JWT_BEARER_GRANT)
    );
    let assertion = form.get("assertion").expect("assertion");
    let segments: Vec<&str> = assertion.split('.').collect();
    let [header_segment, claims_segment, signature_segment] = segments.as_slice() else {
        panic!("a JWT has three segments: {assertion}");
    };
    assert_eq!(
        jwt_part(header_segment),
        json!({"alg": "RS256", "typ": "JWT", "kid": "test-key-id"})
    );
    assert_eq!(
        jwt_part(claims_segment),
        json!({
            "iss": CLIENT_EMAIL,
            "scope": "https://www.googleapis.com/auth/monitoring.read",
            "aud": format!("{}/token", server.uri()),
            "iat": NOW_SECONDS,
            "exp": NOW_SECONDS + 3600,
        })
    );
    let signature = URL_SAFE_NO_PAD
        .decode(signature_segment)
        .expect("base64url signature");
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, PUBLIC_KEY)
        .verify(
            format!("{header_segment}.{claims_segment}").as_bytes(),
            &signature,
        )
        .expect("the signature verifies with the fixture's public key");
}

#[tokio::test]
async fn a_refused_assertion_is_an_error_quoting_the_token_endpoint() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "Invalid JWT Signature.",
        })))
        .mount(&server)
        .await;
    Mock::given(path(QUERY_PATH))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let error = keyed_provider(&server, &settings(&server))
        .query(MQL, &window())
        .await
        .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "stackdriver token endpoint answered 400: invalid_grant: Invalid JWT Signature."
    );
}

#[tokio::test]
async fn a_malformed_token_answer_is_an_error_that_does_not_quote_it() {
    for (answer, expected) in [
        (
            json!("ya29.bare-token"),
            "not an access token: unexpected JSON types at line 1",
        ),
        (
            json!({"access_token": "ya29.no-expiry"}),
            "not an access token: missing field `expires_in` at line 1",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
            .mount(&server)
            .await;
        let error = keyed_provider(&server, &settings(&server))
            .query(MQL, &window())
            .await
            .expect_err("malformed");
        let message = error.to_string();
        assert!(message.contains(expected), "{answer}: {message}");
        assert!(!message.contains("ya29"), "{message}");
    }
}

#[tokio::test]
async fn without_a_key_the_metadata_server_gives_the_token_and_the_project() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{METADATA_TOKEN_PATH}")))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.metadata-token",
            "expires_in": 3599,
            "token_type": "Bearer",
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{METADATA_PROJECT_PATH}")))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_string("metadata-project"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/projects/metadata-project/timeSeries:query"))
        .and(header("authorization", "Bearer ya29.metadata-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(series_of(json!({"doubleValue": 3.0}))),
        )
        .expect(2)
        .mount(&server)
        .await;
    let settings = settings(&server);
    // Two providers, as two checks build them: one fetch of each.
    for _ in 0..2 {
        let provider = build(&server, &[], &context(), &settings).expect("provider");
        assert_eq!(provider.query(MQL, &window()).await, Ok(3.0));
    }
}

#[tokio::test]
async fn the_secrets_project_is_used_with_a_metadata_token() {
    let server = MockServer::start().await;
    Mock::given(path(format!("/{METADATA_TOKEN_PATH}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.metadata-token",
            "expires_in": 3599,
        })))
        .mount(&server)
        .await;
    Mock::given(path(format!("/{METADATA_PROJECT_PATH}")))
        .respond_with(ResponseTemplate::new(200).set_body_string("other-project"))
        .expect(0)
        .mount(&server)
        .await;
    mount_answer(&server, series_of(json!({"doubleValue": 5.0}))).await;
    let provider = build(
        &server,
        &[(PROJECT_KEY, PROJECT)],
        &context(),
        &settings(&server),
    )
    .expect("provider");
    assert_eq!(provider.query(MQL, &window()).await, Ok(5.0));
}

#[tokio::test]
async fn a_key_file_named_by_google_application_credentials_gives_the_token_and_project() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    Mock::given(path("/v3/projects/project-of-the-key/timeSeries:query"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(series_of(json!({"int64Value": "9"}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let key_file = directory.path().join("key.json");
    std::fs::write(&key_file, key_json(&server)).expect("key file written");
    let settings = GoogleSettings {
        application_credentials: Some(key_file),
        ..settings(&server)
    };
    let provider = build(&server, &[], &context(), &settings).expect("provider");
    assert_eq!(provider.query(MQL, &window()).await, Ok(9.0));
    assert_eq!(token_requests(&server).await.len(), 1);
}

#[tokio::test]
async fn one_token_serves_queries_until_shortly_before_it_expires() {
    let server = MockServer::start().await;
    // The first request gets the first token, later ones the second.
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "first-token", "expires_in": 3600})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_token(&server, "second-token", 3600).await;
    for (token, uses) in [("first-token", 2), ("second-token", 1)] {
        Mock::given(path(QUERY_PATH))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(series_of(json!({"doubleValue": 1.0}))),
            )
            .expect(uses)
            .mount(&server)
            .await;
    }
    let settings = settings(&server);
    let at = |seconds_later: u64| QueryWindow {
        now: window()
            .now
            .checked_add(Duration::from_secs(seconds_later))
            .expect("a later time"),
        ..window()
    };
    // Separate providers share the token, as weir builds one per query.
    for seconds_later in [0, 3600 - 301, 3600 - 300] {
        keyed_provider(&server, &settings)
            .query(MQL, &at(seconds_later))
            .await
            .expect("value");
    }
    let claims: Vec<serde_json::Value> = token_requests(&server)
        .await
        .iter()
        .map(|form| {
            let assertion = form.get("assertion").expect("assertion");
            jwt_part(assertion.split('.').nth(1).expect("claims"))
        })
        .collect();
    assert_eq!(
        claims
            .iter()
            .map(|claims| claims["iat"].clone())
            .collect::<Vec<_>>(),
        vec![json!(NOW_SECONDS), json!(NOW_SECONDS + 3300)]
    );
}

#[tokio::test]
async fn a_token_google_refuses_is_fetched_again_for_the_next_query() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "revoked-token", "expires_in": 3600})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_token(&server, "fresh-token", 3600).await;
    Mock::given(path(QUERY_PATH))
        .and(header("authorization", "Bearer revoked-token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"code": 401, "status": "UNAUTHENTICATED", "message": "Request had invalid authentication credentials."}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(QUERY_PATH))
        .and(header("authorization", "Bearer fresh-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(series_of(json!({"doubleValue": 2.0}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = keyed_provider(&server, &settings(&server));
    let error = provider.query(MQL, &window()).await.expect_err("401");
    assert!(error.to_string().contains("UNAUTHENTICATED"), "{error}");
    assert_eq!(provider.query(MQL, &window()).await, Ok(2.0));
}

#[tokio::test]
async fn online_is_google_refusing_the_empty_query_as_an_invalid_argument() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    Mock::given(path(QUERY_PATH))
        .and(body_json(json!({"query": ""})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Query is empty."}
        })))
        .expect(1)
        .mount(&server)
        .await;
    keyed_provider(&server, &settings(&server))
        .check_online()
        .await
        .expect("online");
}

#[tokio::test]
async fn a_permission_denied_answer_to_the_empty_query_is_offline() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    Mock::given(path(QUERY_PATH))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Permission monitoring.timeSeries.list denied."}
        })))
        .mount(&server)
        .await;
    let error = keyed_provider(&server, &settings(&server))
        .check_online()
        .await
        .expect_err("offline");
    assert_eq!(
        error.to_string(),
        "stackdriver answered 403: PERMISSION_DENIED: Permission monitoring.timeSeries.list denied."
    );
}

#[tokio::test]
async fn a_400_that_is_not_an_invalid_argument_is_offline() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    Mock::given(path(QUERY_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_string("Bad Request from a proxy"))
        .mount(&server)
        .await;
    keyed_provider(&server, &settings(&server))
        .check_online()
        .await
        .expect_err("offline");
}

#[test]
fn a_secret_without_a_project_is_refused() {
    let secret = SecretData::from_pairs([(SERVICE_ACCOUNT_KEY, "{}")]);
    let error = MetricsProvider::new(
        &with_secret(spec(MetricProviderType::Stackdriver, "")),
        Some(Credentials {
            secret: "test/stackdriver",
            data: &secret,
        }),
        &context(),
    )
    .expect_err("project missing");
    assert_eq!(
        error.to_string(),
        "stackdriver credentials in Secret test/stackdriver do not contain `project`; name the Google Cloud project the queries run in"
    );
    let error = MetricsProvider::new(
        &with_secret(spec(MetricProviderType::Stackdriver, "")),
        None,
        &context(),
    )
    .expect_err("no secret");
    assert_eq!(
        error.to_string(),
        "stackdriver needs spec.provider.secretRef naming a Secret with project"
    );
}

#[test]
fn projects_that_would_change_the_request_path_are_refused() {
    for project in ["a/b", "p?x=1", "with space", "../admin"] {
        let secret = SecretData::from_pairs([(PROJECT_KEY, project)]);
        let error = Stackdriver::with_settings(
            &with_secret(spec(MetricProviderType::Stackdriver, "")),
            Some(Credentials {
                secret: "test/stackdriver",
                data: &secret,
            }),
            &context(),
            &GoogleSettings {
                application_credentials: None,
                metadata_server: "http://metadata.invalid".to_owned(),
                cache: Arc::default(),
            },
        )
        .expect_err(project);
        assert!(
            error
                .to_string()
                .contains("is not a Google Cloud project ID"),
            "{project}: {error}"
        );
    }
    for project in ["weir-test", "123456789", "example.com:weir-test"] {
        assert_eq!(checked_project(project).as_deref(), Ok(project));
    }
}

#[tokio::test]
async fn unusable_keys_are_refused_without_quoting_them() {
    let server = MockServer::start().await;
    let settings = settings(&server);
    let key = |change: serde_json::Value| {
        let mut key: serde_json::Value =
            serde_json::from_str(&key_json(&server)).expect("key JSON");
        for (field, value) in change.as_object().expect("object") {
            key[field] = value.clone();
        }
        key.to_string()
    };
    let pkcs1 =
        "-----BEGIN RSA PRIVATE KEY-----\nTUlJQ1hBSUJBQUtCZ1FD\n-----END RSA PRIVATE KEY-----\n";
    // A key pasted as a JSON string must not be quoted back.
    let quoted_pem = serde_json::to_string(PRIVATE_KEY).expect("JSON string");
    let key_line = PRIVATE_KEY.lines().nth(1).expect("a line of the key");
    for (json, expected) in [
        (
            "{not json".to_owned(),
            "is not a JSON key file: malformed JSON",
        ),
        (
            quoted_pem,
            "is not a JSON key file: unexpected JSON types at line 1",
        ),
        (
            key(json!({"type": "authorized_user"})),
            "is a `authorized_user` credential",
        ),
        (key(json!({"private_key": null})), "has no `private_key`"),
        (key(json!({"client_email": ""})), "has no `client_email`"),
        (
            key(json!({"private_key": pkcs1})),
            "not a PEM `PRIVATE KEY` (PKCS#8)",
        ),
        (
            key(
                json!({"private_key": "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"}),
            ),
            "not an RSA key",
        ),
        (
            key(json!({"token_uri": "ftp://oauth.test/token"})),
            "has a `token_uri` that is not an http(s) URL",
        ),
    ] {
        let error = build(
            &server,
            &[(PROJECT_KEY, PROJECT), (SERVICE_ACCOUNT_KEY, &json)],
            &context(),
            &settings,
        )
        .expect_err(expected);
        let message = error.to_string();
        assert!(
            message.starts_with(
                "stackdriver: `serviceAccountKey` in Secret test/credentials: the service account key "
            ),
            "{message}"
        );
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(!message.contains("MII"), "{message}");
        assert!(!message.contains(key_line), "{message}");
        assert!(!message.contains("TUlJ"), "{message}");
    }
}

#[test]
fn a_missing_key_file_is_an_error_naming_it() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let missing = directory.path().join("missing.json");
    let error = Stackdriver::with_settings(
        &spec(MetricProviderType::Stackdriver, ""),
        None,
        &context(),
        &GoogleSettings {
            application_credentials: Some(missing.clone()),
            metadata_server: "http://metadata.invalid".to_owned(),
            cache: Arc::default(),
        },
    )
    .expect_err("missing file");
    assert!(
        error.to_string().starts_with(&format!(
            "stackdriver: GOOGLE_APPLICATION_CREDENTIALS file {} cannot be read",
            missing.display()
        )),
        "{error}"
    );
}

#[tokio::test]
async fn neither_the_key_nor_the_token_appears_in_debug_output() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, 3600).await;
    mount_answer(&server, series_of(json!({"doubleValue": 1.0}))).await;
    let settings = settings(&server);
    let provider = keyed_provider(&server, &settings);
    provider.query(MQL, &window()).await.expect("value");
    let debug = format!("{provider:?} {settings:?}");
    let key_body = PRIVATE_KEY.lines().nth(1).expect("a line of the key");
    assert!(!debug.contains(key_body), "{debug}");
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains(CLIENT_EMAIL), "{debug}");
    // The cache did keep the token, which the debug output hides.
    let cached = settings
        .cache
        .tokens
        .slot(&provider.tokens.cache_key())
        .lock()
        .await
        .clone()
        .expect("cached token");
    assert_eq!(cached.value.expose(), TOKEN);
}

#[test]
fn the_environment_decides_the_key_file_and_metadata_server() {
    // Read, not set: tests run in parallel and share the environment.
    let settings = GoogleSettings::from_env();
    assert_eq!(
        settings.application_credentials,
        std::env::var_os(CREDENTIALS_VARIABLE)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    );
    match std::env::var(METADATA_HOST_VARIABLE) {
        Ok(host) if !host.is_empty() => {
            assert_eq!(settings.metadata_server, format!("http://{host}"));
        }
        _ => assert_eq!(settings.metadata_server, DEFAULT_METADATA_SERVER),
    }
    assert!(Arc::ptr_eq(
        &settings.cache,
        &GoogleSettings::from_env().cache
    ));
}

#[test]
fn the_address_replaces_googles_api() {
    let settings = GoogleSettings {
        application_credentials: None,
        metadata_server: "http://metadata.invalid".to_owned(),
        cache: Arc::default(),
    };
    let secret = SecretData::from_pairs([(PROJECT_KEY, PROJECT)]);
    let credentials = Credentials {
        secret: "test/stackdriver",
        data: &secret,
    };
    let mut spec = with_secret(spec(MetricProviderType::Stackdriver, ""));
    let default = Stackdriver::with_settings(&spec, Some(credentials), &context(), &settings)
        .expect("provider");
    assert_eq!(default.api.as_str(), "https://monitoring.googleapis.com/");
    spec.address = Some("https://monitoring.internal:8443".to_owned());
    let replaced = Stackdriver::with_settings(&spec, Some(credentials), &context(), &settings)
        .expect("provider");
    assert_eq!(replaced.api.as_str(), "https://monitoring.internal:8443/");
}
