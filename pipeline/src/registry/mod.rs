//! The collection registry: which document kinds galleon understands, the
//! source collection each kind lands in, and the output collection the direct
//! mapping serves it as. Ships Istio's kinds, 1.5's and today's
//! ([`builtin`]); users add their own kinds (their CRDs) in the hub
//! configuration.

mod builtin;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::event::Collection;

/// The collection that carries the mesh configuration, in and out.
pub const MESH_CONFIG: &str = "istio/mesh/v1alpha1/MeshConfig";

/// Which part of a document becomes the resource body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BodyShape {
    /// The document's `spec` (most kinds).
    #[default]
    Spec,
    /// The whole document minus `apiVersion`, `kind` and `metadata` (kinds
    /// without a spec, e.g. Endpoints, or that Galley took whole, e.g. Pod).
    Object,
    /// A Secret: its type, the names of its keys and its certificate's
    /// validity window, never the data (the sources summarise it).
    Credential,
}

/// One known kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    /// `group/version`, or `v1` for the core group: the version that names
    /// the source collection.
    pub api_version: String,
    /// Other API versions of the same kind. Documents in any of them are the
    /// same resource and land in the same collection (a name defined in two
    /// versions is a duplicate).
    pub later_versions: Vec<String>,
    /// The kind, e.g. `VirtualService`.
    pub kind: String,
    /// The source collection, `k8s/<group|core>/<version>/<plural>`.
    pub collection: Collection,
    /// Cluster-scoped kinds have no namespace; their names are `<name>`.
    pub cluster_scoped: bool,
    /// What the body is.
    pub body: BodyShape,
    /// Output collection of the direct mapping, if the kind is served as is.
    pub output: Option<Collection>,
    /// The protobuf message its bodies are served as, when the user's
    /// schemas define it (`istio.networking.v1alpha3.VirtualService`).
    pub message: Option<String>,
}

impl Schema {
    /// A kind whose source collection follows the Kubernetes convention.
    pub fn new(api_version: &str, kind: &str, plural: &str) -> Self {
        let (group, version) = api_version.split_once('/').unwrap_or(("core", api_version));
        Self {
            api_version: api_version.to_owned(),
            later_versions: Vec::new(),
            kind: kind.to_owned(),
            collection: format!("k8s/{group}/{version}/{plural}").into(),
            cluster_scoped: false,
            body: BodyShape::Spec,
            output: None,
            message: None,
        }
    }

    /// The kind's group/version/kind in every API version, with the core
    /// group named `core`: `networking.istio.io/v1/VirtualService`,
    /// `core/v1/Service` (the type URLs istiod asks MCP over xDS for).
    pub fn gvks(&self) -> impl Iterator<Item = String> + '_ {
        self.api_versions().map(|api_version| {
            let (group, version) = api_version.split_once('/').unwrap_or(("core", api_version));
            format!("{group}/{version}/{}", self.kind)
        })
    }

    /// Every API version the kind is written in, the collection's first.
    pub fn api_versions(&self) -> impl Iterator<Item = &str> {
        let later = self.later_versions.iter().map(String::as_str);
        std::iter::once(self.api_version.as_str()).chain(later)
    }
}

/// A kind declared in the hub configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
    /// The protobuf message (full name) bodies are typed as, when the
    /// configured schemas define it; `Struct` otherwise.
    #[serde(default)]
    pub message: Option<String>,
    /// Whether it deliberately replaces a built-in kind of the same
    /// `apiVersion` and `kind` (and with it every API version the built-in
    /// served); a redefinition without it is refused.
    #[serde(default)]
    pub replace_builtin: bool,
}

