//! The VirtualService analyzers: gateways, destination hosts and subsets
//! that do not exist, and hosts two VirtualServices claim for the mesh.

use std::collections::BTreeMap;

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Resource, ResourceRef};

use crate::collections::{DESTINATION_RULES, GATEWAYS, SERVICES, VIRTUAL_SERVICES};
use crate::hosts::{Target, covers, fqdn, resolve};
use crate::messages::{
    CONFLICTING_MESH_GATEWAY_HOSTS, Finding, HOST_NOT_IN_GATEWAY, PORT_SELECTOR_REQUIRED,
    REFERENCED_RESOURCE_NOT_FOUND, finding,
};
use crate::store::{Store, strings};

const GATEWAY_ANALYZER: &str = "virtualservice.GatewayAnalyzer";
const DESTINATION_HOST_ANALYZER: &str = "virtualservice.DestinationHostAnalyzer";
const DESTINATION_RULE_ANALYZER: &str = "virtualservice.DestinationRuleAnalyzer";
const MESH_HOSTS_ANALYZER: &str = "virtualservice.ConflictingMeshGatewayHostsAnalyzer";

/// The gateway a VirtualService names: `ns/name`, or `name` in its own
/// namespace.
fn gateway_key(vs: &Resource, gateway: &str) -> String {
    match gateway.split_once('/') {
        Some((ns, name)) => format!("{ns}/{name}"),
        None => format!("{}/{gateway}", vs.namespace()),
    }
}

/// Gateways named that do not exist (IST0101), and hosts of the
/// VirtualService no server of a named Gateway serves (IST0132).
pub(crate) fn gateways(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for vs in store.all(VIRTUAL_SERVICES) {
        let hosts = strings(vs.body.get("hosts"));
        for (i, gateway) in strings(vs.body.get("gateways")).into_iter().enumerate() {
            if gateway == "mesh" {
                continue;
            }
            let key = gateway_key(vs, gateway);
            let field = Some(format!("spec.gateways[{i}]"));
            let Some(gw) = store.get(GATEWAYS, &key) else {
                found.push(finding(
                    GATEWAY_ANALYZER,
                    &REFERENCED_RESOURCE_NOT_FOUND,
                    vs,
                    field,
                    format!("Referenced gateway not found: {gateway:?}"),
                    vec![ResourceRef::new(GATEWAYS, key)],
                ));
                continue;
            };
            let served = gateway_hosts(gw);
            let missing: Vec<&str> = hosts
                .iter()
                .copied()
                .filter(|h| !served.iter().any(|s| covers(s, h) || covers(h, s)))
                .collect();
            if !missing.is_empty() {
                found.push(finding(
                    GATEWAY_ANALYZER,
                    &HOST_NOT_IN_GATEWAY,
                    vs,
                    field,
                    format!(
                        "one or more host [{}] defined in VirtualService {} not found in Gateway {}.",
                        missing.join(","),
                        vs.name,
                        gw.name
                    ),
                    vec![ResourceRef::from(gw)],
                ));
            }
        }
    }
    found
}

/// A Gateway's server hosts, without their namespace part (`ns/host`).
fn gateway_hosts(gateway: &Resource) -> Vec<&str> {
    gateway
        .body
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|server| strings(server.get("hosts")))
        .map(|h| h.split_once('/').map_or(h, |(_, host)| host))
        .collect()
}

/// Every route destination of a VirtualService, with its field path.
fn destinations(vs: &Resource) -> Vec<(String, &Value)> {
    let mut all = Vec::new();
    for protocol in ["http", "tcp", "tls"] {
        let routes = vs.body.get(protocol).and_then(Value::as_array);
        for (i, route) in routes.into_iter().flatten().enumerate() {
            let destinations = route.get("route").and_then(Value::as_array);
            for (j, d) in destinations.into_iter().flatten().enumerate() {
                if let Some(destination) = d.get("destination") {
                    all.push((format!("spec.{protocol}[{i}].route[{j}].destination"), destination));
                }
            }
            if let Some(mirror) = route.get("mirror") {
                all.push((format!("spec.{protocol}[{i}].mirror"), mirror));
            }
        }
    }
    all
}

