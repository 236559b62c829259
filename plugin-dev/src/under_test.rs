//! A compiled plugin under the SDK's test harness: the plugin host's
//! [`harness`](galleon_plugin_host::harness) runs the component in the real
//! sandbox, and these adapters speak the SDK's fixture types to it, so a
//! plugin's golden fixtures check the component — whatever language it was
//! written in — exactly as they check a native build.

use std::path::Path;
use std::sync::Arc;

use galleon_pipeline::analysis::Level;
use galleon_pipeline::event::{Body, Entry, Event};
use galleon_pipeline::mesh::MeshSettings;
use galleon_plugin_host::harness::{
    AnalyzerEntry, Handled, Severity as Found, WasmAnalyzerUnderTest, WasmValidatorUnderTest,
};
use galleon_plugin_host::{Limits, PluginEngine, PluginError};
use galleon_plugin_sdk::harness::{AnalyzerUnderTest, UnderTest, ValidatorUnderTest};
use galleon_plugin_sdk::{
    AnalyzerInfo, Analyzers, Description, Diagnostic, Mesh, Message, Report, Resource, ResourceRef,
    Severity,
};
use serde_json::Value;

/// A compiled transformer, instantiated in the real sandbox.
pub struct HarnessTransformer(galleon_plugin_host::harness::WasmUnderTest);

impl HarnessTransformer {
    /// Compiles the component at `path`, with the default limits.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        galleon_plugin_host::harness::WasmUnderTest::load(path).map(Self)
    }

    /// Compiles the component at `path`, with `limits`.
    pub fn load_with(path: &Path, limits: Limits) -> Result<Self, PluginError> {
        galleon_plugin_host::harness::WasmUnderTest::load_with(path, limits).map(Self)
    }

    /// Compiles the component at `path` with `engine` (and its cache).
    pub fn load_in(engine: PluginEngine, path: &Path, limits: Limits) -> Result<Self, PluginError> {
        galleon_plugin_host::harness::WasmUnderTest::load_in(engine, path, limits).map(Self)
    }

    /// The most linear memory the current instance has grown to, in bytes.
    pub fn peak_memory(&self) -> Option<usize> {
        self.0.peak_memory()
    }

    /// What the component declared.
    pub fn description(&self) -> &galleon_plugin_host::Description {
        self.0.description()
    }
}

impl UnderTest for HarnessTransformer {
    fn describe(&mut self) -> Result<Description, String> {
        let d = self.0.description();
        Ok(Description {
            inputs: d.inputs.iter().map(ToString::to_string).collect(),
            outputs: d.outputs.iter().map(ToString::to_string).collect(),
            summary: d.summary.clone(),
        })
    }

    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        let mesh = MeshSettings {
            config: Arc::new(mesh.config.clone()),
            domain_suffix: mesh.domain_suffix.clone(),
        };
        self.0.configure(settings, &mesh).map_err(|e| e.to_string())
    }

    fn handle(
        &mut self,
        event: &galleon_plugin_sdk::Event,
    ) -> Result<Vec<galleon_plugin_sdk::Event>, String> {
        match self.0.handle(&to_host(event)).map_err(|e| e.to_string())? {
            Handled::Outputs(events) => Ok(events.iter().map(to_sdk).collect()),
            Handled::Rejected(reason) => Err(reason),
        }
    }
}

/// A compiled validator, instantiated in the real sandbox.
pub struct HarnessValidator(WasmValidatorUnderTest);

impl HarnessValidator {
    /// Compiles the component at `path` with `engine` (and its cache).
    pub fn load_in(engine: PluginEngine, path: &Path, limits: Limits) -> Result<Self, PluginError> {
        WasmValidatorUnderTest::load_in(engine, path, limits).map(Self)
    }

    /// Instantiates it (configured with `{}`), as a binding would.
    pub fn instantiate(&mut self) -> Result<(), PluginError> {
        self.0.configure(&serde_json::json!({}))
    }
}

impl ValidatorUnderTest for HarnessValidator {
    fn configure(&mut self, settings: &Value) -> Result<(), String> {
        self.0.configure(settings).map_err(|e| e.to_string())
    }

    fn validate(&mut self, resource: &Resource) -> Result<Vec<Diagnostic>, String> {
        let findings = self
            .0
            .validate(&resource.collection.as_str().into(), &entry(resource))
            .map_err(|e| e.to_string())?;
        Ok(findings
            .into_iter()
            .map(|f| Diagnostic {
                severity: match f.severity {
                    Found::Error => Severity::Error,
                    Found::Warning => Severity::Warning,
                    Found::Info => Severity::Info,
                },
                message: f.message,
                field: f.field,
            })
            .collect())
    }
}

