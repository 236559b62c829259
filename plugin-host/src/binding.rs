//! A plugin binding as the pipeline's sessions share it: the sandbox, the
//! versioned slot holding the loaded plugin, its limits and settings. The
//! transformer, validator and analyzer bindings build on these; the plugin host
//! assembles them from the configuration.

use super::component::{LoadedAnalyzer, LoadedTransformer, LoadedValidator};
use super::limits::Limits;
use super::preview::PreviewQueue;
use super::sandbox::Sandbox;
use super::slot::Slot;
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::Collection;

/// A transformer binding, shared by its instances in every session.
pub(crate) struct TransformerBinding {
    pub(crate) sandbox: Sandbox,
    pub(crate) slot: Slot<LoadedTransformer>,
    pub(crate) limits: Limits,
    pub(crate) settings: String,
    pub(crate) diagnostics: Diagnostics,
    /// Whether its file is watched (not for a built-in run from the binary).
    pub(crate) watched: bool,
    /// Candidate builds waiting to be previewed on its live inputs.
    pub(crate) previews: PreviewQueue,
}

/// A validator binding.
pub(crate) struct ValidatorBinding {
    pub(crate) sandbox: Sandbox,
    pub(crate) slot: Slot<LoadedValidator>,
    pub(crate) limits: Limits,
    pub(crate) settings: String,
    pub(crate) collections: Vec<Collection>,
    pub(crate) fail_open: bool,
}

/// An analyzer binding.
pub(crate) struct AnalyzerBinding {
    pub(crate) sandbox: Sandbox,
    pub(crate) slot: Slot<LoadedAnalyzer>,
    pub(crate) limits: Limits,
    pub(crate) settings: String,
    pub(crate) diagnostics: Diagnostics,
    /// Whether its file is watched (not for a built-in run from the binary).
    pub(crate) watched: bool,
}

impl AnalyzerBinding {
    /// The collections its current version reads.
    pub(crate) fn inputs(&self) -> Vec<Collection> {
        let (_, loaded) = self.slot.current();
        loaded
            .description
            .inputs
            .iter()
            .map(|c| Collection::from(c.as_str()))
            .collect()
    }
}
