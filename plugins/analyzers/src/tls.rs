//! The TLS analyzers: DestinationRules that originate TLS without a CA to
//! verify the server (`destinationrule.CaCertificateAnalyzer`), Gateways
//! that serve one certificate from several Gateways of a workload
//! (`gateway.CertificateAnalyzer`), and Gateway credentials that do not
//! exist or hold no valid certificate (`gateway.SecretAnalyzer`; the hub
//! keeps of a Secret only its key names and certificate validity).

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::{DESTINATION_RULES, GATEWAYS, SECRETS};
use crate::messages::{
    DUPLICATE_CERTIFICATE, Finding, INVALID_GATEWAY_CREDENTIAL, NO_CA_DESTINATION_LEVEL,
    NO_CA_PORT_LEVEL, REFERENCED_RESOURCE_NOT_FOUND, finding, selector_not_found,
};
use crate::store::{Store, items, matches, string_map};

const CA_ANALYZER: &str = "destinationrule.CaCertificateAnalyzer";
const CERTIFICATE_ANALYZER: &str = "gateway.CertificateAnalyzer";
const SECRET_ANALYZER: &str = "gateway.SecretAnalyzer";

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The mode of `tls` when it originates TLS that should verify the server
/// (SIMPLE or MUTUAL) and no CA is given, unless a credential scoped to a
/// workload (`credentialName` with a workload selector) provides one.
fn unverified(tls: &Value, workload_selector: bool) -> Option<&str> {
    let mode = text(tls, "/mode");
    let originates = matches!(mode, "SIMPLE" | "MUTUAL");
    let has_ca = !text(tls, "/caCertificates").is_empty();
    let credential = !text(tls, "/credentialName").is_empty() && workload_selector;
    (originates && !has_ca && !credential).then_some(mode)
}

/// A port selector as Istio prints it (`number:443`).
fn port_text(port: Option<&Value>) -> String {
    match port.and_then(|p| p.get("number")).and_then(Value::as_u64) {
        Some(0) | None if port.is_some() => String::new(),
        Some(number) => format!("number:{number}"),
        None => "<nil>".into(),
    }
}

/// SIMPLE or MUTUAL TLS without `caCertificates`, for the whole host
/// (IST0128) and per port (IST0129). Subsets are not looked at, as Istio's.
pub(crate) fn ca_certificates(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for dr in store.all(DESTINATION_RULES) {
        let host = text(&dr.body, "/host");
        let selector = dr
            .body
            .get("workloadSelector")
            .is_some_and(|s| !s.is_null());
        let (namespace, name) = (dr.namespace(), &dr.name);
        let policy = dr.body.get("trafficPolicy");
        if let Some(mode) = policy
            .and_then(|p| p.get("tls"))
            .and_then(|tls| unverified(tls, selector))
        {
            found.push(finding(
                CA_ANALYZER,
                &NO_CA_DESTINATION_LEVEL,
                dr,
                Some("spec.trafficPolicy.tls.caCertificates".into()),
                format!("DestinationRule {name} in namespace {namespace} has TLS mode set to {mode} but no caCertificates are set to validate server identity for host: {host}"),
                Vec::new(),
            ));
        }
        let ports = items(policy.and_then(|p| p.get("portLevelSettings")));
        let mut seen = Vec::new();
        for (i, settings) in ports.enumerate() {
            let Some(mode) = settings
                .get("tls")
                .and_then(|tls| unverified(tls, selector))
            else {
                continue;
            };
            let port = port_text(settings.get("port"));
            // Istio reports identical messages once.
            if seen.contains(&(mode, port.clone())) {
                continue;
            }
            seen.push((mode, port.clone()));
            found.push(finding(
                CA_ANALYZER,
                &NO_CA_PORT_LEVEL,
                dr,
                Some(format!("spec.trafficPolicy.portLevelSettings[{i}].tls.caCertificates")),
                format!("DestinationRule {name} in namespace {namespace} has TLS mode set to {mode} but no caCertificates are set to validate server identity for host: {host} at port {port}"),
                Vec::new(),
            ));
        }
    }
    found
}

