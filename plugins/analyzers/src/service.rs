//! `service.PortNameAnalyzer`: Service ports whose name does not tell
//! Istio the protocol (`<protocol>[-<suffix>]`, or an `appProtocol`).

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::SERVICES;
use crate::messages::{Finding, PORT_NAME_CONVENTION, finding};
use crate::store::Store;

const ANALYZER: &str = "service.PortNameAnalyzer";

/// Protocols Istio recognises in a port name's prefix.
const PROTOCOLS: &[&str] = &[
    "grpc", "grpc-web", "http", "http2", "https", "mongo", "mysql", "redis", "tcp", "tls", "udp",
];

/// Namespaces Istio's analyzers leave alone.
const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "istio-system"];

fn follows_convention(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    PROTOCOLS.iter().any(|p| {
        name == *p
            || name
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('-'))
    })
}

pub(crate) fn port_names(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for service in store.all(SERVICES) {
        if SYSTEM_NAMESPACES.contains(&service.namespace()) {
            continue;
        }
        let ports = service.body.get("ports").and_then(Value::as_array);
        for (i, port) in ports.into_iter().flatten().enumerate() {
            if port.get("appProtocol").and_then(Value::as_str).is_some() {
                continue;
            }
            let name = port.get("name").and_then(Value::as_str).unwrap_or("");
            if follows_convention(name) {
                continue;
            }
            let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
            let target = match port.get("targetPort") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => number.to_string(),
            };
            found.push(finding(
                ANALYZER,
                &PORT_NAME_CONVENTION,
                service,
                Some(format!("spec.ports[{i}].name")),
                format!(
                    "Port name {name} (port: {number}, targetPort: {target}) doesn't follow the naming convention of Istio port."
                ),
                Vec::new(),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_protocol_prefix_follows_the_convention() {
        assert!(super::follows_convention("http"));
        assert!(super::follows_convention("http-web"));
        assert!(super::follows_convention("GRPC-api"));
        assert!(!super::follows_convention("httpweb"));
        assert!(!super::follows_convention("web"));
        assert!(!super::follows_convention(""));
    }
}