/// A compiled analyzer, instantiated in the real sandbox.
pub struct HarnessAnalyzer(WasmAnalyzerUnderTest);

impl HarnessAnalyzer {
    /// Compiles the component at `path` with `engine` (and its cache).
    pub fn load_in(engine: PluginEngine, path: &Path, limits: Limits) -> Result<Self, PluginError> {
        WasmAnalyzerUnderTest::load_in(engine, path, limits).map(Self)
    }

    /// Compiles the component at `path`, with the default limits and a
    /// private cache.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        Self::load_in(PluginEngine::new(None)?, path, Limits::default())
    }

    /// What it declared: its inputs, its analyzers (name, description,
    /// inputs) and summary.
    pub fn describe(&self) -> (Vec<String>, Vec<AnalyzerEntry>, String) {
        self.0.describe()
    }
}

impl AnalyzerUnderTest for HarnessAnalyzer {
    fn describe(&mut self) -> Result<Analyzers, String> {
        let (inputs, analyzers, summary) = self.0.describe();
        Ok(Analyzers {
            inputs,
            analyzers: analyzers
                .into_iter()
                .map(|(name, description, inputs)| AnalyzerInfo {
                    name,
                    description,
                    inputs,
                })
                .collect(),
            summary,
        })
    }

    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        let mesh = MeshSettings {
            config: Arc::new(mesh.config.clone()),
            domain_suffix: mesh.domain_suffix.clone(),
        };
        self.0.configure(settings, &mesh).map_err(|e| e.to_string())
    }

    fn handle_batch(
        &mut self,
        events: &[galleon_plugin_sdk::Event],
    ) -> Result<Vec<Report>, String> {
        let events: Vec<Event> = events.iter().map(to_host).collect();
        let reports = self.0.handle_batch(&events).map_err(|e| e.to_string())??;
        Ok(reports
            .into_iter()
            .map(|r| Report {
                subject: ResourceRef::new(&*r.subject.0, r.subject.1),
                messages: r
                    .messages
                    .into_iter()
                    .map(|m| Message {
                        analyzer: m.analyzer,
                        code: m.code,
                        name: m.name,
                        severity: match m.level {
                            Level::Error => Severity::Error,
                            Level::Warning => Severity::Warning,
                            Level::Info => Severity::Info,
                        },
                        field: m.field,
                        text: m.text,
                        references: m
                            .references
                            .into_iter()
                            .map(|(c, n)| ResourceRef::new(&*c, n))
                            .collect(),
                    })
                    .collect(),
            })
            .collect())
    }
}

/// The SDK's resource as the pipeline's entry.
fn entry(r: &Resource) -> Entry {
    Entry {
        name: r.name.clone(),
        labels: r.labels.clone(),
        annotations: r.annotations.clone(),
        create_time: r.create_time.clone(),
        version: r.version.clone(),
        body: Body::new(&r.body),
        origin: None,
    }
}

/// The SDK's event as the pipeline's.
fn to_host(event: &galleon_plugin_sdk::Event) -> Event {
    use galleon_plugin_sdk::Event as Sdk;
    match event {
        Sdk::Added(r) => Event::Added(r.collection.as_str().into(), entry(r).into()),
        Sdk::Updated(r) => Event::Updated(r.collection.as_str().into(), entry(r).into()),
        Sdk::Deleted { collection, name } => {
            Event::Deleted(collection.as_str().into(), name.clone())
        }
        Sdk::FullSync(collection) => Event::FullSync(collection.as_str().into()),
        Sdk::Reset => Event::Reset,
    }
}

/// The pipeline's event as the SDK's.
fn to_sdk(event: &Event) -> galleon_plugin_sdk::Event {
    use galleon_plugin_sdk::Event as Sdk;
    let resource = |collection: &str, e: &Entry| Resource {
        collection: collection.into(),
        name: e.name.clone(),
        version: e.version.clone(),
        labels: e.labels.clone(),
        annotations: e.annotations.clone(),
        create_time: e.create_time.clone(),
        body: e.body.value(),
    };
    match event {
        Event::Added(c, e) => Sdk::Added(resource(c, e)),
        Event::Updated(c, e) => Sdk::Updated(resource(c, e)),
        Event::Deleted(c, name) => Sdk::Deleted {
            collection: c.to_string(),
            name: name.clone(),
        },
        Event::FullSync(c) => Sdk::FullSync(c.to_string()),
        Event::Reset => Sdk::Reset,
    }
}
