//! The HTTP API, driven in-process through the Router and, where the network
//! matters (graceful shutdown, a client hanging up), over a real listener.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clap::Parser as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use weir_loadtester::{Config, Flags, LoadTester, Programs, normalize_go_flags};

/// A name no test machine has a program for: kubectl may well be installed.
const MISSING_PROGRAM: &str = "weir-test-no-such-kubectl";

fn config() -> Config {
    Config {
        task_timeout: Duration::from_secs(20),
        namespace_regexp: None,
        programs: Programs {
            kubectl: MISSING_PROGRAM.to_owned(),
            ..Programs::default()
        },
    }
}

fn tester() -> LoadTester {
    LoadTester::new(config())
}

fn payload(name: &str, namespace: &str, metadata: Option<Value>) -> String {
    let mut body = json!({
        "name": name,
        "namespace": namespace,
        "phase": "Progressing",
        "checksum": "5b4c7d6f",
    });
    if let Some(metadata) = metadata {
        body["metadata"] = metadata;
    }
    body.to_string()
}

async fn send(
    tester: &LoadTester,
    method: Method,
    path: &str,
    body: impl Into<Body>,
) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.into())
        .expect("a valid request");
    let response = tester
        .router()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the response body is readable");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn post(tester: &LoadTester, path: &str, body: impl Into<Body>) -> (StatusCode, String) {
    send(tester, Method::POST, path, body).await
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display())
}

// ---------------------------------------------------------------- endpoints

