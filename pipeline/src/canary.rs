//! A canary: a twin of the pipeline in which one transformer runs a
//! candidate build in place of its current one. The twin is fed the same
//! events and publishes each snapshot group under the group's name with a
//! suffix, which the sinks the canary selects are served from; every
//! other sink keeps the main pipeline's. Versions are content hashes, so
//! the twin's collections the candidate does not touch carry the very
//! versions of the main ones.
//!
//! The canary ends when the operator promotes it (the candidate becomes
//! the current build, which the main pipeline swaps in) or aborts it. Then
//! the twin is dropped and each twin group follows its main group in the
//! cache: the selected sinks get exactly the difference (none after a
//! promote, whose outputs agree). A session runs the two as its
//! `twin::Processors`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::transformer::TransformerFactory;

/// What a twin group's name is its group's with.
pub const CANARY_SUFFIX: &str = "~canary";

/// A canary as the pipeline runs it.
#[derive(Clone)]
pub struct CanarySpec {
    /// The twin's transformers: the main pipeline's, the candidate build's
    /// in place of the canaried one.
    pub transformers: Vec<Arc<dyn TransformerFactory>>,
    /// Appended to each group's name for its twin.
    pub suffix: String,
    /// Set once the canary is promoted or aborted.
    pub ended: Arc<AtomicBool>,
}

impl CanarySpec {
    pub(crate) fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }
}
