//! The plugin host: transformers, validators and analyzers as sandboxed
//! WebAssembly components implementing the `galleon:plugin` WIT contract
//! (`plugin-sdk/wit/plugin.wit`, 0.2.0; components built against 0.1.0 still
//! load, through `exports`), including the built-in ones bundled into the
//! binary. It implements `galleon-pipeline`'s transformer, validator and
//! analyzer traits.
//!
//! The modules, from the configuration down: [`config`] is the `plugins`
//! section; the [`PluginHost`] (`host`) assembles [`builtin`] and
//! configured bindings (`binding`), hands the pipeline their factories
//! (`transformer`, `validator`, `analyzer`) and hot-loads new versions into each
//! binding's versioned slot (`slot`). Underneath, `component` loads and
//! checks a file, `engine` compiles it once (with an on-disk cache of
//! precompiled artifacts) and drives epoch deadlines (`epoch`), `sandbox`
//! and `instance` run it under its limits, `crossing` hands a transformer
//! instance events and checks what it answers, `failure` names why a call
//! failed, `stats` counts calls, failures and swaps per binding, `preview` runs a
//! candidate build beside the current one on a binding's live inputs,
//! `canary` holds a binding's candidate served to the sinks it selects, and `to_wit` / `from_wit` convert each direction of the
//! contract. [`harness`] runs one compiled transformer on its own.
//!
//! A transformer instance is long-lived and stateful, called one event at a
//! time; the host keeps its inputs and outputs, so a failed instance is
//! replaced by a fresh one with the inputs replayed, and a new version is
//! swapped in by replaying, diffing and emitting only what changed.

mod analyzer;
mod binding;
pub mod builtin;
mod canary;
mod component;
pub mod config;
mod crossing;
mod engine;
mod epoch;
mod error;
mod exports;
mod failure;
mod from_wit;
pub mod harness;
mod host;
mod instance;
mod interfaces;
mod limits;
mod preview;
mod private_dir;
mod retry;
mod sandbox;
mod slot;
mod stats;
mod to_wit;
mod transformer;
mod validator;
mod wit_bindings;

pub use analyzer::{WasmAnalyzer, WasmAnalyzerFactory};
pub use builtin::{Builtin, binds_any, default_builtin_dir};
pub use canary::{CanaryError, CanaryStatus};
pub use component::Description;
pub use config::{
    BindingConfig, BuiltinConfig, CanaryConfig, PluginKind, PluginsConfig, SinkSelectorConfig,
};
pub use engine::{Compiled, PluginEngine, default_cache_dir};
pub use epoch::EPOCH_TICK;
pub use error::PluginError;
pub use failure::Failure;
pub use from_wit::OutputError;
pub use host::PluginHost;
pub use interfaces::{Contract, Interfaces};
pub use limits::Limits;
pub use preview::{Cost, OutputChange, PreviewError, PreviewReport};
pub use private_dir::{PrivateDirError, ensure_private};
pub use sandbox::CapturedLog;
pub use stats::{CallCounts, PluginStatus};
pub use transformer::{WasmTransformer, WasmTransformerFactory};
pub use validator::{WasmValidator, WasmValidatorFactory};
pub use wit_bindings::{WIT_PACKAGE, WIT_VERSION};
