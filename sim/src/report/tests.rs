//! The reports written to disk, end to end, from hand-built records.

use std::path::{Path, PathBuf};

use super::fixtures;
use super::*;
use crate::record::Verdict;

/// A fresh directory under the system's temp directory, unique to this
/// process and test.
fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("weir-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_text(path: &Path) -> String {
    String::from_utf8(read(path)).expect("UTF-8")
}

/// Checks the PNG signature and header, then decodes the whole image.
fn assert_png(path: &Path) -> (u32, u32) {
    let bytes = read(path);
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    let image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap_or_else(|error| panic!("{} does not decode: {error}", path.display()));
    assert_eq!((image.width(), image.height()), (width, height));
    (width, height)
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_promoted_run_writes_a_chart_a_log_and_a_summary() {
    let directory = scratch("promoted");
    let written = write_run(&fixtures::promoted(), &directory).expect("written");
    assert_eq!(
        names(&written),
        [
            "timeline.png",
            "timeline.svg",
            "events.log",
            "summary.json",
            "summary.md"
        ]
    );
    assert!(written.iter().all(|path| path.exists()));
    let (width, height) = assert_png(&directory.join("timeline.png"));
    assert_eq!(width, 1400);
    assert!(
        height > 900,
        "two metric panels make a tall chart: {height}"
    );
    let svg = read_text(&directory.join("timeline.svg"));
    assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
    assert!(svg.contains("podinfo-clean-release · podinfo.test · seed 7 · promoted"));
    let markdown = read_text(&directory.join("summary.md"));
    assert!(
        markdown.contains("**Promoted after 5m5s with no failed checks;"),
        "{markdown}"
    );
    assert!(
        markdown.contains("[timeline.png](timeline.png)")
            && markdown.contains("[events.log](events.log)")
    );
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn writing_the_same_run_twice_gives_identical_bytes() {
    let (first, second) = (scratch("twice-1"), scratch("twice-2"));
    let record = fixtures::rolled_back();
    let written = write_run(&record, &first).expect("written");
    write_run(&record, &second).expect("written");
    for name in names(&written) {
        assert!(
            read(&first.join(&name)) == read(&second.join(&name)),
            "{name} differs between two writes"
        );
    }
    // Writing over an existing report replaces it with the same bytes.
    write_run(&record, &first).expect("rewritten");
    assert!(read(&first.join("timeline.png")) == read(&second.join("timeline.png")));
    let _ = std::fs::remove_dir_all(first);
    let _ = std::fs::remove_dir_all(second);
}

#[test]
fn a_rollback_headline_names_the_verdict_the_failing_metric_and_the_harm() {
    let record = fixtures::rolled_back();
    let summary = RunSummary::from_record(&record);
    let headline = summary.headline();
    assert!(
        headline.starts_with("Rolled back after 7m30s: "),
        "{headline}"
    );
    assert!(
        headline.contains("request-success-rate 97.6% < 99% in 5 of 7 intervals"),
        "{headline}"
    );
    assert!(
        headline.contains(&format!(
            "{} user requests got errors from the canary",
            format::count(summary.blast_radius)
        )),
        "{headline}"
    );
    assert!(summary.blast_radius > 0);

    let markdown = summary_markdown(&summary);
    assert!(
        markdown
            .lines()
            .any(|line| line == format!("**{headline}**")),
        "{markdown}"
    );
    assert!(markdown.contains("| Verdict | rolled back |"));
    assert!(markdown.contains("| Rollback reason | failed checks threshold reached 5 |"));
    assert!(markdown.contains("| +00:05:00 | request-success-rate | success rate 98.10% < 99% |"));
    assert!(
        markdown.contains("| request-success-rate | ≥ 99% | 7 | 5 | 0 | 0 | 97.6% |"),
        "{markdown}"
    );
}

#[test]
fn summaries_carry_the_numbers_and_round_trip_through_json() {
    let record = fixtures::rolled_back();
    let summary = RunSummary::from(&record);
    assert_eq!(summary.verdict, Verdict::RolledBack);
    assert_eq!(summary.time_to_decision, Some(450.0));
    assert_eq!(summary.failed_checks.len(), 5);
    assert_eq!(summary.max_canary_weight, 20);
    let latency = summary.metric("request-duration").expect("metric");
    assert_eq!(
        (latency.checks, latency.failed, latency.worst_canary),
        (7, 0, Some(455.0))
    );
    assert!(summary.test_requests > 0);

    let directory = scratch("json");
    write_run(&record, &directory).expect("written");
    let json = read_text(&directory.join("summary.json"));
    assert!(json.contains("\"verdict\": \"rolledBack\""), "{json}");
    assert!(json.contains("\"blastRadius\": "));
    let parsed: RunSummary = serde_json::from_str(&json).expect("parses");
    assert_eq!(parsed, summary);
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn missing_readings_are_counted_explained_and_drawn() {
    let record = fixtures::no_data();
    let summary = RunSummary::from_record(&record);
    let metric = summary.metric("request-success-rate").expect("metric");
    assert_eq!(
        (metric.checks, metric.failed, metric.no_data, metric.errors),
        (3, 3, 2, 1)
    );
    assert_eq!(metric.worst_canary, None);
    let headline = summary.headline();
    assert!(
        headline.contains("request-success-rate had no data in 2 of 3 intervals, could not be queried in 1 of 3 intervals"),
        "{headline}"
    );
    assert!(
        headline.contains("no user request got an error"),
        "{headline}"
    );

    let directory = scratch("no-data");
    write_run(&record, &directory).expect("written");
    assert_png(&directory.join("timeline.png"));
    let svg = read_text(&directory.join("timeline.svg"));
    assert!(svg.contains("no data (on the axis)") && svg.contains("query error (on the axis)"));
    let log = read_text(&directory.join("events.log"));
    assert_eq!(
        log.lines().count(),
        1,
        "a line break in a message stays on its line"
    );
    assert!(
        log.contains("request-success-rate\\nquery: sum(rate(...))"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn a_run_without_traffic_or_metrics_still_has_every_report() {
    let directory = scratch("empty");
    let written = write_run(&fixtures::without_traffic(), &directory).expect("written");
    assert_eq!(written.len(), 5);
    let (_, height) = assert_png(&directory.join("timeline.png"));
    assert!(height < 900, "no metric panels: {height}");
    assert!(read_text(&directory.join("timeline.svg")).contains("no traffic in this run"));
    assert_eq!(read_text(&directory.join("events.log")), "");
    let markdown = read_text(&directory.join("summary.md"));
    assert!(
        markdown
            .contains("**Undecided after 2m: the run ended in Progressing at 10% canary weight.**"),
        "{markdown}"
    );
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn the_event_log_aligns_its_columns_and_keeps_messages_verbatim() {
    let log = events_log(&fixtures::rolled_back());
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), fixtures::rolled_back().log.len());
    assert_eq!(
        lines[0],
        "+00:00:00  Event     Normal   Initialization done! podinfo.test"
    );
    assert!(lines.contains(&"+00:02:30  Scenario  -        new revision podinfo:6.1.0"));
    assert!(lines.contains(
        &"+00:10:00  Event     Warning  Rolling back podinfo.test failed checks threshold reached 5"
    ));
    // Every message starts in the same column: time, source and level
    // padded to 9, 8 and 7 characters, two spaces apart.
    assert!(lines.iter().all(|line| {
        let characters: Vec<char> = line.chars().collect();
        characters[28..30] == [' ', ' '] && characters[30] != ' '
    }));
}

fn summaries(promoted: usize, rolled_back: usize, undecided: usize) -> Vec<RunSummary> {
    let mut runs = Vec::new();
    let mut seed = 0;
    for (count, template) in [
        (promoted, fixtures::promoted()),
        (rolled_back, fixtures::rolled_back()),
        (undecided, fixtures::without_traffic()),
    ] {
        for index in 0..count {
            let mut summary = RunSummary::from_record(&template);
            summary.seed = seed;
            seed += 1;
            // Spread times and harm a little, as seeds would.
            summary.time_to_decision = summary
                .time_to_decision
                .map(|seconds| seconds + 30.0 * index as f64);
            summary.blast_radius += 10 * index as u64;
            runs.push(summary);
        }
    }
    runs
}

#[test]
fn wilson_intervals_match_known_values() {
    let (lower, upper) = wilson_interval(0, 10, Z_95);
    assert_eq!(lower, 0.0);
    assert!((upper - 0.278).abs() < 0.001, "{upper}");
    let (lower, upper) = wilson_interval(5, 10, Z_95);
    assert!(
        (lower - 0.237).abs() < 0.001 && (upper - 0.763).abs() < 0.001,
        "{lower} {upper}"
    );
}

#[test]
fn many_runs_report_rates_with_wilson_intervals_and_spreads() {
    let runs = summaries(5, 4, 1);
    let aggregate = Aggregate::from_summaries(&runs);
    assert_eq!(aggregate.runs, 10);
    assert_eq!(aggregate.value("rollbackRate"), Some(0.4));
    assert_eq!(aggregate.value("promoted"), Some(5.0));
    assert!(
        aggregate
            .value("rollbackRate.upper")
            .is_some_and(|upper| upper > 0.4)
    );
    assert_eq!(aggregate.value("timeToDecision.count"), Some(9.0));
    assert_eq!(aggregate.value("timeToRollback.median"), Some(450.0 + 45.0));
    assert_eq!(aggregate.value("bogus"), None);
    assert_eq!(
        aggregate.time_to_promotion.map(|times| times.max),
        Some(305.0 + 120.0)
    );

    let directory = scratch("runs");
    let written = write_runs("podinfo-mixed", &runs, &directory).expect("written");
    assert_eq!(
        names(&written),
        [
            "runs.json",
            "runs.md",
            "distribution.png",
            "distribution.svg"
        ]
    );
    let markdown = read_text(&directory.join("runs.md"));
    assert!(markdown.starts_with("# podinfo-mixed: 10 runs\n\n**Promoted in 5 of 10 runs (50.0%, 95% interval 23.7%–76.3%)"), "{markdown}");
    assert!(
        markdown.contains("| promoted | 5 | 50.0% | 23.7% – 76.3% |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| rolled back | 4 | 40.0% |"),
        "{markdown}"
    );
    assert!(markdown.contains("| undecided | 1 | 10.0% |"), "{markdown}");
    assert!(
        markdown.contains("| request-success-rate | 4 |"),
        "rollback causes: {markdown}"
    );
    let (width, height) = assert_png(&directory.join("distribution.png"));
    assert_eq!((width, height), (1400, 520));
    let json: serde_json::Value =
        serde_json::from_str(&read_text(&directory.join("runs.json"))).expect("json");
    assert_eq!(json["aggregate"]["rollbackRate"]["value"], 0.4);
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(10));

    // The same runs give the same bytes.
    let again = scratch("runs-again");
    write_runs("podinfo-mixed", &runs, &again).expect("written");
    for name in names(&written) {
        assert!(
            read(&directory.join(&name)) == read(&again.join(&name)),
            "{name} differs"
        );
    }
    let _ = std::fs::remove_dir_all(directory);
    let _ = std::fs::remove_dir_all(again);
}

#[test]
fn no_runs_still_make_a_report() {
    let directory = scratch("no-runs");
    write_runs("nothing", &[], &directory).expect("written");
    assert!(read_text(&directory.join("runs.md")).contains("No runs."));
    assert_png(&directory.join("distribution.png"));
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn the_suite_index_shows_each_scenario_and_a_fail_badge_for_a_failing_one() {
    let entries = vec![
        SuiteEntry {
            scenario: "podinfo-clean-release".to_owned(),
            description: "a healthy release is promoted".to_owned(),
            link: "podinfo-clean-release".to_owned(),
            passed: true,
            expectations: vec![ExpectationResult {
                expectation: "outcome is Succeeded".to_owned(),
                passed: true,
                observed: "Succeeded".to_owned(),
            }],
        },
        SuiteEntry {
            scenario: "podinfo-bad-release".to_owned(),
            description: "2% <errors> roll back".to_owned(),
            link: "podinfo-bad-release/".to_owned(),
            passed: false,
            expectations: vec![
                ExpectationResult {
                    expectation: "outcome is Failed".to_owned(),
                    passed: true,
                    observed: "Failed".to_owned(),
                },
                ExpectationResult {
                    expectation: "blast radius ≤ 100".to_owned(),
                    passed: false,
                    observed: "312".to_owned(),
                },
            ],
        },
    ];
    let directory = scratch("suite");
    let written = write_suite_index(&entries, &directory).expect("written");
    assert_eq!(names(&written), ["index.html", "index.md"]);
    let html = read_text(&directory.join("index.html"));
    assert!(html.contains("1 of 2 scenarios passed"));
    assert!(
        html.contains(">podinfo-clean-release</a>") && html.contains(">podinfo-bad-release</a>")
    );
    assert_eq!(html.matches("badge pass\">PASS").count(), 1);
    assert_eq!(html.matches("badge fail\">FAIL").count(), 1);
    assert!(html.contains("href=\"podinfo-bad-release/summary.md\""));
    assert!(html.contains("<img class=\"thumbnail\" src=\"podinfo-bad-release/timeline.png\""));
    assert!(html.contains("blast radius ≤ 100 <span class=\"observed\">(312)</span>"));
    assert!(
        html.contains("2% &lt;errors&gt; roll back"),
        "descriptions are escaped"
    );
    assert!(!html.contains("<script"));
    let markdown = read_text(&directory.join("index.md"));
    assert!(markdown.contains("| podinfo-bad-release | 2% <errors> roll back | **FAIL** | ✓ outcome is Failed (Failed)<br>✗ blast radius ≤ 100 (312) |"), "{markdown}");
    let _ = std::fs::remove_dir_all(directory);
}

/// Renders the realistic rolled-back example for people to look at:
/// `cargo test -p weir-sim renders_the_example -- --ignored`, then open
/// `<temp>/weir-report-example/timeline.png`.
#[test]
#[ignore = "writes an example for people to look at"]
fn renders_the_example_reports() {
    let directory = std::env::temp_dir().join("weir-report-example");
    let record = fixtures::rolled_back();
    write_run(&record, &directory).expect("run written");
    write_run(&fixtures::no_data(), &directory.join("no-data")).expect("run written");
    write_run(&fixtures::promoted(), &directory.join("promoted")).expect("run written");
    write_run(&fixtures::without_traffic(), &directory.join("empty")).expect("run written");
    let mut runs = summaries(30, 12, 2);
    runs.push(RunSummary::from_record(&fixtures::no_data()));
    write_runs("podinfo-bad-release", &runs, &directory.join("runs")).expect("runs written");
    let entry = |scenario: &str, link: &str, passed: bool, observed: &str| SuiteEntry {
        scenario: scenario.to_owned(),
        description: format!("{scenario}, for the example index"),
        link: link.to_owned(),
        passed,
        expectations: vec![ExpectationResult {
            expectation: "outcome is Failed".to_owned(),
            passed,
            observed: observed.to_owned(),
        }],
    };
    let entries = [
        entry("podinfo-bad-release", "", true, "Failed"),
        entry("podinfo-clean-release", "promoted", false, "Succeeded"),
    ];
    write_suite_index(&entries, &directory).expect("index written");
}
