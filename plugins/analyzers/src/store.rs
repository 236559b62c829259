//! Every resource the analyzers read, by collection and name, with the
//! lookups they share (a namespace's resources, labels matching a
//! selector).

use std::collections::BTreeMap;

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Event, Resource};

/// The current resources.
#[derive(Default)]
pub(crate) struct Store {
    by_collection: BTreeMap<String, BTreeMap<String, Resource>>,
}

impl Store {
    /// Applies `event`; returns the collection it changed, if any.
    pub(crate) fn apply(&mut self, event: Event) -> Option<String> {
        match event {
            Event::Added(r) | Event::Updated(r) => {
                let collection = r.collection.clone();
                self.by_collection
                    .entry(collection.clone())
                    .or_default()
                    .insert(r.name.clone(), r);
                Some(collection)
            }
            Event::Deleted { collection, name } => {
                let removed = self
                    .by_collection
                    .get_mut(&collection)
                    .and_then(|c| c.remove(&name));
                removed.map(|_| collection)
            }
            Event::FullSync(_) => None,
            Event::Reset => {
                self.by_collection.clear();
                None
            }
        }
    }

    /// Every resource of `collection`, by name.
    pub(crate) fn all(&self, collection: &str) -> impl Iterator<Item = &Resource> {
        self.by_collection
            .get(collection)
            .into_iter()
            .flat_map(|c| c.values())
    }

    /// One resource.
    pub(crate) fn get(&self, collection: &str, name: &str) -> Option<&Resource> {
        self.by_collection.get(collection)?.get(name)
    }

    /// The pods of `namespace` whose labels `selector` matches.
    pub(crate) fn pods_matching(
        &self,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Vec<&Resource> {
        self.all(crate::collections::PODS)
            .filter(|p| p.namespace() == namespace && matches(selector, &pod_labels(p)))
            .collect()
    }
}

/// A pod's labels (its object's `metadata.labels`, else the resource's).
pub(crate) fn pod_labels(pod: &Resource) -> BTreeMap<String, String> {
    match pod.body.pointer("/metadata/labels") {
        Some(Value::Object(labels)) => labels
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => pod.labels.clone(),
    }
}

/// Whether every pair of `selector` is in `labels` (an empty selector
/// matches everything).
pub(crate) fn matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A JSON map of strings (a selector, labels) as a map.
pub(crate) fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The strings of a JSON list.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A selector written `k=v,k2=v2`, as Istio's messages print it.
pub(crate) fn selector_text(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
