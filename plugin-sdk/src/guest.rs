//! The component side (built for `wasm32` only): WIT bindings for the three
//! worlds, conversions between WIT records and the SDK's types, and the one
//! long-lived plugin value per instance that the export macros call into.

use std::any::Any;
use std::cell::RefCell;

use serde_json::Value;

use crate::{
    Analyzer, Diagnostic, Event, Level, Mesh, Message, Report, Resource, ResourceRef, Severity,
    Transformer, Validator,
};

/// Bindings of the `batch-transformer-plugin` world: a Rust transformer
/// takes batches (one crossing for many events).
pub mod transformer {
    wit_bindgen::generate!({
        path: "wit",
        world: "batch-transformer-plugin",
        pub_export_macro: true,
        default_bindings_module: "galleon_plugin_sdk::guest::transformer",
    });
}

/// Bindings of the `validator-plugin` world; the shared interfaces are the
/// transformer world's, so there is one set of WIT types.
pub mod validator {
    wit_bindgen::generate!({
        path: "wit",
        world: "validator-plugin",
        pub_export_macro: true,
        default_bindings_module: "galleon_plugin_sdk::guest::validator",
        with: {
            "galleon:plugin/types@0.2.0": super::transformer::galleon::plugin::types,
            "galleon:plugin/host@0.2.0": super::transformer::galleon::plugin::host,
        },
    });
}

/// Bindings of the `analyzer-plugin` world, over the same shared interfaces.
pub mod analyzer {
    wit_bindgen::generate!({
        path: "wit",
        world: "analyzer-plugin",
        pub_export_macro: true,
        default_bindings_module: "galleon_plugin_sdk::guest::analyzer",
        with: {
            "galleon:plugin/types@0.2.0": super::transformer::galleon::plugin::types,
            "galleon:plugin/host@0.2.0": super::transformer::galleon::plugin::host,
        },
    });
}

use transformer::galleon::plugin::types as t;

thread_local! {
    /// The plugin value of this instance (components are single-threaded).
    static PLUGIN: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

fn with_plugin<P: Default + 'static, R>(f: impl FnOnce(&mut P) -> R) -> R {
    PLUGIN.with(|cell| {
        let mut slot = cell.borrow_mut();
        let plugin = slot.get_or_insert_with(|| Box::new(P::default()));
        f(plugin
            .downcast_mut::<P>()
            .expect("one plugin type per component"))
    })
}

fn parse(settings: &str) -> Result<Value, String> {
    if settings.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(settings).map_err(|e| format!("settings are not JSON: {e}"))
}

pub fn describe<P: Transformer>() -> t::Description {
    let d = P::describe();
    t::Description {
        inputs: d.inputs,
        outputs: d.outputs,
        summary: d.summary,
    }
}

fn mesh_from(mesh: t::Mesh) -> Result<Mesh, String> {
    let config =
        serde_json::from_str(&mesh.config).map_err(|e| format!("mesh config is not JSON: {e}"))?;
    Ok(Mesh {
        config,
        domain_suffix: mesh.domain_suffix,
    })
}

pub fn configure<P: Transformer>(settings: String, mesh: t::Mesh) -> Result<(), String> {
    let settings = parse(&settings)?;
    let mesh = mesh_from(mesh)?;
    with_plugin(|p: &mut P| p.configure(&settings, &mesh))
}

pub fn handle<P: Transformer>(event: t::Event) -> Result<Vec<t::Event>, String> {
    let event = event_from(event)?;
    let outputs = with_plugin(|p: &mut P| p.handle(event))?;
    Ok(outputs.into_iter().map(event_into).collect())
}

/// `handle-batch`: each event through `handle`, in one crossing.
pub fn handle_batch<P: Transformer>(events: Vec<t::Event>) -> Vec<Result<Vec<t::Output>, String>> {
    events
        .into_iter()
        .map(|event| {
            Ok(handle::<P>(event)?
                .into_iter()
                .map(t::Output::Event)
                .collect())
        })
        .collect()
}

pub fn describe_analyzer<P: Analyzer>() -> t::Analyzers {
    let d = P::describe();
    t::Analyzers {
        inputs: d.inputs,
        analyzers: d
            .analyzers
            .into_iter()
            .map(|a| t::AnalyzerInfo {
                name: a.name,
                description: a.description,
                inputs: a.inputs,
            })
            .collect(),
        summary: d.summary,
    }
}

pub fn configure_analyzer<P: Analyzer>(settings: String, mesh: t::Mesh) -> Result<(), String> {
    let settings = parse(&settings)?;
    let mesh = mesh_from(mesh)?;
    with_plugin(|p: &mut P| p.configure(&settings, &mesh))
}

