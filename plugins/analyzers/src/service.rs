//! `service.PortNameAnalyzer`: Service ports whose name (or
//! `appProtocol`) does not tell Istio the protocol, and ExternalName
//! Services whose port names make the proxy treat traffic as TCP.

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::Value;

use crate::collections::SERVICES;
use crate::messages::{EXTERNAL_NAME_PORT_NAME, Finding, PORT_NAME_CONVENTION, finding};
use crate::store::{Store, items};

const ANALYZER: &str = "service.PortNameAnalyzer";

/// Protocols Istio reads from the part of a port name before its first `-`.
const PROTOCOLS: &[&str] = &[
    "tcp",
    "udp",
    "grpc",
    "grpc-web",
    "http",
    "http_proxy",
    "http2",
    "https",
    "tls",
    "mongo",
    "redis",
    "mysql",
];

/// Ports whose protocol Istio knows whatever their name.
const WELL_KNOWN_TCP: &[i64] = &[25, 53, 3306, 27017];

/// Gateway controllers whose Services Istio manages itself.
const MANAGED: &[&str] = &[
    "istio.io-gateway-controller",
    "istio.io-mesh-controller",
    "istio.io-eastwest-controller",
];

/// Whether Istio can tell the protocol of `port`.
fn supported(port: &Value) -> bool {
    if port.get("protocol").and_then(Value::as_str) == Some("UDP") {
        return true;
    }
    let app = port.get("appProtocol").and_then(Value::as_str);
    let name = app
        .or_else(|| port.get("name").and_then(Value::as_str))
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(
        name.as_str(),
        "kubernetes.io/h2c" | "kubernetes.io/ws" | "kubernetes.io/wss"
    ) || name.starts_with("grpc-web")
    {
        return true;
    }
    let prefix = name.split('-').next().unwrap_or("");
    if PROTOCOLS.contains(&prefix) {
        return true;
    }
    let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
    WELL_KNOWN_TCP.contains(&number)
}

fn skipped(service: &Resource) -> bool {
    let labels = &service.labels;
    labels.contains_key("istio")
        || labels.get("release").map(String::as_str) == Some("istio")
        || labels
            .get("gateway.istio.io/managed")
            .is_some_and(|m| MANAGED.contains(&m.as_str()))
}

pub(crate) fn port_names(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for service in store.all(SERVICES).filter(|s| !skipped(s)) {
        let external = service.body.get("type").and_then(Value::as_str) == Some("ExternalName");
        for (i, port) in items(service.body.get("ports")).enumerate() {
            let name = port.get("name").and_then(Value::as_str).unwrap_or("");
            if supported(port) && !(external && name == "tcp") {
                continue;
            }
            let field = Some(format!("spec.ports[{i}].port"));
            if external {
                found.push(finding(
                    ANALYZER,
                    &EXTERNAL_NAME_PORT_NAME,
                    service,
                    field,
                    "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic for ports serving TCP protocol from being forwarded correctly".into(),
                    Vec::new(),
                ));
                continue;
            }
            let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
            let target = match port.get("targetPort") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "0".into(),
            };
            found.push(finding(
                ANALYZER,
                &PORT_NAME_CONVENTION,
                service,
                field,
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
    use galleon_plugin_sdk::serde_json::json;

    #[test]
    fn a_protocol_prefix_or_app_protocol_names_the_protocol() {
        let supported = |port| super::supported(&port);
        assert!(supported(json!({"name": "http", "port": 80})));
        assert!(supported(json!({"name": "http-web", "port": 80})));
        assert!(supported(json!({"name": "GRPC-api", "port": 80})));
        assert!(supported(
            json!({"name": "web", "port": 80, "appProtocol": "http"})
        ));
        assert!(supported(json!({"name": "dns", "port": 53})));
        assert!(!supported(json!({"name": "httpweb", "port": 80})));
        assert!(!supported(json!({"name": "web", "port": 80})));
        assert!(!supported(json!({"port": 8080})));
    }
}
