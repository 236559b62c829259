//! Every resource the analyzers read, by collection and name, kept up to
//! date as events arrive; Pods apart, by namespace and held as
//! [`Pod`]s (what the analyzers read of them, not their bodies). Resources
//! in the system namespaces are left out, as Istio's analyzers leave them.

use std::collections::BTreeMap;

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Event, Resource};

use crate::collections::{PODS, SYSTEM_NAMESPACES};
use crate::pod::Pod;

/// Labels.
pub(crate) type Labels = BTreeMap<String, String>;

/// The current resources.
#[derive(Default)]
pub(crate) struct Store {
    by_collection: BTreeMap<String, BTreeMap<String, Resource>>,
    /// namespace → name in it → pod.
    pods: BTreeMap<String, BTreeMap<String, Pod>>,
}

impl Store {
    /// Applies `event`; returns the collection it changed, if any.
    pub(crate) fn apply(&mut self, event: Event) -> Option<String> {
        match event {
            Event::Added(r) | Event::Updated(r) => {
                if SYSTEM_NAMESPACES.contains(&r.namespace()) {
                    return None;
                }
                let collection = r.collection.clone();
                if collection == PODS {
                    let pod = Pod::new(r);
                    self.pods
                        .entry(pod.namespace().to_owned())
                        .or_default()
                        .insert(pod.short_name().to_owned(), pod);
                    return Some(collection);
                }
                self.by_collection
                    .entry(collection.clone())
                    .or_default()
                    .insert(r.name.clone(), r);
                Some(collection)
            }
            Event::Deleted { collection, name } if collection == PODS => {
                let (namespace, short) = split(&name);
                self.pods.get_mut(namespace)?.remove(short)?;
                Some(collection)
            }
            Event::Deleted { collection, name } => {
                self.by_collection
                    .get_mut(&collection)
                    .and_then(|c| c.remove(&name))?;
                Some(collection)
            }
            Event::FullSync(_) => None,
            Event::Reset => {
                *self = Self::default();
                None
            }
        }
    }

    /// Every resource of `collection`, by name (Pods are [`Store::pods`]).
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

    /// The pods of `namespace`, or all.
    pub(crate) fn pods<'a>(&'a self, namespace: Option<&'a str>) -> impl Iterator<Item = &'a Pod> {
        self.pods
            .iter()
            .filter(move |(ns, _)| namespace.is_none_or(|n| n == ns.as_str()))
            .flat_map(|(_, pods)| pods.values())
    }

    /// One pod, by `namespace/name`.
    pub(crate) fn pod(&self, name: &str) -> Option<&Pod> {
        let (namespace, short) = split(name);
        self.pods.get(namespace)?.get(short)
    }

    /// The names (`namespace/name`) of the pods of `namespace` (all when
    /// `None`) whose labels `selector` matches.
    pub(crate) fn pods_matching(&self, namespace: Option<&str>, selector: &Labels) -> Vec<String> {
        self.pods(namespace)
            .filter(|pod| matches(selector, pod.labels()))
            .map(|pod| pod.name().to_owned())
            .collect()
    }
}

/// `namespace/name` as (namespace, name), as [`Resource::namespace`] and
/// [`Resource::short_name`] split it.
fn split(name: &str) -> (&str, &str) {
    name.split_once('/').unwrap_or(("", name))
}

/// Whether every pair of `selector` is in `labels` (an empty selector
/// matches everything).
pub(crate) fn matches(selector: &Labels, labels: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A JSON map of strings (a selector, labels) as a map.
pub(crate) fn string_map(value: Option<&Value>) -> Labels {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => Labels::new(),
    }
}

/// The strings of a JSON list.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The items of a JSON list.
pub(crate) fn items(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

/// A selector written `k=v,k2=v2` (keys sorted), as Istio's messages print it.
pub(crate) fn selector_text(selector: &Labels) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
