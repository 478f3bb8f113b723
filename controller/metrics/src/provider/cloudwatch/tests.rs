//! The CloudWatch provider against wiremock: queries, signatures and every
//! credential source.
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::json;
use weir_api::metric_template::MetricProviderType;
use weir_api::objects::SecretData;
use wiremock::matchers::{body_json, body_string_contains, header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use super::super::test_support::{
    NOW_SECONDS, context, impatient_context, spec, window, with_secret,
};
use super::*;

const REGION: &str = "eu-west-1";
/// The example keys of AWS's documentation and SigV4 test suite.
const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The SigV4 test suite's example session token.
const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
/// The test suite's signing time, 2015-08-30T12:36:00Z.
const SUITE_TIME: i64 = 1_440_938_160;
/// The wall clock of the wiremock tests: a few seconds after the
/// query's `now`, so that a request dated by the query window instead
/// would show.
const SIGNED_AT: i64 = NOW_SECONDS + 7;
const SIGNED_AT_TEXT: &str = "20261201T120007Z";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/weir";

/// Flagger's own test query: an error rate from two Lambda metrics.
const ERROR_RATE: &str = r#"[
    {"Id": "e1", "Expression": "m1 / m2", "Label": "ErrorRate"},
    {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "MyApplication", "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": "MyFunc"}]},
        "Period": 300, "Stat": "Sum", "Unit": "Count"}, "ReturnData": false},
    {"Id": "m2", "MetricStat": {"Metric": {"Namespace": "MyApplication", "MetricName": "Invocations",
        "Dimensions": [{"Name": "FunctionName", "Value": "MyFunc"}]},
        "Period": 300, "Stat": "Sum", "Unit": "Count"}, "ReturnData": false}
]"#;

fn fixed_clock(seconds: i64) -> Clock {
    let time = Timestamp::from_second(seconds).expect("test time in range");
    Clock(Arc::new(move || time))
}

fn moving_clock(seconds: Arc<AtomicI64>) -> Clock {
    Clock(Arc::new(move || {
        Timestamp::from_second(seconds.load(Ordering::SeqCst)).expect("test time in range")
    }))
}

/// Nothing configured, instance metadata off: no test reaches AWS.
fn bare_environment() -> AwsEnvironment {
    AwsEnvironment {
        imds_disabled: true,
        clock: fixed_clock(SIGNED_AT),
        ..AwsEnvironment::from_lookup(|_| None)
    }
}

fn environment_with_keys() -> AwsEnvironment {
    AwsEnvironment {
        access_key_id: Some(SecretString::new(ACCESS_KEY_ID)),
        secret_access_key: Some(SecretString::new(SECRET)),
        ..bare_environment()
    }
}

fn cloudwatch_spec(address: Option<&str>, region: Option<&str>) -> MetricProvider {
    let mut spec = spec(MetricProviderType::Cloudwatch, address.unwrap_or_default());
    spec.address = address.map(str::to_owned);
    spec.region = region.map(str::to_owned);
    spec
}

fn provider(
    server: &MockServer,
    environment: AwsEnvironment,
    context: &ProviderContext,
) -> CloudWatch {
    let mut provider = CloudWatch::with_environment(
        &cloudwatch_spec(Some(&server.uri()), Some(REGION)),
        None,
        context,
        environment,
    )
    .expect("provider");
    provider.retry_delay = Duration::from_millis(1);
    provider
}

fn get_metric_data() -> MockBuilder {
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", GET_METRIC_DATA_TARGET))
}

fn answer(values: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "MetricDataResults": [{
            "Id": "e1",
            "Label": "ErrorRate",
            "StatusCode": "Complete",
            "Timestamps": [NOW_SECONDS - 60, NOW_SECONDS - 120],
            "Values": values,
        }],
        "Messages": [],
    }))
}

/// The access key ids that signed the GetMetricData calls, in order.
async fn signing_key_ids(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.headers.contains_key("x-amz-target"))
        .filter_map(|request| {
            let authorization = request.headers.get("authorization")?.to_str().ok()?;
            let credential = authorization.split("Credential=").nth(1)?;
            Some(credential.split('/').next()?.to_owned())
        })
        .collect()
}

/// A request whose SigV4 signature, recomputed from what arrived (the
/// headers it lists, the path, the body), is the one it carries under
/// `secret`: proof that what was signed is what was sent.
struct SignedWith(&'static str);

impl Match for SignedWith {
    fn matches(&self, request: &Request) -> bool {
        verify_signature(request, self.0).is_ok()
    }
}

fn verify_signature(request: &Request, secret: &str) -> Result<(), String> {
    let text = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| format!("no {name} header"))
    };
    let authorization = text("authorization")?;
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let (credential, rest) = rest
        .split_once(", SignedHeaders=")
        .ok_or("no SignedHeaders")?;
    let (signed_headers, signature) = rest.split_once(", Signature=").ok_or("no Signature")?;
    let (_, credential_scope) = credential.split_once('/').ok_or("no scope")?;
    let scope: Vec<&str> = credential_scope.split('/').collect();
    let [date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(format!("malformed scope {credential_scope}"));
    };
    let headers: BTreeMap<String, String> = signed_headers
        .split(';')
        .map(|name| {
            let values: Vec<String> = request
                .headers
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .map(sigv4::header_value)
                .collect();
            (name.to_owned(), values.join(","))
        })
        .collect();
    let (canonical, listed) = sigv4::canonical_request(
        request.method.as_str(),
        &request.url,
        &headers,
        &sigv4::hex_sha256(&request.body),
    );
    if listed != signed_headers {
        return Err(format!("signed headers {signed_headers}, rebuilt {listed}"));
    }
    let expected = sigv4::signature(
        secret,
        date,
        &sigv4::Scope { region, service },
        &sigv4::string_to_sign(text("x-amz-date")?, credential_scope, &canonical),
    )
    .map_err(|error| error.to_string())?;
    if expected == signature {
        Ok(())
    } else {
        Err(format!("signature {signature}, expected {expected}"))
    }
}

