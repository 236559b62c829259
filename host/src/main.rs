//! The `galleon` command: its command line ([`cli`]) over the hub library.
//! Errors are `anyhow` here, at the edge, and typed everywhere below.

mod cli;

use std::process::ExitCode;

/// jemalloc, with background threads that return freed memory to the system
/// (glibc's allocator kept what a thousand departed sinks had used).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    cli::main()
}
