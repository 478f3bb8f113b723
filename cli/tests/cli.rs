//! The `weir` binary: exit codes, output formats, standard input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn weir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .output()
        .expect("run weir")
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../controller/validate/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn shared_example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/compat/flagger/artifacts/examples")
        .join(name);
    assert!(
        path.is_file(),
        "the shared reference material is missing: expected {} (beside the repository checkout)",
        path.display()
    );
    path.display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn valid_manifests_exit_with_zero() {
    let output = weir(&[
        "validate",
        &fixture("valid-canary.yaml"),
        &shared_example("istio-canary.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).ends_with("0 errors, 0 warnings in 2 documents (2 files)\n"));
}

#[test]
fn warnings_alone_still_exit_with_zero() {
    let output = weir(&["validate", &shared_example("kuma-canary.yaml")]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("warning[metric.threshold-deprecated]"));
}

#[test]
fn invalid_manifests_exit_with_one() {
    let output = weir(&["validate", &fixture("interval-5s.yaml")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("error[analysis.interval-floor]"));
}

#[test]
fn unreadable_files_exit_with_two() {
    let output = weir(&["validate", "/nonexistent/canary.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).contains("error[file.unreadable]"));
}

#[test]
fn files_that_are_not_yaml_exit_with_two_even_beside_invalid_ones() {
    let output = weir(&[
        "validate",
        &fixture("interval-5s.yaml"),
        &fixture("tab-indentation.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).contains("error[yaml.syntax]"));
}

#[test]
fn json_output_parses_and_lists_the_diagnostics() {
    let output = weir(&[
        "validate",
        "--format",
        "json",
        &fixture("typo-treshold.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let diagnostics = json["diagnostics"].as_array().expect("a diagnostics array");
    let codes: Vec<&str> = diagnostics
        .iter()
        .filter_map(|diagnostic| diagnostic["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["schema.required", "schema.unknown-field"]);
    assert_eq!(diagnostics[1]["path"], "spec.analysis.treshold");
    assert_eq!(diagnostics[1]["line"], 15);
    assert_eq!(diagnostics[1]["column"], 5);
    assert_eq!(diagnostics[1]["severity"], "warning");
    assert_eq!(diagnostics[1]["kind"], "Canary");
    assert_eq!(json["summary"]["errors"], 1);
    assert_eq!(json["files"][0]["documents"][0]["status"], "validated");
}

#[test]
fn quiet_leaves_warnings_out() {
    let output = weir(&["validate", "--quiet", &fixture("typo-treshold.yaml")]);
    let text = stdout(&output);
    assert!(text.contains("error[schema.required]"), "{text}");
    assert!(!text.contains("warning["), "{text}");
}

#[test]
fn a_dash_reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run weir");
    let manifest = std::fs::read(fixture("interval-5s.yaml")).expect("fixture");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&manifest)
        .expect("write stdin");
    let output = child.wait_with_output().expect("weir finishes");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("--> <stdin>:14:15"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn the_mesh_provider_option_reaches_the_checks() {
    let text = "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\nspec:\n  \
                targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n  service: {port: 80}\n  \
                analysis: {interval: 1m, threshold: 5, iterations: 10, mirror: true}\n";
    let directory = std::env::temp_dir().join(format!("weir-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let path = directory.join("mirror.yaml");
    std::fs::write(&path, text).expect("write manifest");
    let path = path.display().to_string();
    let istio = weir(&["validate", &path]);
    assert!(
        !stdout(&istio).contains("analysis.mirror"),
        "{}",
        stdout(&istio)
    );
    let linkerd = weir(&["validate", "--mesh-provider", "linkerd", &path]);
    assert!(
        stdout(&linkerd).contains("warning[analysis.mirror]"),
        "{}",
        stdout(&linkerd)
    );
    let unknown = weir(&["validate", "--mesh-provider", "gatewayapi", &path]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("gatewayapi:v1"));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn crds_prints_the_generated_definitions() {
    let output = weir(&["crds"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), weir_api::crd::to_yaml());
}

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn plan_prints_the_timeline_and_writes_csv_and_svg() {
    let out = std::env::temp_dir().join(format!("weir-plan-{}", std::process::id()));
    let output = weir(&[
        "plan",
        &scenario("canaries/podinfo.yaml"),
        "--fail-intervals",
        "2,3,4,5,6",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("podinfo.test: Failed after 7 min"),
        "{text}"
    );
    assert!(
        text.contains("Rolling back podinfo.test failed checks threshold reached 5"),
        "{text}"
    );
    for file in ["podinfo-plan.csv", "podinfo-plan.svg"] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn plan_refuses_an_invalid_canary_with_its_diagnostics() {
    let output = weir(&[
        "plan",
        &fixture("both-step-weight-and-iterations.yaml"),
        "--out",
        "/nonexistent",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("error[schema.one-of]"),
        "{}",
        stdout(&output)
    );
}
