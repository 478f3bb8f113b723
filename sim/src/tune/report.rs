//! The tuning report: what a sweep found, for people and for tools.
//!
//! ```text
//!   Results ─▶ score ─▶ tune.md                 recommended config, front, ranking, per scenario
//!                      ranking.csv, scores.json  every complete config
//!                      pareto.png/svg            the trade-offs, front and recommendation marked
//!                      heatmap-*.png/svg         four numbers over the two most-swept parameters
//!                      recommended.patch.yaml    `kubectl patch --type merge` for the Canary
//!            results.json                        the raw runs (mergeable, resumable)
//! ```
//!
//! Everything is a function of the results file (and the budgets), so a
//! merged sharded sweep writes the same bytes as a single-machine one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};
use weir_api::Canary;

use super::budgets::Budgets;
use super::results::Results;
use super::score::{ConfigScore, Estimate, score};
use super::space::{Config, Setting};
use crate::report::format::{count, markdown_cell, percent, seconds};
use crate::report::tune::{
    CellFormat, Heatmap, TunePoint, heatmap_svg, scatter_svg, write_heatmap_png, write_scatter_png,
};
use crate::report::{Quantiles, ReportError, create_directory, to_json, write_file};
use crate::scenario::GroundTruth;

/// What a report found, for the command line's summary.
#[derive(Clone, Debug)]
pub struct Findings {
    /// Complete configs, ranked (rank 1 first).
    pub ranked: Vec<ConfigScore>,
    pub configs: Vec<Config>,
    /// (config, scenario) units that did not run.
    pub missing: Vec<(usize, usize)>,
    /// The config equal to the Canary's own analysis, if the space has it
    /// and it ran on every scenario.
    pub current: Option<usize>,
    pub files: Vec<PathBuf>,
}

impl Findings {
    pub fn recommended(&self) -> Option<&ConfigScore> {
        self.ranked.first()
    }
}

/// Writes `results.json` and the report into `directory`.
pub fn write(
    results: &Results,
    budgets: Option<&Budgets>,
    directory: &Path,
) -> Result<Findings, ReportError> {
    create_directory(directory)?;
    let mut files = Vec::new();
    let results_path = directory.join("results.json");
    write_file(&results_path, results.to_json())?;
    files.push(results_path);

    let mut ranked = score(results, budgets);
    ranked.sort_by_key(|score| score.rank);
    let configs = results.header.space.configs();
    let missing = results.missing();
    let canary = &results.header.canary();
    let current = ranked
        .iter()
        .find(|score| score.changes == 0)
        .map(|score| score.config);

    let scores_path = directory.join("scores.json");
    write_file(&scores_path, to_json(&ranked, &scores_path)?)?;
    files.push(scores_path);
    let csv_path = directory.join("ranking.csv");
    write_file(&csv_path, ranking_csv(results, &ranked, &configs))?;
    files.push(csv_path);

    let mut charts = Vec::new();
    if !ranked.is_empty() {
        let title = format!(
            "Analysis configs of {}: {} of {} configs on the Pareto front",
            canary_name(canary),
            ranked.iter().filter(|score| score.pareto).count(),
            ranked.len()
        );
        let points = points(&ranked);
        let png = directory.join("pareto.png");
        write_scatter_png(&title, &points, &png)?;
        let svg = directory.join("pareto.svg");
        write_file(&svg, chart(scatter_svg(&title, &points), &svg)?)?;
        charts.push(("Trade-offs".to_owned(), "pareto.png".to_owned()));
        files.extend([png, svg]);
        for (stem, heatmap) in heatmaps(results, &ranked, &configs) {
            let png = directory.join(format!("{stem}.png"));
            write_heatmap_png(&heatmap, &png)?;
            let svg = directory.join(format!("{stem}.svg"));
            write_file(&svg, chart(heatmap_svg(&heatmap), &svg)?)?;
            charts.push((heatmap.title.clone(), format!("{stem}.png")));
            files.extend([png, svg]);
        }
    }

    if let Some(best) = ranked.first() {
        let patch_path = directory.join("recommended.patch.yaml");
        write_file(
            &patch_path,
            patch(canary, &configs[best.config], best, results),
        )?;
        files.push(patch_path);
    }
    let findings = Findings {
        ranked,
        configs,
        missing,
        current,
        files: Vec::new(),
    };
    let markdown_path = directory.join("tune.md");
    write_file(
        &markdown_path,
        markdown(results, budgets, &findings, &charts),
    )?;
    files.insert(1, markdown_path);
    Ok(Findings { files, ..findings })
}

