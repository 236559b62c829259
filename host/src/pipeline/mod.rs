//! The processing pipeline, one stage per module: the [`runtime`] runs
//! sessions; a session's processor routes each source event by collection to
//! the [`transformer`]s that consume it, folds their outputs into one
//! [`accumulator`] per output collection, and publishes snapshot [`group`]s
//! into the snapshot cache, encoding bodies with each collection's [`codec`].
//! [`validator`]s judge resources before they are routed.

mod accumulator;
pub mod codec;
mod group;
mod processor;
pub mod runtime;
pub mod transformer;
pub mod validator;

#[cfg(test)]
mod tests;

pub use codec::{BodyCodec, CodecError, StructCodec};
pub use group::Strategy;
pub use processor::{GroupSpec, PipelineSpec};
pub use runtime::Runtime;
pub use transformer::{DirectMapping, Refresh, Transformer, TransformerFactory};
pub use validator::{Validator, ValidatorFactory, Verdict};
