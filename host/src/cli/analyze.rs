//! `galleon analyze [PATH…]`: Istio's analyzers (and any analyzer plugin
//! the configuration binds) over files, as `istioctl analyze` runs them.
//! Prints each message (`Error [IST0101] (VirtualService bogus.default
//! vs.yaml:12) Referenced gateway not found: "x"`), or with `-o json|yaml`
//! the list of them. Exit 79 (istioctl's code) when a message reaches
//! `--failure-threshold`, 0 otherwise, 2 on a usage or set-up error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use galleon_hub::admin::api::{AnalysisMessage, AnalyzerListing};
use galleon_hub::analysis::{Suppression, line, rank};
use galleon_hub::config::HubConfig;
use galleon_hub::{AnalyzeRequest, analyze, list_analyzers};
use galleon_mcp::quote::escaped;

use super::output::{self, Format};

/// Exit code: a message reached the failure threshold (istioctl's).
const FAILED: u8 = 79;
/// Exit code: the command could not run.
const SETUP: u8 = 2;
/// The most characters of a message a text line shows.
const SHOWN: usize = 4_096;

/// The least serious level that fails the command.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
enum Threshold {
    Info,
    Warning,
    #[default]
    Error,
}

impl Threshold {
    fn rank(self) -> u8 {
        match self {
            Threshold::Info => rank("Info"),
            Threshold::Warning => rank("Warning"),
            Threshold::Error => rank("Error"),
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct AnalyzeArgs {
    /// Files or directories of YAML/JSON resources (multi-document YAML).
    #[arg(required_unless_present = "list_analyzers")]
    paths: Vec<PathBuf>,
    /// A mesh configuration (MeshConfig YAML) to analyze with.
    #[arg(long)]
    mesh_config: Option<PathBuf>,
    /// Run only this analyzer (repeatable; see --list-analyzers).
    #[arg(long = "analyzer", value_name = "NAME")]
    analyzers: Vec<String>,
    /// List the analyzers and exit.
    #[arg(long)]
    list_analyzers: bool,
    /// Hide messages: `CODE=Kind name.namespace`, `*` a glob (repeatable).
    #[arg(short = 'S', long, value_name = "PATTERN")]
    suppress: Vec<String>,
    /// The least serious level that makes the command fail (exit 79).
    #[arg(long, value_enum, default_value_t)]
    failure_threshold: Threshold,
    /// A hub configuration to take kinds and analyzer plugins from.
    #[arg(long, env = "GALLEON_CONFIG")]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
}

pub(super) async fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    match analyzed(&args).await {
        Ok(code) => Ok(code),
        Err(error) => {
            tracing::error!("{}", super::report(&error));
            Ok(ExitCode::from(SETUP))
        }
    }
}

async fn analyzed(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let suppressions = args
        .suppress
        .iter()
        .map(|p| Suppression::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let config = match &args.config {
        Some(path) => HubConfig::load(path)?,
        None => HubConfig::default(),
    };
    let builtins = galleon_plugin_artifacts::builtins();
    if args.list_analyzers {
        let listing = list_analyzers(&config, &builtins).await?;
        output::print(args.output, &listing, |l: &Vec<_>| render_listing(l))?;
        return Ok(ExitCode::SUCCESS);
    }
    let request = AnalyzeRequest {
        paths: args.paths.clone(),
        mesh_config: args.mesh_config.clone(),
        analyzers: args.analyzers.clone(),
    };
    let analysis = analyze(&config, &builtins, &request).await?;
    for problem in &analysis.problems {
        tracing::warn!(
            "{}: {} (not analyzed)",
            escaped(&problem.location, SHOWN),
            escaped(&problem.message, SHOWN)
        );
    }
    // Files as the user named them: relative to where the command runs.
    let here = std::env::current_dir().ok();
    let shown: Vec<AnalysisMessage> = analysis
        .messages
        .into_iter()
        .filter(|m| !suppressions.iter().any(|s| s.hides(m)))
        .map(|mut m| {
            if let (Some(origin), Some(here)) = (m.origin.as_mut(), &here)
                && let Ok(relative) = std::path::Path::new(&origin.file).strip_prefix(here)
            {
                origin.file = relative.display().to_string();
            }
            m
        })
        .collect();
    output::print(args.output, &shown, |m: &Vec<_>| render(m))?;
    let failed = shown
        .iter()
        .any(|m| rank(&m.level) >= args.failure_threshold.rank());
    Ok(ExitCode::from(if failed { FAILED } else { 0 }))
}

fn render(messages: &[AnalysisMessage]) -> String {
    if messages.is_empty() {
        return "\u{2714} No validation issues found when analyzing the given files.\n".into();
    }
    // Names and values come from the user's files: escaped, so a newline
    // in one cannot forge a line a script reads.
    messages
        .iter()
        .map(|m| escaped(&line(m), SHOWN) + "\n")
        .collect()
}

fn render_listing(listing: &[AnalyzerListing]) -> String {
    let mut text = format!("Available analyzers ({}):\n", listing.len());
    for analyzer in listing {
        text += &format!("  {}: {}\n", analyzer.name, analyzer.description);
    }
    text
}
