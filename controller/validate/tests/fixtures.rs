//! Broken manifests under `tests/fixtures/`, each with every diagnostic it
//! must produce: code, field path, line and column. A fixture that gains or
//! loses a diagnostic fails its test.

use std::path::PathBuf;

use weir_validate::{
    Diagnostic, FileOutcome, FileReport, Options, RenderOptions, Report, Severity, render_human,
};

use Severity::{Error, Warning};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Validates a fixture; diagnostics name the file by its bare name.
fn validate(name: &str) -> FileReport {
    let path = fixture_path(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|error| panic!("cannot read fixture {}: {error}", path.display()));
    weir_validate::validate_bytes(name, &bytes, &Options::default())
}

fn summary(diagnostics: &[Diagnostic]) -> Vec<(Severity, &str, &str, usize, usize)> {
    diagnostics
        .iter()
        .map(|d| {
            (
                d.severity,
                d.code.as_str(),
                d.path.as_str(),
                d.line,
                d.column,
            )
        })
        .collect()
}

fn find<'a>(report: &'a FileReport, code: &str) -> &'a Diagnostic {
    report
        .diagnostics
        .iter()
        .find(|diagnostic| diagnostic.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", report.diagnostics))
}

/// `fixture!(test_name, "file.yaml", [(severity, code, path, line, column), ...])`
macro_rules! fixture {
    ($test:ident, $file:literal, [$(($severity:expr, $code:literal, $path:literal, $line:literal, $column:literal)),* $(,)?]) => {
        #[test]
        fn $test() {
            let report = validate($file);
            let expected: Vec<(Severity, &str, &str, usize, usize)> =
                vec![$(($severity, $code, $path, $line, $column)),*];
            assert_eq!(
                summary(&report.diagnostics),
                expected,
                "{}",
                render_human(&Report { files: vec![report.clone()] }, &RenderOptions::default())
            );
        }
    };
}

fixture!(
    a_well_formed_canary_has_no_diagnostics,
    "valid-canary.yaml",
    []
);

fixture!(
    setting_both_step_weight_and_iterations_names_both_fields,
    "both-step-weight-and-iterations.yaml",
    [(Error, "schema.one-of", "spec.analysis.stepWeight", 17, 5)]
);

fixture!(
    an_analysis_without_iterations_step_weight_or_step_weights_is_an_error,
    "no-traffic-strategy.yaml",
    [(Error, "schema.one-of", "spec.analysis", 13, 3)]
);

fixture!(
    an_interval_below_ten_seconds_is_an_error_at_the_value,
    "interval-5s.yaml",
    [(
        Error,
        "analysis.interval-floor",
        "spec.analysis.interval",
        14,
        15
    )]
);

fixture!(
    an_interval_in_an_unknown_unit_passes_the_crd_pattern_but_not_go,
    "interval-1min.yaml",
    [(Error, "analysis.interval", "spec.analysis.interval", 14, 15)]
);

fixture!(
    a_threshold_range_with_min_above_max_is_an_error,
    "threshold-range-min-above-max.yaml",
    [(
        Error,
        "metric.threshold-range",
        "spec.analysis.metrics[0].thresholdRange",
        20,
        9
    )]
);

fixture!(
    identical_session_cookie_names_are_an_error,
    "same-cookie-names.yaml",
    [(
        Error,
        "session-affinity.cookie-names",
        "spec.analysis.sessionAffinity.primaryCookieName",
        19,
        26
    )]
);

fixture!(
    an_unknown_webhook_type_is_an_enum_error,
    "unknown-webhook-type.yaml",
    [(
        Error,
        "schema.enum",
        "spec.analysis.webhooks[0].type",
        20,
        15
    )]
);

fixture!(
    alert_severity_critical_is_an_enum_error,
    "alert-severity-critical.yaml",
    [(
        Error,
        "schema.enum",
        "spec.analysis.alerts[0].severity",
        20,
        19
    )]
);

fixture!(
    a_metric_without_builtin_name_query_or_template_is_an_error,
    "metric-without-source.yaml",
    [(Error, "metric.source", "spec.analysis.metrics[0]", 19, 9)]
);