#[tokio::test]
async fn healthz_answers_ok_to_get_and_head() {
    let tester = tester();
    assert_eq!(
        send(&tester, Method::GET, "/healthz", Body::empty()).await,
        (StatusCode::OK, "OK".to_owned())
    );
    let (status, _) = send(&tester, Method::HEAD, "/healthz", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_path_and_code_in_prometheus_text() {
    let tester = tester();
    send(&tester, Method::GET, "/healthz", Body::empty()).await;
    post(&tester, "/gate/halt", Body::empty()).await;
    post(&tester, "/nowhere/in/particular", "not json").await;

    let (status, text) = send(&tester, Method::GET, "/metrics", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "# TYPE weir_loadtester_requests counter",
        r#"weir_loadtester_requests_total{path="/healthz",code="200"} 1"#,
        r#"weir_loadtester_requests_total{path="/gate/halt",code="403"} 1"#,
        r#"weir_loadtester_requests_total{path="/",code="400"} 1"#,
        "# EOF",
    ] {
        assert!(
            text.lines().any(|candidate| candidate == line),
            "{line:?} missing from\n{text}"
        );
    }
}

#[tokio::test]
async fn approve_always_approves_and_halt_always_halts() {
    let tester = tester();
    assert_eq!(
        post(&tester, "/gate/approve", payload("podinfo", "test", None)).await,
        (StatusCode::OK, "OK".to_owned())
    );
    assert_eq!(
        post(&tester, "/gate/halt", payload("podinfo", "test", None)).await,
        (StatusCode::FORBIDDEN, "Forbidden".to_owned())
    );
}

#[tokio::test]
async fn a_gate_is_forbidden_until_opened_and_again_once_closed_per_canary() {
    let tester = tester();
    let podinfo = payload("podinfo", "test", None);
    let other = payload("podinfo", "other", None);
    let forbidden = (StatusCode::FORBIDDEN, "Forbidden".to_owned());
    let approved = (StatusCode::OK, "Approved".to_owned());

    assert_eq!(
        post(&tester, "/gate/check", podinfo.clone()).await,
        forbidden
    );
    assert_eq!(
        post(&tester, "/gate/open", podinfo.clone()).await,
        (StatusCode::ACCEPTED, String::new())
    );
    assert_eq!(
        post(&tester, "/gate/check", podinfo.clone()).await,
        approved
    );
    assert!(tester.is_gate_open("podinfo.test"));
    // Another canary's gate, same name in another namespace, stays closed.
    assert_eq!(post(&tester, "/gate/check", other.clone()).await, forbidden);

    assert_eq!(
        post(&tester, "/gate/close", podinfo.clone()).await,
        (StatusCode::ACCEPTED, String::new())
    );
    assert_eq!(post(&tester, "/gate/check", podinfo).await, forbidden);
}

#[tokio::test]
async fn rollback_gates_are_separate_from_promotion_gates() {
    let tester = tester();
    let podinfo = payload("podinfo", "test", None);
    let forbidden = (StatusCode::FORBIDDEN, "Forbidden".to_owned());
    let approved = (StatusCode::OK, "Approved".to_owned());

    assert_eq!(
        post(&tester, "/rollback/check", podinfo.clone()).await,
        forbidden
    );
    assert_eq!(
        post(&tester, "/rollback/open", podinfo.clone()).await,
        (StatusCode::ACCEPTED, String::new())
    );
    assert_eq!(
        post(&tester, "/rollback/check", podinfo.clone()).await,
        approved
    );
    assert!(tester.is_gate_open("rollback.podinfo.test"));
    // Opening the rollback gate does not approve a promotion, and vice versa.
    assert_eq!(
        post(&tester, "/gate/check", podinfo.clone()).await,
        forbidden
    );
    post(&tester, "/gate/open", podinfo.clone()).await;
    post(&tester, "/rollback/close", podinfo.clone()).await;
    assert_eq!(
        post(&tester, "/rollback/check", podinfo.clone()).await,
        forbidden
    );
    assert_eq!(post(&tester, "/gate/check", podinfo).await, approved);
}

#[tokio::test]
async fn the_namespace_regexp_forbids_other_namespaces_on_every_payload_route() {
    let tester = LoadTester::new(Config {
        namespace_regexp: Some(regex::Regex::new("^team-").expect("a valid regexp")),
        ..config()
    });
    let outsider = payload(
        "podinfo",
        "test",
        Some(json!({"type": "bash", "cmd": "true"})),
    );
    for path in [
        "/gate/check",
        "/gate/open",
        "/gate/close",
        "/rollback/check",
        "/rollback/open",
        "/rollback/close",
        "/",
    ] {
        assert_eq!(
            post(&tester, path, outsider.clone()).await,
            (StatusCode::FORBIDDEN, "Forbidden".to_owned()),
            "{path}"
        );
    }
    assert!(
        !tester.is_gate_open("podinfo.test"),
        "a forbidden open must not open"
    );

    let insider = payload(
        "podinfo",
        "team-a",
        Some(json!({"type": "bash", "cmd": "true"})),
    );
    assert_eq!(
        post(&tester, "/gate/open", insider.clone()).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post(&tester, "/gate/check", insider.clone()).await.0,
        StatusCode::OK
    );
    assert_eq!(post(&tester, "/", insider).await.0, StatusCode::OK);
    // The unconditional gates read no payload and are not restricted.
    assert_eq!(
        post(&tester, "/gate/approve", outsider).await.0,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------- cmd tasks

#[tokio::test]
async fn a_cmd_task_is_accepted_at_once_and_runs_in_the_background() {
    let tester = tester();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let marker = directory.path().join("ran");
    let command = format!("sleep 1; echo done > {}", shell_quote(&marker));

    let started = Instant::now();
    let answer = post(
        &tester,
        "/",
        payload("podinfo", "test", Some(json!({"cmd": command}))),
    )
    .await;
    assert_eq!(answer, (StatusCode::ACCEPTED, String::new()));
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "cmd must not block"
    );
    assert!(!marker.exists());

    wait_until("the cmd task wrote its file", || marker.exists()).await;
    wait_until("the cmd task left the running list", || {
        tester.running_tasks().is_empty()
    })
    .await;
    assert!(
        tester
            .metrics_text()
            .contains(r#"weir_loadtester_tasks_total{type="cmd",outcome="succeeded"} 1"#)
    );
}

#[tokio::test]
async fn a_cmd_task_submitted_on_another_path_runs_too() {
    let tester = tester();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let marker = directory.path().join("ran");
    let metadata = json!({"type": "cmd", "cmd": format!("touch {}", shell_quote(&marker))});
    assert_eq!(
        post(
            &tester,
            "/load/test",
            payload("podinfo", "test", Some(metadata))
        )
        .await
        .0,
        StatusCode::ACCEPTED
    );
    wait_until("the cmd task touched its file", || marker.exists()).await;
}

#[tokio::test]
async fn an_identical_cmd_task_is_deduplicated_while_the_first_still_runs() {
    let tester = tester();
    let load = payload("podinfo", "test", Some(json!({"cmd": "sleep 30"})));
    assert_eq!(
        post(&tester, "/", load.clone()).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(post(&tester, "/", load).await.0, StatusCode::ACCEPTED);
    // The same command for another canary is another task.
    let other = payload("podinfo", "other", Some(json!({"cmd": "sleep 30"})));
    assert_eq!(post(&tester, "/", other).await.0, StatusCode::ACCEPTED);

    let running = tester.running_tasks();
    assert_eq!(running.len(), 2, "{running:?}");
    assert!(
        tester
            .metrics_text()
            .contains(r#"weir_loadtester_tasks_total{type="cmd",outcome="deduplicated"} 1"#)
    );
    assert!(
        tester
            .metrics_text()
            .contains(r#"weir_loadtester_tasks_running{type="cmd"} 2"#)
    );

    // Shutting down kills both sleeps well before their 30 seconds.
    tester.shutdown();
    assert!(tester.wait_for_tasks(Duration::from_secs(2)).await);
    assert!(
        tester
            .metrics_text()
            .contains(r#"weir_loadtester_tasks_total{type="cmd",outcome="cancelled"} 2"#)
    );
}

#[tokio::test]
async fn a_cmd_task_without_a_cmd_is_refused() {
    let tester = tester();
    let answer = post(
        &tester,
        "/",
        payload("podinfo", "test", Some(json!({"type": "cmd"}))),
    )
    .await;
    assert_eq!(
        answer,
        (
            StatusCode::BAD_REQUEST,
            "cmd not found in metadata".to_owned()
        )
    );
}

// ----------------------------------------------------------- blocking tasks

#[tokio::test]
async fn a_bash_task_returns_its_output_when_asked() {
    let tester = tester();
    let metadata =
        json!({"type": "bash", "cmd": "echo token; echo note >&2", "returnCmdOutput": "true"});
    assert_eq!(
        post(&tester, "/", payload("podinfo", "test", Some(metadata))).await,
        (StatusCode::OK, "token\nnote\n".to_owned())
    );
    // Without returnCmdOutput (or with a value strconv.ParseBool rejects)
    // the body is empty.
    for metadata in [
        json!({"type": "bash", "cmd": "echo token"}),
        json!({"type": "bash", "cmd": "echo token", "returnCmdOutput": "yes"}),
    ] {
        assert_eq!(
            post(&tester, "/", payload("podinfo", "test", Some(metadata))).await,
            (StatusCode::OK, String::new())
        );
    }
}

#[tokio::test]
async fn a_failing_bash_task_is_500_with_its_stderr() {
    let tester = tester();
    let metadata = json!({"type": "bash", "cmd": "echo 'no token' >&2; exit 2"});
    assert_eq!(
        post(&tester, "/", payload("podinfo", "test", Some(metadata))).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "command echo 'no token' >&2; exit 2 failed: no token\n: exit status 2".to_owned()
        )
    );
    // flagger-loadtester's own test of this case, byte for byte.
    let metadata = json!({"type": "bash", "cmd": "false"});
    assert_eq!(
        post(&tester, "/", payload("", "", Some(metadata))).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "command false failed: : exit status 1".to_owned()
        )
    );
}

#[tokio::test]
async fn a_bash_task_that_outlives_the_timeout_is_killed_and_is_500() {
    let tester = LoadTester::new(Config {
        task_timeout: Duration::from_millis(300),
        ..config()
    });
    let metadata = json!({"type": "bash", "cmd": "echo started; sleep 30"});
    let started = Instant::now();
    let (status, body) = post(&tester, "/", payload("podinfo", "test", Some(metadata))).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout did not fire"
    );
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        "command echo started; sleep 30 failed: started\n: signal: killed (timed out after 300ms)"
    );
    assert!(tester.running_tasks().is_empty());
    assert!(
        tester
            .metrics_text()
            .contains(r#"weir_loadtester_tasks_total{type="bash",outcome="timed_out"} 1"#)
    );
}

#[tokio::test]
async fn a_kubectl_task_whose_binary_is_missing_is_500_naming_it() {
    let tester = tester();
    let metadata = json!({"type": "kubectl", "cmd": "get pods -n test"});
    let (status, body) = post(&tester, "/", payload("podinfo", "test", Some(metadata))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        format!(
            "command get pods -n test failed: : exec: \"{MISSING_PROGRAM}\": executable file not found in $PATH"
        )
    );
}

#[tokio::test]
async fn helm_tasks_split_the_command_on_white_space() {
    // `echo` stands in for helm: it prints the arguments it was given.
    let tester = LoadTester::new(Config {
        programs: Programs {
            helm: "echo".to_owned(),
            ..config().programs
        },
        ..config()
    });
    for task_type in ["helm", "helmv3"] {
        let metadata = json!({
            "type": task_type,
            "cmd": "test  podinfo\t--timeout 3m",
            "returnCmdOutput": "true",
        });
        assert_eq!(
            post(&tester, "/", payload("podinfo", "test", Some(metadata))).await,
            (StatusCode::OK, "test podinfo --timeout 3m\n".to_owned()),
            "{task_type}"
        );
    }
}

#[tokio::test]
async fn a_blocking_task_is_answered_503_when_the_service_shuts_down() {
    let tester = tester();
    let request_tester = tester.clone();
    let request = tokio::spawn(async move {
        let metadata = json!({"type": "bash", "cmd": "sleep 30"});
        post(
            &request_tester,
            "/",
            payload("podinfo", "test", Some(metadata)),
        )
        .await
    });
    wait_until("the bash task runs", || !tester.running_tasks().is_empty()).await;
    tester.shutdown();
    let (status, body) = tokio::time::timeout(Duration::from_secs(3), request)
        .await
        .expect("the request is answered promptly")
        .expect("the request task does not panic");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("shutting down"), "{body}");
}

// ---------------------------------------------------------- malformed input

#[tokio::test]
async fn malformed_submissions_get_the_right_4xx_and_the_service_keeps_serving() {
    let tester = tester();

    let (status, body) = post(&tester, "/", "{\"name\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("decoding the request body failed: "),
        "{body}"
    );

    let (status, body) = post(&tester, "/gate/check", "[1, 2]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("decoding the request body failed: "),
        "{body}"
    );

    for missing in [None, Some(json!({})), Some(Value::Null)] {
        assert_eq!(
            post(&tester, "/", payload("podinfo", "test", missing)).await,
            (
                StatusCode::BAD_REQUEST,
                "metadata not found in payload".to_owned()
            )
        );
    }

    let (status, body) = post(
        &tester,
        "/",
        payload(
            "podinfo",
            "test",
            Some(json!({"type": "jmeter", "cmd": "run"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown task type \"jmeter\""), "{body}");
    assert!(body.contains("cmd, bash, helm, helmv3, kubectl"), "{body}");

    for unsupported in ["concord", "ngrinder"] {
        let (status, body) = post(
            &tester,
            "/",
            payload("podinfo", "test", Some(json!({"type": unsupported}))),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("not supported by weir-loadtester"), "{body}");
    }

    let huge = payload(
        "podinfo",
        "test",
        Some(json!({"type": "bash", "cmd": "x".repeat(2 * 1024 * 1024)})),
    );
    let (status, body) = post(&tester, "/", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, "request body larger than 1048576 bytes");

    assert_eq!(
        send(&tester, Method::GET, "/healthz", Body::empty()).await,
        (StatusCode::OK, "OK".to_owned())
    );
    assert!(
        tester.running_tasks().is_empty(),
        "nothing malformed may run"
    );
}

#[tokio::test]
async fn a_wrong_method_is_405() {
    let tester = tester();
    for (method, path) in [
        (Method::GET, "/gate/check"),
        (Method::GET, "/gate/open"),
        (Method::GET, "/rollback/check"),
        (Method::GET, "/"),
        (Method::PUT, "/load/test"),
        (Method::POST, "/metrics"),
        (Method::DELETE, "/gate/approve"),
    ] {
        let (status, _) = send(&tester, method.clone(), path, Body::empty()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

// -------------------------------------------------------------------- flags

fn parse(arguments: &[&str]) -> Flags {
    let argv = std::iter::once("weir-loadtester").chain(arguments.iter().copied());
    Flags::try_parse_from(normalize_go_flags(argv)).expect("the flags parse")
}

#[test]
fn go_style_single_dash_flags_are_accepted_in_every_spelling() {
    for arguments in [
        &["-port=8080"][..],
        &["-port", "8080"][..],
        &["--port", "8080"][..],
        &["--port=8080"][..],
    ] {
        assert_eq!(parse(arguments).port, 8080, "{arguments:?}");
    }

    let flags = parse(&[
        "-port=8080",
        "-log-level=info",
        "-timeout=1m30s",
        "-namespace-regexp",
        "^team-",
        "-zap-replace-globals",
        "-zap-encoding=console",
    ]);
    let config = flags.config();
    assert_eq!(config.task_timeout, Duration::from_secs(90));
    assert!(
        config
            .namespace_regexp
            .is_some_and(|pattern| pattern.is_match("team-a"))
    );
    assert_eq!(flags.log_level, weir_loadtester::LogLevel::Info);
    assert_eq!(flags.zap_encoding, weir_loadtester::LogEncoding::Console);
    assert!(flags.zap_replace_globals);
}

#[test]
fn flags_default_as_flagger_loadtester_s() {
    let flags = parse(&[]);
    assert_eq!(flags.port, 9090);
    assert_eq!(flags.timeout, Duration::from_secs(3600));
    assert!(flags.namespace_regexp.is_none());
    assert_eq!(flags.log_level, weir_loadtester::LogLevel::Debug);
    assert!(!flags.zap_replace_globals);
}

#[test]
fn normalisation_leaves_unknown_flags_values_and_the_program_alone() {
    let normalized = normalize_go_flags(["-port", "-port", "-x", "-timeout=5s", "--", "-port"]);
    assert_eq!(
        normalized,
        ["-port", "--port", "-x", "--timeout=5s", "--", "-port"]
    );
    let rejected = Flags::try_parse_from(normalize_go_flags(["weir-loadtester", "-timeout=0s"]));
    assert!(
        rejected.is_err(),
        "a zero timeout fails every task and is refused"
    );
}

// ------------------------------------------------------ over a real listener

struct Server {
    address: std::net::SocketAddr,
    tester: LoadTester,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: Config) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("a bound address");
    let tester = LoadTester::new(config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(weir_loadtester::serve(listener, tester.clone(), async {
        let _ = stopped.await;
    }));
    Server {
        address,
        tester,
        stop,
        serving,
    }
}

fn client(timeout: Option<Duration>) -> reqwest::Client {
    weir_http::client(&weir_http::ClientOptions {
        timeout,
        ..weir_http::ClientOptions::default()
    })
    .expect("an HTTP client")
}

#[tokio::test]
async fn the_server_serves_over_tcp_and_shuts_down_gracefully_killing_tasks() {
    let server = start(config()).await;
    let base = format!("http://{}", server.address);
    let client = client(Some(Duration::from_secs(5)));

    let healthz = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz answers");
    assert_eq!(healthz.status(), reqwest::StatusCode::OK);
    let opened = client
        .post(format!("{base}/gate/open"))
        .body(payload("podinfo", "test", None))
        .send()
        .await
        .expect("gate/open answers");
    assert_eq!(opened.status(), reqwest::StatusCode::ACCEPTED);
    let check = client
        .post(format!("{base}/gate/check"))
        .body(payload("podinfo", "test", None))
        .send()
        .await
        .expect("gate/check answers");
    assert_eq!(check.status(), reqwest::StatusCode::OK);
    assert_eq!(check.text().await.expect("a body"), "Approved");
    let load = client
        .post(format!("{base}/"))
        .body(payload("podinfo", "test", Some(json!({"cmd": "sleep 30"}))))
        .send()
        .await
        .expect("the task is accepted");
    assert_eq!(load.status(), reqwest::StatusCode::ACCEPTED);
    assert_eq!(server.tester.running_tasks().len(), 1);

    let started = Instant::now();
    server.stop.send(()).expect("the server is running");
    tokio::time::timeout(Duration::from_secs(5), server.serving)
        .await
        .expect("the server stops promptly")
        .expect("the server task does not panic")
        .expect("the server stops cleanly");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        server.tester.running_tasks().is_empty(),
        "the sleep was killed and reaped"
    );
}

#[tokio::test]
async fn a_blocking_task_is_killed_when_its_client_hangs_up() {
    let server = start(config()).await;
    let directory = tempfile::tempdir().expect("a temporary directory");
    let marker = directory.path().join("finished");
    let command = format!("sleep 1; touch {}", shell_quote(&marker));

    let url = format!("http://{}/", server.address);
    let body = payload(
        "podinfo",
        "test",
        Some(json!({"type": "bash", "cmd": command})),
    );
    let request = tokio::spawn(async move {
        client(Some(Duration::from_millis(400)))
            .post(url)
            .body(body)
            .send()
            .await
    });
    wait_until("the bash task runs", || {
        !server.tester.running_tasks().is_empty()
    })
    .await;
    let answer = request.await.expect("the request task does not panic");
    assert!(answer.is_err(), "the client gives up before the task ends");

    wait_until("the abandoned task is killed", || {
        server.tester.running_tasks().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(!marker.exists(), "the abandoned task ran to its end");
    let _ = server.stop.send(());
}