impl From<&KindConfig> for Schema {
    fn from(config: &KindConfig) -> Self {
        Self {
            cluster_scoped: config.cluster_scoped,
            body: config.body,
            output: config.output.as_deref().map(Into::into),
            message: config.message.clone(),
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
    /// Istio's kinds.
    pub fn builtin() -> Self {
        let mut registry = Self::default();
        for schema in builtin::schemas() {
            registry.add(schema);
        }
        registry
    }

    /// Adds a kind, replacing any with the same (apiVersion, kind) in any of
    /// its API versions.
    pub fn add(&mut self, schema: Schema) {
        let schema = Arc::new(schema);
        let key = |api_version: &str| (api_version.to_owned(), schema.kind.clone());
        let replaced: Vec<Arc<Schema>> = schema
            .api_versions()
            .filter_map(|api_version| self.by_kind.get(&key(api_version)).cloned())
            .collect();
        for old in replaced {
            self.by_collection.remove(&old.collection);
            self.by_kind.retain(|_, s| !Arc::ptr_eq(s, &old));
        }
        for api_version in schema.api_versions() {
            self.by_kind.insert(key(api_version), schema.clone());
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
    fn istio_kinds_name_their_messages() {
        let registry = Registry::builtin();
        let message = |api: &str, kind: &str| registry.lookup(api, kind).unwrap().message.clone();
        for (api, kind, expected) in [
            (
                "networking.istio.io/v1",
                "VirtualService",
                "istio.networking.v1alpha3.VirtualService",
            ),
            (
                "security.istio.io/v1",
                "AuthorizationPolicy",
                "istio.security.v1beta1.AuthorizationPolicy",
            ),
            (
                "networking.istio.io/v1beta1",
                "ProxyConfig",
                "istio.networking.v1beta1.ProxyConfig",
            ),
            (
                "telemetry.istio.io/v1",
                "Telemetry",
                "istio.telemetry.v1alpha1.Telemetry",
            ),
            (
                "authentication.istio.io/v1alpha1",
                "MeshPolicy",
                "istio.authentication.v1alpha1.Policy",
            ),
            (
                "config.istio.io/v1alpha2",
                "QuotaSpec",
                "istio.mixer.v1.config.client.QuotaSpec",
            ),
        ] {
            assert_eq!(message(api, kind).as_deref(), Some(expected), "{kind}");
        }
        assert_eq!(message("v1", "Pod"), None);
        let vs = registry
            .lookup("networking.istio.io/v1", "VirtualService")
            .unwrap();
        let gvks: Vec<String> = vs.gvks().collect();
        assert_eq!(
            gvks,
            [
                "networking.istio.io/v1alpha3/VirtualService",
                "networking.istio.io/v1beta1/VirtualService",
                "networking.istio.io/v1/VirtualService"
            ]
        );
        let service = registry.lookup("v1", "Service").unwrap();
        assert_eq!(service.gvks().collect::<Vec<_>>(), ["core/v1/Service"]);
        assert_eq!(message("v1", "Service"), None);
    }

    #[test]
    fn the_api_versions_of_a_kind_are_one_collection() {
        let registry = Registry::builtin();
        let collection = |api: &str, kind: &str| {
            let schema = registry.lookup(api, kind);
            schema.map(|s| s.collection.to_string())
        };
        for kind in [
            "VirtualService",
            "DestinationRule",
            "Gateway",
            "ServiceEntry",
            "Sidecar",
            "WorkloadEntry",
            "WorkloadGroup",
        ] {
            let first = collection("networking.istio.io/v1alpha3", kind);
            assert!(first.is_some(), "{kind}");
            for later in ["networking.istio.io/v1beta1", "networking.istio.io/v1"] {
                assert_eq!(collection(later, kind), first, "{later} {kind}");
            }
        }
        for kind in [
            "AuthorizationPolicy",
            "PeerAuthentication",
            "RequestAuthentication",
        ] {
            let first = collection("security.istio.io/v1beta1", kind);
            assert!(first.is_some(), "{kind}");
            assert_eq!(collection("security.istio.io/v1", kind), first, "{kind}");
        }
        assert_eq!(
            collection("telemetry.istio.io/v1", "Telemetry"),
            collection("telemetry.istio.io/v1alpha1", "Telemetry"),
        );
        assert!(collection("networking.istio.io/v1beta1", "ProxyConfig").is_some());
        assert!(collection("extensions.istio.io/v1alpha1", "WasmPlugin").is_some());
        // EnvoyFilter has only ever been v1alpha3, ProxyConfig v1beta1.
        assert!(collection("networking.istio.io/v1", "EnvoyFilter").is_none());
        assert!(collection("networking.istio.io/v1", "ProxyConfig").is_none());
        // Replacing a kind replaces it in every version.
        let mut registry = Registry::builtin();
        let mut custom = Schema::new("networking.istio.io/v1alpha3", "Sidecar", "mysidecars");
        custom.later_versions = vec!["networking.istio.io/v1".into()];
        registry.add(custom);
        let sidecar = registry
            .lookup("networking.istio.io/v1", "Sidecar")
            .unwrap();
        assert_eq!(
            &*sidecar.collection,
            "k8s/networking.istio.io/v1alpha3/mysidecars"
        );
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