// ------------------------------------------------------ the query

#[tokio::test]
async fn a_query_is_posted_as_get_metric_data_over_ten_intervals_and_signed() {
    let server = MockServer::start().await;
    get_metric_data()
        .and(header("content-type", JSON_CONTENT_TYPE))
        .and(header("x-amz-date", SIGNED_AT_TEXT))
        .and(body_json(json!({
            "MetricDataQueries": serde_json::from_str::<Value>(ERROR_RATE).expect("fixture"),
            "StartTime": NOW_SECONDS - 600,
            "EndTime": NOW_SECONDS,
            "MaxDatapoints": 20,
        })))
        .and(SignedWith(SECRET))
        .respond_with(answer(json!([0.25, 0.5])))
        .expect(1)
        .mount(&server)
        .await;
    let value = provider(&server, environment_with_keys(), &context())
        .query(ERROR_RATE, &window())
        .await;
    assert_eq!(value, Ok(0.25));

    let requests = server.received_requests().await.expect("recorded");
    let authorization = requests[0]
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .expect("signed");
    let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/eu-west-1/monitoring/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=";
    let signature = authorization
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{authorization}"));
    assert_eq!(signature.len(), 64, "{signature}");
    assert!(signature.bytes().all(|byte| byte.is_ascii_hexdigit()));
    assert!(!requests[0].headers.contains_key("x-amz-security-token"));
}

#[test]
fn the_signature_is_the_one_aws_computes_for_the_same_request() {
    // Expected values computed apart from weir, with Python's hmac and
    // hashlib following the AWS General Reference, for this body at
    // the SigV4 test suite's time and keys.
    let body = r#"{"EndTime":1440938160,"MaxDatapoints":20,"MetricDataQueries":[{"Id":"m1","MetricStat":{"Metric":{"MetricName":"Errors","Namespace":"MyApplication"},"Period":60,"Stat":"Sum"}}],"StartTime":1440937560}"#;
    let provider = CloudWatch::with_environment(
        &cloudwatch_spec(None, Some("us-east-1")),
        None,
        &context(),
        bare_environment(),
    )
    .expect("provider");
    assert_eq!(
        provider.endpoint.as_str(),
        "https://monitoring.us-east-1.amazonaws.com/"
    );
    let cases = [
        (
            None,
            "content-type;host;x-amz-date;x-amz-target",
            "287ff93d3c04068fe6e03cc769b8f42e4e326b88019080d8a988024bd6bf48e0",
        ),
        (
            Some(SUITE_TOKEN),
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
            "cd160ff9a60e612f0a8b6a13312701718b8990d7927358b72fd8156fec41543d",
        ),
    ];
    for (token, signed_headers, signature) in cases {
        let keys = AwsKeys {
            access_key_id: SecretString::new(ACCESS_KEY_ID),
            secret_access_key: SecretString::new(SECRET),
            session_token: token.map(SecretString::new),
            expiration: None,
        };
        let request = provider
            .signed_request(
                &keys,
                body.to_owned(),
                Timestamp::from_second(SUITE_TIME).expect("time"),
            )
            .expect("signed")
            .build()
            .expect("request");
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            header("authorization").as_deref(),
            Some(
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/monitoring/aws4_request, SignedHeaders={signed_headers}, Signature={signature}"
                )
                .as_str()
            )
        );
        assert_eq!(header("x-amz-date").as_deref(), Some("20150830T123600Z"));
        assert_eq!(header("x-amz-security-token").as_deref(), token);
        assert_eq!(
            header("x-amz-target").as_deref(),
            Some(GET_METRIC_DATA_TARGET)
        );
        assert_eq!(header("content-type").as_deref(), Some(JSON_CONTENT_TYPE));
        assert_eq!(request.method(), "POST");
    }
}

#[test]
fn queries_are_read_as_flaggers_go_decoder_reads_them() {
    // Go's encoding/json: field names in any case, unknown ones
    // dropped, null as absent.
    let queries = parse_queries(
        r#"[{"id": "e1", "EXPRESSION": "SUM(METRICS())", "label": null, "comment": "ignored",
             "returnData": true, "period": 60},
            {"Id": "m1", "metricstat": {"metric": {"namespace": "AWS/ApplicationELB",
                "metricName": "HTTPCode_Target_5XX_Count",
                "dimensions": [{"name": "LoadBalancer", "value": "app/podinfo/1"}]},
              "period": 60, "stat": "Sum"}, "ReturnData": false}]"#,
    )
    .expect("valid");
    assert_eq!(
        Value::Array(queries),
        json!([
            {"Id": "e1", "Expression": "SUM(METRICS())", "ReturnData": true, "Period": 60},
            {"Id": "m1", "ReturnData": false, "MetricStat": {
                "Metric": {"Namespace": "AWS/ApplicationELB",
                    "MetricName": "HTTPCode_Target_5XX_Count",
                    "Dimensions": [{"Name": "LoadBalancer", "Value": "app/podinfo/1"}]},
                "Period": 60, "Stat": "Sum"}},
        ])
    );
}

