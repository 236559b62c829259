//! A compiled plugin run on its own, in the real sandbox: a transformer one
//! event at a time, a validator one resource at a time, an analyzer one
//! batch at a time. This is what a
//! plugin's golden fixtures, `galleon plugin test` and the plugin benchmarks
//! drive.
//! Unlike a binding in the pipeline it hands back exactly what the plugin
//! answered (additions stay additions, `FullSync` and `Reset` included), so
//! a transcript can be compared with the plugin's native build.

use std::path::Path;
use std::sync::Arc;

use wasmtime::Store;

use super::component::{
    Description, LoadedAnalyzer, LoadedTransformer, LoadedValidator, load_analyzer,
    load_transformer, load_validator, read,
};
use super::engine::PluginEngine;
use super::error::PluginError;
use super::exports::{AnalyzerExports, ValidatorExports};
use super::failure::Failure;
use super::instance::{Answer, Instance, start};
use super::limits::Limits;
use super::sandbox::{Sandbox, StoreState, arm, blocking};
use super::wit_bindings::wit;
use super::{from_wit, to_wit};
use galleon_pipeline::event::{Collection, Entry, Event};
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
        Self::load_in(PluginEngine::new(None)?, path, limits)
    }

    /// Compiles the component at `path` with `engine` (and its cache).
    pub fn load_in(engine: PluginEngine, path: &Path, limits: Limits) -> Result<Self, PluginError> {
        let sandbox = Sandbox::new(engine)?;
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

    /// The most linear memory the current instance has grown to, in bytes.
    pub fn peak_memory(&self) -> Option<usize> {
        self.instance.as_ref().map(Instance::peak_memory)
    }

    /// Hands `event` to the configured instance.
    pub fn handle(&mut self, event: &Event) -> Result<Handled, PluginError> {
        let Some(instance) = self.instance.as_mut() else {
            return Err(PluginError::Binding {
                name: NAME.into(),
                message: "not configured".into(),
            });
        };
        let answer = instance.handle(std::slice::from_ref(&to_wit::event(event)))?;
        let outputs = match answer.into_iter().next() {
            Some(Answer::Rejected(reason)) => return Ok(Handled::Rejected(reason)),
            Some(Answer::Outputs(outputs)) => outputs,
            None => Vec::new(),
        };
        // A derived output is made from the event's own resource.
        let input = |collection: &str, name: &str| match event {
            Event::Added(c, e) | Event::Updated(c, e) if **c == *collection && e.name == name => {
                Some(&**e)
            }
            _ => None,
        };
        let events = outputs
            .into_iter()
            .map(|output| from_wit::output(output, input))
            .collect::<Result<_, _>>()
            .map_err(|error| PluginError::Output {
                name: NAME.into(),
                call: "handle",
                error,
            })?;
        Ok(Handled::Outputs(events))
    }
}

/// How serious a validator's finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Rejects the resource.
    Error,
    /// Reported; the resource is accepted.
    Warning,
    /// Reported; the resource is accepted.
    Info,
}

/// One finding of a validator under test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// The offending field.
    pub field: Option<String>,
}

/// A compiled validator, instantiated in the real sandbox.
pub struct WasmValidatorUnderTest {
    sandbox: Sandbox,
    loaded: LoadedValidator,
    limits: Limits,
    instance: Option<(Store<StoreState>, ValidatorExports)>,
}

impl WasmValidatorUnderTest {
    /// Compiles the component at `path` with `engine` (and its cache).
    pub fn load_in(engine: PluginEngine, path: &Path, limits: Limits) -> Result<Self, PluginError> {
        let sandbox = Sandbox::new(engine)?;
        let loaded = load_validator(&sandbox, NAME, path, &read(path)?)?;
        Ok(Self {
            sandbox,
            loaded,
            limits,
            instance: None,
        })
    }

    /// Starts a fresh instance configured with `settings`.
    pub fn configure(&mut self, settings: &serde_json::Value) -> Result<(), PluginError> {
        self.instance = None;
        let settings = to_wit::settings(settings);
        let loaded = &self.loaded;
        self.instance = Some(start(
            &self.sandbox,
            NAME,
            self.limits,
            |store| loaded.instantiate(store),
            |plugin: &ValidatorExports, store| plugin.configure(store, &settings),
        )?);
        Ok(())
    }

