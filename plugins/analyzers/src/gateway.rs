//! The Gateway analyzers: selectors that match no gateway pod, ports the
//! gateway's Services do not expose, and Gateways claiming the same host
//! on the same port of the same workload.

use std::collections::BTreeMap;

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Resource, ResourceRef};

use crate::collections::{GATEWAYS, SERVICES};
use crate::messages::{
    CONFLICTING_GATEWAYS, Finding, GATEWAY_PORT_NOT_ON_SERVICE, finding, selector_not_found,
};
use crate::store::{Labels, Store, items, matches, selector_text, string_map, strings};

const PORT_ANALYZER: &str = "gateway.IngressGatewayPortAnalyzer";
const CONFLICT_ANALYZER: &str = "gateway.ConflictingGatewayAnalyzer";

/// A Gateway's selector matching no pod in any namespace (IST0101), and
/// server ports that no TCP port of a Service selecting its pods targets
/// (IST0162).
pub(crate) fn ports(store: &Store) -> Vec<Finding> {
    let mut services: BTreeMap<&str, Vec<(Labels, &Resource)>> = BTreeMap::new();
    for service in store.all(SERVICES) {
        let selects = string_map(service.body.get("selector"));
        services
            .entry(service.namespace())
            .or_default()
            .push((selects, service));
    }
    let mut found = Vec::new();
    for gw in store.all(GATEWAYS) {
        let selector = string_map(gw.body.get("selector"));
        let pods: Vec<(&str, &Labels)> = store
            .pods(None)
            .filter(|pod| matches(&selector, pod.labels()))
            .map(|pod| (pod.namespace(), pod.labels()))
            .collect();
        if pods.is_empty() {
            found.push(selector_not_found(
                PORT_ANALYZER,
                gw,
                "spec.selector",
                &selector,
            ));
            continue;
        }
        // Target ports reachable, and service ports that have a target.
        let (mut targets, mut translated) = (Vec::new(), Vec::new());
        for (ns, labels) in &pods {
            for (selects, service) in services.get(ns).into_iter().flatten() {
                if !matches(selects, labels) {
                    continue;
                }
                for port in items(service.body.get("ports")) {
                    if port.get("protocol").and_then(Value::as_str) != Some("TCP") {
                        continue;
                    }
                    let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
                    match port.get("targetPort").and_then(Value::as_i64) {
                        Some(target) if target != 0 => {
                            targets.push(target);
                            translated.push(number);
                        }
                        _ => targets.push(number),
                    }
                }
            }
        }
        for (i, server) in items(gw.body.get("servers")).enumerate() {
            let Some(port) = server.pointer("/port/number").and_then(Value::as_i64) else {
                continue;
            };
            if !targets.contains(&port) && !translated.contains(&port) {
                found.push(finding(
                    PORT_ANALYZER,
                    &GATEWAY_PORT_NOT_ON_SERVICE,
                    gw,
                    Some(format!("spec.servers[{i}].port")),
                    format!(
                        "The gateway is listening on a target port (port {port}) that is not defined in the Service associated with its workload instances (Pod selector {}). If you need to access the gateway port through the gateway Service, it will not be available.",
                        selector_text(&selector)
                    ),
                    Vec::new(),
                ));
            }
        }
    }
    found
}

/// One Gateway's servers on one port: host → bind.
type Claims<'a> = BTreeMap<&'a str, &'a str>;

/// Gateways whose selectors pick the same workload (the same selector, or
/// one within the other matching a common pod) and that serve the same
/// host with the same bind on the same port (IST0145), reported per server.
pub(crate) fn conflicts(store: &Store) -> Vec<Finding> {
    // (selector, port) → gateway → hosts.
    let mut claims: BTreeMap<(String, i64), BTreeMap<&str, Claims<'_>>> = BTreeMap::new();
    let mut selectors: BTreeMap<String, Labels> = BTreeMap::new();
    for gw in store.all(GATEWAYS) {
        let labels = string_map(gw.body.get("selector"));
        let selector = selector_text(&labels);
        selectors.insert(selector.clone(), labels);
        for server in items(gw.body.get("servers")) {
            let port = server
                .pointer("/port/number")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let bind = server.get("bind").and_then(Value::as_str).unwrap_or("");
            let entry = claims
                .entry((selector.clone(), port))
                .or_default()
                .entry(gw.name.as_str())
                .or_default();
            for host in strings(server.get("hosts")) {
                entry.insert(host, bind);
            }
        }
    }
    let common_pod = |a: &Labels, b: &Labels| {
        store
            .pods(None)
            .any(|pod| matches(a, pod.labels()) && matches(b, pod.labels()))
    };
    let mut found = Vec::new();
    for gw in store.all(GATEWAYS) {
        let labels = string_map(gw.body.get("selector"));
        let selector = selector_text(&labels);
        let hits: Vec<&String> = selectors
            .keys()
            .filter(|other| {
                **other == selector
                    || ((other.contains(&selector) || selector.contains(other.as_str()))
                        && common_pod(&labels, &selectors[*other]))
            })
            .collect();
        let servers: Vec<&Value> = items(gw.body.get("servers")).collect();
        if !selector.is_empty() && servers.is_empty() && hits.len() <= 1 {
            found.push(selector_not_found(
                CONFLICT_ANALYZER,
                gw,
                "spec.selector",
                &labels,
            ));
            continue;
        }
        for server in servers {
            let port = server
                .pointer("/port/number")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let bind = server.get("bind").and_then(Value::as_str).unwrap_or("");
            let hosts = strings(server.get("hosts"));
            let mut conflicting: Vec<&str> = Vec::new();
            for hit in &hits {
                let Some(gateways) = claims.get(&((*hit).clone(), port)) else {
                    continue;
                };
                for (other, other_hosts) in gateways {
                    if *other != gw.name
                        && hosts.iter().any(|h| other_hosts.get(h) == Some(&bind))
                        && !conflicting.contains(other)
                    {
                        conflicting.push(other);
                    }
                }
            }
            if conflicting.is_empty() {
                continue;
            }
            conflicting.sort_unstable();
            let names: Vec<&str> = conflicting
                .iter()
                .map(|n| n.trim_start_matches('/'))
                .collect();
            found.push(finding(
                CONFLICT_ANALYZER,
                &CONFLICTING_GATEWAYS,
                gw,
                None,
                format!(
                    "Conflict with gateways {} (workload selector {selector}, port {port}, hosts {}).",
                    names.join(","),
                    hosts.join(",")
                ),
                conflicting
                    .iter()
                    .map(|n| ResourceRef::new(GATEWAYS, *n))
                    .collect(),
            ));
        }
    }
    found
}