#[tokio::test]
async fn malformed_queries_are_refused_naming_what_is_wrong_before_anything_is_sent() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(answer(json!([1.0])))
        .expect(0)
        .mount(&server)
        .await;
    let provider = provider(&server, environment_with_keys(), &context());
    let cases = [
        ("sum(rate(x[1m]))", "it is not JSON"),
        (
            r#"{"Id": "e1"}"#,
            "expected a JSON array of MetricDataQuery objects, found an object",
        ),
        ("[]", "the array is empty"),
        (r#"["e1"]"#, "[0] must be an object, not a string"),
        (r#"[{"Expression": "m1"}]"#, "[0].Id is required"),
        (
            r#"[{"Id": "e1"}]"#,
            "[0] (`e1`) needs `MetricStat` (a metric) or `Expression`",
        ),
        (
            r#"[{"Id": "e1", "Expression": "m1", "MetricStat": {}}]"#,
            "[0].MetricStat.Metric is required",
        ),
        (
            r#"[{"Id": "m1", "MetricStat": {"Metric": {}, "Period": "300", "Stat": "Sum"}}]"#,
            "[0].MetricStat.Period must be a number, not a string",
        ),
        (
            r#"[{"Id": "m1", "MetricStat": {"Metric": {}, "Period": 0.5, "Stat": "Sum"}}]"#,
            "[0].MetricStat.Period must be a whole number of seconds, at least 1, not 0.5",
        ),
        (
            r#"[{"Id": "m1", "MetricStat": {"Metric": {"Dimensions": [{"Name": "x"}]}, "Period": 60, "Stat": "Sum"}}]"#,
            "[0].MetricStat.Metric.Dimensions[0].Value is required",
        ),
        (
            r#"[{"Id": "e1", "Expression": "m1", "ReturnData": "yes"}]"#,
            "[0].ReturnData must be true or false, not a string",
        ),
    ];
    for (query, expected) in cases {
        let error = provider.query(query, &window()).await.expect_err(query);
        assert!(
            matches!(error, QueryError::InvalidQuery { .. }),
            "{query}: {error}"
        );
        assert!(!error.is_no_values(), "{query}: {error}");
        assert!(
            error.to_string().contains(expected),
            "{query}: {error}\n  expected: {expected}"
        );
    }
}

#[tokio::test]
async fn no_results_empty_values_and_nan_are_no_values() {
    let server = MockServer::start().await;
    let cases = [
        (
            "none",
            json!({"MetricDataResults": [], "Messages": []}),
            "no MetricDataResults",
        ),
        ("missing", json!({}), "no MetricDataResults"),
        (
            "empty",
            json!({"MetricDataResults": [{"Id": "e1", "StatusCode": "Complete", "Timestamps": [], "Values": []}]}),
            "result `e1` has no values",
        ),
        (
            "forbidden",
            json!({"MetricDataResults": [{"Id": "m1", "StatusCode": "Forbidden", "Values": [],
                "Messages": [{"Code": "Forbidden", "Value": "no access to account 123"}]}]}),
            "result `m1` has no values (status Forbidden; Forbidden: no access to account 123)",
        ),
        (
            "nan",
            json!({"MetricDataResults": [{"Id": "e1", "Values": ["NaN", 1.0]}]}),
            "result `e1` is NaN",
        ),
    ];
    for (label, body, _) in &cases {
        get_metric_data()
            .and(body_string_contains(format!("\"Label\":\"{label}\"")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let provider = provider(&server, environment_with_keys(), &context());
    for (label, _, expected) in cases {
        let query = format!(r#"[{{"Id": "e1", "Expression": "m1", "Label": "{label}"}}]"#);
        let error = provider.query(&query, &window()).await.expect_err(label);
        assert!(error.is_no_values(), "{label}: {error}");
        assert!(error.to_string().contains(expected), "{label}: {error}");
    }
}

#[tokio::test]
async fn infinite_values_written_as_strings_are_read() {
    let server = MockServer::start().await;
    get_metric_data()
        .respond_with(answer(json!(["Infinity"])))
        .mount(&server)
        .await;
    let value = provider(&server, environment_with_keys(), &context())
        .query(r#"[{"Id": "e1", "Expression": "m1 / 0"}]"#, &window())
        .await;
    assert_eq!(value, Ok(f64::INFINITY));
}

#[tokio::test]
async fn an_aws_error_is_quoted_with_its_code_and_message_and_not_retried() {
    let server = MockServer::start().await;
    get_metric_data()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
            "message": "The value m 1 for parameter MetricDataQueries.member.1.Id is invalid.",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let error = provider(&server, environment_with_keys(), &context())
        .query(r#"[{"Id": "m 1", "Expression": "1"}]"#, &window())
        .await
        .expect_err("400");
    assert_eq!(
        error.to_string(),
        "cloudwatch answered 400: InvalidParameterValueException: The value m 1 for parameter MetricDataQueries.member.1.Id is invalid."
    );
}

#[tokio::test]
async fn throttled_calls_are_retried_then_answered() {
    let server = MockServer::start().await;
    get_metric_data()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "__type": "Throttling", "message": "Rate exceeded"
        })))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    get_metric_data()
        .respond_with(answer(json!([3.0])))
        .mount(&server)
        .await;
    let value = provider(&server, environment_with_keys(), &context())
        .query(ERROR_RATE, &window())
        .await;
    assert_eq!(value, Ok(3.0));
    assert_eq!(signing_key_ids(&server).await.len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_three_times_then_reported() {
    let server = MockServer::start().await;
    get_metric_data()
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .expect(4)
        .mount(&server)
        .await;
    let error = provider(&server, environment_with_keys(), &context())
        .query(ERROR_RATE, &window())
        .await
        .expect_err("503");
    assert_eq!(
        error.to_string(),
        "cloudwatch answered 503: Service Unavailable"
    );
}

#[tokio::test]
async fn a_slow_cloudwatch_is_an_error_after_the_timeout_not_no_values() {
    let server = MockServer::start().await;
    get_metric_data()
        .respond_with(answer(json!([1.0])).set_delay(Duration::from_millis(600)))
        .expect(1)
        .mount(&server)
        .await;
    let error = provider(&server, environment_with_keys(), &impatient_context())
        .query(ERROR_RATE, &window())
        .await
        .expect_err("timeout");
    assert!(
        error.to_string().ends_with("timed out after 200ms"),
        "{error}"
    );
    assert!(!error.is_no_values());
}

// ------------------------------------------------------ the template

#[test]
fn a_region_is_required_and_must_be_an_aws_region_name() {
    for (region, expected) in [
        (None, "cloudwatch: spec.provider.region is required"),
        (Some(" "), "cloudwatch: spec.provider.region is required"),
        (
            Some("EU West 1"),
            "cloudwatch: region `EU West 1` is not an AWS region name",
        ),
        (
            Some("eu-west-1.evil.example/"),
            "cloudwatch: region `eu-west-1.evil.example/` is not an AWS region name",
        ),
    ] {
        let error = CloudWatch::with_environment(
            &cloudwatch_spec(None, region),
            None,
            &context(),
            bare_environment(),
        )
        .expect_err("no region");
        assert!(error.to_string().starts_with(expected), "{error}");
    }
}

#[test]
fn the_endpoint_is_regional_unless_the_address_overrides_it() {
    for (address, region, expected) in [
        (
            None,
            "us-east-1",
            "https://monitoring.us-east-1.amazonaws.com/",
        ),
        (
            None,
            "cn-north-1",
            "https://monitoring.cn-north-1.amazonaws.com.cn/",
        ),
        (
            Some("https://vpce-0a1b.monitoring.eu-west-1.vpce.amazonaws.com"),
            "eu-west-1",
            "https://vpce-0a1b.monitoring.eu-west-1.vpce.amazonaws.com/",
        ),
        (
            Some("  "),
            "eu-west-1",
            "https://monitoring.eu-west-1.amazonaws.com/",
        ),
    ] {
        let provider = CloudWatch::with_environment(
            &cloudwatch_spec(address, Some(region)),
            None,
            &context(),
            bare_environment(),
        )
        .expect("provider");
        assert_eq!(provider.endpoint.as_str(), expected);
    }
    let error = CloudWatch::with_environment(
        &cloudwatch_spec(Some("monitoring:443"), Some(REGION)),
        None,
        &context(),
        bare_environment(),
    )
    .expect_err("not a URL");
    assert!(
        matches!(error, ProviderError::InvalidAddress { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn keys_from_the_secret_ref_sign_instead_of_the_chain() {
    let server = MockServer::start().await;
    get_metric_data()
        .and(header("x-amz-security-token", "secret-session-token"))
        .and(header("x-amz-date", SIGNED_AT_TEXT))
        .and(SignedWith("secret-ref-secret-key"))
        .respond_with(answer(json!([2.0])))
        .expect(1)
        .mount(&server)
        .await;
    let secret = SecretData::from_pairs([
        ("aws_access_key_id", "AKIDSECRETREF"),
        ("aws_secret_access_key", "secret-ref-secret-key\n"),
        ("aws_session_token", "secret-session-token"),
    ]);
    let provider = CloudWatch::with_environment(
        &with_secret(cloudwatch_spec(Some(&server.uri()), Some(REGION))),
        Some(Credentials {
            secret: "test/aws",
            data: &secret,
        }),
        &context(),
        // Keys in the environment too: the Secret wins.
        environment_with_keys(),
    )
    .expect("provider");
    assert_eq!(provider.query(ERROR_RATE, &window()).await, Ok(2.0));
    assert_eq!(signing_key_ids(&server).await, ["AKIDSECRETREF"]);
}

#[test]
fn a_secret_ref_needs_both_keys() {
    let secret = SecretData::from_pairs([("aws_access_key_id", "AKIDSECRETREF")]);
    let spec = with_secret(cloudwatch_spec(None, Some(REGION)));
    let error = CloudWatch::with_environment(
        &spec,
        Some(Credentials {
            secret: "test/aws",
            data: &secret,
        }),
        &context(),
        bare_environment(),
    )
    .expect_err("secret key missing");
    assert_eq!(
        error.to_string(),
        "cloudwatch credentials in Secret test/aws do not contain `aws_secret_access_key`; or remove secretRef to use the AWS default credential chain"
    );
    let error = CloudWatch::with_environment(&spec, None, &context(), bare_environment())
        .expect_err("no secret");
    assert_eq!(
        error.to_string(),
        "cloudwatch needs spec.provider.secretRef naming a Secret with aws_access_key_id and aws_secret_access_key"
    );
}

// ------------------------------------------------------ the chain

#[test]
fn the_environment_is_read_from_the_standard_variables() {
    let variables: HashMap<&str, &str> = HashMap::from([
        ("AWS_ACCESS_KEY", "AKIDALIAS"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "  "),
        ("AWS_ROLE_ARN", ROLE_ARN),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        ),
        ("AWS_DEFAULT_REGION", "eu-central-1"),
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.23/v1/credentials",
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
        ),
        ("AWS_EC2_METADATA_DISABLED", "TRUE"),
    ]);
    let environment =
        AwsEnvironment::from_lookup(|name| variables.get(name).map(|value| (*value).to_owned()));
    assert_eq!(
        environment.access_key_id.as_ref().map(SecretString::expose),
        Some("AKIDALIAS")
    );
    assert!(environment.secret_access_key.is_some());
    assert!(environment.session_token.is_none(), "blank is unset");
    assert_eq!(environment.role_arn.as_deref(), Some(ROLE_ARN));
    assert_eq!(
        environment.web_identity_token_file,
        Some(PathBuf::from(
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
        ))
    );
    assert_eq!(environment.region.as_deref(), Some("eu-central-1"));
    assert_eq!(
        environment.container_full_uri.as_deref(),
        Some("http://169.254.170.23/v1/credentials")
    );
    assert!(environment.container_token_file.is_some());
    assert!(environment.container_relative_uri.is_none());
    assert_eq!(environment.container_host, "http://169.254.170.2");
    assert_eq!(environment.imds_endpoint, "http://169.254.169.254");
    assert!(environment.imds_disabled);
}

fn sts_answer(access_key_id: &str, expiration: &str) -> String {
    format!(
        r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
<SubjectFromWebIdentityToken>system:serviceaccount:weir-system:weir</SubjectFromWebIdentityToken>
<AssumedRoleUser>
  <Arn>arn:aws:sts::123456789012:assumed-role/weir/weir-metrics</Arn>
  <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:weir-metrics</AssumedRoleId>
</AssumedRoleUser>
<Credentials>
  <SessionToken>sts-session-token&amp;more</SessionToken>
  <SecretAccessKey>sts-secret-key</SecretAccessKey>
  <Expiration>{expiration}</Expiration>
  <AccessKeyId>{access_key_id}</AccessKeyId>
</Credentials>
<Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#
    )
}

fn token_file(content: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(file.path(), content).expect("token written");
    file
}

fn web_identity_environment(
    server: &MockServer,
    token: &tempfile::NamedTempFile,
) -> AwsEnvironment {
    AwsEnvironment {
        role_arn: Some(ROLE_ARN.to_owned()),
        web_identity_token_file: Some(token.path().to_owned()),
        sts_endpoint: Some(format!("{}/sts", server.uri())),
        ..bare_environment()
    }
}

fn assume_role() -> MockBuilder {
    Mock::given(method("POST"))
        .and(path("/sts/"))
        .and(header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ))
        .and(body_string_contains("Action=AssumeRoleWithWebIdentity"))
        .and(body_string_contains("Version=2011-06-15"))
        .and(body_string_contains(
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fweir",
        ))
        .and(body_string_contains("RoleSessionName=weir-metrics"))
        .and(body_string_contains("WebIdentityToken=service-account-jwt"))
}

#[tokio::test]
async fn web_identity_exchanges_the_token_file_for_the_roles_keys_once() {
    let server = MockServer::start().await;
    let token = token_file("service-account-jwt\n");
    assume_role()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(sts_answer("ASIASTSKEY", "2026-12-01T13:00:00Z")),
        )
        .expect(1)
        .mount(&server)
        .await;
    get_metric_data()
        .and(header("x-amz-security-token", "sts-session-token&more"))
        .and(SignedWith("sts-secret-key"))
        .respond_with(answer(json!([4.0])))
        .expect(2)
        .mount(&server)
        .await;
    let provider = provider(
        &server,
        web_identity_environment(&server, &token),
        &context(),
    );
    assert_eq!(provider.query(ERROR_RATE, &window()).await, Ok(4.0));
    // A provider built afresh, as for the next measurement, shares
    // the cache of the environment it came from.
    let again = provider.clone();
    assert_eq!(again.query(ERROR_RATE, &window()).await, Ok(4.0));
    assert_eq!(signing_key_ids(&server).await, ["ASIASTSKEY", "ASIASTSKEY"]);
    let sts_call = server
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .find(|request| request.url.path() == "/sts/")
        .expect("sts called");
    assert!(
        !sts_call.headers.contains_key("authorization"),
        "AssumeRoleWithWebIdentity is unsigned"
    );
}

#[tokio::test]
async fn web_identity_keys_are_renewed_five_minutes_before_they_expire() {
    let server = MockServer::start().await;
    let token = token_file("service-account-jwt");
    let expires = NOW_SECONDS + 3600;
    assume_role()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(sts_answer("ASIAFIRST", "2026-12-01T13:00:00Z")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    assume_role()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(sts_answer("ASIASECOND", "2026-12-01T14:00:00Z")),
        )
        .mount(&server)
        .await;
    get_metric_data()
        .respond_with(answer(json!([1.0])))
        .mount(&server)
        .await;
    let seconds = Arc::new(AtomicI64::new(NOW_SECONDS));
    let environment = AwsEnvironment {
        clock: moving_clock(Arc::clone(&seconds)),
        ..web_identity_environment(&server, &token)
    };
    let provider = provider(&server, environment, &context());
    for at in [NOW_SECONDS, expires - 301, expires - 299, expires - 10] {
        seconds.store(at, Ordering::SeqCst);
        provider.query(ERROR_RATE, &window()).await.expect("value");
    }
    assert_eq!(
        signing_key_ids(&server).await,
        ["ASIAFIRST", "ASIAFIRST", "ASIASECOND", "ASIASECOND"]
    );
}

#[tokio::test]
async fn an_sts_refusal_is_an_error_quoting_sts_and_never_the_token() {
    let server = MockServer::start().await;
    let token = token_file("service-account-jwt");
    assume_role()
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>
<Message>No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE</Message></Error>
  <RequestId>c1a2</RequestId></ErrorResponse>"#,
        ))
        .mount(&server)
        .await;
    get_metric_data()
        .respond_with(answer(json!([1.0])))
        .expect(0)
        .mount(&server)
        .await;
    let error = provider(
        &server,
        web_identity_environment(&server, &token),
        &context(),
    )
    .query(ERROR_RATE, &window())
    .await
    .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "cloudwatch: no usable credentials: web identity (role arn:aws:iam::123456789012:role/weir): aws sts answered 400: InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
    );
    assert!(!error.to_string().contains("service-account-jwt"));
    assert!(!error.is_no_values());
}

#[tokio::test]
async fn a_missing_web_identity_token_file_is_an_error_naming_it() {
    let server = MockServer::start().await;
    let environment = AwsEnvironment {
        role_arn: Some(ROLE_ARN.to_owned()),
        web_identity_token_file: Some(PathBuf::from("/nonexistent/weir/token")),
        sts_endpoint: Some(format!("{}/sts", server.uri())),
        ..bare_environment()
    };
    let error = provider(&server, environment, &context())
        .query(ERROR_RATE, &window())
        .await
        .expect_err("no token");
    assert!(
        error
            .to_string()
            .contains("cannot read AWS_WEB_IDENTITY_TOKEN_FILE /nonexistent/weir/token"),
        "{error}"
    );
}

#[tokio::test]
async fn eks_pod_identity_sends_the_token_file_to_the_full_uri() {
    let server = MockServer::start().await;
    let token = token_file("pod-identity-jwt\n");
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(header("authorization", "pod-identity-jwt"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "AccessKeyId": "ASIAPODIDENTITY",
            "SecretAccessKey": "pod-identity-secret",
            "Token": "pod-identity-session",
            "AccountId": "123456789012",
            "Expiration": "2026-12-01T18:00:00Z",
        })))
        .expect(1)
        .mount(&server)
        .await;
    get_metric_data()
        .and(header("x-amz-security-token", "pod-identity-session"))
        .and(SignedWith("pod-identity-secret"))
        .respond_with(answer(json!([5.0])))
        .expect(2)
        .mount(&server)
        .await;
    let environment = AwsEnvironment {
        container_full_uri: Some(format!("{}/v1/credentials", server.uri())),
        container_token_file: Some(token.path().to_owned()),
        container_token: Some(SecretString::new("the file wins")),
        ..bare_environment()
    };
    let provider = provider(&server, environment, &context());
    assert_eq!(provider.query(ERROR_RATE, &window()).await, Ok(5.0));
    assert_eq!(provider.query(ERROR_RATE, &window()).await, Ok(5.0));
}

