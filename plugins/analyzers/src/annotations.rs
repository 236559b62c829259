//! `annotations.K8sAnalyzer`: Istio annotations on Namespaces, Services,
//! Pods and Deployments that Istio does not know, that are deprecated, that
//! belong on another kind, or whose value Istio refuses.

use std::net::IpAddr;

use galleon_plugin_sdk::Resource;

use crate::collections::{DEPLOYMENTS, NAMESPACES, SERVICES};
use crate::messages::{
    DEPRECATED_ANNOTATION, Finding, INVALID_ANNOTATION, MISPLACED_ANNOTATION, UNKNOWN_ANNOTATION,
    finding,
};
use crate::store::Store;

const ANALYZER: &str = "annotations.K8sAnalyzer";

/// Where an annotation may be placed (`Any`: everywhere).
const ANY: &[&str] = &["Any"];
const POD: &[&str] = &["Pod"];
const SERVICE: &[&str] = &["Service"];
const WORKLOAD_ENTRY: &[&str] = &["WorkloadEntry"];
const GATEWAY: &[&str] = &["Gateway"];

/// Istio's resource annotations: name, kinds, deprecated.
const ANNOTATIONS: &[(&str, &[&str], bool)] = &[
    ("alpha.istio.io/canonical-serviceaccounts", SERVICE, true),
    ("alpha.istio.io/kubernetes-serviceaccounts", SERVICE, true),
    ("ambient.istio.io/bypass-inbound-capture", POD, false),
    ("ambient.istio.io/dns-capture", POD, false),
    ("ambient.istio.io/redirection", POD, false),
    (
        "ambient.istio.io/waypoint-inbound-binding",
        &["GatewayClass", "Gateway"],
        false,
    ),
    ("galley.istio.io/analyze-suppress", ANY, false),
    ("gateway.istio.io/controller-version", ANY, false),
    ("gateway.istio.io/name-override", GATEWAY, false),
    ("gateway.istio.io/service-account", GATEWAY, false),
    ("inject.istio.io/templates", POD, false),
    ("istio.io/autoRegistrationGroup", WORKLOAD_ENTRY, false),
    ("istio.io/connectedAt", WORKLOAD_ENTRY, false),
    ("istio.io/disconnectedAt", WORKLOAD_ENTRY, false),
    ("istio.io/dry-run", &["AuthorizationPolicy"], false),
    ("istio.io/reroute-virtual-interfaces", POD, false),
    ("istio.io/rev", POD, false),
    (
        "istio.io/use-waypoint-canary-weight",
        &["Service", "ServiceEntry", "Namespace"],
        false,
    ),
    ("istio.io/workloadController", WORKLOAD_ENTRY, false),
    ("kubernetes.io/ingress.class", &["Ingress"], false),
    ("networking.istio.io/exportTo", SERVICE, false),
    ("networking.istio.io/service-type", GATEWAY, false),
    (
        "networking.istio.io/traffic-distribution",
        &["Namespace", "Service", "ServiceEntry"],
        false,
    ),
    ("prometheus.istio.io/merge-metrics", POD, false),
    ("proxy.istio.io/config", POD, false),
    ("proxy.istio.io/overrides", POD, false),
    (
        "readiness.status.sidecar.istio.io/applicationPorts",
        POD,
        false,
    ),
    (
        "readiness.status.sidecar.istio.io/failureThreshold",
        POD,
        false,
    ),
    (
        "readiness.status.sidecar.istio.io/initialDelaySeconds",
        POD,
        false,
    ),
    (
        "readiness.status.sidecar.istio.io/periodSeconds",
        POD,
        false,
    ),
    ("sidecar.istio.io/agentLogLevel", POD, false),
    ("sidecar.istio.io/bootstrapOverride", POD, false),
    ("sidecar.istio.io/componentLogLevel", POD, false),
    ("sidecar.istio.io/discoveryAddress", POD, true),
    ("sidecar.istio.io/extraStatTags", POD, true),
    ("sidecar.istio.io/inject", POD, true),
    ("sidecar.istio.io/interceptionMode", POD, false),
    ("sidecar.istio.io/logLevel", POD, false),
    ("sidecar.istio.io/nativeSidecar", POD, false),
    ("sidecar.istio.io/proxyCPU", POD, false),
    ("sidecar.istio.io/proxyCPULimit", POD, false),
    ("sidecar.istio.io/proxyImage", POD, false),
    ("sidecar.istio.io/proxyImageType", POD, false),
    ("sidecar.istio.io/proxyMemory", POD, false),
    ("sidecar.istio.io/proxyMemoryLimit", POD, false),
    ("sidecar.istio.io/rewriteAppHTTPProbers", POD, false),
    ("sidecar.istio.io/statsCompression", POD, true),
    ("sidecar.istio.io/statsEvictionInterval", POD, false),
    ("sidecar.istio.io/statsFlushInterval", POD, false),
    ("sidecar.istio.io/statsHistogramBins", POD, false),
    ("sidecar.istio.io/statsHistogramBuckets", POD, false),
    ("sidecar.istio.io/statsInclusionPrefixes", POD, true),
    ("sidecar.istio.io/statsInclusionRegexps", POD, true),
    ("sidecar.istio.io/statsInclusionSuffixes", POD, true),
    ("sidecar.istio.io/status", POD, false),
    ("sidecar.istio.io/userVolume", POD, false),
    ("sidecar.istio.io/userVolumeMount", POD, false),
    ("status.sidecar.istio.io/port", POD, false),
    (
        "topology.istio.io/controlPlaneClusters",
        &["Namespace"],
        false,
    ),
    ("traffic.istio.io/nodeSelector", SERVICE, false),
    ("traffic.sidecar.istio.io/excludeInboundPorts", POD, false),
    ("traffic.sidecar.istio.io/excludeInterfaces", POD, false),
    (
        "traffic.sidecar.istio.io/excludeOutboundIPRanges",
        POD,
        false,
    ),
    ("traffic.sidecar.istio.io/excludeOutboundPorts", POD, false),
    ("traffic.sidecar.istio.io/includeInboundPorts", POD, false),
    (
        "traffic.sidecar.istio.io/includeOutboundIPRanges",
        POD,
        false,
    ),
    ("traffic.sidecar.istio.io/includeOutboundPorts", POD, false),
    ("traffic.sidecar.istio.io/kubevirtInterfaces", POD, true),
];

