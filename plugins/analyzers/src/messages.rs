//! Istio's message codes, names and levels (`istioctl analyze`'s), and the
//! one way a finding is made.

use galleon_plugin_sdk::{Message, Resource, ResourceRef, Severity};

use crate::store::{Labels, selector_text};

/// One of Istio's message kinds.
pub(crate) struct Code {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    pub(crate) severity: Severity,
}

macro_rules! codes {
    ($($constant:ident = $code:literal $name:ident $severity:ident;)*) => {
        $(pub(crate) const $constant: Code = Code {
            code: $code,
            name: stringify!($name),
            severity: Severity::$severity,
        };)*
    };
}

codes! {
    DEPRECATED = "IST0002" Deprecated Warning;
    REFERENCED_RESOURCE_NOT_FOUND = "IST0101" ReferencedResourceNotFound Error;
    NAMESPACE_NOT_INJECTED = "IST0102" NamespaceNotInjected Info;
    POD_MISSING_PROXY = "IST0103" PodMissingProxy Warning;
    SCHEMA_VALIDATION_ERROR = "IST0106" SchemaValidationError Error;
    MISPLACED_ANNOTATION = "IST0107" MisplacedAnnotation Warning;
    UNKNOWN_ANNOTATION = "IST0108" UnknownAnnotation Warning;
    CONFLICTING_MESH_GATEWAY_HOSTS = "IST0109" ConflictingMeshGatewayVirtualServiceHosts Error;
    CONFLICTING_SIDECAR_SELECTORS = "IST0110" ConflictingSidecarWorkloadSelectors Error;
    MULTIPLE_SIDECARS_WITHOUT_SELECTORS = "IST0111" MultipleSidecarsWithoutWorkloadSelectors Error;
    PORT_SELECTOR_REQUIRED = "IST0112" VirtualServiceDestinationPortSelectorRequired Error;
    PORT_NAME_CONVENTION = "IST0118" PortNameIsNotUnderNamingConvention Info;
    MULTIPLE_INJECTION_LABELS = "IST0123" NamespaceMultipleInjectionLabels Warning;
    INVALID_ANNOTATION = "IST0125" InvalidAnnotation Warning;
    NO_MATCHING_WORKLOADS = "IST0127" NoMatchingWorkloadsFound Warning;
    NO_CA_DESTINATION_LEVEL = "IST0128" NoServerCertificateVerificationDestinationLevel Warning;
    NO_CA_PORT_LEVEL = "IST0129" NoServerCertificateVerificationPortLevel Warning;
    UNREACHABLE_RULE = "IST0130" VirtualServiceUnreachableRule Warning;
    INEFFECTIVE_MATCH = "IST0131" VirtualServiceIneffectiveMatch Info;
    HOST_NOT_IN_GATEWAY = "IST0132" VirtualServiceHostNotFoundInGateway Warning;
    SERVICE_ENTRY_ADDRESSES_REQUIRED = "IST0134" ServiceEntryAddressesRequired Warning;
    DEPRECATED_ANNOTATION = "IST0135" DeprecatedAnnotation Info;
    DUPLICATE_CERTIFICATE = "IST0138" GatewayDuplicateCertificate Warning;
    INGRESS_ROUTE_RULES_NOT_AFFECTED = "IST0140" IngressRouteRulesNotAffected Warning;
    CONFLICTING_GATEWAYS = "IST0145" ConflictingGateways Error;
    JWT_CLAIM_ROUTE_WITHOUT_AUTHN = "IST0149" JwtClaimBasedRoutingWithoutRequestAuthN Error;
    EXTERNAL_NAME_PORT_NAME = "IST0150" ExternalNameServiceTypeInvalidPortName Warning;
    ENVOY_FILTER_RELATIVE = "IST0151" EnvoyFilterUsesRelativeOperation Warning;
    ENVOY_FILTER_REPLACE_INVALID = "IST0152" EnvoyFilterUsesReplaceOperationIncorrectly Error;
    ENVOY_FILTER_ADD_IGNORED = "IST0153" EnvoyFilterUsesAddOperationIncorrectly Error;
    ENVOY_FILTER_REMOVE_IGNORED = "IST0154" EnvoyFilterUsesRemoveOperationIncorrectly Error;
    ENVOY_FILTER_RELATIVE_PROXY_VERSION = "IST0155" EnvoyFilterUsesRelativeOperationWithProxyVersion Warning;
    INVALID_TELEMETRY_PROVIDER = "IST0157" InvalidTelemetryProvider Warning;
    CONFLICTING_TELEMETRY_SELECTORS = "IST0159" ConflictingTelemetryWorkloadSelectors Error;
    MULTIPLE_TELEMETRIES_WITHOUT_SELECTORS = "IST0160" MultipleTelemetriesWithoutWorkloadSelectors Error;
    INVALID_GATEWAY_CREDENTIAL = "IST0161" InvalidGatewayCredential Error;
    GATEWAY_PORT_NOT_ON_SERVICE = "IST0162" GatewayPortNotDefinedOnService Warning;
    REFERENCED_INTERNAL_GATEWAY = "IST0165" ReferencedInternalGateway Warning;
    INEFFECTIVE_POLICY = "IST0167" IneffectivePolicy Warning;
    SUBSET_SELECTS_NO_PODS = "IST0173" DestinationRuleSubsetNotSelectPods Error;
    UNKNOWN_DESTINATION_RULE_HOST = "IST0174" UnknownDestinationRuleHost Warning;
    CONFLICTING_SERVICE_ENTRY_PROTOCOL = "IST0177" ConflictingServiceEntryProtocol Warning;
}

/// A finding of `analyzer` about `subject`.
pub(crate) struct Finding {
    pub(crate) subject: ResourceRef,
    pub(crate) message: Message,
}

/// Makes a finding: `code` about `subject`, at `field`, saying `text`,
/// naming `references`.
pub(crate) fn finding(
    analyzer: &str,
    code: &Code,
    subject: &Resource,
    field: Option<String>,
    text: String,
    references: Vec<ResourceRef>,
) -> Finding {
    Finding {
        subject: ResourceRef::from(subject),
        message: Message {
            analyzer: analyzer.to_owned(),
            code: code.code.to_owned(),
            name: code.name.to_owned(),
            severity: code.severity,
            field,
            text,
            references,
        },
    }
}

/// `subject`'s selector (at `path`) matches no pod (IST0101): the field is
/// its first label, as Istio points at it.
pub(crate) fn selector_not_found(
    analyzer: &str,
    subject: &Resource,
    path: &str,
    selector: &Labels,
) -> Finding {
    let first = selector.keys().next().map_or("", String::as_str);
    finding(
        analyzer,
        &REFERENCED_RESOURCE_NOT_FOUND,
        subject,
        Some(format!("{path}.{first}")),
        format!(
            "Referenced selector not found: {:?}",
            selector_text(selector)
        ),
        Vec::new(),
    )
}