#[tokio::test]
async fn ecs_calls_the_relative_uri_on_its_host_with_the_token_variable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/credentials/3f1c"))
        .and(header("authorization", "ecs-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "AccessKeyId": "ASIAECSTASK",
            "SecretAccessKey": "ecs-secret",
            "Token": "ecs-session",
            "Expiration": "2026-12-01T18:00:00Z",
            "RoleArn": "arn:aws:iam::123456789012:role/task",
        })))
        .expect(1)
        .mount(&server)
        .await;
    get_metric_data()
        .and(SignedWith("ecs-secret"))
        .respond_with(answer(json!([6.0])))
        .mount(&server)
        .await;
    let environment = AwsEnvironment {
        container_relative_uri: Some("/v2/credentials/3f1c".to_owned()),
        container_full_uri: Some("http://ignored.example".to_owned()),
        container_token: Some(SecretString::new("ecs-token")),
        container_host: server.uri(),
        ..bare_environment()
    };
    let value = provider(&server, environment, &context())
        .query(ERROR_RATE, &window())
        .await;
    assert_eq!(value, Ok(6.0));
}

#[test]
fn a_full_uri_must_be_https_or_a_local_or_aws_link_local_host() {
    let chain = |uri: &str| DefaultChain {
        environment: AwsEnvironment {
            container_full_uri: Some(uri.to_owned()),
            ..bare_environment()
        },
        sts_region: REGION.to_owned(),
        client: context().client(false),
        timeout: PROVIDER_TIMEOUT,
    };
    for allowed in [
        "https://credentials.example.com/v1",
        "http://169.254.170.23/v1/credentials",
        "http://169.254.170.2/v2/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
        "http://127.0.0.1:8080/credentials",
        "http://localhost:8080/credentials",
    ] {
        chain(allowed).container_uri().expect(allowed);
    }
    let error = chain("http://metadata.example.com/credentials?secret=1")
        .container_uri()
        .expect_err("plain http elsewhere");
    assert_eq!(
        error,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI `http://metadata.example.com/credentials` must use https, or a loopback or ECS/EKS link-local address over http"
    );
}