fn chart(svg: Result<String, String>, path: &Path) -> Result<String, ReportError> {
    svg.map_err(|message| ReportError::Chart {
        path: path.to_owned(),
        message,
    })
}

fn canary_name(canary: &Canary) -> String {
    format!("{}.{}", canary.name(), canary.namespace())
}

/// `#17`, the way configs are named everywhere in the report.
pub fn config_name(config: usize) -> String {
    format!("#{config}")
}

fn rate(estimate: Option<&Estimate>) -> String {
    estimate.map_or_else(
        || "–".to_owned(),
        |estimate| {
            format!(
                "{} ({}–{})",
                percent(estimate.value),
                percent(estimate.lower),
                percent(estimate.upper)
            )
        },
    )
}

fn times(quantiles: Option<&Quantiles>) -> String {
    quantiles.map_or_else(
        || "–".to_owned(),
        |time| format!("{} / {}", seconds(time.median), seconds(time.p95)),
    )
}

fn radius(quantiles: Option<&Quantiles>) -> String {
    quantiles.map_or_else(
        || "–".to_owned(),
        |radius| {
            format!(
                "{} / {}",
                count(radius.median.round() as u64),
                count(radius.p95.round() as u64)
            )
        },
    )
}

fn markdown(
    results: &Results,
    budgets: Option<&Budgets>,
    findings: &Findings,
    charts: &[(String, String)],
) -> String {
    let header = &results.header;
    let scenarios = &header.scenarios;
    let healthy = scenarios
        .iter()
        .filter(|scenario| scenario.ground_truth == GroundTruth::Healthy)
        .count();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Threshold tuning: {}\n",
        canary_name(&header.canary())
    );
    let total_runs = results.unit_count() as u64 * u64::from(header.runs);
    let _ = writeln!(
        text,
        "{} configs × {} scenarios ({healthy} healthy, {} bad) × {} runs = {} simulated rollouts.\n",
        count(header.space.len() as u64),
        scenarios.len(),
        scenarios.len() - healthy,
        count(u64::from(header.runs)),
        count(total_runs)
    );
    let _ = writeln!(
        text,
        "Space: {}.\n",
        markdown_cell(&header.space.to_string())
    );
    if let Some(current) = findings.current {
        let _ = writeln!(
            text,
            "The Canary's own analysis is config {}.\n",
            config_name(current)
        );
    }
    if !findings.missing.is_empty() {
        missing_section(&mut text, results, findings);
    }
    let Some(best) = findings.recommended() else {
        text.push_str("No config ran on every scenario, so there is nothing to rank yet.\n");
        return text;
    };
    let _ = writeln!(
        text,
        "## Recommended: config {}\n",
        config_name(best.config)
    );
    let _ = writeln!(text, "`{}`\n", findings.configs[best.config].label());
    text.push_str(match budgets {
        Some(_) if best.budgets_missed() == 0 => {
            "The fastest config (median time to promote) within every budget.\n\n"
        }
        Some(_) => {
            "**No config meets every budget.** This one misses the fewest, then is the fastest.\n\n"
        }
        None => {
            "The most accurate config: fewest wrong decisions (false rollbacks + missed regressions), then the smallest p95 blast radius, then the fastest promotion. Pass `--budgets` to pick the fastest config within limits instead.\n\n"
        }
    });
    text.push_str("| | estimate (95% interval) |\n|---|---|\n");
    let undecided = if best.stalled > 0 {
        format!(", {} undecided at the end", best.stalled)
    } else {
        String::new()
    };
    for (what, value) in [
        (
            "false rollbacks (healthy releases not promoted)",
            format!("{}{undecided}", rate(best.false_rollback.as_ref())),
        ),
        (
            "missed regressions (bad releases not rolled back)",
            rate(best.miss.as_ref()),
        ),
        (
            "time to promote, median / p95",
            times(best.time_to_promote.as_ref()),
        ),
        (
            "time to detect a bad release, median / p95",
            times(best.time_to_detect.as_ref()),
        ),
        (
            "blast radius (failed requests a bad canary served), median / p95",
            radius(best.blast_radius.as_ref()),
        ),
    ] {
        let _ = writeln!(text, "| {what} | {value} |");
    }
    text.push('\n');
    if !best.budgets.is_empty() {
        text.push_str(
            "| budget | limit | observed | 95% interval | verdict |\n|---|---|---|---|---|\n",
        );
        for result in &best.budgets {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} |",
                result.budget,
                result.limit,
                result.observed,
                result.interval,
                if result.passed {
                    result.verdict().to_owned()
                } else {
                    format!("**{}**", result.verdict())
                }
            );
        }
        text.push('\n');
    }
    text.push_str(
        "Apply it with `kubectl patch canary <name> -n <namespace> --type merge --patch-file recommended.patch.yaml`, or copy the analysis fields from the patch into the manifest.\n\n",
    );
    let _ = writeln!(
        text,
        "### Config {} scenario by scenario\n",
        config_name(best.config)
    );
    text.push_str("| scenario | truth | promoted | rolled back | undecided | wrong |\n|---|---|---|---|---|---|\n");
    for (scenario, outcomes) in scenarios.iter().zip(&best.scenarios) {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} |",
            markdown_cell(&scenario.name),
            scenario.ground_truth.as_str(),
            outcomes.promoted,
            outcomes.rolled_back,
            outcomes.undecided,
            outcomes.wrong(scenario.ground_truth)
        );
    }
    text.push('\n');

    let front: Vec<&ConfigScore> = findings
        .ranked
        .iter()
        .filter(|score| score.pareto)
        .collect();
    let _ = writeln!(
        text,
        "## Pareto front: {} of {} configs\n\nNo other config is at least as good on all four of false rollbacks, missed regressions, p95 blast radius and median time to promote, and better on one.\n",
        front.len(),
        findings.ranked.len()
    );
    ranking_table(&mut text, &front, findings);
    if !charts.is_empty() {
        text.push_str("## Charts\n\n");
        for (title, file) in charts {
            let _ = writeln!(text, "![{title}]({file})\n");
        }
    }
    text.push_str("## Every config, ranked\n\n");
    let all: Vec<&ConfigScore> = findings.ranked.iter().collect();
    ranking_table(&mut text, &all, findings);
    text.push_str(
        "## How to read this\n\n\
         * Rates are over all runs of the healthy (or bad) scenarios, with Wilson 95% intervals. A healthy release still undecided when its scenario ends counts as a false rollback (it did not ship); an undecided bad release counts as missed.\n\
         * Times run from the release to the decision, over the runs that decided that way: promoted healthy releases, rolled-back bad ones.\n\
         * The blast radius counts failed user requests a bad canary answered before the decision; after a missed regression is promoted it stops counting, which is why misses are an objective of their own.\n\
         * Every config ran the same seeds of each scenario, so differences between configs are mostly the configs' own, not luck.\n",
    );
    text
}

