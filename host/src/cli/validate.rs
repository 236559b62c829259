//! `galleon validate [PATH…]`: what `serve` would refuse, without a
//! server, for CI pipelines and pre-commit hooks. Files, directories or `-`
//! (stdin); kinds and CRDs from `--config` and `--crds`. Exit 0 when every
//! resource is valid, 1 when something is not, 2 on a usage or set-up error.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use galleon_hub::config::HubConfig;
use galleon_mcp::quote::escaped;
use galleon_pipeline::diagnostics::Severity;
use serde::Serialize;

use super::output::{self, Format};

/// The most characters of a location or message a text line shows.
const SHOWN: usize = 4_096;

/// Exit code: something is invalid.
const INVALID: u8 = 1;
/// Exit code: the command could not run (a path or CRD that cannot be read).
const SETUP: u8 = 2;

#[derive(Debug, Args)]
pub(super) struct ValidateArgs {
    /// Files or directories of YAML/JSON resources; `-` reads stdin.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// CustomResourceDefinition files or directories to validate with (as
    /// `schemas.crds`).
    #[arg(long)]
    crds: Vec<PathBuf>,
    /// A hub configuration to take kinds and `schemas.crds` from.
    #[arg(long, env = "GALLEON_CONFIG")]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
}

/// What is printed.
#[derive(Serialize)]
struct Outcome {
    valid: bool,
    resources: usize,
    problems: Vec<Finding>,
}

#[derive(Serialize)]
struct Finding {
    location: String,
    severity: &'static str,
    message: String,
}

pub(super) async fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    match validate(&args).await {
        Ok(outcome) => {
            output::print(args.output, &outcome, render)?;
            Ok(ExitCode::from(if outcome.valid { 0 } else { INVALID }))
        }
        Err(error) => {
            tracing::error!("{}", super::report(&error));
            Ok(ExitCode::from(SETUP))
        }
    }
}

async fn validate(args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let mut config = match &args.config {
        Some(path) => HubConfig::load(path)?,
        None => HubConfig::default(),
    };
    config.schemas.crds.extend(args.crds.iter().cloned());
    let stdin = tempfile::tempdir().context("a directory for stdin")?;
    let stdin_file = stdin.path().join("stdin.yaml");
    let mut paths = Vec::new();
    for path in &args.paths {
        if path.as_os_str() == "-" {
            let mut text = Vec::new();
            std::io::stdin()
                .read_to_end(&mut text)
                .context("reading stdin")?;
            std::fs::write(&stdin_file, text).context("buffering stdin")?;
            paths.push(stdin_file.clone());
        } else {
            paths.push(path.clone());
        }
    }
    let findings = galleon_hub::validate(&config, &paths).await?;
    let shown = stdin_file.display().to_string();
    let problems: Vec<Finding> = findings
        .problems
        .into_iter()
        .map(|p| Finding {
            location: p.location.replace(&shown, "-"),
            severity: match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            message: p.message,
        })
        .collect();
    Ok(Outcome {
        valid: problems.iter().all(|p| p.severity != "error"),
        resources: findings.resources,
        problems,
    })
}

fn render(outcome: &Outcome) -> String {
    let mut text = String::new();
    for problem in &outcome.problems {
        let warning = if problem.severity == "error" {
            ""
        } else {
            "warning: "
        };
        // File names and values come from the user's tree: escaped, so a
        // newline in one cannot forge a line a script reads.
        let location = escaped(&problem.location, SHOWN);
        let message = escaped(&problem.message, SHOWN);
        text += &format!("{location}: {warning}{message}\n");
    }
    let errors = outcome
        .problems
        .iter()
        .filter(|p| p.severity == "error")
        .count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    text += &format!(
        "{} read, {} that refuse\n",
        plural(outcome.resources, "resource", "resources"),
        plural(errors, "problem", "problems"),
    );
    text
}
