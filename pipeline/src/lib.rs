//! galleon's event model and processing pipeline.
//!
//! The vocabulary: [`event`]s about resources in collections, the
//! [`registry`] of kinds and collections, the [`mesh`] settings transforms
//! are configured with, and the [`diagnostics`] ledger of bad input.
//!
//! The pipeline, one stage per module: the [`runtime`] runs sessions over
//! the [`source`]s; a session's processor routes each source event by
//! collection through the [`validator`]s to the [`transformer`]s that
//! consume it, folds their outputs into one accumulator per output
//! collection, and publishes snapshot groups into the snapshot cache
//! (`galleon-mcp`), encoding bodies with each collection's [`codec`].
//! Beside it, [`analysis`] runs analyzers over the same admitted events on a
//! thread of its own, and a [`canary`] runs a twin of the pipeline with one
//! transformer's candidate build for the sinks it selects. Transformers, validators and analyzers are traits
//! here; the plugin host implements them with WebAssembly components.

mod accumulator;
pub mod analysis;
pub mod canary;
pub mod codec;
pub mod diagnostics;
pub mod event;
mod group;
pub mod mesh;
mod processor;
pub mod registry;
pub mod runtime;
pub mod source;
pub mod transformer;
mod twin;
pub mod validator;

#[cfg(test)]
mod tests;

pub use canary::CanarySpec;
pub use codec::{BodyCodec, CodecError, Encoded, StructCodec};
pub use group::Strategy;
pub use processor::{GroupSpec, PipelineSpec};
pub use runtime::Runtime;
pub use transformer::{DirectMapping, Refresh, Transformer, TransformerFactory};
pub use validator::{Validator, ValidatorFactory, Verdict};
