//! `galleon version`: what this binary is, for bug reports and for matching
//! plugins to it.

use std::io::Write;
use std::process::ExitCode;

/// Prints the version, the plugin contract and the git commit on stdout.
pub(super) fn print() -> ExitCode {
    let text = format!(
        "galleon {}\nplugin contract {}@{}\ngit commit {}\n",
        env!("CARGO_PKG_VERSION"),
        galleon_plugin_host::WIT_PACKAGE,
        galleon_plugin_host::WIT_VERSION,
        galleon_hub::COMMIT,
    );
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
