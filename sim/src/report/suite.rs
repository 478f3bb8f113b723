//! The index of a suite of scenarios: `index.html` and `index.md`.
//!
//! One row per scenario, in the caller's order:
//!
//! ```text
//!   scenario       description        result   expectations (observed)        timeline
//!   bad-release    5xx at 3% ...      FAIL     ✗ outcome is Failed (Succeeded) [thumbnail]
//!   happy-path     a clean release    PASS     ✓ outcome is Succeeded          [thumbnail]
//! ```
//!
//! The HTML is one static file with its styles inline and no scripts, so
//! it opens from disk, from a CI artifact or from an e-mail alike. Links
//! are relative: the index sits in the suite's directory and each
//! scenario's reports in `link` below it.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::format;

/// One scenario of a suite, with its expectations checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuiteEntry {
    pub scenario: String,
    pub description: String,
    /// The directory of the scenario's reports, relative to the index.
    pub link: String,
    pub passed: bool,
    pub expectations: Vec<ExpectationResult>,
}

/// One expectation of a scenario and what the run showed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectationResult {
    /// The expectation in words, e.g. `outcome is Succeeded`.
    pub expectation: String,
    pub passed: bool,
    /// What was observed, e.g. `Failed`.
    pub observed: String,
}

const STYLE: &str = "\
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem; color: #1f2328; }
h1 { font-size: 1.5rem; margin-bottom: 0.25rem; }
p.totals { margin-top: 0; color: #59636e; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #d1d9e0; padding: 0.5rem 0.75rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.scenario a { font-weight: 600; }
.badge { display: inline-block; padding: 0.1rem 0.5rem; border-radius: 0.75rem; font-size: 0.8rem; font-weight: 700; color: #fff; }
.pass { background: #1a7f37; }
.fail { background: #cf222e; }
ul.expectations { list-style: none; margin: 0; padding: 0; }
ul.expectations li { margin: 0.15rem 0; }
.ok { color: #1a7f37; }
.ko { color: #cf222e; }
.observed { color: #59636e; }
img.thumbnail { width: 320px; border: 1px solid #d1d9e0; }
";

/// `index.html`: a table of every scenario, its result, its expectations
/// with what was observed, links to its reports and its timeline.
pub fn suite_index_html(entries: &[SuiteEntry]) -> String {
    let passed = entries.iter().filter(|entry| entry.passed).count();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>weir scenarios: {passed} of {} passed</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>weir scenarios</h1>\n<p class=\"totals\">{passed} of {} scenarios passed</p>\n\
         <table>\n<thead><tr><th>Scenario</th><th>Description</th><th>Result</th><th>Expectations (observed)</th><th>Timeline</th></tr></thead>\n<tbody>\n",
        entries.len(),
        entries.len()
    );
    for entry in entries {
        let link = link_prefix(&entry.link);
        let badge = if entry.passed {
            "<span class=\"badge pass\">PASS</span>"
        } else {
            "<span class=\"badge fail\">FAIL</span>"
        };
        let _ = write!(
            html,
            "<tr>\n<td class=\"scenario\"><a href=\"{link}summary.md\">{}</a></td>\n<td>{}</td>\n<td>{badge}</td>\n<td><ul class=\"expectations\">",
            format::html(&entry.scenario),
            format::html(&entry.description),
            link = format::html(&link),
        );
        for expectation in &entry.expectations {
            let (class, mark) = if expectation.passed {
                ("ok", "✓")
            } else {
                ("ko", "✗")
            };
            let _ = write!(
                html,
                "<li><span class=\"{class}\">{mark}</span> {} <span class=\"observed\">({})</span></li>",
                format::html(&expectation.expectation),
                format::html(&expectation.observed),
            );
        }
        let _ = write!(
            html,
            "</ul></td>\n<td><a href=\"{link}timeline.png\"><img class=\"thumbnail\" src=\"{link}timeline.png\" alt=\"timeline of {}\"></a></td>\n</tr>\n",
            format::html(&entry.scenario),
            link = format::html(&link),
        );
    }
    html.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    html
}

/// `index.md`: the same table in Markdown.
pub fn suite_index_markdown(entries: &[SuiteEntry]) -> String {
    let passed = entries.iter().filter(|entry| entry.passed).count();
    let mut markdown = format!(
        "# weir scenarios\n\n{passed} of {} scenarios passed.\n\n| Scenario | Description | Result | Expectations (observed) | Reports |\n|---|---|---|---|---|\n",
        entries.len()
    );
    for entry in entries {
        let link = link_prefix(&entry.link);
        let expectations: Vec<String> = entry
            .expectations
            .iter()
            .map(|expectation| {
                format!(
                    "{} {} ({})",
                    if expectation.passed { "✓" } else { "✗" },
                    format::markdown_cell(&expectation.expectation),
                    format::markdown_cell(&expectation.observed)
                )
            })
            .collect();
        let _ = writeln!(
            markdown,
            "| {} | {} | {} | {} | [summary]({link}summary.md), [timeline]({link}timeline.png) |",
            format::markdown_cell(&entry.scenario),
            format::markdown_cell(&entry.description),
            if entry.passed { "PASS" } else { "**FAIL**" },
            expectations.join("<br>"),
        );
    }
    markdown
}

/// `link` as a prefix for file names: `podinfo` → `podinfo/`, empty → ``.
fn link_prefix(link: &str) -> String {
    let trimmed = link.trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}