fixture!(
    decreasing_step_weights_are_an_error_at_the_step,
    "step-weights-decreasing.yaml",
    [(
        Error,
        "analysis.step-weights",
        "spec.analysis.stepWeights[1]",
        16,
        23
    )]
);

fixture!(
    a_step_weight_above_100_is_an_error_at_the_step,
    "step-weights-over-100.yaml",
    [(
        Error,
        "analysis.step-weights",
        "spec.analysis.stepWeights[2]",
        16,
        27
    )]
);

fixture!(
    a_misspelt_field_is_a_warning_and_the_field_it_replaces_is_missing,
    "typo-treshold.yaml",
    [
        (Error, "schema.required", "spec.analysis.threshold", 13, 3),
        (
            Warning,
            "schema.unknown-field",
            "spec.analysis.treshold",
            15,
            5
        ),
    ]
);

fixture!(
    a_fractional_threshold_cannot_be_decoded,
    "threshold-fraction.yaml",
    [(
        Error,
        "decode.whole-number",
        "spec.analysis.threshold",
        15,
        16
    )]
);

fixture!(
    a_duplicate_key_is_an_error_at_the_second_key,
    "duplicate-key.yaml",
    [(Error, "yaml.duplicate-key", "spec.analysis.interval", 18, 5)]
);

fixture!(
    a_tab_in_indentation_is_a_syntax_error_at_the_tab,
    "tab-indentation.yaml",
    [(Error, "yaml.syntax", "", 12, 1)]
);

fixture!(
    a_missing_metadata_name_is_an_error_at_metadata,
    "missing-name.yaml",
    [(Error, "schema.required", "metadata.name", 3, 1)]
);

fixture!(
    the_unversioned_gatewayapi_provider_is_an_enum_error,
    "provider-gatewayapi.yaml",
    [(Error, "schema.enum", "spec.provider", 7, 13)]
);

fixture!(
    an_alert_provider_with_address_and_secret_ref_is_an_error,
    "alert-provider-address-and-secret.yaml",
    [(Error, "schema.one-of", "spec.secretRef", 10, 3)]
);

fixture!(
    a_metric_template_with_an_unknown_provider_type_is_an_enum_error,
    "metric-template-unknown-provider.yaml",
    [(Error, "schema.enum", "spec.provider.type", 8, 11)]
);

fixture!(
    canary_analysis_is_reported_as_renamed_and_analysis_as_missing,
    "canary-analysis-renamed.yaml",
    [
        (Error, "schema.required", "spec.analysis", 6, 1),
        (
            Warning,
            "schema.unknown-field",
            "spec.canaryAnalysis",
            13,
            3
        ),
    ]
);

fixture!(
    flagger_v1alpha3_is_an_error_at_the_api_version,
    "flagger-v1alpha3.yaml",
    [(Error, "document.api-version", "apiVersion", 1, 13)]
);

fixture!(
    yes_is_read_as_true_like_kubectl_does_with_a_warning,
    "yaml11-boolean.yaml",
    [(
        Warning,
        "yaml.yaml11-boolean",
        "spec.analysis.mirror",
        17,
        13
    ),]
);

fixture!(
    a_missing_target_ref_is_an_error_at_spec,
    "missing-target-ref.yaml",
    [(Error, "schema.required", "spec.targetRef", 6, 1)]
);

fixture!(
    a_header_match_with_exact_and_prefix_is_an_error,
    "header-match-exact-and-prefix.yaml",
    [(
        Error,
        "schema.one-of",
        "spec.analysis.match[0].headers.x-canary.prefix",
        21,
        13
    )]
);

fixture!(
    a_mirror_to_a_service_without_port_breaks_the_crds_cel_rule,
    "mirror-backend-without-port.yaml",
    [(
        Error,
        "schema.validation",
        "spec.service.mirror[0].backendRef",
        18,
        9
    )]
);

fixture!(
    a_quoted_port_is_a_type_error,
    "port-as-string.yaml",
    [(Error, "schema.type", "spec.service.port", 12, 11)]
);

