//! One Service, its Endpoints and their Pods → one ServiceEntry, field by
//! field as Galley converted them.

use std::collections::{BTreeMap, BTreeSet};

use galleon_plugin_sdk::serde_json::{Map, Value, json};
use galleon_plugin_sdk::{Level, Resource, content_version, log};

use crate::endpoints::{Endpoints, array};
use crate::pods::Pods;
use crate::protocol::protocol;

/// The collection ServiceEntries are served in.
pub const SERVICE_ENTRIES: &str = "istio/networking/v1alpha3/synthetic/serviceentries";

/// Annotations the ServiceEntry carries besides the Service's own.
pub const SERVICE_VERSION: &str = "networking.alpha.istio.io/serviceVersion";
/// The Endpoints' resource version.
pub const ENDPOINTS_VERSION: &str = "networking.alpha.istio.io/endpointsVersion";
/// Not-ready `ip:port` pairs, comma-separated.
pub const NOT_READY_ENDPOINTS: &str = "networking.alpha.istio.io/notReadyEndpoints";
/// The Service annotation listing the namespaces it is exported to.
pub const EXPORT_TO: &str = "networking.istio.io/exportTo";

const UNSPECIFIED_IP: &str = "0.0.0.0";

/// The ServiceEntry for `service`.
pub(crate) fn service_entry(
    service: &Resource,
    endpoints: Option<&Endpoints>,
    pods: &Pods,
    domain: &str,
) -> Resource {
    let spec = &service.body;
    let text = |field: &str| spec.get(field).and_then(Value::as_str).unwrap_or_default();
    let external_name = (text("type") == "ExternalName" && !text("externalName").is_empty())
        .then(|| text("externalName"));
    let namespace = match service.namespace() {
        "" => "default",
        ns => ns,
    };
    let (ports, port_numbers) = ports(service);

    let mut annotations = service.annotations.clone();
    annotations.insert(SERVICE_VERSION.into(), service.version.clone());
    let mut entry_endpoints = Vec::new();
    let mut identities = BTreeSet::new();
    if let Some(endpoints) = endpoints {
        annotations.insert(ENDPOINTS_VERSION.into(), endpoints.version.clone());
        let not_ready = convert_endpoints(endpoints, pods, &mut entry_endpoints, &mut identities);
        if !not_ready.is_empty() {
            annotations.insert(NOT_READY_ENDPOINTS.into(), not_ready.join(","));
        }
    }
    if entry_endpoints.is_empty()
        && let Some(address) = external_name
    {
        let mut endpoint = json!({"address": address, "ports": port_numbers});
        if !service.labels.is_empty() {
            endpoint["labels"] = json!(service.labels);
        }
        entry_endpoints.push(endpoint);
    }

    let cluster_ip = text("clusterIP");
    let (address, resolution, location) = match external_name {
        Some(_) => (UNSPECIFIED_IP, "DNS", "MESH_EXTERNAL"),
        None => (
            if cluster_ip.is_empty() || cluster_ip == "None" {
                UNSPECIFIED_IP
            } else {
                cluster_ip
            },
            if entry_endpoints.is_empty() {
                "NONE"
            } else {
                "STATIC"
            },
            "MESH_INTERNAL",
        ),
    };
    let mut body = json!({
        "hosts": [format!("{}.{namespace}.svc.{domain}", service.short_name())],
        "addresses": [address],
        "ports": ports,
        "location": location,
        "resolution": resolution,
    });
    let mut optional = |field: &str, list: Vec<Value>| {
        if !list.is_empty() {
            body[field] = Value::Array(list);
        }
    };
    optional("endpoints", entry_endpoints);
    optional("exportTo", export_to(&service.annotations));
    optional(
        "subjectAltNames",
        identities.into_iter().map(Value::from).collect(),
    );

    let meta = json!({"labels": service.labels, "annotations": annotations});
    Resource {
        collection: SERVICE_ENTRIES.into(),
        name: service.name.clone(),
        version: content_version("se", &[&body, &meta]),
        labels: service.labels.clone(),
        annotations,
        create_time: service.create_time.clone(),
        body,
    }
}

/// The ServiceEntry's ports, and the Service's port numbers by name (for
/// ExternalName endpoints). Ports outside 1–65535 are skipped (as Istio 1.5
/// does) and logged.
fn ports(service: &Resource) -> (Vec<Value>, BTreeMap<String, u64>) {
    let mut ports = Vec::new();
    let mut numbers = BTreeMap::new();
    for port in array(&service.body, "ports") {
        let name = port.get("name").and_then(Value::as_str).unwrap_or_default();
        let number = port.get("port").and_then(Value::as_u64).unwrap_or(0);
        if !(1..=65535).contains(&number) {
            log(
                Level::Warn,
                &format!(
                    "Service {}: port {name:?} has no valid number; skipped",
                    service.name
                ),
            );
            continue;
        }
        let kube_protocol = port
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP");
        let mut entry = json!({"number": number, "name": name});
        if let Some(protocol) = protocol(number, name, kube_protocol) {
            entry["protocol"] = json!(protocol);
        }
        ports.push(entry);
        numbers.insert(name.to_owned(), number);
    }
    (ports, numbers)
}

/// Appends one endpoint per ready address (with its subset's ports and its
/// Pod's labels and locality) and collects the Pods' identities; returns
/// the not-ready `ip:port` pairs.
fn convert_endpoints(
    endpoints: &Endpoints,
    pods: &Pods,
    out: &mut Vec<Value>,
    identities: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut not_ready = Vec::new();
    for subset in &endpoints.subsets {
        let ports = json!(subset.ports);
        for ip in &subset.ready {
            let mut endpoint = Map::new();
            endpoint.insert("address".into(), json!(ip));
            endpoint.insert("ports".into(), ports.clone());
            if let Some((pod, locality)) = pods.by_ip(ip) {
                if !pod.labels.is_empty() {
                    endpoint.insert("labels".into(), json!(pod.labels));
                }
                if !locality.is_empty() {
                    endpoint.insert("locality".into(), json!(locality));
                }
                identities.extend(pod.identity.clone());
            }
            out.push(Value::Object(endpoint));
        }
        for ip in &subset.not_ready {
            not_ready.extend(subset.ports.values().map(|port| format!("{ip}:{port}")));
        }
    }
    not_ready
}

/// `networking.istio.io/exportTo`: comma-separated, trimmed, de-duplicated,
/// sorted.
fn export_to(annotations: &BTreeMap<String, String>) -> Vec<Value> {
    annotations
        .get(EXPORT_TO)
        .into_iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|ns| !ns.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(Value::from)
        .collect()
}
