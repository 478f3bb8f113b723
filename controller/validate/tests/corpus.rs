//! Real-world manifests: Flagger's own repository files must pass, and the
//! examples of a Flagger guide must pass unless they are genuinely broken, in
//! which case the exact problems are asserted.

use std::path::{Path, PathBuf};

use weir_validate::{FileReport, Options, RenderOptions, Report, Severity, render_human};

/// The shared reference material, which sits beside the repository.
fn shared() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        path.is_dir(),
        "the shared reference material is missing: expected it at {} (beside the repository checkout)",
        path.display()
    );
    path
}

fn yaml_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yaml" || extension == "yml")
        {
            found.push(path);
        }
    }
}

fn rendered(report: FileReport) -> String {
    render_human(
        &Report {
            files: vec![report],
        },
        &RenderOptions::default(),
    )
}

#[test]
fn every_file_of_flaggers_repository_validates_without_errors() {
    let root = shared().join("compat/flagger");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= 10,
        "expected Flagger's files under {}",
        root.display()
    );

    let mut failures = String::new();
    let mut warnings = Vec::new();
    for path in &files {
        let report = weir_validate::validate_path(path, &Options::default());
        let relative = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        for diagnostic in &report.diagnostics {
            if diagnostic.severity == Severity::Warning {
                warnings.push((
                    relative.clone(),
                    diagnostic.code.clone(),
                    diagnostic.path.clone(),
                ));
            }
        }
        if report.error_count() > 0 {
            failures.push_str(&rendered(report));
        }
    }
    assert!(
        failures.is_empty(),
        "Flagger's own files have errors:\n{failures}"
    );
    // Printed for `cargo test -- --nocapture`; asserted so that new ones are noticed.
    for warning in &warnings {
        println!("warning in {}: {} at {}", warning.0, warning.1, warning.2);
    }
    let expected = vec![
        // kuma-canary.yaml still uses the deprecated `threshold` on both metrics.
        (
            "artifacts/examples/kuma-canary.yaml".to_owned(),
            "metric.threshold-deprecated".to_owned(),
            "spec.analysis.metrics[0].threshold".to_owned(),
        ),
        (
            "artifacts/examples/kuma-canary.yaml".to_owned(),
            "metric.threshold-deprecated".to_owned(),
            "spec.analysis.metrics[1].threshold".to_owned(),
        ),
    ];
    assert_eq!(warnings, expected);
}

/// A ```yaml block of the seed guide that holds flagger.app documents.
#[derive(Debug)]
struct Block {
    /// Line of the opening fence in the seed file.
    line: usize,
    text: String,
}