fn missing_section(text: &mut String, results: &Results, findings: &Findings) {
    let mut configs: Vec<usize> = findings.missing.iter().map(|(config, _)| *config).collect();
    configs.dedup();
    let expected = match results.shard {
        Some(shard) => results.unit_count().div_ceil(shard.count as usize),
        None => results.unit_count(),
    };
    let _ = writeln!(
        text,
        "## Incomplete: {} of {} units did not run\n\nA unit is one config on one scenario, all its runs. The sweep was interrupted or a shard is missing, so {} config(s) are left out of the ranking: {}. Rerun the same command with `--resume` to finish them, or merge the missing shard.\n",
        count(findings.missing.len() as u64),
        count(expected as u64),
        configs.len(),
        summarize(&configs)
    );
}

/// `#1, #2, #5 and 12 more`.
fn summarize(configs: &[usize]) -> String {
    const SHOWN: usize = 12;
    let mut text = configs
        .iter()
        .take(SHOWN)
        .map(|config| config_name(*config))
        .collect::<Vec<_>>()
        .join(", ");
    if configs.len() > SHOWN {
        let _ = write!(text, " and {} more", configs.len() - SHOWN);
    }
    text
}

fn ranking_table(text: &mut String, scores: &[&ConfigScore], findings: &Findings) {
    let parameters: Vec<String> = findings
        .configs
        .first()
        .map(|config| config.settings.iter().map(Setting::parameter).collect())
        .unwrap_or_default();
    let budgets = scores.iter().any(|score| !score.budgets.is_empty());
    let _ = write!(
        text,
        "| rank | config | {} | false rollbacks | missed | promote median / p95 | detect median / p95 | blast radius median / p95 | front |",
        parameters.join(" | ")
    );
    if budgets {
        text.push_str(" budgets missed |");
    }
    text.push('\n');
    let columns = 8 + parameters.len() + usize::from(budgets);
    text.push('|');
    text.push_str(&"---|".repeat(columns));
    text.push('\n');
    for score in scores {
        let config = &findings.configs[score.config];
        let mut name = config_name(score.config);
        if findings.current == Some(score.config) {
            name.push_str(" (current)");
        }
        let _ = write!(
            text,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            score.rank,
            name,
            config
                .settings
                .iter()
                .map(|setting| markdown_cell(&setting.value()))
                .collect::<Vec<_>>()
                .join(" | "),
            rate(score.false_rollback.as_ref()),
            rate(score.miss.as_ref()),
            times(score.time_to_promote.as_ref()),
            times(score.time_to_detect.as_ref()),
            radius(score.blast_radius.as_ref()),
            if score.pareto { "✓" } else { "" }
        );
        if budgets {
            let _ = write!(text, " {} |", score.budgets_missed());
        }
        text.push('\n');
    }
    text.push('\n');
}

