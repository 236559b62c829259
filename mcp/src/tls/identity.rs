//! The identities a client certificate carries: its URI SANs (SPIFFE IDs
//! such as `spiffe://cluster.local/ns/istio-system/sa/istiod`) and DNS
//! SANs, as Galley's access list matched them. Each kind is taken only in
//! its own form, so one cannot pass for the other: a URI SAN must be a URI
//! with a scheme, and a DNS SAN a DNS name (a DNS SAN that reads
//! `spiffe://…` names nothing an access list can list).

use tokio_rustls::rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The URI and DNS subject alternative names of `certificate` that are
/// well-formed for their kind; none if it does not parse (the handshake
/// already verified it, so it does).
pub fn identities(certificate: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, parsed)) = X509Certificate::from_der(certificate) else {
        return Vec::new();
    };
    let Ok(Some(names)) = parsed.subject_alternative_name() else {
        return Vec::new();
    };
    names
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) if is_uri(uri) => Some((*uri).to_owned()),
            GeneralName::DNSName(dns) if is_dns_name(dns) => Some((*dns).to_owned()),
            _ => None,
        })
        .collect()
}

/// `scheme://rest`, the scheme as RFC 3986 spells one.
fn is_uri(uri: &str) -> bool {
    uri.split_once("://").is_some_and(|(scheme, rest)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
    })
}

/// Dot-separated labels of letters, digits and hyphens (the first may be a
/// `*` wildcard), as a certificate's DNS names are.
fn is_dns_name(name: &str) -> bool {
    let label = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let name = name.strip_prefix("*.").unwrap_or(name);
    name.len() <= 253 && name.split('.').all(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_name_is_taken_only_in_its_own_form() {
        assert!(is_uri("spiffe://cluster.local/ns/istio-system/sa/istiod"));
        assert!(!is_uri("istiod.istio-system.svc"));
        assert!(!is_uri("://nothing"));
        assert!(is_dns_name("istiod.istio-system.svc"));
        assert!(is_dns_name("*.example.com"));
        assert!(!is_dns_name(
            "spiffe://cluster.local/ns/istio-system/sa/istiod"
        ));
        assert!(!is_dns_name("a..b"));
        assert!(!is_dns_name("-a.b"));
    }
}