/// Set by Istio itself; never judged.
const IGNORED: &[&str] = &[
    "sidecar.istio.io/status",
    "gateway.istio.io/controller-version",
    "istio.io/rev",
];

fn is_istio(key: &str) -> bool {
    key == "kubernetes.io/ingress.class"
        || key
            .split('/')
            .next()
            .is_some_and(|domain| domain.ends_with("istio.io"))
}

fn ports(value: &str, star: bool) -> Result<(), String> {
    if (star && value == "*") || value.trim().is_empty() {
        return Ok(());
    }
    for port in value.split(',').map(str::trim) {
        port.parse::<u16>()
            .map_err(|e| format!("failed parsing port '{port}': {e}"))?;
    }
    Ok(())
}

fn cidrs(value: &str, star: bool) -> Result<(), String> {
    if (star && value == "*") || value.is_empty() {
        return Ok(());
    }
    for cidr in value.split(',').map(str::trim) {
        let (address, bits) = cidr.split_once('/').unwrap_or((cidr, ""));
        let max = match address.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => 32,
            Ok(IpAddr::V6(_)) => 128,
            Err(e) => return Err(format!("failed parsing cidr '{cidr}': {e}")),
        };
        if bits.parse::<u8>().map_or(true, |b| b > max) {
            return Err(format!("failed parsing cidr '{cidr}': bad prefix length"));
        }
    }
    Ok(())
}

/// What Istio's injector says of an annotation's value, when it checks it.
fn invalid(key: &str, value: &str) -> Option<String> {
    let check = match key {
        "sidecar.istio.io/interceptionMode" => match value {
            "REDIRECT" | "TPROXY" | "NONE" => Ok(()),
            _ => Err(format!(
                "interceptionMode invalid, use REDIRECT,TPROXY,NONE: {value}"
            )),
        },
        "status.sidecar.istio.io/port" => value
            .trim()
            .parse::<u16>()
            .map(drop)
            .map_err(|e| format!("failed parsing port '{value}': {e}")),
        "readiness.status.sidecar.istio.io/initialDelaySeconds"
        | "readiness.status.sidecar.istio.io/periodSeconds"
        | "readiness.status.sidecar.istio.io/failureThreshold" => value
            .parse::<u32>()
            .map(drop)
            .map_err(|e| format!("parsing {value:?}: {e}")),
        "traffic.sidecar.istio.io/includeInboundPorts" => ports(value, true),
        "traffic.sidecar.istio.io/excludeInboundPorts"
        | "traffic.sidecar.istio.io/excludeOutboundPorts" => ports(value, false),
        "traffic.sidecar.istio.io/includeOutboundIPRanges" => cidrs(value, true),
        "traffic.sidecar.istio.io/excludeOutboundIPRanges" => cidrs(value, false),
        "prometheus.istio.io/merge-metrics" => match value {
            "1" | "t" | "T" | "true" | "TRUE" | "True" | "0" | "f" | "F" | "false" | "FALSE"
            | "False" => Ok(()),
            _ => Err(format!("parsing {value:?}: invalid syntax")),
        },
        _ => Ok(()),
    };
    check.err()
}

fn judge(resource: &Resource, kind: &str, found: &mut Vec<Finding>) {
    for (key, value) in &resource.annotations {
        if !is_istio(key) || IGNORED.contains(&key.as_str()) {
            continue;
        }
        let field = Some(format!("metadata.annotations.{key}"));
        let mut push = |code, text: String| {
            found.push(finding(
                ANALYZER,
                code,
                resource,
                field.clone(),
                text,
                Vec::new(),
            ));
        };
        let Some((_, kinds, deprecated)) = ANNOTATIONS.iter().find(|(name, ..)| name == key) else {
            push(&UNKNOWN_ANNOTATION, format!("Unknown annotation: {key}"));
            continue;
        };
        let inject = key == "sidecar.istio.io/inject";
        if *deprecated && !(inject && resource.labels.contains_key(key)) {
            let extra = match inject {
                true => " in favor of the \"sidecar.istio.io/inject\" label",
                false => "",
            };
            push(
                &DEPRECATED_ANNOTATION,
                format!(
                    "Annotation {key:?} has been deprecated{extra} and may not work in future Istio versions."
                ),
            );
        }
        if *kinds == ANY {
            continue;
        }
        if !kinds.contains(&kind) {
            push(
                &MISPLACED_ANNOTATION,
                format!(
                    "Misplaced annotation: {key} can only be applied to {}",
                    kinds.join(", ")
                ),
            );
        } else if let Some(why) = invalid(key, value) {
            push(
                &INVALID_ANNOTATION,
                format!("Invalid annotation {key}: {why}"),
            );
        }
    }
}

pub(crate) fn annotations(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for (collection, kind) in [
        (NAMESPACES, "Namespace"),
        (SERVICES, "Service"),
        (DEPLOYMENTS, "Deployment"),
    ] {
        for resource in store.all(collection) {
            judge(resource, kind, &mut found);
        }
    }
    for pod in store.pods(None) {
        judge(&pod.resource, "Pod", &mut found);
    }
    found
}
