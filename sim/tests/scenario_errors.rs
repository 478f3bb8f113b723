//! Bad scenario files get clear errors: file, line, field, what is wrong and
//! how to fix it. Every problem at once where possible; never a panic.

use weir_sim::scenario::parse;

const GOOD: &str = r#"description: a healthy release
groundTruth: healthy
canary:
  apiVersion: flagger.app/v1beta1
  kind: Canary
  metadata: {name: podinfo, namespace: test}
  spec:
    targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
    service: {port: 9898}
    analysis:
      interval: 1m
      threshold: 5
      maxWeight: 50
      stepWeight: 10
      metrics:
      - {name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}
      webhooks:
      - {name: approve, type: confirm-promotion, url: "http://gate/approve"}
release: {from: v1, to: v2, at: 2m}
revisions:
  v1: {errors: {rate: 0.001}}
  v2: {errors: {rate: 0.001}}
traffic:
  rate: {model: constant, rps: 100}
"#;

/// The rendered errors for `text`, or a panic if it loads.
fn errors(text: &str) -> String {
    match parse("scenario.yaml", text, None, "scenario") {
        Ok(_) => panic!("the scenario loaded:\n{text}"),
        Err(error) => error.render(false),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in the scenario"))
}

#[test]
fn the_reference_scenario_loads() {
    let scenario = parse("scenario.yaml", GOOD, None, "scenario").expect("valid");
    assert_eq!(scenario.name, "scenario");
    assert_eq!(scenario.revisions.len(), 2);
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_the_closest_known_key() {
    let text = GOOD.replace("release: {", "relase: {");
    let rendered = errors(&text);
    let line = line_of(&text, "relase:");
    assert!(
        rendered.contains(&format!("scenario.yaml:{line}:1")),
        "{rendered}"
    );
    assert!(rendered.contains("unknown field `relase`"), "{rendered}");
    assert!(rendered.contains("did you mean `release`"), "{rendered}");
}

#[test]
fn an_unknown_key_deep_in_a_revision_is_located() {
    let text = GOOD.replace("v2: {errors: {rate: 0.001}}", "v2: {errors: {rat: 0.001}}");
    let rendered = errors(&text);
    let line = line_of(&text, "rat: 0.001");
    assert!(
        rendered.contains(&format!("scenario.yaml:{line}:")),
        "{rendered}"
    );
    assert!(rendered.contains("revisions.v2.errors.rat"), "{rendered}");
    assert!(rendered.contains("did you mean `rate`"), "{rendered}");
}

#[test]
fn a_bad_duration_says_how_to_write_one() {
    let text = GOOD.replace("at: 2m", "at: two minutes");
    let rendered = errors(&text);
    assert!(
        rendered.contains(&format!("scenario.yaml:{}:", line_of(&text, "two minutes"))),
        "{rendered}"
    );
    assert!(rendered.contains("write it like"), "{rendered}");
}

#[test]
fn a_probability_above_one_is_rejected_at_its_field() {
    let text = GOOD.replace("v2: {errors: {rate: 0.001}}", "v2: {errors: {rate: 3}}");
    let rendered = errors(&text);
    assert!(rendered.contains("revisions.v2.errors.rate"), "{rendered}");
    assert!(
        rendered.contains(&format!("scenario.yaml:{}:", line_of(&text, "rate: 3"))),
        "{rendered}"
    );
}

#[test]
fn every_cross_reference_problem_is_reported_at_once() {
    let text = format!(
        "{GOOD}events:\n- {{at: 5m, deploy: v9}}\n- {{at: 6m, open: aprove}}\nfaults:\n- {{metric: latency, kind: error}}\n"
    )
    .replace("to: v2", "to: v3");
    let rendered = errors(&text);
    for expected in [
        "revision `v3` is not declared",
        "revision `v9` is not declared",
        "the Canary has no webhook `aprove`",
        "the Canary has no metric `latency`",
    ] {
        assert!(
            rendered.contains(expected),
            "missing {expected:?} in\n{rendered}"
        );
    }
}

#[test]
fn an_invalid_inline_canary_is_reported_in_the_scenario_file() {
    let text = GOOD.replace("stepWeight: 10", "stepWeight: ten");
    let rendered = errors(&text);
    assert!(
        rendered.contains(&format!(
            "scenario.yaml:{}:",
            line_of(&text, "stepWeight: ten")
        )),
        "{rendered}"
    );
    assert!(rendered.contains("spec.analysis.stepWeight"), "{rendered}");
}

#[test]
fn an_event_with_two_actions_is_rejected() {
    let text = format!("{GOOD}events:\n- {{at: 5m, deploy: v2, open: approve}}\n");
    let rendered = errors(&text);
    assert!(rendered.contains("exactly one action"), "{rendered}");
}

#[test]
fn shares_of_traffic_must_add_up() {
    let text = GOOD.replace(
        "  rate: {model: constant, rps: 100}",
        "  rate: {model: constant, rps: 100}\n  classes:\n  - {name: a, share: 0.5}\n  - {name: b, share: 0.2}",
    );
    let rendered = errors(&text);
    assert!(rendered.contains("add up to 0.7"), "{rendered}");
}

#[test]
fn a_file_that_is_not_yaml_gets_a_syntax_error_not_a_panic() {
    let rendered = errors("description: [unclosed\n");
    assert!(rendered.contains("scenario.yaml:"), "{rendered}");
}

#[test]
fn a_missing_canary_file_names_the_path() {
    let text = GOOD.replace(
        &GOOD[GOOD.find("canary:").expect("canary")..GOOD.find("release:").expect("release")],
        "canary: canaries/missing.yaml\n",
    );
    let rendered = errors(&text);
    assert!(rendered.contains("missing.yaml"), "{rendered}");
}
