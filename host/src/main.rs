//! The `galleon` command: its command line ([`cli`]) over the hub library.
//! Errors are `anyhow` here, at the edge, and typed everywhere below.

mod allocator;
mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