/// Each event is converted (its body parsed) only when the plugin takes it,
/// and the host's copy of it dropped then; the first that cannot be read
/// ends the events and fails the call (the host then replays the state into
/// a fresh instance).
pub fn analyze<P: Analyzer>(events: Vec<t::Event>) -> Result<Vec<t::Report>, String> {
    let mut unreadable = None;
    let mut events = events.into_iter().map_while(|event| {
        event_from(event)
            .map_err(|error| unreadable = Some(error))
            .ok()
    });
    let reports = with_plugin(|p: &mut P| p.handle_events(&mut events))?;
    drop(events);
    if let Some(error) = unreadable {
        return Err(error);
    }
    Ok(reports.into_iter().map(report_into).collect())
}

fn ref_into(r: ResourceRef) -> t::ResourceRef {
    t::ResourceRef {
        collection: r.collection,
        name: r.name,
    }
}

fn report_into(report: Report) -> t::Report {
    t::Report {
        subject: ref_into(report.subject),
        messages: report.messages.into_iter().map(message_into).collect(),
    }
}

fn message_into(m: Message) -> t::Message {
    t::Message {
        analyzer: m.analyzer,
        code: m.code,
        name: m.name,
        severity: severity_into(m.severity),
        field: m.field,
        text: m.text,
        references: m.references.into_iter().map(ref_into).collect(),
    }
}

fn severity_into(severity: Severity) -> t::Severity {
    match severity {
        Severity::Error => t::Severity::Error,
        Severity::Warning => t::Severity::Warning,
        Severity::Info => t::Severity::Info,
    }
}

pub fn configure_validator<P: Validator>(settings: String) -> Result<(), String> {
    let settings = parse(&settings)?;
    with_plugin(|p: &mut P| p.configure(&settings))
}

pub fn validate<P: Validator>(resource: t::Resource) -> Vec<t::Diagnostic> {
    let resource = match resource_from(resource) {
        Ok(resource) => resource,
        Err(message) => {
            return vec![t::Diagnostic {
                severity: t::Severity::Error,
                message,
                field: None,
            }];
        }
    };
    with_plugin(|p: &mut P| p.validate(&resource))
        .into_iter()
        .map(diagnostic_into)
        .collect()
}

fn diagnostic_into(d: Diagnostic) -> t::Diagnostic {
    t::Diagnostic {
        severity: severity_into(d.severity),
        message: d.message,
        field: d.field,
    }
}

fn resource_from(r: t::Resource) -> Result<Resource, String> {
    let body =
        serde_json::from_str(&r.body).map_err(|e| format!("{}: body is not JSON: {e}", r.name))?;
    Ok(Resource {
        collection: r.collection,
        name: r.name,
        version: r.version,
        labels: r.labels.into_iter().collect(),
        annotations: r.annotations.into_iter().collect(),
        create_time: r.create_time,
        body,
    })
}

fn resource_into(r: Resource) -> t::Resource {
    t::Resource {
        collection: r.collection,
        name: r.name,
        version: r.version,
        labels: r.labels.into_iter().collect(),
        annotations: r.annotations.into_iter().collect(),
        create_time: r.create_time,
        body: r.body.to_string(),
    }
}

fn event_from(event: t::Event) -> Result<Event, String> {
    Ok(match event {
        t::Event::Added(r) => Event::Added(resource_from(r)?),
        t::Event::Updated(r) => Event::Updated(resource_from(r)?),
        t::Event::Deleted(d) => Event::Deleted {
            collection: d.collection,
            name: d.name,
        },
        t::Event::FullSync(c) => Event::FullSync(c),
        t::Event::Reset => Event::Reset,
    })
}

fn event_into(event: Event) -> t::Event {
    match event {
        Event::Added(r) => t::Event::Added(resource_into(r)),
        Event::Updated(r) => t::Event::Updated(resource_into(r)),
        Event::Deleted { collection, name } => t::Event::Deleted(t::Removed { collection, name }),
        Event::FullSync(c) => t::Event::FullSync(c),
        Event::Reset => t::Event::Reset,
    }
}

/// Forwards to the host's `log` import (the same import in every world).
pub fn log(level: Level, message: &str) {
    use transformer::galleon::plugin::host::{self, Level as L};
    let level = match level {
        Level::Trace => L::Trace,
        Level::Debug => L::Debug,
        Level::Info => L::Info,
        Level::Warn => L::Warn,
        Level::Error => L::Error,
    };
    host::log(level, message);
}
