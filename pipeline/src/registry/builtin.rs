//! Istio 1.5's kinds (Galley's `metadata.yaml`): source collections and the
//! direct mapping to output collections.

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
    ("apps/v1", "Deployment", "deployments", None),
];

pub(super) fn schemas() -> impl Iterator<Item = Schema> {
    let rows = |rows: &'static [Row], cluster_scoped, body| {
        rows.iter()
            .map(move |(api_version, kind, plural, output)| Schema {
                cluster_scoped,
                body,
                output: output.map(Into::into),
                ..Schema::new(api_version, kind, plural)
            })
    };
    rows(NAMESPACED_SPEC, false, BodyShape::Spec)
        .chain(rows(CLUSTER_SPEC, true, BodyShape::Spec))
        .chain(rows(NAMESPACED_OBJECT, false, BodyShape::Object))
}