    /// The validator's findings on one resource.
    pub fn validate(
        &mut self,
        collection: &Collection,
        entry: &Entry,
    ) -> Result<Vec<Finding>, PluginError> {
        let Some((store, plugin)) = self.instance.as_mut() else {
            return Err(PluginError::Binding {
                name: NAME.into(),
                message: "not configured".into(),
            });
        };
        arm(store, self.limits);
        let resource = to_wit::resource(collection, entry);
        let diagnostics =
            blocking(|| plugin.validate(&mut *store, &resource)).map_err(|e| PluginError::Call {
                name: NAME.into(),
                call: "validate",
                failure: Failure::of(&e, self.limits),
            });
        let diagnostics = diagnostics.inspect_err(|_| self.instance = None)?;
        Ok(diagnostics
            .into_iter()
            .map(|d| Finding {
                severity: match d.severity {
                    wit::Severity::Error => Severity::Error,
                    wit::Severity::Warning => Severity::Warning,
                    wit::Severity::Info => Severity::Info,
                },
                message: d.message,
                field: d.field,
            })
            .collect())
    }
}

/// One analyzer a compiled analyzer plugin holds: (name, description,
/// inputs).
pub type AnalyzerEntry = (String, String, Vec<String>);

/// A compiled analyzer, instantiated in the real sandbox.
pub struct WasmAnalyzerUnderTest {
    sandbox: Sandbox,
    loaded: LoadedAnalyzer,
    limits: Limits,
    instance: Option<(Store<StoreState>, AnalyzerExports)>,
}

impl WasmAnalyzerUnderTest {
    /// Compiles the component at `path` with `engine` (and its cache).
    pub fn load_in(engine: PluginEngine, path: &Path, limits: Limits) -> Result<Self, PluginError> {
        let sandbox = Sandbox::new(engine)?;
        let loaded = load_analyzer(&sandbox, NAME, path, &read(path)?, limits)?;
        Ok(Self {
            sandbox,
            loaded,
            limits,
            instance: None,
        })
    }

    /// What `describe` said: every collection read, and its analyzers.
    pub fn describe(&self) -> (Vec<String>, Vec<AnalyzerEntry>, String) {
        let d = &self.loaded.description;
        let analyzers = d
            .analyzers
            .iter()
            .map(|a| (a.name.clone(), a.description.clone(), a.inputs.clone()))
            .collect();
        (d.inputs.clone(), analyzers, d.summary.clone())
    }

    /// Starts a fresh instance configured with `settings` and `mesh`.
    pub fn configure(
        &mut self,
        settings: &serde_json::Value,
        mesh: &MeshSettings,
    ) -> Result<(), PluginError> {
        self.instance = None;
        let (settings, mesh) = (to_wit::settings(settings), to_wit::mesh(mesh));
        let loaded = &self.loaded;
        self.instance = Some(start(
            &self.sandbox,
            NAME,
            self.limits,
            |store| loaded.instantiate(store),
            |plugin: &AnalyzerExports, store| plugin.call_configure(store, &settings, &mesh),
        )?);
        Ok(())
    }

    /// One batch: the reports, as the plugin wrote them (`Err(_)` inside
    /// when it said it could not analyze).
    pub fn handle_batch(
        &mut self,
        events: &[Event],
    ) -> Result<Result<Vec<galleon_pipeline::analysis::Report>, String>, PluginError> {
        let Some((store, plugin)) = self.instance.as_mut() else {
            return Err(PluginError::Binding {
                name: NAME.into(),
                message: "not configured".into(),
            });
        };
        arm(store, self.limits);
        let sent: Vec<_> = events.iter().map(to_wit::event).collect();
        let answer = blocking(|| plugin.call_handle_batch(&mut *store, &sent)).map_err(|e| {
            PluginError::Call {
                name: NAME.into(),
                call: "handle-batch",
                failure: Failure::of(&e, self.limits),
            }
        });
        let answer = answer.inspect_err(|_| self.instance = None)?;
        Ok(answer.map(|reports| reports.into_iter().map(from_wit::report).collect()))
    }
}
