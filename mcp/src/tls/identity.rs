//! The identities a client certificate carries: its URI SANs (SPIFFE IDs
//! such as `spiffe://cluster.local/ns/istio-system/sa/istiod`) and DNS
//! SANs, as Galley's access list matched them.

use tokio_rustls::rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The URI and DNS subject alternative names of `certificate`; none if it
/// does not parse (the handshake already verified it, so it does).
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
            GeneralName::URI(uri) => Some((*uri).to_owned()),
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            _ => None,
        })
        .collect()
}
