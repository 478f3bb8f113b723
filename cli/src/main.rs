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
