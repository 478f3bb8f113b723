//! `weir`: the command line. Thin on purpose: parsing arguments, reading
//! files and choosing exit codes happen here; everything else lives in the
//! libraries (`weir-validate`, `weir-api`).
//!
//! Exit codes follow compilers and linters:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (warnings allowed) |
//! | 1 | a manifest has errors |
//! | 2 | a file is unreadable or not YAML, or the command line is wrong |

mod sim;
mod tune;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use weir_api::Provider;
use weir_api::checks::CheckContext;
use weir_validate::{Options, RenderOptions, Report};

#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about = "Flagger-compatible progressive delivery"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check Flagger manifests (Canary, MetricTemplate, AlertProvider) and report every problem.
    Validate(ValidateArgs),
    /// Print the CustomResourceDefinitions weir serves (the content of deploy/crds/crd.yaml).
    Crds,
    /// Replay a Canary through the rollout engine on an ideal simulated cluster,
    /// print the timeline and write it to CSV and SVG.
    Plan(PlanArgs),
    /// Simulate scenarios: the real engine against a simulated cluster,
    /// synthetic traffic and metrics, in virtual time.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Sweep analysis parameters over a suite of simulated releases:
    /// false rollbacks, missed regressions, times and blast radius per
    /// config, the Pareto front, and the recommended analysis as a patch.
    Tune(tune::TuneArgs),
    /// Hold a Canary's analysis to budgets over a suite of simulated
    /// releases; exits 1 when a budget is missed (for CI).
    Check(tune::CheckArgs),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// A file with the Canary (the first Canary in the file is planned).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Analysis intervals (1-based) in which every metric fails, e.g. `2,3,4`.
    #[arg(long, value_name = "N,...", value_delimiter = ',')]
    fail_intervals: Vec<u32>,
    /// Directory for `<name>-plan.csv` and `<name>-plan.svg`.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    out: PathBuf,
    /// The controller's `-mesh-provider`, used for Canaries without `spec.provider`.
    #[arg(long, value_name = "PROVIDER", default_value = "istio", value_parser = parse_provider)]
    mesh_provider: Provider,
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// YAML files to check; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The controller's `-mesh-provider`, used for Canaries without `spec.provider`.
    #[arg(long, value_name = "PROVIDER", default_value = "istio", value_parser = parse_provider)]
    mesh_provider: Provider,
    /// Report errors only.
    #[arg(long, short)]
    quiet: bool,
    /// Also list every document, checked or skipped.
    #[arg(long, short)]
    verbose: bool,
    /// Colour the human output.
    #[arg(long)]
    color: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// rustc-style text.
    Human,
    /// One JSON object with a `diagnostics` array.
    Json,
}

fn parse_provider(text: &str) -> Result<Provider, String> {
    text.parse::<Provider>().map_err(|error| error.to_string())
}

/// Exit code for files that could not be read as YAML.
const EXIT_UNREADABLE: u8 = 2;
/// Exit code for manifests with errors.
const EXIT_INVALID: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate(&args),
        Command::Crds => crds(),
        Command::Plan(args) => plan(&args),
        Command::Sim(command) => sim::sim(&command),
        Command::Tune(args) => tune::tune(&args),
        Command::Check(args) => tune::check(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let options = Options {
        check_context: CheckContext {
            mesh_provider: args.mesh_provider,
        },
    };
    let report = weir_validate::validate_paths(&args.files, &options);
    let render = RenderOptions {
        color: args.color,
        quiet: args.quiet,
        verbose: args.verbose,
    };
    let output = match args.format {
        Format::Human => weir_validate::render_human(&report, &render),
        Format::Json => weir_validate::render_json(&report, &render),
    };
    write_stdout(&output)?;
    Ok(exit_code(&report))
}

fn exit_code(report: &Report) -> ExitCode {
    if report.has_unreadable_files() {
        ExitCode::from(EXIT_UNREADABLE)
    } else if report.has_errors() {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

fn plan(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let options = Options {
        check_context: CheckContext {
            mesh_provider: args.mesh_provider,
        },
    };
    // Plan only what `weir validate` accepts: the engine would refuse the rest.
    let report = weir_validate::validate_paths(&[&args.file], &options);
    if report.has_errors() || report.has_unreadable_files() {
        let render = RenderOptions {
            quiet: true,
            ..RenderOptions::default()
        };
        write_stdout(&weir_validate::render_human(&report, &render))?;
        return Ok(exit_code(&report));
    }
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let canary = weir_validate::canaries(&text)
        .into_iter()
        .next()
        .with_context(|| format!("{} has no Canary", args.file.display()))?;
    let plan_options = weir_sim::PlanOptions {
        failing_intervals: args.fail_intervals.iter().copied().collect(),
        config: weir_engine_config(args.mesh_provider),
        ..weir_sim::PlanOptions::default()
    };
    let plan = weir_sim::plan(&canary, &plan_options)?;
    let stem = format!(
        "{}-plan",
        canary.metadata.name.as_deref().unwrap_or("canary")
    );
    let written = weir_sim::report::write(&plan, &args.out, &stem)?;
    let files: Vec<String> = written
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    write_stdout(&format!(
        "{}\nwrote {}\n",
        weir_sim::report::to_table(&plan),
        files.join(", ")
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn weir_engine_config(mesh_provider: Provider) -> weir_sim::EngineConfig {
    weir_sim::EngineConfig {
        mesh_provider,
        ..weir_sim::EngineConfig::default()
    }
}

fn crds() -> anyhow::Result<ExitCode> {
    write_stdout(&weir_api::crd::to_yaml())?;
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")
}