fn instance_metadata(server: &MockServer) -> AwsEnvironment {
    AwsEnvironment {
        imds_endpoint: server.uri(),
        imds_disabled: false,
        ..bare_environment()
    }
}

#[tokio::test]
async fn instance_metadata_gives_a_session_token_then_the_roles_keys() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/latest/api/token"))
        .and(header("x-aws-ec2-metadata-token-ttl-seconds", "21600"))
        .respond_with(ResponseTemplate::new(200).set_body_string("imds-session"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/latest/meta-data/iam/security-credentials/"))
        .and(header("x-aws-ec2-metadata-token", "imds-session"))
        .respond_with(ResponseTemplate::new(200).set_body_string("weir-node-role\n"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/latest/meta-data/iam/security-credentials/weir-node-role",
        ))
        .and(header("x-aws-ec2-metadata-token", "imds-session"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Code": "Success",
            "LastUpdated": "2026-12-01T11:00:00Z",
            "Type": "AWS-HMAC",
            "AccessKeyId": "ASIANODEROLE",
            "SecretAccessKey": "node-secret",
            "Token": "node-session",
            "Expiration": "2026-12-01T17:00:00Z",
        })))
        .expect(1)
        .mount(&server)
        .await;
    get_metric_data()
        .and(header("x-amz-security-token", "node-session"))
        .and(SignedWith("node-secret"))
        .respond_with(answer(json!([7.0])))
        .expect(2)
        .mount(&server)
        .await;
    let provider = provider(&server, instance_metadata(&server), &context());
    assert_eq!(provider.query(ERROR_RATE, &window()).await, Ok(7.0));
    assert_eq!(provider.query(ERROR_RATE, &window()).await, Ok(7.0));
}