fn ranking_csv(results: &Results, ranked: &[ConfigScore], configs: &[Config]) -> String {
    let parameters = results.header.space.parameters();
    let mut text = String::from("rank,config");
    for parameter in &parameters {
        let _ = write!(text, ",{parameter}");
    }
    text.push_str(",false_rollback_rate,false_rollback_lower,false_rollback_upper,miss_rate,miss_lower,miss_upper,promote_median_s,promote_p95_s,detect_median_s,detect_p95_s,blast_radius_median,blast_radius_p95,pareto,budgets_missed\n");
    let optional = |value: Option<f64>| value.map(|value| value.to_string()).unwrap_or_default();
    for score in ranked {
        let _ = write!(text, "{},{}", score.rank, score.config);
        for setting in &configs[score.config].settings {
            // Ladders hold commas; quote every value the CSV way.
            let _ = write!(text, ",\"{}\"", setting.value());
        }
        let estimate = |estimate: Option<&Estimate>| {
            [
                optional(estimate.map(|e| e.value)),
                optional(estimate.map(|e| e.lower)),
                optional(estimate.map(|e| e.upper)),
            ]
            .join(",")
        };
        let _ = writeln!(
            text,
            ",{},{},{},{},{},{},{},{},{},{}",
            estimate(score.false_rollback.as_ref()),
            estimate(score.miss.as_ref()),
            optional(score.time_to_promote.map(|q| q.median)),
            optional(score.time_to_promote.map(|q| q.p95)),
            optional(score.time_to_detect.map(|q| q.median)),
            optional(score.time_to_detect.map(|q| q.p95)),
            optional(score.blast_radius.map(|q| q.median)),
            optional(score.blast_radius.map(|q| q.p95)),
            score.pareto,
            score.budgets_missed()
        );
    }
    text
}

