//! The three kinds of plugin.

use serde_json::Value;

use crate::types::{Analyzers, Description, Diagnostic, Event, Mesh, Report, Resource};

/// A stateful transformer from input collections to output collections.
///
/// The host keeps one instance per binding and calls it one event at a time.
/// It may keep indexes of its inputs. After a failure or an upgrade the host
/// builds a fresh instance and replays the inputs (`Reset`, `Added`…,
/// `FullSync`), so state must be derivable from the inputs alone. The host
/// emits `FullSync` for the outputs itself once every input has synced;
/// `FullSync` events a transformer returns are ignored.
pub trait Transformer: Default + 'static {
    /// Inputs, outputs and a summary; must not depend on configuration.
    fn describe() -> Description;

    /// Receives the binding's settings and the mesh configuration before any
    /// event.
    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        let _ = (settings, mesh);
        Ok(())
    }

    /// Handles one input event, returning output events. An `Err` rejects
    /// this event only; it is reported with the resource.
    fn handle(&mut self, event: Event) -> Result<Vec<Event>, String>;
}

/// A validator of resources before they enter the pipeline.
pub trait Validator: Default + 'static {
    /// Receives the binding's settings before any resource.
    fn configure(&mut self, settings: &Value) -> Result<(), String> {
        let _ = settings;
        Ok(())
    }

    /// Findings about `resource`; any [`Severity::Error`](crate::Severity)
    /// rejects it.
    fn validate(&self, resource: &Resource) -> Vec<Diagnostic>;
}

/// An analyzer: judges resources against each other and reports messages.
///
/// Like a transformer it is long-lived and kept up to date with the events
/// of the collections it reads (replayed after a failure or an upgrade, so
/// its state must be derivable from them), but it answers with [`Report`]s:
/// for every resource whose messages a batch may have changed, all its
/// messages now (an empty list clears them). Reporting only what a change
/// can affect keeps a re-analysis after one edit small.
pub trait Analyzer: Default + 'static {
    /// Its analyzers and the collections they read; must not depend on
    /// configuration.
    fn describe() -> Analyzers;

    /// Receives the binding's settings (which may name the analyzers to
    /// run: `{"analyzers": [...]}`) and the mesh configuration before any
    /// event.
    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        let _ = (settings, mesh);
        Ok(())
    }

    /// Handles `events` in order; the reports of every resource whose
    /// messages may have changed.
    fn handle_batch(&mut self, events: Vec<Event>) -> Result<Vec<Report>, String>;

    /// The same as [`Analyzer::handle_batch`], with the events read one at a
    /// time as the plugin takes them. A call's events are every resource at
    /// initial sync (a whole cluster); a plugin that keeps only part of each
    /// (an index, a summary) implements this so they are never all held at
    /// once as parsed bodies, in memory the instance keeps for good. By
    /// default, collects them and calls `handle_batch`.
    fn handle_events(
        &mut self,
        events: &mut dyn Iterator<Item = Event>,
    ) -> Result<Vec<Report>, String> {
        self.handle_batch(events.collect())
    }
}
