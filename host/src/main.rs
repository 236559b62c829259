//! The `galleon` command.

use std::process::ExitCode;

/// jemalloc, with background threads that return freed memory to the system
/// (glibc's allocator kept what a thousand departed sinks had used).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    galleon::cli::main()
}