fn points(ranked: &[ConfigScore]) -> Vec<TunePoint> {
    let mut points: Vec<TunePoint> = ranked
        .iter()
        .map(|score| TunePoint {
            label: config_name(score.config),
            false_rollback_rate: score.false_rollback.map_or(0.0, |rate| rate.value),
            miss_rate: score.miss.map_or(0.0, |rate| rate.value),
            blast_radius_p95: score.blast_radius.map(|radius| radius.p95),
            time_to_promote_median: score.time_to_promote.map(|time| time.median),
            pareto: score.pareto,
            recommended: score.rank == 1,
        })
        .collect();
    // In config order, so the chart does not depend on the ranking rule's ties.
    points.sort_by_key(|point| {
        point
            .label
            .trim_start_matches('#')
            .parse::<usize>()
            .unwrap_or(0)
    });
    points
}

/// Heatmaps over the two parameters with the most values (the first in
/// the space's order on ties), each cell the mean over the other
/// parameters' values. None when fewer than two parameters vary.
fn heatmaps(
    results: &Results,
    ranked: &[ConfigScore],
    configs: &[Config],
) -> Vec<(String, Heatmap)> {
    let dimensions = &results.header.space.dimensions;
    let mut varying: Vec<usize> = (0..dimensions.len())
        .filter(|d| dimensions[*d].len() > 1)
        .collect();
    varying.sort_by_key(|d| std::cmp::Reverse(dimensions[*d].len()));
    let [x, y, ..] = varying[..] else {
        return Vec::new();
    };
    let (x, y) = (x.min(y), x.max(y));
    let values = |d: usize| dimensions[d].iter().map(Setting::value).collect::<Vec<_>>();
    let (x_values, y_values) = (values(x), values(y));
    let (x_name, y_name) = (dimensions[x][0].parameter(), dimensions[y][0].parameter());
    type Metric = fn(&ConfigScore) -> Option<f64>;
    let metrics: [(&str, &str, CellFormat, Metric); 4] = [
        (
            "false-rollbacks",
            "False rollbacks",
            CellFormat::Percent,
            |s| s.false_rollback.map(|r| r.value),
        ),
        (
            "missed-regressions",
            "Missed regressions",
            CellFormat::Percent,
            |s| s.miss.map(|r| r.value),
        ),
        (
            "blast-radius",
            "Blast radius p95 (failed requests)",
            CellFormat::Count,
            |s| s.blast_radius.map(|r| r.p95),
        ),
        (
            "time-to-promote",
            "Median time to promote",
            CellFormat::Seconds,
            |s| s.time_to_promote.map(|t| t.median),
        ),
    ];
    let mut maps = Vec::new();
    for (stem, title, format, metric) in metrics {
        let mut sums = vec![vec![(0.0, 0u32); x_values.len()]; y_values.len()];
        for score in ranked {
            let Some(value) = metric(score) else { continue };
            let settings = &configs[score.config].settings;
            let column = dimensions[x]
                .iter()
                .position(|setting| *setting == settings[x]);
            let row = dimensions[y]
                .iter()
                .position(|setting| *setting == settings[y]);
            if let (Some(column), Some(row)) = (column, row) {
                sums[row][column].0 += value;
                sums[row][column].1 += 1;
            }
        }
        let cells: Vec<Vec<Option<f64>>> = sums
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(sum, n)| (*n > 0).then(|| sum / f64::from(*n)))
                    .collect()
            })
            .collect();
        if cells.iter().flatten().all(Option::is_none) {
            continue;
        }
        let others = dimensions.len() > 2;
        maps.push((
            format!("heatmap-{stem}"),
            Heatmap {
                title: format!("{title} by {x_name} and {y_name}"),
                caption: if others {
                    "mean over the other parameters' values; lower is better".to_owned()
                } else {
                    "lower is better".to_owned()
                },
                x_parameter: x_name.clone(),
                x_values: x_values.clone(),
                y_parameter: y_name.clone(),
                y_values: y_values.clone(),
                cells,
                format,
            },
        ));
    }
    maps
}

