//! Bad tuning input gets a clear error before any work starts: the file,
//! the line, the field, what is wrong and how to fix it.

use std::path::{Path, PathBuf};

use weir_sim::scenario::{load_canary, load_suite};
use weir_sim::tune::{Sweep, budgets, space};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn podinfo() -> weir_api::Canary {
    load_canary(&repository().join("scenarios/canaries/podinfo.yaml")).expect("loads")
}

/// The rendered errors of a space that must be rejected.
fn space_errors(text: &str) -> String {
    match space::parse("space.yaml", text, &podinfo()) {
        Ok(space) => panic!("accepted: {space}"),
        Err(error) => error.render(false),
    }
}

fn budget_errors(text: &str) -> String {
    match budgets::parse("budgets.yaml", text) {
        Ok(budgets) => panic!("accepted: {budgets:?}"),
        Err(error) => error.render(false),
    }
}

#[test]
fn a_misspelt_parameter_is_located_with_the_right_spelling() {
    let rendered = space_errors("threshold: [1]\nstepWieght: [5, 10]\n");
    assert!(rendered.contains("space.yaml:2:1"), "{rendered}");
    assert!(
        rendered.contains("unknown field `stepWieght`"),
        "{rendered}"
    );
    assert!(
        rendered.contains("did you mean `stepWeight`?"),
        "{rendered}"
    );
}

#[test]
fn a_metric_the_canary_does_not_have_is_named_with_the_closest_one() {
    let rendered = space_errors("metrics:\n  request-sucess-rate: {min: [99]}\n");
    assert!(rendered.contains("space.yaml:2:"), "{rendered}");
    assert!(
        rendered.contains("the Canary has no metric `request-sucess-rate`"),
        "{rendered}"
    );
    assert!(
        rendered.contains("did you mean `request-success-rate`?"),
        "{rendered}"
    );
}

#[test]
fn every_independent_problem_is_reported_at_once() {
    let rendered = space_errors(
        "threshold: [1, 5, 5]\nstepWeight: [5, 120]\niterations: [10]\nmetrics:\n  request-duration: {max: []}\n",
    );
    for expected in [
        "`threshold` lists 5 twice",
        "space.yaml:2:17",
        "120 is not a whole number from 1 to 100",
        "`iterations` does not apply: the Canary is a progressive canary",
        "`metrics.request-duration.max` lists no values",
    ] {
        assert!(
            rendered.contains(expected),
            "missing {expected:?} in:\n{rendered}"
        );
    }
}

#[test]
fn ranges_expand_and_bad_ranges_say_how_to_write_one() {
    let space = space::parse(
        "space.yaml",
        "threshold: {from: 2, to: 8, step: 3}\n",
        &podinfo(),
    )
    .expect("a valid range");
    let values: Vec<String> = space
        .configs()
        .iter()
        .map(|config| config.label())
        .collect();
    assert_eq!(values, ["threshold=2", "threshold=5", "threshold=8"]);
    let rendered = space_errors("threshold: {from: 2, too: 8, step: 3}\n");
    assert!(rendered.contains("did you mean `to`?"), "{rendered}");
    let rendered = space_errors("threshold: {from: 8, to: 2, step: 1}\n");
    assert!(rendered.contains("is empty or endless"), "{rendered}");
}

#[test]
fn a_space_that_sweeps_nothing_or_contradicts_itself_is_refused() {
    assert!(space_errors("metrics: {}\n").contains("the space sweeps nothing"));
    let rendered = space_errors("stepWeights: [[5, 10, 50], [50, 10]]\nmaxWeight: [50]\n");
    assert!(
        rendered.contains("a ladder is a non-empty list of rising weights"),
        "{rendered}"
    );
    assert!(
        rendered.contains("`maxWeight` has no effect with `stepWeights`"),
        "{rendered}"
    );
    let rendered = space_errors("stepWeight: [60]\nmaxWeight: [30]\nthreshold: [0]\n");
    assert!(
        rendered.contains("0 is not a whole number of at least 1"),
        "{rendered}"
    );
}

#[test]
fn budgets_with_a_typo_a_rate_above_one_or_nothing_set_are_refused() {
    let rendered = budget_errors("maxFalseRollbackRat: 0.01\n");
    assert!(rendered.contains("budgets.yaml:1:1"), "{rendered}");
    assert!(
        rendered.contains("did you mean `maxFalseRollbackRate`?"),
        "{rendered}"
    );
    let rendered = budget_errors("maxMissRate: 5\n");
    assert!(rendered.contains("5 is not a rate"), "{rendered}");
    assert!(rendered.contains("write 0.05 for 5%"), "{rendered}");
    assert!(budget_errors("decideOn: estimate\n").contains("no budget is set"));
    let rendered = budget_errors("maxTimeToPromote: 30 minutes\n");
    assert!(rendered.contains("budgets.yaml:1:19"), "{rendered}");
    let rendered = budget_errors("maxMissRate: 0.1\ndecideOn: upper\n");
    assert!(rendered.contains("unknown variant `upper`"), "{rendered}");
}

#[test]
fn an_empty_suite_and_a_release_before_initialization_are_refused_before_any_run() {
    let empty = std::env::temp_dir().join(format!("weir-empty-suite-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("temp dir");
    let error = load_suite(&empty, None).expect_err("an empty suite");
    assert!(
        error.render(false).contains("the suite holds no scenario"),
        "{}",
        error.render(false)
    );
    let _ = std::fs::remove_dir(&empty);

    // The example suite releases at 4m: a 3-minute interval initializes at 6m.
    let canary_path = repository().join("scenarios/canaries/podinfo.yaml");
    let scenarios = load_suite(
        &repository().join("scenarios/tuning/suite"),
        Some(&canary_path),
    )
    .expect("the example suite loads");
    let space = space::parse("space.yaml", "interval: [1m, 3m]\n", &podinfo()).expect("valid");
    let error = Sweep::new(podinfo(), space, scenarios, 10).expect_err("releases too early");
    let rendered = error.render(false);
    assert!(rendered.contains("01-steady.yaml"), "{rendered}");
    assert!(
        rendered
            .contains("the release at 4m comes before a Canary with a 3m interval is initialized"),
        "{rendered}"
    );
    assert!(rendered.contains("release at 6m or later"), "{rendered}");
}
