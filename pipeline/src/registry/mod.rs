//! The collection registry: which document kinds galleon understands, the
//! source collection each kind lands in, and the output collection the direct
//! mapping serves it as. Ships Istio 1.5's set ([`builtin`]); users add their
//! own kinds (their CRDs) in the hub configuration.

mod builtin;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::event::Collection;

/// The collection that carries the mesh configuration, in and out.
pub const MESH_CONFIG: &str = "istio/mesh/v1alpha1/MeshConfig";

/// Which part of a document becomes the resource body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BodyShape {
    /// The document's `spec` (most kinds).
    #[default]
    Spec,
    /// The whole document minus `apiVersion`, `kind` and `metadata` (kinds
    /// without a spec, e.g. Endpoints, or that Galley took whole, e.g. Pod).
    Object,
}

/// One known kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    /// `group/version`, or `v1` for the core group.
    pub api_version: String,
    /// The kind, e.g. `VirtualService`.
    pub kind: String,
    /// The source collection, `k8s/<group|core>/<version>/<plural>`.
    pub collection: Collection,
    /// Cluster-scoped kinds have no namespace; their names are `/<name>`.
    pub cluster_scoped: bool,
    /// What the body is.
    pub body: BodyShape,
    /// Output collection of the direct mapping, if the kind is served as is.
    pub output: Option<Collection>,
}

impl Schema {
    /// A kind whose source collection follows the Kubernetes convention.
    pub fn new(api_version: &str, kind: &str, plural: &str) -> Self {
        let (group, version) = api_version.split_once('/').unwrap_or(("core", api_version));
        Self {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            collection: format!("k8s/{group}/{version}/{plural}").into(),
            cluster_scoped: false,
            body: BodyShape::Spec,
            output: None,
        }
    }
}

/// A kind declared in the hub configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindConfig {
    /// `group/version` of the kind.
    pub api_version: String,
    /// The kind's name.
    pub kind: String,
    /// Its plural (the last segment of the source collection).
    pub plural: String,
    /// Whether it is cluster-scoped.
    #[serde(default)]
    pub cluster_scoped: bool,
    /// What the body is.
    #[serde(default)]
    pub body: BodyShape,
    /// Output collection to serve it as (direct mapping); none: input only.
    #[serde(default)]
    pub output: Option<String>,
}

impl From<&KindConfig> for Schema {
    fn from(config: &KindConfig) -> Self {
        Self {
            cluster_scoped: config.cluster_scoped,
            body: config.body,
            output: config.output.as_deref().map(Into::into),
            ..Schema::new(&config.api_version, &config.kind, &config.plural)
        }
    }
}

/// Known kinds by (apiVersion, kind) and by source collection.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    by_kind: HashMap<(String, String), Arc<Schema>>,
    by_collection: HashMap<Collection, Arc<Schema>>,
}

impl Registry {
    /// Istio 1.5's kinds.
    pub fn builtin() -> Self {
        let mut registry = Self::default();
        for schema in builtin::schemas() {
            registry.add(schema);
        }
        registry
    }

    /// Adds a kind, replacing any with the same (apiVersion, kind).
    pub fn add(&mut self, schema: Schema) {
        let schema = Arc::new(schema);
        let key = (schema.api_version.clone(), schema.kind.clone());
        if let Some(old) = self.by_kind.insert(key, schema.clone()) {
            self.by_collection.remove(&old.collection);
        }
        self.by_collection.insert(schema.collection.clone(), schema);
    }

    /// The schema for a document's `apiVersion` and `kind`.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<&Arc<Schema>> {
        self.by_kind.get(&(api_version.to_owned(), kind.to_owned()))
    }

    /// The schema whose source collection is `collection`.
    pub fn by_collection(&self, collection: &str) -> Option<&Arc<Schema>> {
        self.by_collection.get(collection)
    }

    /// Every known kind, ordered by source collection.
    pub fn schemas(&self) -> Vec<&Arc<Schema>> {
        let mut all: Vec<_> = self.by_collection.values().collect();
        all.sort_by(|a, b| a.collection.cmp(&b.collection));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_kinds_map_to_galleys_collections() {
        let registry = Registry::builtin();
        let vs = registry
            .lookup("networking.istio.io/v1alpha3", "VirtualService")
            .unwrap();
        assert_eq!(
            &*vs.collection,
            "k8s/networking.istio.io/v1alpha3/virtualservices"
        );
        assert_eq!(
            vs.output.as_deref(),
            Some("istio/networking/v1alpha3/virtualservices")
        );
        let service = registry.lookup("v1", "Service").unwrap();
        assert_eq!(&*service.collection, "k8s/core/v1/services");
        let node = registry.lookup("v1", "Node").unwrap();
        assert!(node.cluster_scoped);
        let endpoints = registry.lookup("v1", "Endpoints").unwrap();
        assert_eq!(endpoints.body, BodyShape::Object);
        let binding = registry
            .lookup("rbac.istio.io/v1alpha1", "ServiceRoleBinding")
            .unwrap();
        assert_eq!(&*binding.collection, "k8s/rbac.istio.io/v1alpha1/policy");
        assert_eq!(
            binding.output.as_deref(),
            Some("istio/rbac/v1alpha1/servicerolebindings")
        );
        for api in ["extensions/v1beta1", "networking.k8s.io/v1"] {
            assert!(registry.lookup(api, "Ingress").is_some(), "{api} Ingress");
        }
    }

    #[test]
    fn user_kinds_are_added_from_configuration() {
        let config: KindConfig = serde_json::from_value(serde_json::json!({
            "apiVersion": "example.com/v1", "kind": "Widget", "plural": "widgets",
            "output": "example/v1/widgets"
        }))
        .unwrap();
        let mut registry = Registry::builtin();
        registry.add(Schema::from(&config));
        let widget = registry
            .by_collection("k8s/example.com/v1/widgets")
            .unwrap();
        assert_eq!(widget.kind, "Widget");
        assert_eq!(widget.output.as_deref(), Some("example/v1/widgets"));
    }
}
