//! Go-style command-line flags for weir's binaries.
//!
//! Flagger's binaries parse flags with Go's `flag` package, which accepts
//! `-port=8080`, `-port 8080`, `--port=8080` and `--port 8080`, and boolean
//! flags as `-enable-leader-election` or `-enable-leader-election=false`.
//! Existing Deployments and Helm charts pass the single-dash forms. clap
//! knows only `--port`, so [`normalize`] rewrites the single-dash spelling
//! of every flag a clap command declares before clap parses the arguments.
//!
//! ```text
//!   ["weir-controller", "-mesh-provider=linkerd", "-threadiness", "4", "--", "-x"]
//!        └─ normalize(&command, args) ─▶
//!   ["weir-controller", "--mesh-provider=linkerd", "--threadiness", "4", "--", "-x"]
//! ```
//!
//! Single-dash arguments that are not flag names are left alone: they are
//! values (a negative number) or mistakes clap reports.

use std::ffi::OsString;

/// Rewrites Go's single-dash flags to clap's double-dash form for every long
/// flag `command` declares (and `help`, which Go's `flag` prints for `-h`
/// and `-help`). The program name and everything after `--` are kept as
/// they are.
pub fn normalize<I, T>(command: &clap::Command, args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let names: Vec<&str> = command
        .get_arguments()
        .filter_map(clap::Arg::get_long)
        .chain(["help", "version"])
        .collect();
    let mut normalized = Vec::new();
    let mut after_terminator = false;
    for (index, argument) in args.into_iter().map(Into::into).enumerate() {
        if index == 0 || after_terminator {
            normalized.push(argument);
            continue;
        }
        if argument == "--" {
            after_terminator = true;
            normalized.push(argument);
            continue;
        }
        let rewritten = argument.to_str().and_then(|text| {
            let flag = text.strip_prefix('-')?;
            if flag.starts_with('-') {
                return None;
            }
            let name = flag.split_once('=').map_or(flag, |(name, _)| name);
            names
                .contains(&name)
                .then(|| OsString::from(format!("-{text}")))
        });
        normalized.push(rewritten.unwrap_or(argument));
    }
    normalized
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and
/// `0 f F FALSE false False`; anything else is `None`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A clap value parser for Go boolean flags; pair it with
/// `num_args = 0..=1, default_missing_value = "true"` so that a bare
/// `-flag` means true, as in Go.
pub fn bool_value(text: &str) -> Result<bool, String> {
    parse_bool(text).ok_or_else(|| format!("invalid boolean {text:?}: expected true or false"))
}

#[cfg(test)]
mod tests {
    use clap::{Arg, ArgAction, Command};

    use super::*;

    fn command() -> Command {
        Command::new("weir")
            .arg(Arg::new("port").long("port"))
            .arg(Arg::new("mesh-provider").long("mesh-provider"))
            .arg(
                Arg::new("enable-leader-election")
                    .long("enable-leader-election")
                    .num_args(0..=1)
                    .default_missing_value("true")
                    .value_parser(bool_value)
                    .action(ArgAction::Set),
            )
    }

    fn strings(arguments: &[OsString]) -> Vec<String> {
        arguments
            .iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn every_go_spelling_of_a_known_flag_becomes_clap_spelling() {
        let normalized = normalize(
            &command(),
            [
                "weir",
                "-port=8080",
                "-mesh-provider",
                "linkerd",
                "--port",
                "9",
            ],
        );
        assert_eq!(
            strings(&normalized),
            [
                "weir",
                "--port=8080",
                "--mesh-provider",
                "linkerd",
                "--port",
                "9"
            ]
        );
    }

    #[test]
    fn unknown_names_values_and_arguments_after_the_terminator_are_kept() {
        let normalized = normalize(&command(), ["-port", "-port", "-1", "-nope", "--", "-port"]);
        assert_eq!(
            strings(&normalized),
            ["-port", "--port", "-1", "-nope", "--", "-port"]
        );
    }

    #[test]
    fn a_bare_boolean_flag_is_true_and_false_can_be_spelt_out() {
        let parse = |args: &[&str]| {
            command()
                .try_get_matches_from(normalize(&command(), args.iter().copied()))
                .expect("parses")
                .get_one::<bool>("enable-leader-election")
                .copied()
        };
        assert_eq!(parse(&["weir", "-enable-leader-election"]), Some(true));
        assert_eq!(
            parse(&["weir", "-enable-leader-election=false"]),
            Some(false)
        );
        assert_eq!(parse(&["weir", "-enable-leader-election=T"]), Some(true));
    }

    #[test]
    fn go_booleans_parse_as_strconv_parse_bool() {
        for text in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(text), Some(true), "{text}");
        }
        for text in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(text), Some(false), "{text}");
        }
        for text in ["", "yes", "tRUE", " true"] {
            assert_eq!(parse_bool(text), None, "{text}");
        }
        assert!(bool_value("maybe").is_err());
    }
}
