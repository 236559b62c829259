//! The `galleon` command.

use std::process::ExitCode;

fn main() -> ExitCode {
    galleon::cli::main()
}