#[tokio::test]
async fn an_instance_without_a_role_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/latest/api/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("imds-session"))
        .mount(&server)
        .await;
    let error = provider(&server, instance_metadata(&server), &context())
        .query(ERROR_RATE, &window())
        .await
        .expect_err("no role");
    assert!(
        error
            .to_string()
            .contains("EC2 instance metadata (no IAM role is attached to this instance)"),
        "{error}"
    );
}

#[tokio::test]
async fn without_any_source_the_error_lists_what_was_tried() {
    let server = MockServer::start().await;
    let environment = AwsEnvironment {
        access_key_id: Some(SecretString::new(ACCESS_KEY_ID)),
        ..instance_metadata(&server)
    };
    let error = provider(&server, environment, &context())
        .query(ERROR_RATE, &window())
        .await
        .expect_err("no credentials");
    assert_eq!(
        error.to_string(),
        "cloudwatch: no usable credentials: none found; tried \
         environment (AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not); \
         web identity (AWS_ROLE_ARN is not set); \
         container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set); \
         EC2 instance metadata (aws instance metadata answered 404: Not Found). \
         Configure one of these, or name a Secret with `aws_access_key_id` and `aws_secret_access_key` in spec.provider.secretRef"
    );
    assert!(!error.is_no_values());

    let error = provider(&server, bare_environment(), &context())
        .check_online()
        .await
        .expect_err("no credentials");
    assert!(
        error
            .to_string()
            .contains("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"),
        "{error}"
    );
}

