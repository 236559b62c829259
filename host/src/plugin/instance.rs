//! One live instance of a transformer: its store, its deadline and memory
//! cap, and the calls into it. A failed call leaves the store unusable; the
//! owner discards the instance.

use std::sync::Arc;

use wasmtime::Store;

use super::bindings::transformer::TransformerPlugin;
use super::bindings::transformer::galleon::plugin::types as wit;
use super::component::LoadedTransformer;
use super::error::PluginError;
use super::sandbox::{Limits, Sandbox, StoreState, arm, blocking};
use crate::mesh::MeshSettings;

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
        let mut store = sandbox.store(name, limits);
        arm(&mut store, limits);
        let plugin = blocking(|| loaded.pre.instantiate(&mut store)).map_err(|e| {
            PluginError::Instantiate {
                name: name.into(),
                message: classify(&e, limits),
            }
        })?;
        let mut instance = Self {
            name: name.into(),
            store,
            plugin,
            limits,
            generation,
            loaded,
        };
        let mesh = wit::Mesh {
            config: mesh.config.to_string(),
            domain_suffix: mesh.domain_suffix.clone(),
        };
        arm(&mut instance.store, limits);
        let configured = blocking(|| {
            instance.plugin.galleon_plugin_transformer().call_configure(
                &mut instance.store,
                settings,
                &mesh,
            )
        })
        .map_err(|e| instance.failure("configure", &e))?;
        configured.map_err(|message| PluginError::Configure {
            name: name.into(),
            message,
        })?;
        Ok(instance)
    }

    /// One `handle` call: `Ok(Err(_))` is the plugin rejecting the event,
    /// `Err(_)` a failure (trap, deadline, memory) that ends the instance.
    pub(crate) fn handle(
        &mut self,
        event: &wit::Event,
    ) -> Result<Result<Vec<wit::Event>, String>, PluginError> {
        arm(&mut self.store, self.limits);
        blocking(|| {
            self.plugin
                .galleon_plugin_transformer()
                .call_handle(&mut self.store, event)
        })
        .map_err(|e| self.failure("handle", &e))
    }

    fn failure(&self, call: &'static str, error: &wasmtime::Error) -> PluginError {
        PluginError::Call {
            name: self.name.clone(),
            call,
            message: classify(error, self.limits),
        }
    }
}

/// Names the common failures plainly, from the root cause (the full error
/// carries a multi-line wasm backtrace).
pub(crate) fn classify(error: &wasmtime::Error, limits: Limits) -> String {
    if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => {
                format!("ran past its {} ms deadline", limits.deadline.as_millis())
            }
            trap => format!("trapped: {trap}"),
        };
    }
    // The chain holds the cause and a wasm backtrace; keep the cause.
    let root = error
        .chain()
        .map(|cause| cause.to_string())
        .find(|cause| !cause.starts_with("error while executing at wasm backtrace"))
        .unwrap_or_else(|| error.root_cause().to_string());
    if root.contains("memory") && (root.contains("grow") || root.contains("limit")) {
        format!(
            "exceeded its {} MiB memory limit ({root})",
            limits.memory >> 20
        )
    } else {
        root
    }
}
