//! `weir tune`, `weir tune merge` and `weir check`: analysis configs judged
//! over a suite of simulated releases.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use weir_sim::InputError;
use weir_sim::scenario::{load_canary, load_suite};
use weir_sim::tune::{Budgets, Results, Shard, Space, Sweep, budgets, report, space};

use crate::write_stdout;

/// Exit code when a budget is missed.
const EXIT_BUDGET_MISSED: u8 = 1;
/// Exit code for bad input (a space, budget, scenario or Canary).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code after Ctrl-C, as shells report a SIGINT death.
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct TuneArgs {
    #[command(subcommand)]
    merge: Option<TuneCommand>,
    #[command(flatten)]
    sweep: SweepArgs,
}

#[derive(Debug, clap::Subcommand)]
enum TuneCommand {
    /// Merge the results files of a sharded sweep (`--shard I/N`) and
    /// write the report, byte for byte what one machine would have written.
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// The Canary manifest to tune.
    #[arg(long, value_name = "FILE", required = true)]
    canary: Option<PathBuf>,
    /// Directory of scenarios (`*.yaml`), each declaring `groundTruth`.
    #[arg(long, value_name = "DIR", required = true)]
    suite: Option<PathBuf>,
    /// The parameters to sweep (default: the neighbourhood of the Canary's
    /// own analysis: threshold, step and each bound, three values each).
    #[arg(long, value_name = "FILE")]
    space: Option<PathBuf>,
    /// Seeded runs per config and scenario.
    #[arg(long, default_value_t = 100)]
    runs: u32,
    /// Rank by these budgets: the fastest config within them first.
    #[arg(long, value_name = "FILE")]
    budgets: Option<PathBuf>,
    /// Run only shard I of N (0-based), e.g. `--shard 2/8`, writing
    /// `results-shard-I-of-N.json` for `weir tune merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Keep the finished units of an earlier, interrupted run of the same
    /// sweep in `--out` and run only the rest.
    #[arg(long)]
    resume: bool,
    /// Threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<std::num::NonZeroUsize>,
    /// Directory for the results and the report.
    #[arg(long, value_name = "DIR", default_value = "reports/tune")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// The shards' results files; a directory stands for every
    /// `results-shard-*.json` in it.
    #[arg(required = true, value_name = "RESULTS")]
    files: Vec<PathBuf>,
    /// Rank by these budgets.
    #[arg(long, value_name = "FILE")]
    budgets: Option<PathBuf>,
    /// Directory for the merged results and the report.
    #[arg(long, value_name = "DIR", default_value = "reports/tune")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The Canary manifest whose analysis is checked, as it is.
    #[arg(long, value_name = "FILE")]
    canary: PathBuf,
    /// Directory of scenarios (`*.yaml`), each declaring `groundTruth`.
    #[arg(long, value_name = "DIR")]
    suite: PathBuf,
    /// The budgets file (maxFalseRollbackRate, maxMissRate, maxBlastRadius,
    /// maxTimeToPromote, maxTimeToDetect, decideOn).
    #[arg(long, value_name = "FILE")]
    budgets: PathBuf,
    /// Seeded runs per scenario.
    #[arg(long, default_value_t = 100)]
    runs: u32,
    /// Also write the report (tune.md, results.json, ...) here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Set by Ctrl-C; a second Ctrl-C exits at once.
static STOP: AtomicBool = AtomicBool::new(false);

fn install_interrupt_handler() {
    let installed = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\ninterrupted: finishing the units under way and writing what is done (Ctrl-C again to quit now)"
        );
    });
    if let Err(error) = installed {
        eprintln!("warning: Ctrl-C will not save partial results: {error}");
    }
}