#[test]
fn sts_answers_are_read_with_entities_and_refused_when_incomplete() {
    let keys = sts_credentials(&sts_answer("ASIA&lt;KEY&gt;", "2026-12-01T13:00:00Z"))
        .expect("credentials");
    assert_eq!(keys.access_key_id.expose(), "ASIA<KEY>");
    assert_eq!(
        keys.session_token.as_ref().map(SecretString::expose),
        Some("sts-session-token&more")
    );
    assert_eq!(
        keys.expiration,
        Some("2026-12-01T13:00:00Z".parse().expect("time"))
    );
    assert_eq!(
        sts_credentials("<AssumeRoleWithWebIdentityResponse/>").map(drop),
        Err("the STS answer has no Credentials".to_owned())
    );
    assert_eq!(
        sts_credentials(&sts_answer("", "2026-12-01T13:00:00Z")).map(drop),
        Err("the STS answer has no Credentials.AccessKeyId".to_owned())
    );
    assert!(
        sts_credentials(&sts_answer("ASIA", "tomorrow"))
            .map(drop)
            .is_err_and(|error| error.starts_with("expiration `tomorrow` is not an RFC 3339 time"))
    );
}

// ------------------------------------------------------ online

#[tokio::test]
async fn online_is_cloudwatch_refusing_the_empty_query_as_invalid() {
    let server = MockServer::start().await;
    get_metric_data()
        .and(body_json(
            json!({"MetricDataQueries": [], "StartTime": 0, "EndTime": 0}),
        ))
        .and(SignedWith(SECRET))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
            "message": "The parameter MetricDataQueries must contain at least one element."
        })))
        .expect(1)
        .mount(&server)
        .await;
    provider(&server, environment_with_keys(), &context())
        .check_online()
        .await
        .expect("online");
}

