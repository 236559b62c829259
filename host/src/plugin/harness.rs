//! Runs a compiled transformer under the SDK's test harness, so a plugin's
//! golden fixtures check the component exactly as they check the native
//! build; also the entry point of the plugin benchmarks.

use std::path::Path;
use std::sync::Arc;

use galleon_plugin_sdk::harness::UnderTest;
use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Description, Event, Mesh, Resource};

use super::bindings::transformer::galleon::plugin::types as wit;
use super::component::{LoadedTransformer, load_transformer, read};
use super::engine::PluginEngine;
use super::error::PluginError;
use super::instance::Instance;
use super::sandbox::{Limits, Sandbox};
use crate::mesh::MeshSettings;

/// A compiled transformer, instantiated in the real sandbox.
pub struct WasmUnderTest {
    sandbox: Sandbox,
    loaded: Arc<LoadedTransformer>,
    limits: Limits,
    instance: Option<Instance>,
}

impl WasmUnderTest {
    /// Compiles the component at `path` (no cache), with the default limits.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        Self::load_with(path, Limits::default())
    }

    /// Compiles the component at `path` (no cache), with `limits`.
    pub fn load_with(path: &Path, limits: Limits) -> Result<Self, PluginError> {
        let sandbox = Sandbox::new(PluginEngine::new(None)?)?;
        let loaded = Arc::new(load_transformer(
            &sandbox,
            "under-test",
            path,
            &read(path)?,
            limits,
        )?);
        Ok(Self {
            sandbox,
            loaded,
            limits,
            instance: None,
        })
    }

    /// Starts a fresh, configured instance (what a crash recovery or a hot
    /// swap does before replaying).
    pub fn instantiate(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), PluginError> {
        let mesh = MeshSettings {
            config: Arc::new(mesh.config.clone()),
            domain_suffix: mesh.domain_suffix.clone(),
        };
        let settings = if settings.is_null() {
            String::new()
        } else {
            settings.to_string()
        };
        let instance = Instance::start(
            &self.sandbox,
            "under-test",
            (1, self.loaded.clone()),
            self.limits,
            &settings,
            &mesh,
        )?;
        self.instance = Some(instance);
        Ok(())
    }
}

impl UnderTest for WasmUnderTest {
    fn describe(&mut self) -> Result<Description, String> {
        let d = &self.loaded.description;
        Ok(Description {
            inputs: d.inputs.iter().map(|c| c.to_string()).collect(),
            outputs: d.outputs.iter().map(|c| c.to_string()).collect(),
            summary: d.summary.clone(),
        })
    }

    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        self.instantiate(settings, mesh).map_err(|e| e.to_string())
    }

    fn handle(&mut self, event: &Event) -> Result<Vec<Event>, String> {
        let instance = self.instance.as_mut().ok_or("not configured")?;
        let outputs = instance
            .handle(&to_wit(event))
            .map_err(|e| e.to_string())??;
        outputs.into_iter().map(from_wit).collect()
    }
}

fn to_wit(event: &Event) -> wit::Event {
    let resource = |r: &Resource| wit::Resource {
        collection: r.collection.clone(),
        name: r.name.clone(),
        version: r.version.clone(),
        labels: r.labels.clone().into_iter().collect(),
        annotations: r.annotations.clone().into_iter().collect(),
        create_time: r.create_time.clone(),
        body: r.body.to_string(),
    };
    match event {
        Event::Added(r) => wit::Event::Added(resource(r)),
        Event::Updated(r) => wit::Event::Updated(resource(r)),
        Event::Deleted { collection, name } => wit::Event::Deleted(wit::Removed {
            collection: collection.clone(),
            name: name.clone(),
        }),
        Event::FullSync(c) => wit::Event::FullSync(c.clone()),
        Event::Reset => wit::Event::Reset,
    }
}

fn from_wit(event: wit::Event) -> Result<Event, String> {
    let resource = |r: wit::Resource| -> Result<Resource, String> {
        Ok(Resource {
            body: galleon_plugin_sdk::serde_json::from_str(&r.body)
                .map_err(|e| format!("{}: body is not JSON: {e}", r.name))?,
            collection: r.collection,
            name: r.name,
            version: r.version,
            labels: r.labels.into_iter().collect(),
            annotations: r.annotations.into_iter().collect(),
            create_time: r.create_time,
        })
    };
    Ok(match event {
        wit::Event::Added(r) => Event::Added(resource(r)?),
        wit::Event::Updated(r) => Event::Updated(resource(r)?),
        wit::Event::Deleted(d) => Event::Deleted {
            collection: d.collection,
            name: d.name,
        },
        wit::Event::FullSync(c) => Event::FullSync(c),
        wit::Event::Reset => Event::Reset,
    })
}
