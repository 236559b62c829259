//! What can go wrong while scaffolding, building, testing or inspecting.

use std::path::PathBuf;

/// An error of the plugin workflow; its message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The manifest is missing or malformed.
    #[error("{path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A toolchain program is not installed.
    #[error(
        "{program} is not installed (needed to build {language} plugins); install it with:\n  {install}"
    )]
    MissingToolchain {
        /// The program looked for on `PATH`.
        program: String,
        /// The plugin language.
        language: String,
        /// The command that installs it.
        install: String,
    },
    /// A toolchain ran and failed.
    #[error("{step} failed ({status}):\n{output}")]
    Toolchain {
        /// What was being done.
        step: String,
        /// The exit status.
        status: String,
        /// What it printed.
        output: String,
    },
    /// Bindings or componentization failed.
    #[error("{step}: {message}")]
    Component {
        /// What was being done.
        step: &'static str,
        /// Why it failed.
        message: String,
    },
    /// The project cannot be created there.
    #[error("{0}")]
    Scaffold(String),
    /// The compiled plugin failed to load.
    #[error(transparent)]
    Plugin(#[from] galleon_plugin_host::PluginError),
}

impl DevError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