#[test]
fn a_tab_in_indentation_makes_the_file_not_yaml() {
    assert_eq!(
        validate("tab-indentation.yaml").outcome,
        FileOutcome::NotYaml
    );
    assert_eq!(validate("duplicate-key.yaml").outcome, FileOutcome::Parsed);
}

#[test]
fn enum_errors_suggest_the_closest_allowed_value() {
    let provider = validate("provider-gatewayapi.yaml");
    assert_eq!(
        find(&provider, "schema.enum").help.as_deref(),
        Some("did you mean `gatewayapi:v1`?")
    );
    let webhook = validate("unknown-webhook-type.yaml");
    assert_eq!(
        find(&webhook, "schema.enum").help.as_deref(),
        Some("did you mean `pre-rollout`?")
    );
    let severity = validate("alert-severity-critical.yaml");
    let diagnostic = find(&severity, "schema.enum");
    assert!(
        diagnostic.message.contains("`info`, `warn`, `error`"),
        "{}",
        diagnostic.message
    );
}

#[test]
fn misspelt_fields_suggest_the_intended_one() {
    let report = validate("typo-treshold.yaml");
    assert_eq!(
        find(&report, "schema.unknown-field").help.as_deref(),
        Some("did you mean `threshold`?")
    );
    let required = find(&report, "schema.required");
    assert_eq!(required.message, "`threshold` is required");
    assert!(
        required
            .help
            .as_deref()
            .is_some_and(|help| help.contains("`treshold`"))
    );
}

#[test]
fn one_of_errors_say_which_fields_clash_or_are_missing() {
    let both = validate("both-step-weight-and-iterations.yaml");
    assert_eq!(
        find(&both, "schema.one-of").message,
        "only one of `iterations`, `stepWeight` or `stepWeights` may be set; found `iterations` and `stepWeight`"
    );
    let none = validate("no-traffic-strategy.yaml");
    assert_eq!(
        find(&none, "schema.one-of").message,
        "one of `iterations`, `stepWeight` or `stepWeights` is required"
    );
    let alert = validate("alert-provider-address-and-secret.yaml");
    assert_eq!(
        find(&alert, "schema.one-of").message,
        "set either `address` or `secretRef`, not both"
    );
    let header = validate("header-match-exact-and-prefix.yaml");
    assert!(
        find(&header, "schema.one-of")
            .message
            .starts_with("set only one of `exact`, `prefix`")
    );
}

#[test]
fn an_alert_provider_without_address_or_secret_ref_names_both() {
    let text = "apiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: slack\nspec:\n  type: slack\n";
    let report = weir_validate::validate_str("alert.yaml", text, &Options::default());
    let diagnostic = find(&report, "schema.one-of");
    assert_eq!(
        diagnostic.message,
        "one of `address` or `secretRef` is required"
    );
    assert_eq!(
        (diagnostic.path.as_str(), diagnostic.line, diagnostic.column),
        ("spec", 5, 1)
    );
}

#[test]
fn the_interval_floor_renders_like_a_compiler_error() {
    let report = validate("interval-5s.yaml");
    let rendered = render_human(
        &Report {
            files: vec![report],
        },
        &RenderOptions::default(),
    );
    assert_eq!(
        rendered,
        "\
error[analysis.interval-floor]: spec.analysis.interval: `5s` is below the 10s minimum; the analysis would run every 10s, not every 5s
  --> interval-5s.yaml:14:15
   |
14 |     interval: 5s
   |               ^^
   = help: set `interval: 10s` or more

1 error, 0 warnings in 1 document (1 file)
"
    );
}

fixture!(
    semantic_problems_are_reported_alongside_schema_errors,
    "schema-and-semantic-problems.yaml",
    [
        (Error, "schema.enum", "spec.provider", 7, 13),
        (
            Error,
            "analysis.interval-floor",
            "spec.analysis.interval",
            15,
            15
        ),
        (
            Error,
            "metric.threshold-range",
            "spec.analysis.metrics[0].thresholdRange",
            20,
            7
        ),
    ]
);
