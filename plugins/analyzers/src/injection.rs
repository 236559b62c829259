//! `injection.Analyzer`: namespaces not enabled for sidecar injection (or
//! with several injection labels), and pods of injected namespaces that run
//! without the proxy.
//!
//! Istio also reads the injector's ConfigMap (`enableNamespacesByDefault`);
//! galleon's registry has no ConfigMap kind, so a namespace without labels
//! is reported as not injected (IST0102), as Istio does by default.

use std::collections::BTreeSet;

use crate::collections::NAMESPACES;
use crate::messages::{
    Finding, MULTIPLE_INJECTION_LABELS, NAMESPACE_NOT_INJECTED, POD_MISSING_PROXY, finding,
};
use crate::store::Store;

const ANALYZER: &str = "injection.Analyzer";
const INJECTION: &str = "istio-injection";
const REVISION: &str = "istio.io/rev";
const DATAPLANE: &str = "istio.io/dataplane-mode";

pub(crate) fn injection(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut injected = BTreeSet::new();
    for ns in store.all(NAMESPACES) {
        let name = ns.short_name();
        if name == "istio-system" {
            continue;
        }
        let label = |key: &str| ns.labels.get(key).map(String::as_str);
        let injection = label(INJECTION);
        let mut labels: Vec<String> = injection
            .map(|v| format!("{INJECTION}={v}"))
            .into_iter()
            .collect();
        if injection.is_none_or(|v| v == "enabled") {
            for key in [REVISION, DATAPLANE] {
                labels.extend(label(key).map(|v| format!("{key}={v}")));
            }
        }
        if labels.len() > 1 {
            found.push(finding(
                ANALYZER,
                &MULTIPLE_INJECTION_LABELS,
                ns,
                None,
                format!("The namespace has more than one type of injection labels [{}], which may lead to undefined behavior. Make sure only one injection label exists.", labels.join(" ")),
                Vec::new(),
            ));
        }
        if label(DATAPLANE) == Some("ambient") {
            continue;
        }
        match injection.unwrap_or("") {
            "" if label(REVISION).is_none() => found.push(finding(
                ANALYZER,
                &NAMESPACE_NOT_INJECTED,
                ns,
                Some("metadata.name".into()),
                format!("The namespace is not enabled for Istio injection. Run 'kubectl label namespace {name} istio-injection=enabled' to enable it, or 'kubectl label namespace {name} istio-injection=disabled' to explicitly mark it as not needing injection."),
                Vec::new(),
            )),
            "enabled" => {
                injected.insert(name);
            }
            _ => {}
        }
    }
    for pod in store.pods(None) {
        if !injected.contains(pod.namespace()) {
            continue;
        }
        let inject = pod.label_or_annotation("sidecar.istio.io/inject");
        if inject.is_some_and(|v| v.eq_ignore_ascii_case("false")) || pod.host_network {
            continue;
        }
        if pod.proxy_image.is_empty() {
            found.push(finding(
                ANALYZER,
                &POD_MISSING_PROXY,
                &pod.resource,
                None,
                format!("The pod {} is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.", pod.name()),
                Vec::new(),
            ));
        }
    }
    found
}