#[tokio::test]
async fn online_fails_when_aws_refuses_the_credentials_or_fails() {
    let cases = [
        (
            400,
            json!({"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."}),
            "cloudwatch answered 400: UnrecognizedClientException: The security token included in the request is invalid.",
        ),
        (
            400,
            json!({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": "User is not authorized to perform: cloudwatch:GetMetricData"}),
            "cloudwatch answered 400: AccessDeniedException: User is not authorized to perform: cloudwatch:GetMetricData",
        ),
        (
            403,
            json!({"__type": "InvalidSignatureException", "message": "Signature expired"}),
            "cloudwatch answered 403: InvalidSignatureException: Signature expired",
        ),
        (
            500,
            json!({"__type": "InternalServiceError"}),
            "cloudwatch answered 500: InternalServiceError",
        ),
    ];
    for (status, body, expected) in cases {
        let server = MockServer::start().await;
        get_metric_data()
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        let error = provider(&server, environment_with_keys(), &context())
            .check_online()
            .await
            .expect_err(expected);
        assert_eq!(error.to_string(), expected);
    }
}

#[tokio::test]
async fn credentials_never_show_in_debug_output_or_errors() {
    let server = MockServer::start().await;
    // A container answer whose secret has the wrong type: serde would
    // quote it.
    Mock::given(path("/v1/credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"AccessKeyId": "ASIALEAK", "SecretAccessKey": ["s3cr3t-container"], "Token": "s3cr3t-token"}"#,
        ))
        .mount(&server)
        .await;
    let environment = AwsEnvironment {
        access_key_id: None,
        secret_access_key: Some(SecretString::new("s3cr3t-half-configured")),
        session_token: Some(SecretString::new("s3cr3t-session")),
        container_full_uri: Some(format!("{}/v1/credentials", server.uri())),
        container_token: Some(SecretString::new("s3cr3t-container-token")),
        ..bare_environment()
    };
    let chain_provider = provider(&server, environment, &context());
    let error = chain_provider
        .query(ERROR_RATE, &window())
        .await
        .expect_err("unreadable");
    assert_eq!(
        error.to_string(),
        "cloudwatch: no usable credentials: container credentials: unreadable answer: a field has an unexpected type (line 1, column 47)"
    );

    let secret = SecretData::from_pairs([
        ("aws_access_key_id", "s3cr3t-id"),
        ("aws_secret_access_key", "s3cr3t-key"),
        ("aws_session_token", "s3cr3t-session-token"),
    ]);
    let secret_provider = CloudWatch::with_environment(
        &with_secret(cloudwatch_spec(None, Some(REGION))),
        Some(Credentials {
            secret: "test/aws",
            data: &secret,
        }),
        &context(),
        bare_environment(),
    )
    .expect("provider");
    for debug in [
        format!("{chain_provider:?}"),
        format!("{secret_provider:?}"),
    ] {
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }
}

// ------------------------------------------------------ SigV4

/// Cases of the AWS SigV4 test suite (`aws-sig-v4-test-suite`): the
/// request, and the signature AWS publishes for it, at 20150830T123600Z
/// in us-east-1 for the service `service`.
#[test]
fn signatures_match_the_aws_sigv4_test_suite() {
    struct Case {
        name: &'static str,
        method: &'static str,
        url: &'static str,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
        token: Option<&'static str>,
        signed_headers: &'static str,
        signature: &'static str,
    }
    const PLAIN: &str = "host;x-amz-date";
    let cases = [
        Case {
            name: "get-vanilla",
            method: "GET",
            url: "https://example.amazonaws.com/",
            headers: &[],
            body: "",
            token: None,
            signed_headers: PLAIN,
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        },
        Case {
            name: "post-vanilla",
            method: "POST",
            url: "https://example.amazonaws.com/",
            headers: &[],
            body: "",
            token: None,
            signed_headers: PLAIN,
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        },
        Case {
            name: "get-unreserved",
            method: "GET",
            url: "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            headers: &[],
            body: "",
            token: None,
            signed_headers: PLAIN,
            signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        },
        Case {
            name: "get-vanilla-query-order-key-case",
            method: "GET",
            url: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            headers: &[],
            body: "",
            token: None,
            signed_headers: PLAIN,
            signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        },
        Case {
            name: "get-vanilla-query-unreserved",
            method: "GET",
            url: "https://example.amazonaws.com/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            headers: &[],
            body: "",
            token: None,
            signed_headers: PLAIN,
            signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        },
        Case {
            name: "post-vanilla-query",
            method: "POST",
            url: "https://example.amazonaws.com/?Param1=value1",
            headers: &[],
            body: "",
            token: None,
            signed_headers: PLAIN,
            signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        },
        Case {
            name: "get-header-key-duplicate",
            method: "GET",
            url: "https://example.amazonaws.com/",
            headers: &[
                ("My-Header1", "value2"),
                ("My-Header1", "value2"),
                ("My-Header1", "value1"),
            ],
            body: "",
            token: None,
            signed_headers: "host;my-header1;x-amz-date",
            signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        },
        Case {
            name: "get-header-value-trim",
            method: "GET",
            url: "https://example.amazonaws.com/",
            headers: &[("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
            body: "",
            token: None,
            signed_headers: "host;my-header1;my-header2;x-amz-date",
            signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        },
        Case {
            name: "post-header-key-sort",
            method: "POST",
            url: "https://example.amazonaws.com/",
            headers: &[("My-Header1", "value1")],
            body: "",
            token: None,
            signed_headers: "host;my-header1;x-amz-date",
            signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        },
        Case {
            name: "post-header-value-case",
            method: "POST",
            url: "https://example.amazonaws.com/",
            headers: &[("My-Header1", "VALUE1")],
            body: "",
            token: None,
            signed_headers: "host;my-header1;x-amz-date",
            signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        },
        Case {
            name: "post-x-www-form-urlencoded",
            method: "POST",
            url: "https://example.amazonaws.com/",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: "Param1=value1",
            token: None,
            signed_headers: "content-type;host;x-amz-date",
            signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        },
        Case {
            name: "post-sts-header-before",
            method: "POST",
            url: "https://example.amazonaws.com/",
            headers: &[],
            body: "",
            token: Some(SUITE_TOKEN),
            signed_headers: "host;x-amz-date;x-amz-security-token",
            signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        },
    ];
    for case in cases {
        let url = url::Url::parse(case.url).expect(case.name);
        let keys = AwsKeys {
            access_key_id: SecretString::new(ACCESS_KEY_ID),
            secret_access_key: SecretString::new(SECRET),
            session_token: case.token.map(SecretString::new),
            expiration: None,
        };
        let signed = sigv4::sign(
            &sigv4::Request {
                method: case.method,
                url: &url,
                headers: case.headers,
                body: case.body.as_bytes(),
            },
            &keys,
            &sigv4::Scope {
                region: "us-east-1",
                service: "service",
            },
            Timestamp::from_second(SUITE_TIME).expect("time"),
        )
        .expect(case.name);
        let authorization = signed
            .iter()
            .find(|(name, _)| *name == "Authorization")
            .map(|(_, value)| value.as_str());
        let expected = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={}, Signature={}",
            case.signed_headers, case.signature
        );
        assert_eq!(authorization, Some(expected.as_str()), "{}", case.name);
    }
}

#[test]
fn the_canonical_request_and_string_to_sign_match_get_vanilla() {
    let url = url::Url::parse("https://example.amazonaws.com/").expect("url");
    let headers = BTreeMap::from([
        ("host".to_owned(), sigv4::host(&url)),
        ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
    ]);
    let (canonical, signed_headers) =
        sigv4::canonical_request("GET", &url, &headers, &sigv4::hex_sha256(b""));
    assert_eq!(
        canonical,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(signed_headers, "host;x-amz-date");
    assert_eq!(
        sigv4::string_to_sign(
            "20150830T123600Z",
            "20150830/us-east-1/service/aws4_request",
            &canonical
        ),
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
}

#[test]
fn the_host_carries_the_port_only_when_it_is_not_the_default() {
    for (url, host) in [
        (
            "https://monitoring.eu-west-1.amazonaws.com/",
            "monitoring.eu-west-1.amazonaws.com",
        ),
        (
            "https://monitoring.eu-west-1.amazonaws.com:443/",
            "monitoring.eu-west-1.amazonaws.com",
        ),
        ("http://127.0.0.1:8080/", "127.0.0.1:8080"),
        ("http://[::1]:8080/", "[::1]:8080"),
    ] {
        assert_eq!(sigv4::host(&url::Url::parse(url).expect(url)), host);
    }
}
