//! `weir sim run` and `weir sim suite`: scenarios on the simulated cluster.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use weir_sim::batch;
use weir_sim::report::{ExpectationResult, RunSummary, SuiteEntry};
use weir_sim::{RunOptions, Scenario};

use crate::write_stdout;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum SimCommand {
    /// Run one scenario: a timeline chart, the event log and a summary in
    /// `<out>/<scenario>/`; with `--runs N`, outcome distributions too.
    Run(RunArgs),
    /// Run every scenario (`*.yaml`) in a directory, check their
    /// expectations, and write an index page. Exits 1 if any fails.
    Suite(SuiteArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// Seed of the first run (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Number of seeded runs (default: the scenario's `runs`).
    #[arg(long)]
    runs: Option<u32>,
    /// Release this Canary manifest instead of the scenario's own.
    #[arg(long, value_name = "FILE")]
    canary: Option<PathBuf>,
    /// Directory for reports.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    out: PathBuf,
    /// Run the engine against fakes on loopback, over HTTP: a Prometheus
    /// answering its queries from the simulated series, a webhook receiver
    /// and an alert sink, through the adapters the live controller uses.
    /// One run unless `--runs` says otherwise; each is compared with the
    /// in-process run of the same seed.
    #[arg(long)]
    wired: bool,
    /// With `--wired`: simulated seconds per wall-clock second, or `max`
    /// to run as fast as the round trips allow.
    #[arg(long, value_name = "FACTOR|max", default_value = "60", value_parser = parse_speed, requires = "wired")]
    speed: Speed,
}

/// How fast a wired run plays.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Speed(Option<f64>);

fn parse_speed(text: &str) -> Result<Speed, String> {
    if text == "max" {
        return Ok(Speed(None));
    }
    match text.parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 => Ok(Speed(Some(speed))),
        _ => Err(format!(
            "`{text}` is not a speed: use a positive factor (60 plays a minute per second) or `max`"
        )),
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct SuiteArgs {
    /// Directory of scenario files.
    #[arg(value_name = "DIR")]
    directory: PathBuf,
    /// Runs per scenario (default: each scenario's `runs`).
    #[arg(long)]
    runs: Option<u32>,
    /// Release this Canary manifest in every scenario instead of their own.
    #[arg(long, value_name = "FILE")]
    canary: Option<PathBuf>,
    /// Directory for reports.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    out: PathBuf,
}

/// Exit code when an expectation fails.
const EXIT_EXPECTATION_FAILED: u8 = 1;
/// Exit code when a scenario cannot be read.
const EXIT_BAD_SCENARIO: u8 = 2;

pub(crate) fn sim(command: &SimCommand) -> anyhow::Result<ExitCode> {
    match command {
        SimCommand::Run(args) => run(args),
        SimCommand::Suite(args) => suite(args),
    }
}

fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = match weir_sim::scenario::load_with(&args.scenario, args.canary.as_deref()) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprint!("{}", error.render(false));
            return Ok(ExitCode::from(EXIT_BAD_SCENARIO));
        }
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    if args.wired {
        return run_wired(args, &scenario, seed);
    }
    let runs = args.runs.unwrap_or(scenario.runs).max(1);
    let started = Instant::now();
    let entry = simulate(&scenario, seed, runs, &args.out, None)?;
    let mut text = format!("{}\n", entry.description);
    text.push_str(&expectations_table(&entry.expectations));
    text.push_str(&format!(
        "reports in {} ({runs} run{} in {:.2?})\n",
        args.out.join(&entry.link).display(),
        if runs == 1 { "" } else { "s" },
        started.elapsed()
    ));
    write_stdout(&text)?;
    Ok(if entry.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_EXPECTATION_FAILED)
    })
}

/// `weir sim run --wired`: each seed over the wire, compared with the
/// in-process run of the same seed; the first one's reports.
fn run_wired(args: &RunArgs, scenario: &Scenario, seed: u64) -> anyhow::Result<ExitCode> {
    let runs = args.runs.unwrap_or(1).max(1);
    let options = weir_sim::WiredOptions {
        speed: args.speed.0,
    };
    let started = Instant::now();
    let directory = args.out.join(&scenario.name);
    let mut summaries = Vec::new();
    let mut text = format!("{}\n", scenario.description.trim());
    let mut disagreements = 0;
    for index in 0..runs {
        let run_seed = if index == 0 {
            seed
        } else {
            batch::run_seed(seed, index)
        };
        let (record, traffic) =
            weir_sim::run_wired(scenario, run_seed, RunOptions { detail: true }, options)
                .with_context(|| format!("{} cannot run wired", scenario.name))?;
        let reference = weir_sim::run(scenario, run_seed, RunOptions { detail: true });
        let summary = RunSummary::from_record(&record);
        let same = record.outcome.verdict == reference.outcome.verdict
            && record.outcome.decided_at == reference.outcome.decided_at;
        if !same {
            disagreements += 1;
        }
        text.push_str(&format!(
            "seed {run_seed}: {}\n  over the wire: {} Prometheus queries, {} webhook calls, {} alerts; in process, the same seed: {}\n",
            summary.headline(),
            traffic.queries,
            traffic.webhook_calls,
            traffic.alerts,
            if same {
                "the same outcome".to_owned()
            } else {
                format!("DIFFERENT: {}", RunSummary::from_record(&reference).headline())
            }
        ));
        if index == 0 {
            weir_sim::report::write_run(&record, &directory)?;
        }
        summaries.push(summary);
    }
    if runs > 1 {
        weir_sim::report::write_runs(&scenario.name, &summaries, &directory)?;
    }
    let expectations = batch::check(&scenario.expect, &summaries);
    text.push_str(&expectations_table(&expectations));
    text.push_str(&format!(
        "reports in {} ({runs} wired run{} in {:.2?})\n",
        directory.display(),
        if runs == 1 { "" } else { "s" },
        started.elapsed()
    ));
    write_stdout(&text)?;
    if disagreements > 0 {
        eprintln!(
            "error: {disagreements} wired run(s) decided differently from the in-process run of the same seed: a bug in an adapter or a fake"
        );
        return Ok(ExitCode::from(EXIT_EXPECTATION_FAILED));
    }
    Ok(if expectations.iter().all(|result| result.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_EXPECTATION_FAILED)
    })
}

