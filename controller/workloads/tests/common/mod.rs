//! Helpers for the golden-file tests: fixtures and the compare-or-rewrite
//! check (the same as `weir-routers`' tests).

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use weir_api::Canary;

/// A file of Flagger's data (e.g. `test/workloads/deployment.yaml`), parsed.
/// The data is copied from Flagger's repository into `../shared/compat/flagger`
/// beside the checkout.
pub fn flagger_object<T: DeserializeOwned>(path: &str) -> T {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compat/flagger")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; the compatibility corpus ../shared must sit beside the repository",
            full.display()
        )
    });
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", full.display()))
}

/// A YAML object, parsed.
pub fn object<T: DeserializeOwned>(yaml: &str) -> T {
    serde_saphyr::from_str(yaml).unwrap_or_else(|error| panic!("invalid object: {error}\n{yaml}"))
}

/// A Canary `podinfo` in `test` (with a uid, as read from the API server);
/// `spec` goes below `spec:` (two-space indent), `targetRef` included.
pub fn canary(spec: &str) -> Canary {
    object(&format!(
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\n  namespace: test\n  uid: 7f3c2b1a-5d4e-4f60-9a8b-1c2d3e4f5a6b\nspec:\n{spec}"
    ))
}

/// Renders objects as a multi-document YAML file under a comment.
pub fn render(description: &str, objects: &[&dyn erased::Yaml]) -> String {
    let mut text = String::new();
    for line in description.lines() {
        let _ = writeln!(text, "# {line}");
    }
    for object in objects {
        text.push_str("---\n");
        text.push_str(&object.yaml());
    }
    text
}

pub mod erased {
    /// Object-safe YAML rendering, so one file can hold different kinds.
    pub trait Yaml {
        fn yaml(&self) -> String;
    }

    impl<T: serde::Serialize> Yaml for T {
        fn yaml(&self) -> String {
            let mut options = serde_saphyr::SerializerOptions::default();
            options.prefer_block_scalars = false;
            serde_saphyr::to_string_with_options(self, options)
                .expect("generated objects serialize to YAML")
        }
    }
}

pub fn yaml<T: Serialize>(object: &T) -> &dyn erased::Yaml {
    object
}

/// Compares `actual` with `tests/golden/<name>.yaml`, or rewrites the file
/// when `WEIR_UPDATE_GOLDEN` is set.
pub fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.yaml"));
    if std::env::var_os("WEIR_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}\nrun `WEIR_UPDATE_GOLDEN=1 cargo test -p weir-workloads` and review the new file",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} is stale; first difference at line {}:\n{}\nregenerate with `WEIR_UPDATE_GOLDEN=1 cargo test -p weir-workloads` and review the diff",
            path.display(),
            first_difference(&expected, actual),
            line_diff(&expected, actual)
        );
    }
}

fn first_difference(expected: &str, actual: &str) -> usize {
    expected
        .lines()
        .zip(actual.lines())
        .position(|(left, right)| left != right)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()))
        + 1
}

/// A line-by-line diff around the first difference (`-` golden, `+` actual).
fn line_diff(expected: &str, actual: &str) -> String {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    let first = first_difference(&expected.join("\n"), &actual.join("\n")) - 1;
    let start = first.saturating_sub(3);
    let mut text = String::new();
    for line in &expected[start..first.min(expected.len())] {
        let _ = writeln!(text, "  {line}");
    }
    for line in expected.iter().skip(first).take(12) {
        let _ = writeln!(text, "- {line}");
    }
    for line in actual.iter().skip(first).take(12) {
        let _ = writeln!(text, "+ {line}");
    }
    text
}
