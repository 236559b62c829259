//! Conversions between the pipeline's events and the WIT records, and the
//! checks on what a plugin returns.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::bindings::transformer::galleon::plugin::types as wit;
use crate::event::{Collection, Entry, Event};

/// A pipeline event as the plugin sees it.
pub(crate) fn to_wit(event: &Event) -> wit::Event {
    match event {
        Event::Added(collection, entry) => wit::Event::Added(resource(collection, entry)),
        Event::Updated(collection, entry) => wit::Event::Updated(resource(collection, entry)),
        Event::Deleted(collection, name) => wit::Event::Deleted(wit::Removed {
            collection: collection.to_string(),
            name: name.clone(),
        }),
        Event::FullSync(collection) => wit::Event::FullSync(collection.to_string()),
        Event::Reset => wit::Event::Reset,
    }
}

/// A resource as the plugin sees it.
pub(crate) fn resource(collection: &Collection, entry: &Entry) -> wit::Resource {
    wit::Resource {
        collection: collection.to_string(),
        name: entry.name.clone(),
        version: entry.version.clone(),
        labels: entry
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        annotations: entry
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        create_time: entry.create_time.clone(),
        body: entry.body.to_string(),
    }
}

/// Checks a plugin's outputs against the contract and converts them: every
/// collection must be a declared output, every body JSON, every resource
/// named, and no resource set twice in one answer. `FullSync` and `Reset`
/// outputs are dropped (the host emits `FullSync` for the outputs itself).
pub(crate) fn from_wit(
    outputs: Vec<wit::Event>,
    declared: &[Collection],
) -> Result<Vec<Event>, String> {
    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(outputs.len());
    let collection = |name: &str| {
        declared
            .iter()
            .find(|c| &***c == name)
            .cloned()
            .ok_or_else(|| format!("emitted undeclared output collection {name:?}"))
    };
    for output in outputs {
        let event = match output {
            wit::Event::Added(r) | wit::Event::Updated(r) => {
                let c = collection(&r.collection)?;
                if r.name.is_empty() {
                    return Err(format!(
                        "emitted a resource of {} without a name",
                        r.collection
                    ));
                }
                if !seen.insert((c.clone(), r.name.clone())) {
                    return Err(format!(
                        "emitted {} {} twice in one answer",
                        r.collection, r.name
                    ));
                }
                let body = serde_json::from_str(&r.body).map_err(|e| {
                    format!(
                        "emitted {} {} with a body that is not JSON: {e}",
                        r.collection, r.name
                    )
                })?;
                Event::Updated(
                    c,
                    Entry {
                        name: r.name,
                        labels: r.labels.into_iter().collect(),
                        annotations: r.annotations.into_iter().collect(),
                        create_time: r.create_time,
                        version: r.version,
                        body: Arc::new(body),
                        origin: None,
                    },
                )
            }
            wit::Event::Deleted(d) => {
                let c = collection(&d.collection)?;
                if !seen.insert((c.clone(), d.name.clone())) {
                    return Err(format!(
                        "emitted {} {} twice in one answer",
                        d.collection, d.name
                    ));
                }
                Event::Deleted(c, d.name)
            }
            wit::Event::FullSync(_) | wit::Event::Reset => continue,
        };
        events.push(event);
    }
    Ok(events)
}