fn suite(args: &SuiteArgs) -> anyhow::Result<ExitCode> {
    let scenarios = match weir_sim::scenario::load_suite(&args.directory, args.canary.as_deref()) {
        Ok(scenarios) => scenarios,
        Err(error) => {
            eprint!("{}", error.render(false));
            return Ok(ExitCode::from(EXIT_BAD_SCENARIO));
        }
    };
    let total_runs: u64 = scenarios
        .iter()
        .map(|scenario| u64::from(args.runs.unwrap_or(scenario.runs).max(1)))
        .sum();
    let bar = progress_bar(total_runs);
    let started = Instant::now();
    let mut entries = Vec::new();
    for scenario in &scenarios {
        bar.set_message(scenario.name.clone());
        let runs = args.runs.unwrap_or(scenario.runs).max(1);
        entries.push(simulate(
            scenario,
            scenario.seed,
            runs,
            &args.out,
            Some(&bar),
        )?);
    }
    bar.finish_and_clear();
    let index = weir_sim::report::write_suite_index(&entries, &args.out)?;
    let mut text = String::new();
    for entry in &entries {
        text.push_str(&format!(
            "{} {}\n",
            if entry.passed { "PASS" } else { "FAIL" },
            entry.scenario
        ));
        for expectation in entry.expectations.iter().filter(|result| !result.passed) {
            text.push_str(&format!(
                "     ✗ {}: {}\n",
                expectation.expectation, expectation.observed
            ));
        }
    }
    let failed = entries.iter().filter(|entry| !entry.passed).count();
    text.push_str(&format!(
        "{} of {} scenarios passed in {:.1?}; index: {}\n",
        entries.len() - failed,
        entries.len(),
        started.elapsed(),
        index
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    write_stdout(&text)?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_EXPECTATION_FAILED)
    })
}

/// Runs a scenario: the first seed in detail (charts, log, summary), then
/// the remaining seeds for the distributions; checks the expectations.
fn simulate(
    scenario: &Scenario,
    seed: u64,
    runs: u32,
    out: &Path,
    suite_bar: Option<&ProgressBar>,
) -> anyhow::Result<SuiteEntry> {
    let directory = out.join(&scenario.name);
    let record = weir_sim::run(scenario, seed, RunOptions { detail: true });
    weir_sim::report::write_run(&record, &directory)?;
    let first = RunSummary::from_record(&record);
    if let Some(bar) = suite_bar {
        bar.inc(1);
    }
    let mut summaries = vec![first.clone()];
    if runs > 1 {
        let own_bar = suite_bar
            .is_none()
            .then(|| progress_bar(u64::from(runs - 1)));
        let tick = || {
            if let Some(bar) = suite_bar.or(own_bar.as_ref()) {
                bar.inc(1);
            }
        };
        let rest = batch::outcomes(
            scenario,
            batch::run_seed(seed, 1),
            runs - 1,
            batch::default_threads(),
            &tick,
        );
        if let Some(bar) = own_bar {
            bar.finish_and_clear();
        }
        summaries.extend(rest);
        weir_sim::report::write_runs(&scenario.name, &summaries, &directory)?;
    }
    let expectations = batch::check(&scenario.expect, &summaries);
    Ok(SuiteEntry {
        scenario: scenario.name.clone(),
        description: if runs == 1 {
            format!("{}\n{}", scenario.description.trim(), first.headline())
        } else {
            scenario.description.trim().to_owned()
        },
        link: scenario.name.clone(),
        passed: expectations.iter().all(|result| result.passed),
        expectations,
    })
}

fn progress_bar(length: u64) -> ProgressBar {
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {msg:24} [{bar:30}] {pos}/{len} runs, {per_sec}, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn expectations_table(results: &[ExpectationResult]) -> String {
    let mut text = String::new();
    for result in results {
        text.push_str(&format!(
            "  {} {}: {}\n",
            if result.passed { "✓" } else { "✗" },
            result.expectation,
            result.observed
        ));
    }
    text
}
