//! Golden files: generated objects rendered as multi-document YAML and
//! compared with a committed file under the crate's `tests/golden/`, or
//! rewritten when `WEIR_UPDATE_GOLDEN` is set (then reviewed by hand, as
//! any other change).
//!
//! ```text
//!   render("what this shows", &[yaml(&object), ...]) ──▶ "# what this shows\n---\n<yaml>..."
//!   check(dir, crate, "name", &text) ──▶ equal to tests/golden/name.yaml? else a line diff
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

/// Object-safe YAML rendering, so one file can hold objects of different
/// kinds.
pub trait Yaml {
    fn yaml(&self) -> String;
}

impl<T: serde::Serialize> Yaml for T {
    fn yaml(&self) -> String {
        // Plain scalars, not folded ones: `Set-Cookie` values and
        // checksums read as written.
        let mut options = serde_saphyr::SerializerOptions::default();
        options.prefer_block_scalars = false;
        serde_saphyr::to_string_with_options(self, options)
            .expect("generated objects serialize to YAML")
    }
}

/// `object` as something [`render`] takes.
pub fn yaml<T: serde::Serialize>(object: &T) -> &dyn Yaml {
    object
}

/// Renders objects as a multi-document YAML file under a comment.
pub fn render(description: &str, objects: &[&dyn Yaml]) -> String {
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

/// Compares `actual` with `<crate_dir>/tests/golden/<name>.yaml`, or
/// rewrites the file when `WEIR_UPDATE_GOLDEN` is set. `crate_dir` and
/// `crate_name` are the calling crate's (`env!("CARGO_MANIFEST_DIR")`,
/// `env!("CARGO_PKG_NAME")`), for the path and the command to regenerate.
pub fn check(crate_dir: &str, crate_name: &str, name: &str, actual: &str) {
    let path = PathBuf::from(crate_dir)
        .join("tests/golden")
        .join(format!("{name}.yaml"));
    if std::env::var_os("WEIR_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}\nrun `WEIR_UPDATE_GOLDEN=1 cargo test -p {crate_name}` and review the new file",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} is stale; first difference at line {}:\n{}\nregenerate with `WEIR_UPDATE_GOLDEN=1 cargo test -p {crate_name}` and review the diff",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_shows_context_then_the_golden_and_the_actual_lines_from_the_first_difference() {
        let expected = "a\nb\nc\nd\n";
        let actual = "a\nb\nX\nd\n";
        assert_eq!(first_difference(expected, actual), 3);
        assert_eq!(
            line_diff(expected, actual),
            "  a\n  b\n- c\n- d\n+ X\n+ d\n"
        );
    }

    #[test]
    fn rendered_files_start_with_the_description_as_comments() {
        let text = render(
            "two\nlines",
            &[yaml(&serde_json::json!({"kind": "Service"}))],
        );
        assert_eq!(text, "# two\n# lines\n---\nkind: Service\n");
    }
}
