//! The mesh configuration the pipeline is built with: Istio's `MeshConfig`
//! (as JSON, over Galley's defaults) and the cluster domain suffix.

use std::sync::Arc;

use serde_json::{Map, Value};

/// Name of the single MeshConfig resource.
pub const MESH_CONFIG_NAME: &str = "istio-system/meshconfig";

/// What transforms are configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct MeshSettings {
    /// The mesh configuration, defaults filled in.
    pub config: Arc<Value>,
    /// DNS suffix of the cluster, e.g. `cluster.local`.
    pub domain_suffix: String,
}

impl MeshSettings {
    /// Galley's defaults with `domain_suffix`.
    pub fn defaults(domain_suffix: &str) -> Self {
        Self {
            config: Arc::new(Value::Object(defaults())),
            domain_suffix: domain_suffix.to_owned(),
        }
    }
}

/// Galley's defaults for the fields its transforms read. They are part of
/// the plugin contract (a plugin's native tests run with them too), so they
/// are kept once, beside the WIT: `plugin-sdk/mesh-defaults.json`.
pub fn defaults() -> Map<String, Value> {
    const DEFAULTS: &str = include_str!("../../plugin-sdk/mesh-defaults.json");
    serde_json::from_str(DEFAULTS).expect("plugin-sdk/mesh-defaults.json is a JSON object")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_galleys() {
        let defaults = defaults();
        assert_eq!(defaults["ingressClass"], "istio");
        assert_eq!(defaults["rootNamespace"], "istio-system");
    }
}
