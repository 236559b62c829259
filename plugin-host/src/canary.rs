//! A transformer binding's canary (`canary: {plugin, sinks}`): the
//! candidate build bound as a binding of its own, which the pipeline's twin
//! runs (see `galleon_pipeline::canary`) for the sinks the selector picks,
//! until an operator promotes it (the binding's slot takes the candidate,
//! which every session swaps in) or aborts it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::binding::TransformerBinding;
use super::config::SinkSelectorConfig;

/// Why a promote or abort was refused.
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    /// No canary runs for that binding.
    #[error("binding {name:?} has no canary; {which}")]
    NoCanary {
        /// The name asked for.
        name: String,
        /// Which binding has one, if any.
        which: String,
    },
    /// It was promoted or aborted already.
    #[error(
        "the canary of {name} was {state} already (at {at} by {by}); restart the hub to run a new one"
    )]
    Ended {
        /// The binding.
        name: String,
        /// `promoted` or `aborted`.
        state: &'static str,
        /// When.
        at: String,
        /// By whom.
        by: String,
    },
}

/// Where a canary stands.
#[derive(Clone, Debug)]
enum State {
    Running,
    Ended {
        state: &'static str,
        at: String,
        by: String,
    },
}

/// A canary in force.
pub(crate) struct Canary {
    /// The binding it tries a candidate for.
    pub(crate) binding: Arc<TransformerBinding>,
    /// The candidate, bound on its own (named `<binding> (canary)`).
    pub(crate) candidate: Arc<TransformerBinding>,
    pub(crate) sinks: SinkSelectorConfig,
    /// Set once promoted or aborted: the pipeline winds its twin up.
    pub(crate) ended: Arc<AtomicBool>,
    state: Mutex<State>,
}

/// A canary, as `/debug/plugins/canary` shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// The binding.
    pub binding: String,
    /// The digest of the binding's current build.
    pub current: String,
    /// The candidate's digest.
    pub candidate: String,
    /// The candidate's file.
    pub plugin: String,
    /// `running`, `promoted` or `aborted`.
    pub state: String,
    /// The collections its outputs go to.
    pub outputs: Vec<String>,
    /// The node id pattern it selects sinks by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The node metadata it selects sinks by.
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// When it was promoted or aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// By whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
}

impl Canary {
    pub(crate) fn new(
        binding: Arc<TransformerBinding>,
        candidate: Arc<TransformerBinding>,
        sinks: SinkSelectorConfig,
    ) -> Self {
        Self {
            binding,
            candidate,
            sinks,
            ended: Arc::default(),
            state: Mutex::new(State::Running),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.binding.slot.name
    }

    /// Makes the candidate the binding's current build (`promote`) or
    /// drops it; either ends the canary. The caller wakes the pipeline.
    pub(crate) fn end(&self, promote: bool, at: String, by: &str) -> Result<(), CanaryError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let State::Ended { state, at, by } = &*state {
            return Err(CanaryError::Ended {
                name: self.name().into(),
                state,
                at: at.clone(),
                by: by.clone(),
            });
        }
        if promote {
            let (_, candidate) = self.candidate.slot.current();
            self.binding.slot.install_shared(candidate);
        }
        *state = State::Ended {
            state: if promote { "promoted" } else { "aborted" },
            at,
            by: by.into(),
        };
        self.ended.store(true, Ordering::Release);
        Ok(())
    }

    pub(crate) fn status(&self) -> CanaryStatus {
        let state = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (state, ended_at, ended_by) = match state {
            State::Running => ("running", None, None),
            State::Ended { state, at, by } => (state, Some(at), Some(by)),
        };
        CanaryStatus {
            binding: self.name().into(),
            current: self.binding.slot.current().1.digest.clone(),
            candidate: self.candidate.slot.current().1.digest.clone(),
            plugin: self.candidate.slot.path.display().to_string(),
            state: state.into(),
            outputs: (self.candidate.slot.current().1.description.outputs.iter())
                .map(|c| c.to_string())
                .collect(),
            node_id: self.sinks.node_id.clone(),
            metadata: self.sinks.metadata.clone(),
            ended_at,
            ended_by,
        }
    }
}
