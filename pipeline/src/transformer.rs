//! The transformer seam: a stage that turns events of its input collections
//! into events of its output collections. The built-in [`DirectMapping`]
//! renames collections; the plugin host implements the same trait for
//! WebAssembly transformers.

use std::collections::HashMap;

use crate::event::{Collection, Event};
use crate::mesh::MeshSettings;

/// A pipeline stage from input collections to output collections.
///
/// A transformer is stateful (it may index its inputs) and is called for one
/// event at a time. It must emit `FullSync` for each output once all its
/// inputs have synced, and must only emit events of its declared outputs.
/// It contains its own failures: the pipeline treats what it returns as the
/// truth.
pub trait Transformer: Send {
    /// A short name for logs and status pages.
    fn name(&self) -> &str;
    /// Collections it consumes.
    fn inputs(&self) -> Vec<Collection>;
    /// Collections it produces.
    fn outputs(&self) -> Vec<Collection>;
    /// Handles one event of an input collection (or `Reset`).
    fn handle(&mut self, event: &Event) -> Vec<Event>;

    /// Handles `events` in order, as [`Transformer::handle`] would one by
    /// one, and returns all their outputs. The pipeline hands over what
    /// arrived together (a source's initial sync comes in thousands); a
    /// transformer that crosses into a plugin overrides this to cross once
    /// for many.
    fn handle_batch(&mut self, events: &[Event]) -> Vec<Event> {
        events.iter().flat_map(|event| self.handle(event)).collect()
    }

    /// Called when the hub signals that something outside the event stream
    /// changed (a plugin was replaced): returns output events, or asks for a
    /// rebuild of the pipeline.
    fn refresh(&mut self) -> Refresh {
        Refresh::Events(Vec::new())
    }
}

/// What a transformer's refresh produced.
#[derive(Debug)]
pub enum Refresh {
    /// Output events (none if nothing changed).
    Events(Vec<Event>),
    /// The pipeline must be rebuilt (e.g. a transformer's inputs changed).
    Rebuild(String),
}

/// Builds a session's transformer from the session's mesh settings (a mesh
/// change rebuilds every transformer).
pub trait TransformerFactory: Send + Sync + 'static {
    /// Collections the transformer will consume (known before building).
    fn inputs(&self) -> Vec<Collection>;
    /// Collections the transformer will produce.
    fn outputs(&self) -> Vec<Collection>;
    /// A fresh transformer.
    fn build(&self, mesh: &MeshSettings) -> Box<dyn Transformer>;
}

/// The direct mapping's name.
pub const DIRECT: &str = "direct";

/// Serves input collections as output collections unchanged (Galley's
/// `direct` transform): only the collection name changes.
#[derive(Clone, Debug, Default)]
pub struct DirectMapping {
    mapping: HashMap<Collection, Collection>,
}

impl DirectMapping {
    /// Maps each input to its output.
    pub fn new(mapping: impl IntoIterator<Item = (Collection, Collection)>) -> Self {
        Self {
            mapping: mapping.into_iter().collect(),
        }
    }

    /// Removes inputs another transformer takes over.
    pub fn without(mut self, inputs: &[Collection]) -> Self {
        for input in inputs {
            self.mapping.remove(input);
        }
        self
    }
}

impl Transformer for DirectMapping {
    fn name(&self) -> &str {
        DIRECT
    }

    fn inputs(&self) -> Vec<Collection> {
        self.mapping.keys().cloned().collect()
    }

    fn outputs(&self) -> Vec<Collection> {
        self.mapping.values().cloned().collect()
    }

    fn handle(&mut self, event: &Event) -> Vec<Event> {
        match event {
            Event::Reset => vec![Event::Reset],
            _ => event
                .collection()
                .and_then(|c| self.mapping.get(c))
                .map(|output| vec![event.clone().with_collection(output.clone())])
                .unwrap_or_default(),
        }
    }
}

impl TransformerFactory for DirectMapping {
    fn inputs(&self) -> Vec<Collection> {
        Transformer::inputs(self)
    }

    fn outputs(&self) -> Vec<Collection> {
        Transformer::outputs(self)
    }

    fn build(&self, _: &MeshSettings) -> Box<dyn Transformer> {
        Box::new(self.clone())
    }
}
