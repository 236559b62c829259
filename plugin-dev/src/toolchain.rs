//! The external programs a build runs: found on `PATH` (a missing one is an
//! error naming the package that provides it and how to install it), run
//! with their output captured for the error message.

use std::path::{Path, PathBuf};
use std::process::Command;

use tracing::debug;

use crate::{DevError, Language};

/// The program, the language it builds, and how to install it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The executable's name.
    pub program: &'static str,
    /// The language it serves.
    pub language: Language,
    /// The command that installs it.
    pub install: &'static str,
}

/// Rust: cargo and the `wasm32-wasip2` target.
pub const CARGO: Tool = Tool {
    program: "cargo",
    language: Language::Rust,
    install: "curl https://sh.rustup.rs -sSf | sh && rustup target add wasm32-wasip2",
};

/// C: Debian's clang with the WebAssembly sysroot and runtime.
pub const CLANG: Tool = Tool {
    program: "clang",
    language: Language::C,
    install: "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32",
};

/// JavaScript: componentize-qjs (QuickJS) from npm.
pub const COMPONENTIZE_QJS: Tool = Tool {
    program: "componentize-qjs",
    language: Language::Js,
    install: "npm install -g componentize-qjs@0.4.5",
};

/// Python: componentize-py from PyPI.
pub const COMPONENTIZE_PY: Tool = Tool {
    program: "componentize-py",
    language: Language::Python,
    install: "pip install componentize-py==0.25.1",
};

impl Tool {
    /// The tool for `language`.
    pub fn for_language(language: Language) -> Tool {
        match language {
            Language::Rust => CARGO,
            Language::C => CLANG,
            Language::Js => COMPONENTIZE_QJS,
            Language::Python => COMPONENTIZE_PY,
        }
    }

    /// Where the program is, or an error saying how to install it.
    pub fn locate(&self) -> Result<PathBuf, DevError> {
        which::which(self.program).map_err(|_| DevError::MissingToolchain {
            program: self.program.into(),
            language: self.language.to_string(),
            install: self.install.into(),
        })
    }

    /// A command running this tool in `dir`.
    pub fn command(&self, dir: &Path) -> Result<Command, DevError> {
        let mut command = Command::new(self.locate()?);
        command.current_dir(dir);
        Ok(command)
    }
}

/// Runs `command`, returning its stdout; a failure carries everything it
/// printed.
pub fn run(step: &str, command: Command) -> Result<Vec<u8>, DevError> {
    run_with(step, command, true)
}

/// Runs `command`, whose stdout is for galleon (cargo's JSON messages),
/// returning it; a failure carries what it printed for people (stderr:
/// cargo's rendered diagnostics), not the machine output.
pub fn run_machine_readable(step: &str, command: Command) -> Result<Vec<u8>, DevError> {
    run_with(step, command, false)
}

fn run_with(step: &str, mut command: Command, show_stdout: bool) -> Result<Vec<u8>, DevError> {
    debug!(?command, "running");
    let output = command.output().map_err(|e| DevError::Toolchain {
        step: step.into(),
        status: "not started".into(),
        output: e.to_string(),
    })?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let mut printed = String::from_utf8_lossy(&output.stderr).into_owned();
    if show_stdout {
        printed.push_str(&String::from_utf8_lossy(&output.stdout));
    }
    Err(DevError::Toolchain {
        step: step.into(),
        status: output.status.to_string(),
        output: printed.trim_end().to_owned(),
    })
}