/// Destination hosts that name no Service or ServiceEntry (IST0101), and
/// destinations to a Service of several ports that name none (IST0112).
pub(crate) fn destination_hosts(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for vs in store.all(VIRTUAL_SERVICES) {
        for (field, destination) in destinations(vs) {
            let Some(host) = destination.get("host").and_then(Value::as_str) else {
                continue;
            };
            let fq = fqdn(vs.namespace(), host);
            match resolve(store, vs.namespace(), &fq) {
                None => found.push(finding(
                    DESTINATION_HOST_ANALYZER,
                    &REFERENCED_RESOURCE_NOT_FOUND,
                    vs,
                    Some(format!("{field}.host")),
                    format!("Referenced host not found: {host:?}"),
                    Vec::new(),
                )),
                Some(Target::Service(service)) => {
                    let ports: Vec<i64> = service
                        .body
                        .get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.get("port").and_then(Value::as_i64))
                        .collect();
                    if ports.len() > 1 && destination.pointer("/port/number").is_none() {
                        let listed: Vec<String> = ports.iter().map(i64::to_string).collect();
                        found.push(finding(
                            DESTINATION_HOST_ANALYZER,
                            &PORT_SELECTOR_REQUIRED,
                            vs,
                            Some(field),
                            format!(
                                "This VirtualService routes to a service {host:?} that exposes multiple ports [{}]. Specifying a port in the destination is required to disambiguate.",
                                listed.join(" ")
                            ),
                            vec![ResourceRef::new(SERVICES, &service.name)],
                        ));
                    }
                }
                Some(Target::Entry) => {}
            }
        }
    }
    found
}

/// Subsets named in destinations that no DestinationRule for the host
/// defines (IST0101).
pub(crate) fn destination_rules(store: &Store) -> Vec<Finding> {
    let mut subsets: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for dr in store.all(DESTINATION_RULES) {
        let Some(host) = dr.body.get("host").and_then(Value::as_str) else {
            continue;
        };
        let names = dr
            .body
            .get("subsets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("name").and_then(Value::as_str));
        subsets
            .entry(fqdn(dr.namespace(), host))
            .or_default()
            .extend(names);
    }
    let mut found = Vec::new();
    for vs in store.all(VIRTUAL_SERVICES) {
        for (field, destination) in destinations(vs) {
            let (Some(host), Some(subset)) = (
                destination.get("host").and_then(Value::as_str),
                destination.get("subset").and_then(Value::as_str),
            ) else {
                continue;
            };
            let fq = fqdn(vs.namespace(), host);
            let defined = subsets
                .iter()
                .any(|(h, names)| covers(h, &fq) && names.contains(&subset));
            if !defined {
                found.push(finding(
                    DESTINATION_RULE_ANALYZER,
                    &REFERENCED_RESOURCE_NOT_FOUND,
                    vs,
                    Some(format!("{field}.subset")),
                    format!("Referenced host+subset in destinationrule not found: \"{host}+{subset}\""),
                    Vec::new(),
                ));
            }
        }
    }
    found
}

/// Hosts that two or more VirtualServices bound to the mesh gateway
/// define (IST0109), reported on each of them.
pub(crate) fn mesh_gateway_hosts(store: &Store) -> Vec<Finding> {
    let mut by_host: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
    for vs in store.all(VIRTUAL_SERVICES) {
        let gateways = strings(vs.body.get("gateways"));
        if !(gateways.is_empty() || gateways.contains(&"mesh")) {
            continue;
        }
        for host in strings(vs.body.get("hosts")) {
            by_host
                .entry(fqdn(vs.namespace(), host))
                .or_default()
                .push(vs);
        }
    }
    let mut found = Vec::new();
    for (host, services) in by_host.into_iter().filter(|(_, v)| v.len() > 1) {
        let names: Vec<&str> = services.iter().map(|vs| vs.name.as_str()).collect();
        for vs in &services {
            found.push(finding(
                MESH_HOSTS_ANALYZER,
                &CONFLICTING_MESH_GATEWAY_HOSTS,
                vs,
                None,
                format!(
                    "The VirtualServices {} associated with mesh gateway define the same host {host} which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
                    names.join(",")
                ),
                services
                    .iter()
                    .filter(|o| o.name != vs.name)
                    .map(|o| ResourceRef::from(*o))
                    .collect(),
            ));
        }
    }
    found
}
