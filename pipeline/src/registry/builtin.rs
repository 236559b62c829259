//! Istio's kinds: Istio 1.5's set (Galley's `metadata.yaml`) and the kinds
//! and API versions of current Istio, with their source collections and the
//! direct mapping to output collections. A kind's later API versions are the
//! same resource (as in Kubernetes): they land in its first version's
//! collection.

use super::{BodyShape, Schema};

/// (apiVersion, kind, source plural, output collection).
type Row = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const NAMESPACED_SPEC: &[Row] = &[
    // networking
    (
        "networking.istio.io/v1alpha3",
        "VirtualService",
        "virtualservices",
        Some("istio/networking/v1alpha3/virtualservices"),
    ),
    (
        "networking.istio.io/v1alpha3",
        "Gateway",
        "gateways",
        Some("istio/networking/v1alpha3/gateways"),
    ),
    (
        "networking.istio.io/v1alpha3",
        "ServiceEntry",
        "serviceentries",
        Some("istio/networking/v1alpha3/serviceentries"),
    ),
    (
        "networking.istio.io/v1alpha3",
        "DestinationRule",
        "destinationrules",
        Some("istio/networking/v1alpha3/destinationrules"),
    ),
    (
        "networking.istio.io/v1alpha3",
        "EnvoyFilter",
        "envoyfilters",
        Some("istio/networking/v1alpha3/envoyfilters"),
    ),
    (
        "networking.istio.io/v1alpha3",
        "Sidecar",
        "sidecars",
        Some("istio/networking/v1alpha3/sidecars"),
    ),
    (
        "networking.istio.io/v1alpha3",
        "WorkloadEntry",
        "workloadentries",
        Some("istio/networking/v1alpha3/workloadentries"),
    ),
    (
        "networking.istio.io/v1alpha3",
        "WorkloadGroup",
        "workloadgroups",
        Some("istio/networking/v1alpha3/workloadgroups"),
    ),
    (
        "networking.istio.io/v1beta1",
        "ProxyConfig",
        "proxyconfigs",
        Some("istio/networking/v1beta1/proxyconfigs"),
    ),
    // telemetry and extensions
    (
        "telemetry.istio.io/v1alpha1",
        "Telemetry",
        "telemetries",
        Some("istio/telemetry/v1alpha1/telemetries"),
    ),
    (
        "extensions.istio.io/v1alpha1",
        "WasmPlugin",
        "wasmplugins",
        Some("istio/extensions/v1alpha1/wasmplugins"),
    ),
    // security
    (
        "security.istio.io/v1beta1",
        "AuthorizationPolicy",
        "authorizationpolicies",
        Some("istio/security/v1beta1/authorizationpolicies"),
    ),
    (
        "security.istio.io/v1beta1",
        "RequestAuthentication",
        "requestauthentications",
        Some("istio/security/v1beta1/requestauthentications"),
    ),
    (
        "security.istio.io/v1beta1",
        "PeerAuthentication",
        "peerauthentications",
        Some("istio/security/v1beta1/peerauthentications"),
    ),
    // authentication (the authpolicy transform normalises these)
    (
        "authentication.istio.io/v1alpha1",
        "Policy",
        "policies",
        Some("istio/authentication/v1alpha1/policies"),
    ),
    // rbac: ServiceRoleBinding's source collection is `policy` in Galley
    (
        "rbac.istio.io/v1alpha1",
        "ServiceRole",
        "serviceroles",
        Some("istio/rbac/v1alpha1/serviceroles"),
    ),
    (
        "rbac.istio.io/v1alpha1",
        "ServiceRoleBinding",
        "policy",
        Some("istio/rbac/v1alpha1/servicerolebindings"),
    ),
    (
        "rbac.istio.io/v1alpha1",
        "RbacConfig",
        "rbacconfigs",
        Some("istio/rbac/v1alpha1/rbacconfigs"),
    ),
    // mixer configuration
    (
        "config.istio.io/v1alpha2",
        "rule",
        "rules",
        Some("istio/policy/v1beta1/rules"),
    ),
    (
        "config.istio.io/v1alpha2",
        "handler",
        "handlers",
        Some("istio/policy/v1beta1/handlers"),
    ),
    (
        "config.istio.io/v1alpha2",
        "instance",
        "instances",
        Some("istio/policy/v1beta1/instances"),
    ),
    (
        "config.istio.io/v1alpha2",
        "adapter",
        "adapters",
        Some("istio/config/v1alpha2/adapters"),
    ),
    (
        "config.istio.io/v1alpha2",
        "template",
        "templates",
        Some("istio/config/v1alpha2/templates"),
    ),
    (
        "config.istio.io/v1alpha2",
        "HTTPAPISpec",
        "httpapispecs",
        Some("istio/config/v1alpha2/httpapispecs"),
    ),
    (
        "config.istio.io/v1alpha2",
        "HTTPAPISpecBinding",
        "httpapispecbindings",
        Some("istio/config/v1alpha2/httpapispecbindings"),
    ),
    (
        "config.istio.io/v1alpha2",
        "QuotaSpec",
        "quotaspecs",
        Some("istio/mixer/v1/config/client/quotaspecs"),
    ),
    (
        "config.istio.io/v1alpha2",
        "QuotaSpecBinding",
        "quotaspecbindings",
        Some("istio/mixer/v1/config/client/quotaspecbindings"),
    ),
    // Kubernetes
    ("v1", "Service", "services", Some("k8s/core/v1/services")),
    ("extensions/v1beta1", "Ingress", "ingresses", None),
    ("networking.k8s.io/v1", "Ingress", "ingresses", None),
];

