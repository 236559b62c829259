//! Plugin → host: the WIT records a transformer answers with, as pipeline
//! events, and the checks that answer must pass.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::wit_bindings::wit;
use galleon_pipeline::event::{Collection, Entry, Event};

/// How a transformer's answer breaks the contract.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An output in a collection the plugin did not declare.
    #[error("emitted undeclared output collection {0:?}")]
    Undeclared(String),
    /// A resource without a name.
    #[error("emitted a resource of {0} without a name")]
    Unnamed(String),
    /// The same resource twice in one answer.
    #[error("emitted {0} {1} twice in one answer")]
    Twice(String, String),
    /// A body that does not parse as JSON.
    #[error("emitted {collection} {name} with a body that is not JSON: {error}")]
    BodyNotJson {
        /// The resource's collection.
        collection: String,
        /// The resource's name.
        name: String,
        /// The parser's reason.
        error: serde_json::Error,
    },
}

/// One event, as the plugin wrote it (nothing checked beyond the body being
/// JSON).
pub(crate) fn event(event: wit::Event) -> Result<Event, OutputError> {
    Ok(match event {
        wit::Event::Added(r) => {
            let collection = Collection::from(r.collection.as_str());
            Event::Added(collection, entry(r)?)
        }
        wit::Event::Updated(r) => {
            let collection = Collection::from(r.collection.as_str());
            Event::Updated(collection, entry(r)?)
        }
        wit::Event::Deleted(d) => Event::Deleted(d.collection.as_str().into(), d.name),
        wit::Event::FullSync(c) => Event::FullSync(c.as_str().into()),
        wit::Event::Reset => Event::Reset,
    })
}

/// Checks a transformer's outputs against the contract and converts them:
/// every collection must be a declared output, every body JSON, every
/// resource named, and no resource set twice in one answer. Additions are
/// updates to the pipeline; `FullSync` and `Reset` are dropped (the host
/// emits `FullSync` for the outputs itself).
pub(crate) fn outputs(
    outputs: Vec<wit::Event>,
    declared: &[Collection],
) -> Result<Vec<Event>, OutputError> {
    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(outputs.len());
    for output in outputs {
        let (collection, name, resource) = match output {
            wit::Event::Added(r) | wit::Event::Updated(r) => {
                (r.collection.clone(), r.name.clone(), Some(r))
            }
            wit::Event::Deleted(d) => (d.collection, d.name, None),
            wit::Event::FullSync(_) | wit::Event::Reset => continue,
        };
        let Some(collection) = declared.iter().find(|c| &***c == collection.as_str()) else {
            return Err(OutputError::Undeclared(collection));
        };
        if name.is_empty() {
            return Err(OutputError::Unnamed(collection.to_string()));
        }
        if !seen.insert((collection.clone(), name.clone())) {
            return Err(OutputError::Twice(collection.to_string(), name));
        }
        let collection = collection.clone();
        events.push(match resource {
            Some(r) => Event::Updated(collection, entry(r)?),
            None => Event::Deleted(collection, name),
        });
    }
    Ok(events)
}

fn entry(r: wit::Resource) -> Result<Entry, OutputError> {
    let body = serde_json::from_str(&r.body).map_err(|error| OutputError::BodyNotJson {
        collection: r.collection.clone(),
        name: r.name.clone(),
        error,
    })?;
    Ok(Entry {
        name: r.name,
        labels: r.labels.into_iter().collect(),
        annotations: r.annotations.into_iter().collect(),
        create_time: r.create_time,
        version: r.version,
        body: Arc::new(body),
        origin: None,
    })
}
