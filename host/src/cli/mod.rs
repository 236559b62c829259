//! The `galleon` command line: argument parsing, logging set-up and the
//! subcommands. This is the edge of the program, so errors are `anyhow`.

mod serve;
mod watch;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// galleon: a WebAssembly-extensible configuration hub (MCP source).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub: read sources, run the pipeline, serve MCP.
    Serve(serve::ServeArgs),
    /// Subscribe to collections as an MCP sink and print every push as JSON.
    Watch(watch::WatchArgs),
}

/// Runs the command line; logs go to stderr (`RUST_LOG`, default `info`).
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Watch(args) => watch::run(args).await,
        }
    });
    // Blocking work still running (a file being parsed, a plugin being
    // compiled) must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}
