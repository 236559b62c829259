//! `destinationrule.SubsetSelectPodAnalyzer`: a DestinationRule whose host
//! names nothing in the mesh, and subsets whose labels (with the
//! ServiceEntry's workload selector) match no pod, as Istio labels pods
//! (their node's region, zone and subzone, and hostname).

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::{DESTINATION_RULES, NODES};
use crate::hosts::HostMap;
use crate::messages::{Finding, SUBSET_SELECTS_NO_PODS, UNKNOWN_DESTINATION_RULE_HOST, finding};
use crate::store::{Labels, Store, items, matches, string_map, strings};

const ANALYZER: &str = "destinationrule.SubsetSelectPodAnalyzer";

/// Every pod's labels with the ones Istio adds from its node.
fn labelled_pods(store: &Store) -> Vec<Labels> {
    store
        .pods(None)
        .map(|pod| {
            let mut labels = pod.labels().clone();
            let node = pod.node.as_str();
            if let Some(n) = store.get(NODES, node) {
                let node_labels = string_map(n.body.pointer("/metadata/labels"));
                let node_labels = if node_labels.is_empty() {
                    n.labels.clone()
                } else {
                    node_labels
                };
                for key in [
                    "topology.kubernetes.io/region",
                    "topology.kubernetes.io/zone",
                    "topology.istio.io/subzone",
                ] {
                    if let Some(value) = node_labels.get(key).filter(|v| !v.is_empty()) {
                        labels.insert(key.to_owned(), value.clone());
                    }
                }
            }
            if !node.is_empty() {
                labels.insert("kubernetes.io/hostname".into(), node.to_owned());
            }
            labels
        })
        .collect()
}

pub(crate) fn subsets(store: &Store) -> Vec<Finding> {
    let map = HostMap::new(store);
    let pods = labelled_pods(store);
    let mut found = Vec::new();
    for dr in store.all(DESTINATION_RULES) {
        let host = dr.body.get("host").and_then(Value::as_str).unwrap_or("");
        let export = strings(dr.body.get("exportTo"));
        let Some(target) = map.destination(dr.namespace(), &export, host) else {
            found.push(finding(
                ANALYZER,
                &UNKNOWN_DESTINATION_RULE_HOST,
                dr,
                None,
                format!("The host {host} defined in the DestinationRule does not match any services in the mesh."),
                Vec::new(),
            ));
            continue;
        };
        for subset in items(dr.body.get("subsets")) {
            let mut selector = target.selector.clone();
            selector.extend(string_map(subset.get("labels")));
            if !pods.iter().any(|labels| matches(&selector, labels)) {
                let name = subset.get("name").and_then(Value::as_str).unwrap_or("");
                found.push(finding(
                    ANALYZER,
                    &SUBSET_SELECTS_NO_PODS,
                    dr,
                    None,
                    format!(
                        "The Subset {name} defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream)."
                    ),
                    Vec::new(),
                ));
            }
        }
    }
    found
}
