//! The client side, for callouts: the CA that verifies the remote sink and
//! the certificate the hub presents to it. The files are read at every
//! dial, so a rotated certificate is used from the next reconnect.

use std::path::PathBuf;

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::{TlsError, pem};

/// Where a dialling client's TLS material lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// CAs (PEM) the server's certificate must chain to.
    pub ca: Option<PathBuf>,
    /// The certificate (PEM) to present, for mutual TLS; needs `key`.
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub key: Option<PathBuf>,
    /// The name to verify the server's certificate against, when it is not
    /// the address's host.
    pub server_name: Option<String>,
}

impl ClientTls {
    /// tonic's client configuration, from the files as they are now.
    pub fn config(&self) -> Result<ClientTlsConfig, TlsError> {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &self.ca {
            config = config.ca_certificate(Certificate::from_pem(pem::bytes(ca)?));
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            config = config.identity(Identity::from_pem(pem::bytes(cert)?, pem::bytes(key)?));
        }
        if let Some(name) = &self.server_name {
            config = config.domain_name(name.clone());
        }
        Ok(config)
    }
}