/// Whether two servers' TLS settings serve the same certificate: the same
/// credential, or (without one) the same certificate and key files.
fn same_certificate(a: &Value, b: &Value) -> bool {
    let (ca, cb) = (text(a, "/credentialName"), text(b, "/credentialName"));
    if !ca.is_empty() || !cb.is_empty() {
        return ca == cb;
    }
    let same = |field: &str| {
        let (x, y) = (text(a, field), text(b, field));
        !x.is_empty() && x == y
    };
    same("/serverCertificate") && same("/privateKey")
}

/// A Gateway serving a certificate another Gateway also serves, where the
/// other's selector includes this one's (so the same workload serves both;
/// IST0138). One-directional, as Istio's: the message is on the Gateway
/// whose selector is the narrower.
pub(crate) fn duplicate_certificates(store: &Store) -> Vec<Finding> {
    let gateways: Vec<_> = store
        .all(GATEWAYS)
        .map(|gw| (gw, string_map(gw.body.get("selector"))))
        .collect();
    let mut found = Vec::new();
    for (current, selector) in &gateways {
        let tls: Vec<&Value> = items(current.body.get("servers"))
            .filter_map(|s| s.get("tls"))
            .collect();
        for (other, other_selector) in &gateways {
            let includes = selector
                .iter()
                .all(|(k, v)| other_selector.get(k) == Some(v));
            if other.name == current.name || !includes {
                continue;
            }
            let shared = items(other.body.get("servers"))
                .filter_map(|s| s.get("tls"))
                .any(|b| tls.iter().any(|a| same_certificate(a, b)));
            if shared {
                found.push(finding(
                    CERTIFICATE_ANALYZER,
                    &DUPLICATE_CERTIFICATE,
                    current,
                    Some("metadata.name".into()),
                    format!(
                        "Duplicate certificate in multiple gateways [{} {}] may cause 404s if clients re-use HTTP2 connections.",
                        current.name, other.name
                    ),
                    vec![(*other).into()],
                ));
            }
        }
    }
    found
}

/// Whether a Secret's summary holds a certificate valid at `now` (Unix
/// seconds).
fn valid_credential(secret: &Value, now: i64) -> bool {
    let certificate = secret.get("certificate");
    let second = |field: &str| {
        certificate
            .and_then(|c| c.get(field))
            .and_then(Value::as_i64)
    };
    matches!(
        (second("notBefore"), second("notAfter")),
        (Some(from), Some(until)) if from <= now && now <= until
    )
}

/// Each Gateway server's `credentialName`, looked up in the namespace of
/// the Gateway's workload (the first pod its selector matches): missing
/// (IST0101), or holding no certificate valid now (IST0161).
pub(crate) fn credentials(store: &Store, now: i64) -> Vec<Finding> {
    let mut found = Vec::new();
    for gw in store.all(GATEWAYS) {
        let selector = string_map(gw.body.get("selector"));
        let Some(namespace) = store
            .pods(None)
            .find(|pod| matches(&selector, pod.labels()))
            .map(|pod| pod.namespace())
        else {
            found.push(selector_not_found(
                SECRET_ANALYZER,
                gw,
                "spec.selector",
                &selector,
            ));
            continue;
        };
        for (i, server) in items(gw.body.get("servers")).enumerate() {
            let credential = text(server, "/tls/credentialName");
            if credential.is_empty() {
                continue;
            }
            let name = match credential.contains('/') {
                true => credential.to_owned(),
                false => format!("{namespace}/{credential}"),
            };
            let field = Some(format!("spec.servers[{i}].tls.credentialName"));
            match store.get(SECRETS, &name) {
                None => found.push(finding(
                    SECRET_ANALYZER,
                    &REFERENCED_RESOURCE_NOT_FOUND,
                    gw,
                    field,
                    format!("Referenced credentialName not found: {credential:?}"),
                    Vec::new(),
                )),
                Some(secret) if !valid_credential(&secret.body, now) => found.push(finding(
                    SECRET_ANALYZER,
                    &INVALID_GATEWAY_CREDENTIAL,
                    gw,
                    field,
                    format!(
                        "The credential referenced by the Gateway {} in namespace {namespace} is invalid, which can cause the traffic not to work as expected.",
                        gw.short_name()
                    ),
                    vec![secret.into()],
                )),
                Some(_) => {}
            }
        }
    }
    found
}
