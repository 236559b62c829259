//! A compiled transformer run on its own, in the real sandbox, one event at
//! a time: what a plugin's golden fixtures and the plugin benchmarks drive.
//! Unlike a binding in the pipeline it hands back exactly what the plugin
//! answered (additions stay additions, `FullSync` and `Reset` included), so
//! a transcript can be compared with the plugin's native build.

use std::path::Path;
use std::sync::Arc;

use super::component::{Description, LoadedTransformer, load_transformer, read};
use super::engine::PluginEngine;
use super::error::PluginError;
use super::instance::{Answer, Instance};
use super::limits::Limits;
use super::sandbox::Sandbox;
use super::{from_wit, to_wit};
use galleon_pipeline::event::Event;
use galleon_pipeline::mesh::MeshSettings;

/// Binding name of the component under test, in logs and errors.
const NAME: &str = "under-test";

/// A compiled transformer, instantiated in the real sandbox.
pub struct WasmUnderTest {
    sandbox: Sandbox,
    loaded: Arc<LoadedTransformer>,
    limits: Limits,
    instance: Option<Instance>,
}

/// What the plugin under test answered to one event.
#[derive(Debug)]
pub enum Handled {
    /// Its output events.
    Outputs(Vec<Event>),
    /// It rejected the event, saying why.
    Rejected(String),
}

impl WasmUnderTest {
    /// Compiles the component at `path` (no cache), with the default limits.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        Self::load_with(path, Limits::default())
    }

    /// Compiles the component at `path` (no cache), with `limits`.
    pub fn load_with(path: &Path, limits: Limits) -> Result<Self, PluginError> {
        let sandbox = Sandbox::new(PluginEngine::new(None)?)?;
        let loaded = load_transformer(&sandbox, NAME, path, &read(path)?, limits)?;
        Ok(Self {
            sandbox,
            loaded: Arc::new(loaded),
            limits,
            instance: None,
        })
    }

    /// What the component says it consumes and produces.
    pub fn description(&self) -> &Description {
        &self.loaded.description
    }

    /// Starts a fresh, configured instance (what a crash recovery or a hot
    /// swap does before replaying).
    pub fn configure(
        &mut self,
        settings: &serde_json::Value,
        mesh: &MeshSettings,
    ) -> Result<(), PluginError> {
        self.instance = None;
        let instance = Instance::start(
            &self.sandbox,
            NAME,
            (1, self.loaded.clone()),
            self.limits,
            &to_wit::settings(settings),
            mesh,
        )?;
        self.instance = Some(instance);
        Ok(())
    }

    /// Hands `event` to the configured instance.
    pub fn handle(&mut self, event: &Event) -> Result<Handled, PluginError> {
        let Some(instance) = self.instance.as_mut() else {
            return Err(PluginError::Binding {
                name: NAME.into(),
                message: "not configured".into(),
            });
        };
        let outputs = match instance.handle(&to_wit::event(event))? {
            Answer::Rejected(reason) => return Ok(Handled::Rejected(reason)),
            Answer::Outputs(outputs) => outputs,
        };
        let events = outputs
            .into_iter()
            .map(from_wit::event)
            .collect::<Result<_, _>>()
            .map_err(|error| PluginError::Output {
                name: NAME.into(),
                call: "handle",
                error,
            })?;
        Ok(Handled::Outputs(events))
    }
}