const CLUSTER_SPEC: &[Row] = &[
    (
        "authentication.istio.io/v1alpha1",
        "MeshPolicy",
        "meshpolicies",
        Some("istio/authentication/v1alpha1/meshpolicies"),
    ),
    (
        "rbac.istio.io/v1alpha1",
        "ClusterRbacConfig",
        "clusterrbacconfigs",
        Some("istio/rbac/v1alpha1/clusterrbacconfigs"),
    ),
    (
        "config.istio.io/v1alpha2",
        "attributemanifest",
        "attributemanifests",
        Some("istio/policy/v1beta1/attributemanifests"),
    ),
    (
        "v1",
        "Namespace",
        "namespaces",
        Some("k8s/core/v1/namespaces"),
    ),
    ("v1", "Node", "nodes", None),
];

/// Kinds Galley took whole (no `spec`, or status and metadata matter).
const NAMESPACED_OBJECT: &[Row] = &[
    ("v1", "Endpoints", "endpoints", None),
    ("v1", "Pod", "pods", None),
    // Endpoints' successor; read by plugins that ask for it (the built-in
    // serviceentry transform reads Endpoints, as Galley did).
    (
        "discovery.k8s.io/v1",
        "EndpointSlice",
        "endpointslices",
        None,
    ),
    ("apps/v1", "Deployment", "deployments", None),
];

/// Kinds kept as a summary of what they hold, never the data: Secrets,
/// read by the Gateway credential analyzer.
const NAMESPACED_CREDENTIAL: &[Row] = &[("v1", "Secret", "secrets", None)];

/// The later API versions of Istio's kinds, by group: each kind of the
/// group registered above also accepts these (VirtualService written as
/// `networking.istio.io/v1` is the same resource as one written as
/// `v1alpha3`).
const LATER_VERSIONS: &[(&str, &[&str])] = &[
    (
        "networking.istio.io",
        &["networking.istio.io/v1beta1", "networking.istio.io/v1"],
    ),
    ("security.istio.io", &["security.istio.io/v1"]),
    ("telemetry.istio.io", &["telemetry.istio.io/v1"]),
];

/// Kinds that exist in their first API version only.
const SINGLE_VERSION: &[&str] = &["EnvoyFilter", "ProxyConfig"];

fn later_versions(api_version: &str, kind: &str) -> Vec<String> {
    let group = api_version.split_once('/').map_or("", |(group, _)| group);
    let later = LATER_VERSIONS
        .iter()
        .find(|(g, _)| *g == group)
        .map_or(&[][..], |(_, versions)| versions);
    later
        .iter()
        .filter(|v| **v != api_version && !SINGLE_VERSION.contains(&kind))
        .map(|v| (*v).to_owned())
        .collect()
}

/// Kinds whose message is not named after the kind.
const MESSAGE_NAMES: &[(&str, &str)] = &[
    ("MeshPolicy", "Policy"),
    ("ClusterRbacConfig", "RbacConfig"),
    ("attributemanifest", "AttributeManifest"),
];

/// The Istio message an output collection's bodies are: the collection's
/// path as the package (`istio/networking/v1alpha3/…` →
/// `istio.networking.v1alpha3`), the kind as the message.
fn message(output: &str, kind: &str) -> Option<String> {
    let package = output.strip_prefix("istio/")?.rsplit_once('/')?.0;
    let name = MESSAGE_NAMES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| capitalized(kind), |(_, message)| (*message).to_owned());
    Some(format!("istio.{}.{name}", package.replace('/', ".")))
}

fn capitalized(kind: &str) -> String {
    let mut chars = kind.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn schemas() -> impl Iterator<Item = Schema> {
    let rows = |rows: &'static [Row], cluster_scoped, body| {
        rows.iter()
            .map(move |(api_version, kind, plural, output)| Schema {
                cluster_scoped,
                body,
                output: output.map(Into::into),
                message: output.and_then(|output| message(output, kind)),
                later_versions: later_versions(api_version, kind),
                ..Schema::new(api_version, kind, plural)
            })
    };
    rows(NAMESPACED_SPEC, false, BodyShape::Spec)
        .chain(rows(CLUSTER_SPEC, true, BodyShape::Spec))
        .chain(rows(NAMESPACED_OBJECT, false, BodyShape::Object))
        .chain(rows(NAMESPACED_CREDENTIAL, false, BodyShape::Credential))
}
