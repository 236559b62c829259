//! The plugin host: transformers and validators as sandboxed WebAssembly
//! components implementing the `galleon:plugin` WIT contract
//! (`plugin-sdk/wit/plugin.wit`), including the built-in ones bundled into
//! the binary.
//!
//! One [`PluginEngine`] compiles each component once (with an on-disk cache
//! of precompiled artifacts) and drives epoch deadlines. Each binding is a
//! versioned slot; each pipeline session gets its own instances. A
//! transformer instance is long-lived and stateful, called one event at a
//! time; the host keeps its inputs and outputs, so a failed instance is
//! replaced by a fresh one with the inputs replayed, and a new version is
//! swapped in by replaying, diffing and emitting only what changed.

mod binding;
mod bindings;
mod builtin;
mod component;
mod convert;
mod engine;
mod epoch;
mod error;
mod harness;
mod instance;
mod private_dir;
mod retry;
mod sandbox;
mod slot;
mod transformer;
mod validator;

pub use binding::{BindingConfig, PluginHost, PluginKind, PluginsConfig};
pub use bindings::{WIT_PACKAGE, WIT_VERSION};
pub use builtin::{BuiltinConfig, builtins, default_builtin_dir};
pub use component::Description;
pub use engine::{Compiled, PluginEngine, default_cache_dir};
pub use epoch::EPOCH_TICK;
pub use error::PluginError;
pub use harness::WasmUnderTest;
pub use private_dir::{PrivateDirError, ensure_private};
pub use sandbox::Limits;
pub use transformer::{WasmTransformer, WasmTransformerFactory};
pub use validator::{WasmValidator, WasmValidatorFactory};
