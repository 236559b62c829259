//! The Gateway analyzers: selectors that match no gateway pod or ports the
//! pods do not expose, and Gateways that claim the same host on the same
//! port of the same workload.

use std::collections::BTreeMap;

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Resource, ResourceRef};

use crate::collections::{GATEWAYS, PODS, SERVICES};
use crate::hosts::overlap;
use crate::messages::{
    CONFLICTING_GATEWAYS, Finding, GATEWAY_PORT_NOT_ON_WORKLOAD, REFERENCED_RESOURCE_NOT_FOUND,
    finding,
};
use crate::store::{Store, matches, pod_labels, selector_text, string_map, strings};

const PORT_ANALYZER: &str = "gateway.IngressGatewayPortAnalyzer";
const CONFLICT_ANALYZER: &str = "gateway.ConflictingGatewayAnalyzer";

fn servers(gateway: &Resource) -> impl Iterator<Item = &Value> {
    gateway
        .body
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A Gateway's selector matching no pod in any namespace (IST0101), and
/// server ports that no matching pod's Service exposes (IST0104).
pub(crate) fn ports(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for gw in store.all(GATEWAYS) {
        let selector = string_map(gw.body.get("selector"));
        let pods: Vec<&Resource> = store
            .all(PODS)
            .filter(|p| matches(&selector, &pod_labels(p)))
            .collect();
        if pods.is_empty() {
            found.push(finding(
                PORT_ANALYZER,
                &REFERENCED_RESOURCE_NOT_FOUND,
                gw,
                Some("spec.selector".into()),
                format!("Referenced selector not found: {:?}", selector_text(&selector)),
                Vec::new(),
            ));
            continue;
        }
        // The ports the gateway's pods are reachable on: their container
        // ports, and the ports of Services selecting them.
        let mut exposed: Vec<i64> = Vec::new();
        for pod in &pods {
            let labels = pod_labels(pod);
            for service in store
                .all(SERVICES)
                .filter(|s| s.namespace() == pod.namespace())
            {
                let selects = string_map(service.body.get("selector"));
                if selects.is_empty() || !matches(&selects, &labels) {
                    continue;
                }
                let service_ports = service.body.get("ports").and_then(Value::as_array);
                for port in service_ports.into_iter().flatten() {
                    if let Some(target) = port.get("targetPort").and_then(Value::as_i64) {
                        exposed.push(target);
                    }
                    if let Some(number) = port.get("port").and_then(Value::as_i64) {
                        exposed.push(number);
                    }
                }
            }
        }
        for (i, server) in servers(gw).enumerate() {
            let Some(port) = server.pointer("/port/number").and_then(Value::as_i64) else {
                continue;
            };
            if !exposed.contains(&port) {
                found.push(finding(
                    PORT_ANALYZER,
                    &GATEWAY_PORT_NOT_ON_WORKLOAD,
                    gw,
                    Some(format!("spec.servers[{i}].port")),
                    format!(
                        "The gateway refers to a port that is not exposed on the workload (pod selector {}; port {port})",
                        selector_text(&selector)
                    ),
                    Vec::new(),
                ));
            }
        }
    }
    found
}

/// Gateways with the same selector, port and an overlapping host (IST0145),
/// reported on each.
pub(crate) fn conflicts(store: &Store) -> Vec<Finding> {
    // (selector, port) → (gateway, hosts)
    let mut claims: BTreeMap<(String, i64), Vec<(&Resource, Vec<&str>)>> = BTreeMap::new();
    for gw in store.all(GATEWAYS) {
        let selector = selector_text(&string_map(gw.body.get("selector")));
        for server in servers(gw) {
            let Some(port) = server.pointer("/port/number").and_then(Value::as_i64) else {
                continue;
            };
            let hosts = strings(server.get("hosts"))
                .into_iter()
                .map(|h| h.split_once('/').map_or(h, |(_, host)| host))
                .collect();
            claims
                .entry((selector.clone(), port))
                .or_default()
                .push((gw, hosts));
        }
    }
    let mut found = Vec::new();
    for ((selector, port), claimants) in &claims {
        for (i, (gw, hosts)) in claimants.iter().enumerate() {
            let mut others: Vec<&Resource> = Vec::new();
            let mut shared: Vec<&str> = Vec::new();
            for (j, (other, other_hosts)) in claimants.iter().enumerate() {
                if i == j || other.name == gw.name {
                    continue;
                }
                let common: Vec<&str> = hosts
                    .iter()
                    .copied()
                    .filter(|h| other_hosts.iter().any(|o| overlap(h, o)))
                    .collect();
                if !common.is_empty() {
                    others.push(other);
                    shared.extend(common);
                }
            }
            if others.is_empty() {
                continue;
            }
            shared.sort_unstable();
            shared.dedup();
            let names: Vec<&str> = others.iter().map(|o| o.name.as_str()).collect();
            found.push(finding(
                CONFLICT_ANALYZER,
                &CONFLICTING_GATEWAYS,
                gw,
                None,
                format!(
                    "Conflict with gateways {} (workload selector {selector}, port {port}, hosts {}).",
                    names.join(","),
                    shared.join(",")
                ),
                others.iter().map(|o| ResourceRef::from(*o)).collect(),
            ));
        }
    }
    found
}