/// The recommended analysis as a JSON merge patch in YAML. A merge patch
/// replaces lists whole, so a tuned metric bound comes with the complete
/// metrics list; a step switched between `stepWeight` and `stepWeights`
/// clears the other with `null`.
fn patch(canary: &Canary, config: &Config, score: &ConfigScore, results: &Results) -> String {
    let original = canary.spec.analysis();
    let tuned_canary = config.apply(canary);
    let tuned = tuned_canary.spec.analysis();
    let mut analysis = Map::new();
    let mut metrics_changed = false;
    for setting in &config.settings {
        match setting {
            Setting::Interval(_) => {
                analysis.insert("interval".into(), json!(tuned.interval));
            }
            Setting::Threshold(value) => {
                analysis.insert("threshold".into(), json!(value));
            }
            Setting::StepWeight(value) => {
                analysis.insert("stepWeight".into(), json!(value));
                if !original.step_weights.is_empty() {
                    analysis.insert("stepWeights".into(), Json::Null);
                }
            }
            Setting::MaxWeight(value) => {
                analysis.insert("maxWeight".into(), json!(value));
            }
            Setting::StepWeights(ladder) => {
                analysis.insert("stepWeights".into(), json!(ladder));
                if original.step_weight != 0 {
                    analysis.insert("stepWeight".into(), Json::Null);
                }
            }
            Setting::Iterations(value) => {
                analysis.insert("iterations".into(), json!(value));
            }
            Setting::MetricMin { .. } | Setting::MetricMax { .. } => metrics_changed = true,
        }
    }
    if metrics_changed {
        analysis.insert("metrics".into(), json!(tuned.metrics));
    }
    let mut patch = json!({"spec": {"analysis": analysis}});
    whole_numbers(&mut patch);
    let body = serde_saphyr::to_string(&patch)
        .unwrap_or_else(|error| format!("# cannot write the patch: {error}\n"));
    let mut text = format!(
        "# weir tune: the recommended analysis for {} (config {} of {}).\n",
        canary_name(canary),
        config_name(config.index),
        results.header.space.len()
    );
    let _ = writeln!(text, "# {}", config.label());
    let _ = writeln!(
        text,
        "# false rollbacks {}, missed regressions {}, over {} scenarios × {} runs.",
        rate(score.false_rollback.as_ref()),
        rate(score.miss.as_ref()),
        results.header.scenarios.len(),
        results.header.runs
    );
    text.push_str(&format!(
        "# Apply: kubectl patch canary {} -n {} --type merge --patch-file recommended.patch.yaml\n",
        canary.name(),
        canary.namespace()
    ));
    text.push_str(&body);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// `98.0` → `98`: bounds are written the way Canary authors write them.
fn whole_numbers(value: &mut Json) {
    match value {
        Json::Number(number) => {
            if let Some(float) = number.as_f64()
                && number.is_f64()
                && float.fract() == 0.0
                && float.abs() < 1e15
            {
                // Exact: a whole float below 2^53.
                *value = json!(float as i64);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(whole_numbers),
        Json::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// The findings in a few lines, for the terminal.
pub fn summary(findings: &Findings) -> String {
    let mut text = String::new();
    if let Some(best) = findings.recommended() {
        let _ = writeln!(
            text,
            "recommended: config {} {}\n  false rollbacks {}, missed regressions {}, promote {} (median / p95), blast radius {} (median / p95)",
            config_name(best.config),
            findings.configs[best.config].label(),
            rate(best.false_rollback.as_ref()),
            rate(best.miss.as_ref()),
            times(best.time_to_promote.as_ref()),
            radius(best.blast_radius.as_ref())
        );
        if let Some(current) = findings.current
            && let Some(own) = findings.ranked.iter().find(|score| score.config == current)
        {
            let _ = writeln!(
                text,
                "your Canary's config {} ranks {} of {}: false rollbacks {}, missed regressions {}",
                config_name(current),
                own.rank,
                findings.ranked.len(),
                rate(own.false_rollback.as_ref()),
                rate(own.miss.as_ref())
            );
        }
    }
    if !findings.missing.is_empty() {
        let _ = writeln!(
            text,
            "incomplete: {} units did not run; rerun with --resume to finish",
            count(findings.missing.len() as u64)
        );
    }
    text
}
