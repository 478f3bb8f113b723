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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("weir-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

#[test]
fn check_passes_the_podinfo_config_and_fails_a_trigger_happy_one_on_the_tuning_suite() {
    let check = |canary: &str| {
        weir(&[
            "check",
            "--canary",
            &scenario(canary),
            "--suite",
            &scenario("tuning/suite"),
            "--budgets",
            &scenario("tuning/budgets.yaml"),
            "--runs",
            "20",
        ])
    };
    let good = check("canaries/podinfo.yaml");
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}{}",
        stdout(&good),
        stderr(&good)
    );
    assert!(stdout(&good).contains("PASS: every budget is met"));
    let bad = check("tuning/canaries/trigger-happy.yaml");
    assert_eq!(
        bad.status.code(),
        Some(1),
        "{}{}",
        stdout(&bad),
        stderr(&bad)
    );
    let text = stdout(&bad);
    assert!(
        text.lines()
            .any(|line| line.starts_with("false rollback rate") && line.ends_with("FAIL")),
        "{text}"
    );
    assert!(
        text.contains("05-warmup-errors: 20 of 20 runs wrong"),
        "{text}"
    );
}

#[test]
fn tune_refuses_a_bad_space_before_running_anything() {
    let out = scratch("bad-space");
    let space = out.with_extension("yaml");
    std::fs::write(&space, "treshold: [1, 5]\n").expect("writable");
    let output = weir(&[
        "tune",
        "--canary",
        &scenario("canaries/podinfo.yaml"),
        "--suite",
        &scenario("tuning/suite"),
        "--space",
        &space.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("did you mean `threshold`?"),
        "{}",
        stderr(&output)
    );
    assert!(
        !out.exists(),
        "nothing may be written before the input is valid"
    );
    let _ = std::fs::remove_file(space);
}

#[test]
fn tune_shards_merge_into_the_report_of_an_unsharded_run() {
    let root = scratch("shards");
    let space = root.join("space.yaml");
    std::fs::create_dir_all(&root).expect("writable");
    std::fs::write(&space, "threshold: [1, 5]\n").expect("writable");
    let tune = |out: &str, shard: Option<&str>| {
        let mut args = vec![
            "tune".to_owned(),
            "--canary".to_owned(),
            scenario("canaries/podinfo.yaml"),
            "--suite".to_owned(),
            scenario("tuning/suite"),
            "--space".to_owned(),
            space.display().to_string(),
            "--runs".to_owned(),
            "3".to_owned(),
            "--out".to_owned(),
            root.join(out).display().to_string(),
        ];
        if let Some(shard) = shard {
            args.extend(["--shard".to_owned(), shard.to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = weir(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}{}",
            stdout(&output),
            stderr(&output)
        );
    };
    tune("single", None);
    tune("shards", Some("0/2"));
    tune("shards", Some("1/2"));
    let shard = |index: u32| {
        root.join(format!("shards/results-shard-{index}-of-2.json"))
            .display()
            .to_string()
    };
    let merged = root.join("merged").display().to_string();
    let output = weir(&["tune", "merge", &shard(0), &shard(1), "--out", &merged]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // A directory stands for its shards, as in deploy/tune/merge-job.yaml.
    let from_directory = root.join("from-directory").display().to_string();
    let shards = root.join("shards").display().to_string();
    let output = weir(&["tune", "merge", &shards, "--out", &from_directory]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(root.join("from-directory/tune.md")).expect("report"),
        std::fs::read(root.join("merged/tune.md")).expect("report")
    );
    for file in [
        "results.json",
        "tune.md",
        "ranking.csv",
        "recommended.patch.yaml",
        "pareto.svg",
    ] {
        let single = std::fs::read(root.join("single").join(file)).expect("single run file");
        let merged = std::fs::read(root.join("merged").join(file)).expect("merged file");
        assert!(single == merged, "{file} differs");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_sweep_and_leaves_a_report_that_says_what_is_missing() {
    let out = scratch("interrupted");
    let child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args([
            "tune",
            "--canary",
            &scenario("canaries/podinfo.yaml"),
            "--suite",
            &scenario("tuning/suite"),
            // Hours of work: it cannot finish before the interrupt.
            "--runs",
            "1000000",
            "--out",
            &out.display().to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weir");
    // Past loading the suite and into the sweep.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(signalled.success());
    let started = std::time::Instant::now();
    let output = child.wait_with_output().expect("weir exits");
    assert!(
        started.elapsed().as_secs() < 20,
        "Ctrl-C took {:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("rerun with --resume"),
        "{}",
        stderr(&output)
    );
    let report = std::fs::read_to_string(out.join("tune.md")).expect("a report");
    assert!(
        report.contains("## Incomplete: 1,215 of 1,215 units did not run"),
        "{report}"
    );
    assert!(out.join("results.json").is_file());
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn the_tuning_job_manifests_use_only_flags_weir_tune_has() {
    for (manifest, help_args) in [
        ("job.yaml", vec!["tune", "--help"]),
        ("merge-job.yaml", vec!["tune", "merge", "--help"]),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/tune")
            .join(manifest);
        let text = std::fs::read_to_string(&path).expect("the manifest exists");
        let help = stdout(&weir(&help_args));
        let flags: Vec<&str> = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("- --"))
            .map(|flag| flag.split('=').next().unwrap_or(flag))
            .collect();
        assert!(flags.len() >= 2, "{manifest}: no flags found");
        for flag in flags {
            assert!(
                help.contains(&format!("--{flag} ")) || help.contains(&format!("--{flag}\n")),
                "{manifest} passes --{flag}, which `weir {}` does not have:\n{help}",
                help_args[..help_args.len() - 1].join(" ")
            );
        }
    }
}

#[test]
fn a_wired_run_talks_http_and_agrees_with_the_in_process_run() {
    let out = tempfile::tempdir().expect("temporary directory");
    let output = weir(&[
        "sim",
        "run",
        &scenario("02-error-regression.yaml"),
        "--wired",
        "--speed",
        "max",
        "--out",
        &out.path().display().to_string(),
    ]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("in process, the same seed: the same outcome"),
        "{text}"
    );
    let queries: usize = text
        .split("over the wire: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no query count in {text}"));
    assert!(queries > 0, "{text}");
    assert!(
        out.path()
            .join("02-error-regression/timeline.svg")
            .is_file()
    );
}

#[test]
fn a_speed_that_is_not_a_positive_number_is_refused() {
    for speed in ["0", "-3", "fast"] {
        let output = weir(&[
            "sim",
            "run",
            &scenario("02-error-regression.yaml"),
            "--wired",
            &format!("--speed={speed}"),
        ]);
        assert_eq!(output.status.code(), Some(2), "{speed}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains("is not a speed"), "{speed}: {error}");
    }
}
