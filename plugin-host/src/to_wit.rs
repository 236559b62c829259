//! Host → plugin: the pipeline's events, resources, mesh settings and a
//! binding's settings as the WIT values a plugin receives.

use std::collections::BTreeMap;

use super::wit_bindings::wit;
use galleon_pipeline::event::{Collection, Entry, Event};
use galleon_pipeline::mesh::MeshSettings;

/// A pipeline event as the plugin sees it.
pub(crate) fn event(event: &Event) -> wit::Event {
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
    let pairs =
        |map: &BTreeMap<String, String>| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    wit::Resource {
        collection: collection.to_string(),
        name: entry.name.clone(),
        version: entry.version.clone(),
        labels: pairs(&entry.labels),
        annotations: pairs(&entry.annotations),
        create_time: entry.create_time.clone(),
        body: entry.body.json().to_owned(),
    }
}

/// The mesh settings a plugin is configured with.
pub(crate) fn mesh(mesh: &MeshSettings) -> wit::Mesh {
    wit::Mesh {
        config: mesh.config.to_string(),
        domain_suffix: mesh.domain_suffix.clone(),
    }
}

/// A binding's settings as `configure` receives them: always a JSON
/// document, `{}` when none are configured.
pub(crate) fn settings(settings: &serde_json::Value) -> String {
    if settings.is_null() {
        "{}".into()
    } else {
        settings.to_string()
    }
}
