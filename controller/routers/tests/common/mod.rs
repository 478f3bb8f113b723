//! Helpers shared by the golden-file tests of every router.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use weir_api::Canary;
use weir_routers::Routes;

/// A Canary `podinfo` in `test`, with `spec` below `spec:` (two-space indent)
/// and `status` below `status:`.
pub fn canary(spec: &str, status: &str) -> Canary {
    let yaml = format!(
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\n  namespace: test\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: podinfo\n{spec}status:\n{status}"
    );
    serde_saphyr::from_str(&yaml).unwrap_or_else(|error| panic!("invalid canary: {error}\n{yaml}"))
}

pub fn routes(primary: i32, canary: i32, mirrored: bool) -> Routes {
    Routes {
        primary,
        canary,
        mirrored,
    }
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
            // Plain scalars, not folded ones: `Set-Cookie` values read as written.
            let mut options = serde_saphyr::SerializerOptions::default();
            options.prefer_block_scalars = false;
            serde_saphyr::to_string_with_options(self, options)
                .expect("routing objects serialize to YAML")
        }
    }
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
            "{}: {error}\nrun `WEIR_UPDATE_GOLDEN=1 cargo test -p weir-routers` and review the new file",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} is stale; first difference at line {}:\n{}\nregenerate with `WEIR_UPDATE_GOLDEN=1 cargo test -p weir-routers` and review the diff",
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

pub fn yaml<T: Serialize>(object: &T) -> &dyn erased::Yaml {
    object
}
