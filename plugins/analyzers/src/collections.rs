//! The source collections the analyzers read.

pub(crate) const VIRTUAL_SERVICES: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";
pub(crate) const GATEWAYS: &str = "k8s/networking.istio.io/v1alpha3/gateways";
pub(crate) const DESTINATION_RULES: &str = "k8s/networking.istio.io/v1alpha3/destinationrules";
pub(crate) const SERVICE_ENTRIES: &str = "k8s/networking.istio.io/v1alpha3/serviceentries";
pub(crate) const SIDECARS: &str = "k8s/networking.istio.io/v1alpha3/sidecars";
pub(crate) const SERVICES: &str = "k8s/core/v1/services";
pub(crate) const PODS: &str = "k8s/core/v1/pods";
pub(crate) const NODES: &str = "k8s/core/v1/nodes";
pub(crate) const NAMESPACES: &str = "k8s/core/v1/namespaces";
/// Secrets as the hub keeps them: key names and certificate validity.
pub(crate) const SECRETS: &str = "k8s/core/v1/secrets";
pub(crate) const ENVOY_FILTERS: &str = "k8s/networking.istio.io/v1alpha3/envoyfilters";
pub(crate) const TELEMETRIES: &str = "k8s/telemetry.istio.io/v1alpha1/telemetries";
pub(crate) const AUTHORIZATION_POLICIES: &str =
    "k8s/security.istio.io/v1beta1/authorizationpolicies";
pub(crate) const DEPLOYMENTS: &str = "k8s/apps/v1/deployments";
pub(crate) const REQUEST_AUTHENTICATIONS: &str =
    "k8s/security.istio.io/v1beta1/requestauthentications";

/// Namespaces Istio's analyzers never look at.
pub(crate) const SYSTEM_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];
