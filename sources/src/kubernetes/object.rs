//! A Kubernetes object as the pipeline's resource: the same rules as a
//! file's document (names, body shape, content hash), with Pods and Nodes
//! cut down to the fields the transforms read, as Galley did, so a large
//! cluster's Pods fit in memory.

use std::path::PathBuf;
use std::sync::Arc;

use galleon_pipeline::event::Origin;
use galleon_pipeline::registry::{Registry, Schema};
use serde_json::{Map, Value};

use crate::documents::{Document, document_of};

/// Where an object is, for error locations: `kubernetes/<apiVersion>/<kind>/<namespace>/<name>`.
pub(super) fn locator(schema: &Schema, object: &Map<String, Value>) -> PathBuf {
    let metadata = object.get("metadata");
    let field = |name: &str| {
        metadata
            .and_then(|m| m.get(name))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let mut path = PathBuf::from("kubernetes");
    path.push(&schema.api_version);
    path.push(&schema.kind);
    let namespace = field("namespace");
    if !namespace.is_empty() {
        path.push(namespace);
    }
    path.push(field("name"));
    path
}

/// The resource `object` (of kind `schema`, in any of its API versions)
/// stands for, or why it is not one.
pub(super) fn document(
    schema: &Schema,
    mut object: Map<String, Value>,
    registry: &Registry,
) -> Result<Document, String> {
    // List items come without their type; the watch says which kind it is.
    object.insert("apiVersion".into(), schema.api_version.clone().into());
    object.insert("kind".into(), schema.kind.clone().into());
    let origin = Arc::new(Origin {
        path: locator(schema, &object),
        document: 0,
        line: 1,
    });
    match document_of(Value::Object(object), &origin, registry) {
        Ok(Some(document)) => Ok(document),
        Ok(None) => Err("empty object".into()),
        Err(invalid) => Err(invalid.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_becomes_the_resource_a_file_would_make() {
        let registry = Registry::builtin();
        let schema = registry
            .lookup("networking.istio.io/v1alpha3", "VirtualService")
            .unwrap();
        let Value::Object(object) = json!({
            "metadata": {"name": "r", "namespace": "ns", "resourceVersion": "42"},
            "spec": {"hosts": ["r"]}
        }) else {
            unreachable!()
        };
        let document = document(schema, object, &registry).unwrap();
        assert_eq!(document.entry.name, "ns/r");
        assert_eq!(document.entry.version, "42");
        assert_eq!(document.entry.body.value(), json!({"hosts": ["r"]}));
        assert_eq!(
            document.origin().path,
            PathBuf::from("kubernetes/networking.istio.io/v1alpha3/VirtualService/ns/r")
        );
    }

    /// The analyzers look for the sidecar among a Pod's containers: a Pod
    /// from the API keeps their names and images (it once kept none, so
    /// every Pod of an injected namespace read as missing its proxy).
    #[test]
    fn a_pod_from_the_api_keeps_what_the_plugins_read_and_nothing_more() {
        let registry = Registry::builtin();
        let schema = registry.lookup("v1", "Pod").unwrap();
        let Value::Object(object) = json!({
            "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "a"},
                         "managedFields": [{"manager": "kubelet"}]},
            "spec": {"nodeName": "n1", "serviceAccountName": "sa",
                     "containers": [{"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]},
                                    {"name": "istio-proxy", "image": "proxyv2:1.26"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [{"type": "Ready"}]}
        }) else {
            unreachable!()
        };
        let document = document(schema, object, &registry).unwrap();
        assert_eq!(
            document.entry.body.value(),
            json!({
                "spec": {"nodeName": "n1", "serviceAccountName": "sa",
                         "containers": [{"name": "app", "image": "app:1"},
                                        {"name": "istio-proxy", "image": "proxyv2:1.26"}]},
                "status": {"phase": "Running", "podIP": "10.0.0.1"}
            })
        );
        assert_eq!(document.entry.labels["app"], "a");
    }
}
