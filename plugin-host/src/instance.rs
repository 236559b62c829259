//! Live instances: one function instantiates and configures a plugin of
//! either kind in a fresh store (deadline and memory cap armed for every
//! call), and [`Instance`] is a transformer's long-lived instance. A failed
//! call leaves a store unusable; the owner discards the instance.

use std::sync::Arc;

use wasmtime::Store;

use super::component::LoadedTransformer;
use super::error::PluginError;
use super::failure::Failure;
use super::limits::Limits;
use super::sandbox::{Sandbox, StoreState, arm, blocking};
use super::to_wit;
use super::wit_bindings::{TransformerPlugin, wit};
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
    /// Its output events, unchecked.
    Outputs(Vec<wit::Event>),
    /// It rejected the event, saying why.
    Rejected(String),
}

/// A transformer's instance.
pub(crate) struct Instance {
    name: String,
    store: Store<StoreState>,
    plugin: TransformerPlugin,
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
            |store| loaded.pre.instantiate(store),
            |plugin: &TransformerPlugin, store| {
                plugin
                    .galleon_plugin_transformer()
                    .call_configure(store, settings, &mesh)
            },
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

    /// The most linear memory this instance has grown to, in bytes.
    pub(crate) fn peak_memory(&self) -> usize {
        self.store.data().peak_memory()
    }

    /// One `handle` call; `Err(_)` is a failure (trap, deadline, memory)
    /// that ends the instance.
    pub(crate) fn handle(&mut self, event: &wit::Event) -> Result<Answer, PluginError> {
        arm(&mut self.store, self.limits);
        let answer = blocking(|| {
            self.plugin
                .galleon_plugin_transformer()
                .call_handle(&mut self.store, event)
        })
        .map_err(|e| PluginError::Call {
            name: self.name.clone(),
            call: "handle",
            failure: Failure::of(&e, self.limits),
        })?;
        Ok(match answer {
            Ok(outputs) => Answer::Outputs(outputs),
            Err(reason) => Answer::Rejected(reason),
        })
    }
}