fn seed_blocks() -> Vec<Block> {
    let path = shared().join("seeds/000_759d033f3ebb47ef.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read the seed guide {}: {error}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut position = 0;
    while position < lines.len() {
        if lines[position].trim() == "```yaml" {
            let body_start = position + 1;
            let body_end = (body_start..lines.len())
                .find(|&index| lines[index].trim() == "```")
                .unwrap_or(lines.len());
            let body = lines[body_start..body_end].join("\n") + "\n";
            // Fragments (`analysis:`, `metrics:`, ...) are not manifests.
            if body.contains("apiVersion: flagger.app/v1beta1") {
                blocks.push(Block {
                    line: position + 1,
                    text: body,
                });
            }
            position = body_end;
        }
        position += 1;
    }
    blocks
}

/// The page the guide was scraped from indents with non-breaking spaces;
/// the examples were written with ordinary ones.
fn with_ordinary_spaces(text: &str) -> String {
    text.replace('\u{a0}', " ")
}

/// What each example of the guide produces: (code, path) of every error and warning.
struct Example {
    line: usize,
    errors: &'static [(&'static str, &'static str)],
    warnings: &'static [(&'static str, &'static str)],
}

const MISSING_STRATEGY: [(&str, &str); 3] = [
    ("schema.one-of", "spec.analysis"),
    ("schema.required", "spec.analysis.interval"),
    ("schema.required", "spec.analysis.threshold"),
];

const EXAMPLES: &[Example] = &[
    // Canary myapp: the minimal progressive canary.
    Example {
        line: 290,
        errors: &[],
        warnings: &[],
    },
    // Canary podinfo: progressive with metrics and a load test.
    Example {
        line: 359,
        errors: &[],
        warnings: &[],
    },
    // Canary abtest: A/B testing with session affinity.
    Example {
        line: 457,
        errors: &[],
        warnings: &[],
    },
    // Canary bluegreen.
    Example {
        line: 544,
        errors: &[],
        warnings: &[],
    },
    // Canary mirror: `error-rate` is no builtin metric and has no query or
    // templateRef; Flagger fails every check with "no usable metrics template".
    Example {
        line: 617,
        errors: &[("metric.source", "spec.analysis.metrics[1]")],
        warnings: &[],
    },
    // MetricTemplate error-rate.
    Example {
        line: 812,
        errors: &[],
        warnings: &[],
    },
    // Canary myapp "Alert Configuration": a fragment (`# ... other
    // configuration ...`) with no targetRef and no interval, threshold or strategy.
    Example {
        line: 902,
        errors: &[
            ("schema.required", "spec.targetRef"),
            MISSING_STRATEGY[0],
            MISSING_STRATEGY[1],
            MISSING_STRATEGY[2],
        ],
        warnings: &[],
    },
    // AlertProvider slack (secretRef) and msteams (address).
    Example {
        line: 936,
        errors: &[],
        warnings: &[],
    },
    Example {
        line: 953,
        errors: &[],
        warnings: &[],
    },
    // Canary myapp in the Flux layout.
    Example {
        line: 1255,
        errors: &[],
        warnings: &[],
    },
    // Canary payment-api: valid; its gateway list leaves out `mesh`.
    Example {
        line: 1442,
        errors: &[],
        warnings: &[("service.gateways-without-mesh", "spec.service.gateways")],
    },
    // Canary recommendation-api: `1h` fails the CRD's `^[0-9]+(m|s)` pattern
    // (three times) and `threshold` is missing; its Istio gateways leave out `mesh`.
    Example {
        line: 1552,
        errors: &[
            ("schema.pattern", "spec.analysis.interval"),
            ("schema.pattern", "spec.analysis.metrics[1].interval"),
            ("schema.pattern", "spec.analysis.metrics[2].interval"),
            ("schema.required", "spec.analysis.threshold"),
        ],
        warnings: &[("service.gateways-without-mesh", "spec.service.gateways")],
    },
    // Canary user-service (blue/green with migrations): no `threshold`.
    Example {
        line: 1661,
        errors: &[("schema.required", "spec.analysis.threshold")],
        warnings: &[],
    },
    // Canary api-gateway (mirroring): no `threshold`; its Istio gateways leave out `mesh`.
    Example {
        line: 1795,
        errors: &[("schema.required", "spec.analysis.threshold")],
        warnings: &[("service.gateways-without-mesh", "spec.service.gateways")],
    },
    // Two regional Canaries, "same config as above" left out: no targetRef, no threshold.
    Example {
        line: 1871,
        errors: &[
            ("schema.required", "spec.analysis.threshold"),
            ("schema.required", "spec.analysis.threshold"),
            ("schema.required", "spec.targetRef"),
            ("schema.required", "spec.targetRef"),
        ],
        warnings: &[],
    },
    // Canary multi-provider-app: metrics only.
    Example {
        line: 1947,
        errors: &[
            ("schema.required", "spec.targetRef"),
            MISSING_STRATEGY[0],
            MISSING_STRATEGY[1],
            MISSING_STRATEGY[2],
        ],
        warnings: &[],
    },
    // MetricTemplate datadog-error-rate.
    Example {
        line: 1985,
        errors: &[],
        warnings: &[],
    },
    // Two multi-cluster Canaries with webhooks only.
    Example {
        line: 2079,
        errors: &[
            ("schema.required", "spec.targetRef"),
            ("schema.required", "spec.targetRef"),
            MISSING_STRATEGY[0],
            MISSING_STRATEGY[0],
            MISSING_STRATEGY[1],
            MISSING_STRATEGY[1],
            MISSING_STRATEGY[2],
            MISSING_STRATEGY[2],
        ],
        warnings: &[],
    },
    // Deployment + Canary myapp "spot instances": an invented
    // `analysis.canaryAnalysis.templateVariables` block, no analysis settings
    // and no service port.
    Example {
        line: 2168,
        errors: &[
            MISSING_STRATEGY[0],
            MISSING_STRATEGY[1],
            MISSING_STRATEGY[2],
            ("service.port", "spec.service.port"),
        ],
        warnings: &[("schema.unknown-field", "spec.analysis.canaryAnalysis")],
    },
    // AlertProvider slack-oncall: `messageTemplate` does not exist and is pruned.
    Example {
        line: 2438,
        errors: &[],
        warnings: &[("schema.unknown-field", "spec.messageTemplate")],
    },
    // Secret + Canary myapp with a webhook only.
    Example {
        line: 2572,
        errors: &[
            ("schema.required", "spec.targetRef"),
            MISSING_STRATEGY[0],
            MISSING_STRATEGY[1],
            MISSING_STRATEGY[2],
        ],
        warnings: &[],
    },
    // Canary myapp "staging": no targetRef, and both `stepWeight` and `iterations`.
    Example {
        line: 2659,
        errors: &[
            ("schema.one-of", "spec.analysis.stepWeight"),
            ("schema.required", "spec.targetRef"),
        ],
        warnings: &[],
    },
];

fn codes(report: &FileReport, severity: Severity) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == severity)
        .map(|diagnostic| (diagnostic.code.clone(), diagnostic.path.clone()))
        .collect();
    found.sort();
    found
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(code, path)| ((*code).to_owned(), (*path).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn the_guides_examples_validate_unless_genuinely_broken() {
    let blocks = seed_blocks();
    let lines: Vec<usize> = blocks.iter().map(|block| block.line).collect();
    let expected_lines: Vec<usize> = EXAMPLES.iter().map(|example| example.line).collect();
    assert_eq!(
        lines, expected_lines,
        "the guide's flagger.app examples moved"
    );

    let mut mismatches = String::new();
    for (block, example) in blocks.iter().zip(EXAMPLES) {
        let name = format!("seed.md:{}", block.line);
        let report = weir_validate::validate_str(
            &name,
            &with_ordinary_spaces(&block.text),
            &Options::default(),
        );
        let errors = codes(&report, Severity::Error);
        let warnings = codes(&report, Severity::Warning);
        if errors != owned(example.errors) || warnings != owned(example.warnings) {
            mismatches.push_str(&format!(
                "example at line {}: expected errors {:?} and warnings {:?}\n{}\n",
                block.line,
                owned(example.errors),
                owned(example.warnings),
                rendered(report)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches}");
}

#[test]
fn the_guides_non_breaking_space_indentation_is_reported_as_such() {
    let blocks = seed_blocks();
    let first = blocks.first().expect("the guide has examples");
    assert!(
        first.text.contains('\u{a0}'),
        "the scraped guide indents with U+00A0"
    );
    let report = weir_validate::validate_str("seed.md", &first.text, &Options::default());
    let diagnostic = report
        .diagnostics
        .first()
        .expect("the raw example has problems");
    assert_eq!(
        diagnostic.code,
        "yaml.non-breaking-space",
        "{}",
        rendered(report.clone())
    );
    assert_eq!((diagnostic.line, diagnostic.column), (4, 1));
}
