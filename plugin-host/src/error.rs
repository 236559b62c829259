//! Why a plugin could not be loaded or called.

use std::path::PathBuf;

use super::failure::Failure;
use super::from_wit::OutputError;

/// A plugin failure, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The wasmtime engine could not be set up.
    #[error("plugin engine: {0}")]
    Engine(String),
    /// A directory plugins are written to cannot be trusted.
    #[error(transparent)]
    PrivateDir(#[from] super::private_dir::PrivateDirError),
    /// A bundled plugin could not be written where it is bound from.
    #[error("cannot write plugin {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The plugin file could not be read.
    #[error("cannot read plugin {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid component.
    #[error("cannot compile plugin {path}: {message}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// The compiler's reason.
        message: String,
    },
    /// The component does not implement a world this host serves.
    #[error("{path}: {message}")]
    World {
        /// The file.
        path: PathBuf,
        /// Which world and version it has, and which this host serves.
        message: String,
    },
    /// The component could not be instantiated (e.g. an import the host does
    /// not provide).
    #[error("cannot instantiate plugin {name}: {failure}")]
    Instantiate {
        /// The binding's name.
        name: String,
        /// The reason.
        failure: Failure,
    },
    /// The plugin refused its configuration.
    #[error("plugin {name} rejected its configuration: {message}")]
    Configure {
        /// The binding's name.
        name: String,
        /// The plugin's message.
        message: String,
    },
    /// An analyzer said it could not analyze a batch, or answered beyond
    /// the contract.
    #[error("analyzer {name} failed: {message}")]
    Analyze {
        /// The binding's name.
        name: String,
        /// Why.
        message: String,
    },
    /// A call trapped, ran past its deadline or ran out of memory.
    #[error("plugin {name} failed in {call}: {failure}")]
    Call {
        /// The binding's name.
        name: String,
        /// The export called.
        call: &'static str,
        /// What went wrong.
        failure: Failure,
    },
    /// A call returned output that breaks the contract.
    #[error("plugin {name} failed in {call}: {error}")]
    Output {
        /// The binding's name.
        name: String,
        /// The export called.
        call: &'static str,
        /// What is wrong with the output.
        error: OutputError,
    },
    /// The plugin's description does not fit its binding.
    #[error("plugin {name}: {message}")]
    Binding {
        /// The binding's name.
        name: String,
        /// What does not fit.
        message: String,
    },
}
