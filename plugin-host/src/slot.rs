//! A binding's current plugin: the loaded component behind a generation
//! number. Hot loading installs a new generation; every instance notices on
//! its next refresh and swaps itself.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::component::{LoadedAnalyzer, LoadedTransformer, LoadedValidator};
use super::stats::CallStats;

/// The current plugin of one binding.
pub(crate) struct Slot<L> {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    current: Mutex<(u64, Arc<L>)>,
    generation: AtomicU64,
    /// What the binding's instances did, across versions.
    pub(crate) stats: CallStats,
}

impl<L> Slot<L> {
    pub(crate) fn new(name: String, path: PathBuf, loaded: L) -> Self {
        Self {
            name,
            path,
            current: Mutex::new((1, Arc::new(loaded))),
            generation: AtomicU64::new(1),
            stats: CallStats::default(),
        }
    }

    /// The current generation and plugin.
    pub(crate) fn current(&self) -> (u64, Arc<L>) {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (current.0, current.1.clone())
    }

    /// The current generation number (cheap).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Makes `loaded` the current plugin; returns its generation.
    pub(crate) fn install(&self, loaded: L) -> u64 {
        self.install_shared(Arc::new(loaded))
    }

    /// [`install`](Self::install) of a plugin another slot holds too.
    pub(crate) fn install_shared(&self, loaded: Arc<L>) -> u64 {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = current.0 + 1;
        *current = (generation, loaded);
        self.generation.store(generation, Ordering::Release);
        self.stats.swapped();
        generation
    }
}

/// What the digest of a slot's current plugin is.
pub(crate) trait Digest {
    fn digest(&self) -> &str;
}

impl Digest for LoadedTransformer {
    fn digest(&self) -> &str {
        &self.digest
    }
}

impl Digest for LoadedValidator {
    fn digest(&self) -> &str {
        &self.digest
    }
}

impl Digest for LoadedAnalyzer {
    fn digest(&self) -> &str {
        &self.digest
    }
}
