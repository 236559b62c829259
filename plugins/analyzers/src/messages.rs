//! Istio's message codes, names and levels (`istioctl analyze`'s), and the
//! one way a finding is made.

use galleon_plugin_sdk::{Message, Resource, ResourceRef, Severity};

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
    CONFLICTING_MESH_GATEWAY_HOSTS = "IST0109" ConflictingMeshGatewayVirtualServiceHosts Error;
    CONFLICTING_SIDECAR_SELECTORS = "IST0110" ConflictingSidecarWorkloadSelectors Error;
    MULTIPLE_SIDECARS_WITHOUT_SELECTORS = "IST0111" MultipleSidecarsWithoutWorkloadSelectors Error;
    PORT_SELECTOR_REQUIRED = "IST0112" VirtualServiceDestinationPortSelectorRequired Error;
    PORT_NAME_CONVENTION = "IST0118" PortNameIsNotUnderNamingConvention Info;
    NO_CA_DESTINATION_LEVEL = "IST0128" NoServerCertificateVerificationDestinationLevel Warning;
    NO_CA_PORT_LEVEL = "IST0129" NoServerCertificateVerificationPortLevel Warning;
    HOST_NOT_IN_GATEWAY = "IST0132" VirtualServiceHostNotFoundInGateway Warning;
    SERVICE_ENTRY_ADDRESSES_REQUIRED = "IST0134" ServiceEntryAddressesRequired Warning;
    DUPLICATE_CERTIFICATE = "IST0138" GatewayDuplicateCertificate Warning;
    INGRESS_ROUTE_RULES_NOT_AFFECTED = "IST0140" IngressRouteRulesNotAffected Warning;
    CONFLICTING_GATEWAYS = "IST0145" ConflictingGateways Error;
    JWT_CLAIM_ROUTE_WITHOUT_AUTHN = "IST0149" JwtClaimBasedRoutingWithoutRequestAuthN Error;
    EXTERNAL_NAME_PORT_NAME = "IST0150" ExternalNameServiceTypeInvalidPortName Warning;
    INVALID_GATEWAY_CREDENTIAL = "IST0161" InvalidGatewayCredential Error;
    GATEWAY_PORT_NOT_ON_SERVICE = "IST0162" GatewayPortNotDefinedOnService Warning;
    REFERENCED_INTERNAL_GATEWAY = "IST0165" ReferencedInternalGateway Warning;
    INEFFECTIVE_POLICY = "IST0167" IneffectivePolicy Warning;
    SUBSET_SELECTS_NO_PODS = "IST0173" DestinationRuleSubsetNotSelectPods Error;
    UNKNOWN_DESTINATION_RULE_HOST = "IST0174" UnknownDestinationRuleHost Warning;
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
