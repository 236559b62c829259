//! A Pod as the analyzers hold it: what they read of it (name, labels,
//! annotations, node, host networking, the proxy's image) and not its parse
//! tree. At cluster scale Pods are most of what the analyzers see (100,000
//! of them beside 10,000 Services), and a Pod's object as a JSON value is
//! several kilobytes of maps; this is a few hundred bytes.

use std::collections::BTreeMap;

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::{Map, Value};

/// Labels or annotations.
type Strings = BTreeMap<String, String>;

/// The container Istio injects.
const PROXY: &str = "istio-proxy";

/// What the analyzers read of one Pod.
#[derive(Debug)]
pub(crate) struct Pod {
    /// Its name, labels and annotations (the object's own where it carries
    /// metadata, else the resource's); the body is left out.
    pub(crate) resource: Resource,
    /// `spec.nodeName` (empty when unscheduled).
    pub(crate) node: String,
    /// `spec.hostNetwork`.
    pub(crate) host_network: bool,
    /// The image of its `istio-proxy` container or init container (empty
    /// when it has none).
    pub(crate) proxy_image: String,
}

impl Pod {
    /// The parts of `resource` (a Pod) the analyzers read.
    pub(crate) fn new(mut resource: Resource) -> Self {
        let body = std::mem::take(&mut resource.body);
        if let Some(labels) = strings_at(&body, "/metadata/labels") {
            resource.labels = labels;
        }
        if let Some(annotations) = strings_at(&body, "/metadata/annotations") {
            resource.annotations = annotations;
        }
        let spec = body.get("spec");
        let field = |name: &str| spec.and_then(|s| s.get(name));
        let proxy_image = ["containers", "initContainers"]
            .into_iter()
            .filter_map(|list| field(list).and_then(Value::as_array))
            .flatten()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(PROXY))
            .and_then(|c| c.get("image"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        resource.version = String::new();
        resource.create_time = None;
        Self {
            node: field("nodeName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            host_network: field("hostNetwork").and_then(Value::as_bool) == Some(true),
            proxy_image,
            resource,
        }
    }

    /// `namespace/name`.
    pub(crate) fn name(&self) -> &str {
        &self.resource.name
    }

    /// Its namespace.
    pub(crate) fn namespace(&self) -> &str {
        self.resource.namespace()
    }

    /// Its name within its namespace.
    pub(crate) fn short_name(&self) -> &str {
        self.resource.short_name()
    }

    /// Its labels.
    pub(crate) fn labels(&self) -> &Strings {
        &self.resource.labels
    }

    /// Its label `key`, else its annotation `key`.
    pub(crate) fn label_or_annotation(&self, key: &str) -> Option<&str> {
        self.resource
            .labels
            .get(key)
            .or_else(|| self.resource.annotations.get(key))
            .map(String::as_str)
    }

    /// Its annotation `key`.
    pub(crate) fn annotation(&self, key: &str) -> Option<&str> {
        self.resource.annotations.get(key).map(String::as_str)
    }
}

/// The map of strings at `pointer`, if there is an object there.
fn strings_at(body: &Value, pointer: &str) -> Option<Strings> {
    body.pointer(pointer)
        .and_then(Value::as_object)
        .map(|map: &Map<String, Value>| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
}

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::serde_json::json;

    use super::*;

    #[test]
    fn a_pod_keeps_what_the_analyzers_read_and_not_its_body() {
        let mut resource = Resource::new(
            crate::collections::PODS,
            "shop/web-1",
            json!({
                "metadata": {"labels": {"app": "web"}, "annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": {
                    "nodeName": "node-3",
                    "hostNetwork": true,
                    "initContainers": [{"name": "istio-proxy", "image": "proxyv2:1.24"}],
                    "containers": [{"name": "web", "image": "web:1"}],
                },
                "status": {"phase": "Running", "podIP": "10.0.0.1"},
            }),
        );
        resource.labels.insert("stale".into(), "resource".into());
        let pod = Pod::new(resource);
        assert_eq!(pod.labels(), &Strings::from([("app".into(), "web".into())]));
        assert_eq!(
            pod.label_or_annotation("sidecar.istio.io/inject"),
            Some("false")
        );
        assert_eq!((pod.node.as_str(), pod.host_network), ("node-3", true));
        assert_eq!(pod.proxy_image, "proxyv2:1.24");
        assert_eq!(pod.resource.body, Value::Null);
        assert_eq!((pod.namespace(), pod.short_name()), ("shop", "web-1"));
    }

    #[test]
    fn a_pod_without_metadata_in_its_body_keeps_the_resource_labels() {
        let mut resource = Resource::new(crate::collections::PODS, "shop/web-1", json!({}));
        resource.labels.insert("app".into(), "web".into());
        let pod = Pod::new(resource);
        assert_eq!(pod.labels().get("app").map(String::as_str), Some("web"));
        assert_eq!((pod.node.as_str(), pod.proxy_image.as_str()), ("", ""));
    }
}
