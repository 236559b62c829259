//! One crossing into a transformer instance, as the live path, a restart's
//! replay and a preview all make it: the events that replay an input
//! state, the call with its outputs checked against the contract, and the
//! output state they build.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::error::PluginError;
use super::instance::{Answer, Instance};
use super::{from_wit, to_wit};
use galleon_pipeline::event::{Collection, Entry, Event};

/// A resource: its collection and name.
pub(crate) type Key = (Collection, String);

/// The events that replay `inputs` into a fresh instance: `Reset`, every
/// input, the `synced` collections' `FullSync`.
pub(crate) fn replay_events(
    inputs: &BTreeMap<Key, Arc<Entry>>,
    synced: &BTreeSet<Collection>,
) -> Vec<Event> {
    std::iter::once(Event::Reset)
        .chain(
            inputs
                .iter()
                .map(|((c, _), e)| Event::Added(c.clone(), e.clone())),
        )
        .chain(synced.iter().map(|c| Event::FullSync(c.clone())))
        .collect()
}

/// One crossing of `events` into `instance`, with `inputs` the state they
/// leave: per event, its outputs checked against the `declared` output
/// collections, or the message the plugin rejected it with. `Err(_)` is a
/// failure that ends the instance.
pub(crate) fn cross(
    instance: &mut Instance,
    events: &[Event],
    inputs: &BTreeMap<Key, Arc<Entry>>,
    declared: &[Collection],
) -> Result<Vec<Result<Vec<Event>, String>>, PluginError> {
    let sent: Vec<_> = events.iter().map(to_wit::event).collect();
    let answers = instance.handle(&sent)?;
    let input = |collection: &str, name: &str| {
        inputs
            .get(&(Collection::from(collection), name.to_owned()))
            .map(|entry| &**entry)
    };
    answers
        .into_iter()
        .map(|answer| match answer {
            Answer::Rejected(message) => Ok(Err(message)),
            Answer::Outputs(outputs) => from_wit::outputs(outputs, declared, input)
                .map(Ok)
                .map_err(|error| PluginError::Output {
                    name: instance.name().into(),
                    call: "handle",
                    error,
                }),
        })
        .collect()
}

/// Applies output events to an output state.
pub(crate) fn apply(outputs: &mut BTreeMap<Key, Arc<Entry>>, events: Vec<Event>) {
    for event in events {
        match event {
            Event::Added(c, e) | Event::Updated(c, e) => {
                outputs.insert((c, e.name.clone()), e);
            }
            Event::Deleted(c, name) => {
                outputs.remove(&(c, name));
            }
            Event::FullSync(_) | Event::Reset => {}
        }
    }
}

/// The events that turn `old` into `new`.
pub(crate) fn diff(old: &BTreeMap<Key, Arc<Entry>>, new: &BTreeMap<Key, Arc<Entry>>) -> Vec<Event> {
    let changed = new
        .iter()
        .filter(|(key, entry)| old.get(*key) != Some(*entry))
        .map(|((c, _), e)| Event::Updated(c.clone(), e.clone()));
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|(c, n)| Event::Deleted(c.clone(), n.clone()));
    changed.chain(removed).collect()
}
