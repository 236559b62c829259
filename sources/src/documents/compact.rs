//! What the pipeline keeps of the kinds a cluster has by the hundred
//! thousand: a Pod is held with the fields the built-in plugins read (the
//! ServiceEntry synthesis and Istio's analyzers), a Node with its metadata
//! alone; every other kind whole. A Pod as read is ~6 KB as a parse tree,
//! most of it containers' ports, resources, probes and its status
//! conditions, which nothing in the hub reads. Every source (files, etcd,
//! the Kubernetes API) holds Pods the same way, so what a plugin sees does
//! not depend on where the Pod came from.

use serde_json::{Map, Value};

/// The fields of a Pod's `spec` that are kept.
const POD_SPEC: &[&str] = &[
    "nodeName",
    "serviceAccountName",
    "serviceAccount",
    "hostNetwork",
    "containers",
    "initContainers",
];

/// The fields of a Pod's `status` that are kept.
const POD_STATUS: &[&str] = &["phase", "podIP", "podIPs"];

/// The fields of each container that are kept (the analyzers look for the
/// `istio-proxy` sidecar and its image).
const CONTAINER: &[&str] = &["name", "image"];

/// `object` (of `api_version` and `kind`) reduced to what is kept of it:
/// its `apiVersion`, `kind` and `metadata` always (less the API server's
/// field-management bookkeeping), the rest as its kind says.
pub(crate) fn object(
    api_version: &str,
    kind: &str,
    mut object: Map<String, Value>,
) -> Map<String, Value> {
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.remove("managedFields");
    }
    if api_version != "v1" || !matches!(kind, "Pod" | "Node") {
        return object;
    }
    let mut kept = Map::new();
    for field in ["apiVersion", "kind", "metadata"] {
        if let Some(value) = object.remove(field) {
            kept.insert(field.into(), value);
        }
    }
    if kind == "Pod" {
        pod(object, &mut kept);
    }
    kept
}

fn pod(mut object: Map<String, Value>, kept: &mut Map<String, Value>) {
    if let Some(Value::Object(mut spec)) = object.remove("spec") {
        spec.retain(|key, _| POD_SPEC.contains(&key.as_str()));
        for list in ["containers", "initContainers"] {
            if let Some(Value::Array(containers)) = spec.get_mut(list) {
                for container in containers.iter_mut() {
                    if let Value::Object(fields) = container {
                        fields.retain(|key, _| CONTAINER.contains(&key.as_str()));
                    }
                }
            }
        }
        kept.insert("spec".into(), Value::Object(spec));
    }
    if let Some(Value::Object(mut status)) = object.remove("status") {
        status.retain(|key, _| POD_STATUS.contains(&key.as_str()));
        kept.insert("status".into(), Value::Object(status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            unreachable!("an object")
        };
        map
    }

    #[test]
    fn a_pod_keeps_what_the_plugins_read() {
        let pod = map(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "a"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "sa", "hostNetwork": false,
                     "containers": [{"name": "app", "image": "app:1", "ports": [{"containerPort": 80}],
                                     "resources": {"requests": {"cpu": "1"}}},
                                    {"name": "istio-proxy", "image": "proxyv2:1.26"}],
                     "volumes": [{"name": "v"}], "tolerations": []},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}],
                       "hostIP": "192.168.0.1", "conditions": [{"type": "Ready"}]}
        }));
        assert_eq!(
            Value::Object(object("v1", "Pod", pod)),
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "a"}},
                "spec": {"nodeName": "n1", "serviceAccountName": "sa", "hostNetwork": false,
                         "containers": [{"name": "app", "image": "app:1"},
                                        {"name": "istio-proxy", "image": "proxyv2:1.26"}]},
                "status": {"phase": "Running", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}]}
            })
        );
    }

    #[test]
    fn a_node_keeps_its_metadata_alone_and_other_kinds_are_whole() {
        let node = map(
            json!({"kind": "Node", "metadata": {"name": "n", "labels": {"zone": "a"}},
                              "spec": {"podCIDR": "10.0.0.0/24"}, "status": {"capacity": {}}}),
        );
        assert_eq!(
            Value::Object(object("v1", "Node", node)),
            json!({"kind": "Node", "metadata": {"name": "n", "labels": {"zone": "a"}}})
        );
        let service =
            map(json!({"kind": "Service", "spec": {"ports": [{"port": 80}]}, "status": {}}));
        assert_eq!(object("v1", "Service", service.clone()), service);
        let custom = map(json!({"kind": "Pod", "spec": {"anything": 1}}));
        assert_eq!(
            object("example.com/v1", "Pod", custom.clone()),
            custom,
            "only core v1's"
        );
    }
}
