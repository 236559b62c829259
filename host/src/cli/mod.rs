//! The `galleon` command line: argument parsing, logging set-up and the
//! subcommands. This is the edge of the program, so errors are `anyhow`.

mod address;
mod admin_client;
mod analyze;
mod canary;
mod complete;
mod history;
mod output;
mod plugin;
mod preview;
mod serve;
mod status;
mod validate;
mod version;
mod watch;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use tracing_subscriber::EnvFilter;

/// galleon: a WebAssembly-extensible configuration hub (MCP and MCP over
/// xDS source).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// How logs are written to stderr.
    #[arg(long, global = true, value_enum, env = "GALLEON_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Log line formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub: read sources, run the pipeline, serve MCP and MCP over xDS.
    Serve(serve::ServeArgs),
    /// Subscribe as a sink (MCP, or xDS with --xds) and print every push as JSON.
    Watch(watch::WatchArgs),
    /// Print every sink's sync state and the current input problems (from
    /// a running hub's admin server).
    #[command(
        after_help = "Exit status: 0 every sink synced and no error in the input \
        (warnings are printed, not counted); 3 a sink NACKed or is behind; 4 the input has \
        errors; 1 the admin server could not be read; 2 a usage error."
    )]
    Status(status::StatusArgs),
    /// List what a running hub published: every collection's newest version,
    /// or one collection's kept versions with their causes and the sinks'
    /// ACKs and NACKs.
    #[command(after_help = HISTORY_EXIT)]
    History(history::HistoryArgs),
    /// Compare two published versions of a collection (default: the one
    /// before the newest with the newest), resource by resource, as a YAML
    /// diff (`-o json`: with JSON Patches).
    #[command(after_help = HISTORY_EXIT)]
    Diff(history::DiffArgs),
    /// Serve an earlier version of a collection (`--to`, optionally `--for`
    /// a while) or the newest again (`--release`); the hub's sources go on
    /// being read. Needs the admin server on loopback.
    #[command(after_help = HISTORY_EXIT)]
    Rollback(history::RollbackArgs),
    /// Write plugins: scaffold, build, test against golden fixtures, inspect;
    /// and on a running hub preview a build, promote or abort a canary.
    Plugin(plugin::PluginArgs),
    /// Check resources as `serve` would (names, kinds, CRD schemas and CEL
    /// rules) without a server; exit 1 when something is invalid.
    Validate(validate::ValidateArgs),
    /// Run Istio's analyzers (what `istioctl analyze` runs) over files; exit
    /// 79 when a message reaches --failure-threshold.
    Analyze(analyze::AnalyzeArgs),
    /// Print the version, the plugin contract version and the git commit
    /// (and, with --admin-addr, the running hub's).
    Version(version::VersionArgs),
    /// Print a shell completion script for SHELL (or source `COMPLETE=SHELL
    /// galleon` for completions that also name a running hub's collections).
    Completions {
        /// The shell.
        shell: Shell,
    },
}

/// The exit codes of `history`, `diff` and `rollback`.
const HISTORY_EXIT: &str = "Exit status: 0 done; 1 the admin server could not be read or \
    refused (an unknown collection or version, a write over a non-loopback admin port); \
    2 a usage error.";

/// The log directive that leaves kube-rs's per-request errors out.
const KUBE_CLIENT_QUIET: &str = "kube_client::client::builder=off";

/// Runs the command line; logs go to stderr (`RUST_LOG`, default `info`).
pub(crate) fn main() -> ExitCode {
    // With COMPLETE=SHELL set, this answers the shell's completion request
    // and exits; otherwise it returns at once.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let cli = Cli::parse();
    // `validate` prints its findings; its progress and the ledger's own
    // warnings (the same findings) would only repeat them.
    // `analyze` prints its messages and warns of documents it could not
    // read; progress lines would only be noise.
    let default = match cli.command {
        Command::Validate(_) => "error",
        Command::Analyze(_) => "warn",
        _ => "info",
    };
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| default.to_owned());
    let mut filter = EnvFilter::new(&directives);
    // kube-rs logs every failed request at ERROR; the sources report each
    // outage once, with what stays served. Naming kube_client in RUST_LOG
    // brings its lines back.
    if !directives.contains("kube_client") {
        filter = filter.add_directive(KUBE_CLIENT_QUIET.parse().expect("a valid directive"));
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(colour()).init(),
        LogFormat::Json => logs.json().init(),
    }
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "galleon",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Plugin(args) => {
            // Plugin calls run outside any async runtime.
            return match plugin::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("{}", report(&error));
                    ExitCode::FAILURE
                }
            };
        }
        Command::Serve(_)
        | Command::Watch(_)
        | Command::Status(_)
        | Command::History(_)
        | Command::Diff(_)
        | Command::Rollback(_)
        | Command::Validate(_)
        | Command::Analyze(_)
        | Command::Version(_) => {}
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let done = |result: anyhow::Result<()>| result.map(|()| ExitCode::SUCCESS);
        match cli.command {
            Command::Serve(args) => done(serve::run(args).await),
            Command::Watch(args) => done(watch::run(args).await),
            Command::Status(args) => status::run(args).await,
            Command::History(args) => done(history::history(args).await),
            Command::Diff(args) => done(history::diff(args).await),
            Command::Rollback(args) => done(history::rollback(args).await),
            Command::Validate(args) => validate::run(args).await,
            Command::Analyze(args) => analyze::run(args).await,
            Command::Version(args) => version::run(args).await,
            Command::Completions { .. } | Command::Plugin(_) => Ok(ExitCode::SUCCESS),
        }
    });
    // Blocking work still running (a file being parsed, a plugin being
    // compiled) must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{}", report(&error));
            ExitCode::FAILURE
        }
    }
}

/// Whether log lines are coloured: on a terminal, unless `NO_COLOR` is set
/// (<https://no-color.org>).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `error` and its causes, each said once: many errors already end their
/// own text with their cause, so a cause the text so far holds is skipped.
fn report(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::report;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot listen on 127.0.0.1:9901: {source}")]
    struct Bind {
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::from_raw_os_error(98);
        let error = anyhow::Error::new(Bind { source: io }).context("starting the hub");
        let text = report(&error);
        assert_eq!(text.matches("os error 98").count(), 1, "{text}");
        assert!(
            text.starts_with("starting the hub: cannot listen on"),
            "{text}"
        );
    }
}
