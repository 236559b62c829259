//! `galleon plugin`: the plugin author's commands — `new`, `build`, `test`
//! and `inspect` — over [`galleon_plugin_dev`], and `preview`, `promote`
//! and `abort` against a running hub ([`preview`](super::preview),
//! [`canary`](super::canary)). They run without the async
//! runtime (`preview` starts its own) and print their results to stdout.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use galleon_mcp::quote::escaped;
use serde::Serialize;

use super::output::{self, Format};
use galleon_plugin_dev::manifest::Project;
use galleon_plugin_dev::{Kind, Language, build, fixtures, inspect, scaffold};
use galleon_plugin_host::{Limits, PluginEngine, default_cache_dir};

#[derive(Debug, Args)]
pub(super) struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Create a plugin project: sources, the WIT contract, a build manifest,
    /// golden fixtures and a README.
    New {
        /// The plugin's name (and the directory created, unless --dir).
        name: String,
        /// The language to write it in.
        #[arg(long, value_enum)]
        lang: Lang,
        /// What it does.
        #[arg(long, value_enum, default_value_t = PluginKind::Transformer)]
        kind: PluginKind,
        /// Where to create it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build a project into a component with its language's toolchain.
    Build {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where to write the component (default: target/NAME.wasm in the project).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Run a project's golden fixtures against its compiled component.
    Test {
        /// A project directory (its built component and fixtures), or a
        /// component file (with --fixtures).
        #[arg(default_value = ".")]
        path: PathBuf,
        /// The fixture directory (default: the project's).
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Rewrite the golden files with the current outputs.
        #[arg(long)]
        bless: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Show a compiled plugin's contract, declaration, imports and size,
    /// and whether it loads under the given limits.
    Inspect {
        /// The component file.
        file: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Run a candidate build of a transformer on a running hub's live
    /// inputs beside the current build, serving nothing: print the output
    /// diff it would cause, what it logged and its cost per event.
    Preview(super::preview::PreviewArgs),
    /// Make a running hub's canary build the binding's build for every
    /// sink.
    Promote(super::canary::CanaryArgs),
    /// Drop a running hub's canary: its sinks get the current build's
    /// outputs again.
    Abort(super::canary::CanaryArgs),
}

/// A plugin's limits, as a binding sets them.
#[derive(Debug, Args)]
struct LimitArgs {
    /// Longest one call may run (a binding's `deadline`).
    #[arg(long, value_parser = humantime::parse_duration)]
    deadline: Option<Duration>,
    /// Most memory an instance may grow to, in MiB (a binding's `memoryMib`).
    #[arg(long)]
    memory_mib: Option<usize>,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            deadline: self.deadline.unwrap_or(defaults.deadline),
            memory: self.memory_mib.map_or(defaults.memory, |mib| mib << 20),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Lang {
    Rust,
    C,
    Js,
    Python,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PluginKind {
    Transformer,
    Validator,
    Analyzer,
}

/// Runs a `galleon plugin` command.
pub(super) fn run(args: PluginArgs) -> anyhow::Result<()> {
    match args.command {
        PluginCommand::New {
            name,
            lang,
            kind,
            dir,
        } => new(&name, lang, kind, dir),
        PluginCommand::Build { dir, out } => {
            let built = build::build(&dir, out.as_deref())?;
            println_out(format_args!(
                "built {} ({} bytes) in {:.1?}",
                built.component.display(),
                built.size,
                built.took
            ))
        }
        PluginCommand::Test {
            path,
            fixtures,
            bless,
            limits,
        } => test(&path, fixtures, bless, limits.limits()),
        PluginCommand::Inspect {
            file,
            limits,
            output,
        } => print_inspection(&file, limits.limits(), output),
        PluginCommand::Preview(args) => super::preview::run(args),
        PluginCommand::Promote(args) => super::canary::run(args, true),
        PluginCommand::Abort(args) => super::canary::run(args, false),
    }
}

fn new(name: &str, lang: Lang, kind: PluginKind, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let language = match lang {
        Lang::Rust => Language::Rust,
        Lang::C => Language::C,
        Lang::Js => Language::Js,
        Lang::Python => Language::Python,
    };
    let kind = match kind {
        PluginKind::Transformer => Kind::Transformer,
        PluginKind::Validator => Kind::Validator,
        PluginKind::Analyzer => Kind::Analyzer,
    };
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    scaffold::new(&dir, name, language, kind)?;
    println_out(format_args!(
        "created the {language} {kind} {name} in {}; next:\n  cd {} && galleon plugin build && galleon plugin test",
        dir.display(),
        dir.display()
    ))
}

fn test(
    path: &Path,
    fixtures_dir: Option<PathBuf>,
    bless: bool,
    limits: Limits,
) -> anyhow::Result<()> {
    let (component, fixtures_dir) = if path.is_dir() {
        let project = Project::open(path)?;
        let component = project.default_output();
        if !component.exists() {
            bail!(
                "{} is not built yet: run `galleon plugin build` first",
                component.display()
            );
        }
        (
            component,
            fixtures_dir.unwrap_or_else(|| project.fixtures_dir()),
        )
    } else {
        let fixtures_dir = fixtures_dir.context("testing a component file needs --fixtures DIR")?;
        (path.to_owned(), fixtures_dir)
    };
    let engine = PluginEngine::new(default_cache_dir())?;
    let outcomes = fixtures::test(&engine, &component, &fixtures_dir, limits, bless)?;
    let mut failed = 0;
    for outcome in &outcomes {
        match &outcome.result {
            Ok(()) if bless => println_out(format_args!("blessed {}", outcome.fixture.display()))?,
            Ok(()) => println_out(format_args!("ok      {}", outcome.fixture.display()))?,
            Err(difference) => {
                failed += 1;
                println_out(format_args!(
                    "FAILED  {}\n{difference}",
                    outcome.fixture.display()
                ))?;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} fixtures failed", outcomes.len());
    }
    println_out(format_args!("{} fixtures passed", outcomes.len()))
}

/// What `galleon plugin inspect` reports about a component.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspection {
    file: String,
    size: u64,
    compile_ms: f64,
    /// `galleon:plugin/<interface>@<version>`, if it exports one.
    contract: Option<String>,
    /// Whether this galleon serves that contract.
    served: bool,
    summary: Option<String>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// An analyzer plugin's analyzers.
    analyzers: Vec<String>,
    exports: Vec<String>,
    imports: Vec<String>,
    deadline_ms: u128,
    memory_mib: usize,
    /// How long loading took, if it loads.
    load_ms: Option<f64>,
    /// Why it does not load, if it does not.
    load_error: Option<String>,
}

fn print_inspection(file: &Path, limits: Limits, format: Format) -> anyhow::Result<()> {
    let report = inspect::inspect(file, limits)?;
    // Everything from the component is escaped and bounded: it cannot forge
    // a line, in any format.
    let names = |names: &[String]| names.iter().map(|n| escaped(n, NAME_MAX)).collect();
    let description = report.description.as_ref();
    let collections = |collections: &[galleon_pipeline::event::Collection]| {
        collections.iter().map(|c| escaped(c, NAME_MAX)).collect()
    };
    let inspection = Inspection {
        file: report.path.display().to_string(),
        size: report.size,
        compile_ms: report.compile.as_secs_f64() * 1e3,
        contract: report
            .contract
            .as_ref()
            .map(|c| format!("galleon:plugin/{}@{}", c.interface, c.version)),
        served: report.contract.as_ref().is_some_and(|c| c.served()),
        summary: description.map(|d| escaped(&d.summary, SUMMARY_MAX)),
        inputs: description.map_or_else(Vec::new, |d| collections(&d.inputs)),
        outputs: description.map_or_else(Vec::new, |d| collections(&d.outputs)),
        analyzers: names(&report.analyzers),
        exports: names(&report.exports),
        imports: names(&report.imports),
        deadline_ms: report.limits.deadline.as_millis(),
        memory_mib: report.limits.memory >> 20,
        load_ms: report.load.as_ref().ok().map(|t| t.as_secs_f64() * 1e3),
        load_error: report.load.as_ref().err().cloned(),
    };
    output::print(format, &inspection, render_inspection)?;
    if inspection.load_error.is_some() {
        bail!("{} would not load", file.display());
    }
    Ok(())
}

fn render_inspection(i: &Inspection) -> String {
    let mut text = format!(
        "file:      {}\nsize:      {} bytes\ncompiled:  in {:.1}ms\n",
        i.file, i.size, i.compile_ms
    );
    match &i.contract {
        Some(contract) => {
            let served = if i.served {
                "served by this galleon"
            } else {
                "NOT served by this galleon"
            };
            text.push_str(&format!("contract:  {contract} ({served})\n"));
        }
        None => text.push_str("contract:  none (not a galleon plugin)\n"),
    }
    if let Some(summary) = &i.summary {
        text.push_str(&format!(
            "summary:   {summary}\ninputs:    {}\n",
            i.inputs.join(", ")
        ));
        // An analyzer plugin reports messages, not collections.
        if i.analyzers.is_empty() {
            text.push_str(&format!("outputs:   {}\n", i.outputs.join(", ")));
        }
    }
    if !i.analyzers.is_empty() {
        text.push_str(&format!("analyzers: {}\n", i.analyzers.join(", ")));
    }
    text.push_str(&format!("exports:   {}\nimports:\n", i.exports.join(", ")));
    for import in &i.imports {
        text.push_str(&format!("  {import}\n"));
    }
    let limits = format!("deadline {}ms, memory {} MiB", i.deadline_ms, i.memory_mib);
    match (&i.load_ms, &i.load_error) {
        (_, Some(why)) => text.push_str(&format!("loads:     NO, under {limits}: {why}\n")),
        (Some(took), None) => {
            text.push_str(&format!("loads:     yes, under {limits} ({took:.1}ms)\n"))
        }
        (None, None) => {}
    }
    text
}

/// The longest a component's summary is printed.
const SUMMARY_MAX: usize = 1_000;
/// The longest a collection or interface name from a component is printed.
const NAME_MAX: usize = 200;

fn println_out(line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{line}").context("writing to stdout")
}
