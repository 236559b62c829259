//! Live instances: one function instantiates and configures a plugin of
//! any kind in a fresh store (deadline and memory cap armed for every
//! call), and [`Instance`] is a transformer's long-lived instance, handed
//! events in batches (one crossing when the component exports `batch`, a
//! `handle` call per event otherwise). A failed call leaves a store
//! unusable; the owner discards the instance.

use std::sync::Arc;

use wasmtime::Store;

use super::component::LoadedTransformer;
use super::error::PluginError;
use super::exports::TransformerExports;
use super::failure::Failure;
use super::from_wit::OutputError;
use super::limits::Limits;
use super::sandbox::{Sandbox, StoreState, arm, blocking};
use super::to_wit;
use super::wit_bindings::wit;
use galleon_pipeline::mesh::MeshSettings;

/// Instantiates a plugin in a fresh store and configures it: `instantiate`
/// and `configure` are the world's own calls, each run under the limits.
pub(crate) fn start<P>(
    sandbox: &Sandbox,
    name: &str,
    limits: Limits,
    instantiate: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<P>,
    configure: impl FnOnce(&P, &mut Store<StoreState>) -> wasmtime::Result<Result<(), String>>,
) -> Result<(Store<StoreState>, P), PluginError> {
    let mut store = sandbox.store(name, limits);
    arm(&mut store, limits);
    let plugin = blocking(|| instantiate(&mut store)).map_err(|e| PluginError::Instantiate {
        name: name.into(),
        failure: Failure::of(&e, limits),
    })?;
    arm(&mut store, limits);
    let configured =
        blocking(|| configure(&plugin, &mut store)).map_err(|e| PluginError::Call {
            name: name.into(),
            call: "configure",
            failure: Failure::of(&e, limits),
        })?;
    configured.map_err(|message| PluginError::Configure {
        name: name.into(),
        message,
    })?;
    Ok((store, plugin))
}

/// What a transformer answered to one event.
pub(crate) enum Answer {
    /// Its outputs, unchecked.
    Outputs(Vec<wit::Output>),
    /// It rejected the event, saying why.
    Rejected(String),
}

/// A transformer's instance.
pub(crate) struct Instance {
    name: String,
    store: Store<StoreState>,
    plugin: TransformerExports,
    limits: Limits,
    pub(crate) generation: u64,
    pub(crate) loaded: Arc<LoadedTransformer>,
}

impl Instance {
    /// Instantiates and configures generation `generation` of a plugin.
    pub(crate) fn start(
        sandbox: &Sandbox,
        name: &str,
        (generation, loaded): (u64, Arc<LoadedTransformer>),
        limits: Limits,
        settings: &str,
        mesh: &MeshSettings,
    ) -> Result<Self, PluginError> {
        let mesh = to_wit::mesh(mesh);
        let (store, plugin) = start(
            sandbox,
            name,
            limits,
            |store| loaded.instantiate(store),
            |plugin: &TransformerExports, store| plugin.configure(store, settings, &mesh),
        )?;
        Ok(Self {
            name: name.into(),
            store,
            plugin,
            limits,
            generation,
            loaded,
        })
    }

    /// The plugin's binding name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The most linear memory this instance has grown to, in bytes.
    pub(crate) fn peak_memory(&self) -> usize {
        self.store.data().peak_memory()
    }

    /// Hands `events` to the plugin: one `handle-batch` call when it
    /// exports `batch`, else one `handle` call each. One answer per event;
    /// `Err(_)` is a failure (trap, deadline, memory, a batch answered with
    /// the wrong number of results) that ends the instance.
    pub(crate) fn handle(&mut self, events: &[wit::Event]) -> Result<Vec<Answer>, PluginError> {
        let answer = |result: Result<Vec<wit::Output>, String>| match result {
            Ok(outputs) => Answer::Outputs(outputs),
            Err(reason) => Answer::Rejected(reason),
        };
        if let Some(batch) = self.plugin.batch() {
            arm(&mut self.store, self.limits);
            let results = blocking(|| batch.call_handle_batch(&mut self.store, events))
                .map_err(|e| self.failed("handle-batch", &e))?;
            if results.len() != events.len() {
                return Err(PluginError::Output {
                    name: self.name.clone(),
                    call: "handle-batch",
                    error: OutputError::BatchLength {
                        sent: events.len(),
                        answered: results.len(),
                    },
                });
            }
            return Ok(results.into_iter().map(answer).collect());
        }
        let mut answers = Vec::with_capacity(events.len());
        for event in events {
            arm(&mut self.store, self.limits);
            let result = blocking(|| self.plugin.handle(&mut self.store, event))
                .map_err(|e| self.failed("handle", &e))?;
            answers.push(answer(
                result.map(|events| events.into_iter().map(wit::Output::Event).collect()),
            ));
        }
        Ok(answers)
    }

    fn failed(&self, call: &'static str, error: &wasmtime::Error) -> PluginError {
        PluginError::Call {
            name: self.name.clone(),
            call,
            failure: Failure::of(error, self.limits),
        }
    }
}