fn bad_input(error: &InputError) -> ExitCode {
    eprint!("{}", error.render(false));
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Everything a sweep reads, checked before any work starts.
struct Inputs {
    sweep: Sweep,
    budgets: Option<Budgets>,
}

/// Which configs to run.
enum Configs<'a> {
    /// A space file.
    File(&'a Path),
    /// The neighbourhood of the Canary's own analysis.
    Around,
    /// The Canary as it is (a space of no parameters has one config).
    AsIs,
}

fn read_inputs(
    canary: &Path,
    suite: &Path,
    configs: Configs<'_>,
    budgets: Option<&Path>,
    runs: u32,
) -> Result<Inputs, InputError> {
    let tuned = load_canary(canary)?;
    // Every problem in every file at once: the space and the budgets are
    // checked even when a scenario is broken.
    let space = match configs {
        Configs::File(path) => space::load(path, &tuned),
        Configs::Around => Ok(Space::around(&tuned)),
        Configs::AsIs => Ok(Space {
            dimensions: Vec::new(),
        }),
    };
    let budgets = budgets.map(budgets::load).transpose();
    let scenarios = load_suite(suite, Some(canary));
    let (space, budgets, scenarios) = match (space, budgets, scenarios) {
        (Ok(space), Ok(budgets), Ok(scenarios)) => (space, budgets, scenarios),
        (space, budgets, scenarios) => {
            return Err(InputError::combine(
                [space.err(), budgets.err(), scenarios.err()]
                    .into_iter()
                    .flatten(),
            ));
        }
    };
    let sweep = Sweep::new(tuned, space, scenarios, runs)?;
    Ok(Inputs { sweep, budgets })
}

pub(crate) fn tune(args: &TuneArgs) -> anyhow::Result<ExitCode> {
    if let Some(TuneCommand::Merge(merge_args)) = &args.merge {
        return merge(merge_args);
    }
    let args = &args.sweep;
    let (Some(canary), Some(suite)) = (&args.canary, &args.suite) else {
        anyhow::bail!("weir tune needs --canary FILE and --suite DIR");
    };
    let configs = args.space.as_deref().map_or(Configs::Around, Configs::File);
    let inputs = match read_inputs(canary, suite, configs, args.budgets.as_deref(), args.runs) {
        Ok(inputs) => inputs,
        Err(error) => return Ok(bad_input(&error)),
    };
    let sweep = &inputs.sweep;
    let results_path = match args.shard {
        Some(shard) => args.out.join(format!(
            "results-shard-{}-of-{}.json",
            shard.index, shard.count
        )),
        None => args.out.join("results.json"),
    };
    let done = if args.resume && results_path.exists() {
        let previous = Results::read(&results_path)?;
        if previous.header != sweep.header || previous.shard != args.shard {
            anyhow::bail!(
                "{} comes from a different sweep (Canary, space, suite, runs or shard); remove it or drop --resume",
                results_path.display()
            );
        }
        Some(previous)
    } else {
        None
    };
    let (healthy, bad) = sweep.truths();
    let total = sweep.total_runs(args.shard);
    let already = done.as_ref().map_or(0, |done| {
        done.units.len() as u64 * u64::from(sweep.header.runs)
    });
    write_stdout(&format!(
        "sweeping {} configs × {} scenarios ({healthy} healthy, {bad} bad) × {} runs{}: {} rollouts{}\n",
        sweep.configs().len(),
        healthy + bad,
        sweep.header.runs,
        args.shard
            .map(|shard| format!(", shard {shard}"))
            .unwrap_or_default(),
        total,
        if already > 0 {
            format!(" ({already} already done)")
        } else {
            String::new()
        }
    ))?;
    install_interrupt_handler();
    let bar = progress_bar(total);
    bar.inc(already);
    let started = Instant::now();
    let results = sweep.run(
        args.shard,
        done.as_ref(),
        args.threads
            .unwrap_or_else(weir_sim::batch::default_threads),
        &STOP,
        &|runs| bar.inc(runs),
    );
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let interrupted = STOP.load(Ordering::SeqCst);
    let ran = results.units.len() as u64 * u64::from(sweep.header.runs) - already;
    let mut text = format!(
        "{} rollouts in {:.1?} ({:.0} per second)\n",
        ran,
        elapsed,
        ran as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    if args.shard.is_some() {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
        std::fs::write(&results_path, results.to_json())
            .with_context(|| format!("cannot write {}", results_path.display()))?;
        text.push_str(&format!(
            "shard results in {}; merge all shards with `weir tune merge <files> --out DIR`\n",
            results_path.display()
        ));
    } else {
        let findings = report::write(&results, inputs.budgets.as_ref(), &args.out)?;
        text.push_str(&report::summary(&findings));
        text.push_str(&format!("report: {}\n", args.out.join("tune.md").display()));
    }
    write_stdout(&text)?;
    Ok(if interrupted {
        eprintln!(
            "interrupted: the results hold the finished units; rerun with --resume to finish"
        );
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn merge(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let budgets = match args.budgets.as_deref().map(budgets::load).transpose() {
        Ok(budgets) => budgets,
        Err(error) => return Ok(bad_input(&error)),
    };
    let mut files = Vec::new();
    for path in &args.files {
        if path.is_dir() {
            let mut shards: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| {
                    file.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| {
                            name.starts_with("results-shard-") && name.ends_with(".json")
                        })
                })
                .collect();
            if shards.is_empty() {
                anyhow::bail!("{} holds no results-shard-*.json", path.display());
            }
            shards.sort();
            files.extend(shards);
        } else {
            files.push(path.clone());
        }
    }
    let mut parts = Vec::new();
    for path in &files {
        parts.push((path.display().to_string(), Results::read(path)?));
    }
    let merged = Results::merge(parts)?;
    let findings = report::write(&merged, budgets.as_ref(), &args.out)?;
    let mut text = format!(
        "merged {} files: {} of {} units\n",
        files.len(),
        merged.units.len(),
        merged.unit_count()
    );
    text.push_str(&report::summary(&findings));
    text.push_str(&format!("report: {}\n", args.out.join("tune.md").display()));
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let inputs = match read_inputs(
        &args.canary,
        &args.suite,
        Configs::AsIs,
        Some(&args.budgets),
        args.runs,
    ) {
        Ok(inputs) => inputs,
        Err(error) => return Ok(bad_input(&error)),
    };
    let Some(budgets) = inputs.budgets else {
        anyhow::bail!("weir check needs --budgets FILE");
    };
    let sweep = &inputs.sweep;
    install_interrupt_handler();
    let bar = progress_bar(sweep.total_runs(None));
    let started = Instant::now();
    let results = sweep.run(
        None,
        None,
        weir_sim::batch::default_threads(),
        &STOP,
        &|runs| bar.inc(runs),
    );
    bar.finish_and_clear();
    if STOP.load(Ordering::SeqCst) {
        eprintln!("interrupted: no verdict");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    let scores = weir_sim::tune::score(&results, Some(&budgets));
    let Some(score) = scores.first() else {
        anyhow::bail!("the check produced no results");
    };
    let mut text = format!(
        "weir check: {} on {} scenarios × {} runs ({:.1?})\n\n",
        args.canary.display(),
        sweep.header.scenarios.len(),
        sweep.header.runs,
        started.elapsed()
    );
    text.push_str(&budget_table(&score.budgets));
    let wrong: Vec<String> = sweep
        .header
        .scenarios
        .iter()
        .zip(&score.scenarios)
        .filter_map(|(scenario, outcomes)| {
            let wrong = outcomes.wrong(scenario.ground_truth);
            (wrong > 0).then(|| {
                format!(
                    "  {}: {wrong} of {} runs wrong ({} promoted, {} rolled back, {} undecided; the release is {})",
                    scenario.name,
                    sweep.header.runs,
                    outcomes.promoted,
                    outcomes.rolled_back,
                    outcomes.undecided,
                    scenario.ground_truth.as_str()
                )
            })
        })
        .collect();
    if !wrong.is_empty() {
        text.push_str("\nwhere the analysis went wrong:\n");
        text.push_str(&wrong.join("\n"));
        text.push('\n');
    }
    if let Some(out) = &args.out {
        report::write(&results, Some(&budgets), out)?;
        text.push_str(&format!("\nreport: {}\n", out.join("tune.md").display()));
    }
    let missed = score.budgets_missed();
    text.push_str(&if missed == 0 {
        "\nPASS: every budget is met\n".to_owned()
    } else {
        format!("\nFAIL: {missed} budget(s) missed\n")
    });
    write_stdout(&text)?;
    Ok(if missed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BUDGET_MISSED)
    })
}

fn budget_table(results: &[weir_sim::tune::BudgetResult]) -> String {
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|result| {
            [
                result.budget.clone(),
                result.limit.clone(),
                result.observed.clone(),
                result.interval.clone(),
                result.verdict().to_owned(),
            ]
        })
        .collect();
    let heading = ["budget", "limit", "observed", "95% interval", "verdict"].map(str::to_owned);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&heading).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&heading).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    text
}

fn progress_bar(length: u64) -> ProgressBar {
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{bar:40}] {pos}/{len} rollouts, {per_sec}, {elapsed} elapsed, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
