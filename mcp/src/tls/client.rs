//! The client side, for every connection the hub dials (callouts, upstream
//! hubs): the CA that verifies the remote end and the certificate the hub
//! presents to it; also the `tls:` section of each such connection's
//! configuration. The files are read at every
//! dial, so a rotated certificate is used from the next reconnect.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::{TlsError, pem};

/// Where a dialling client's TLS material lives.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTls {
    /// CAs (PEM) the server's certificate must chain to.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// The certificate (PEM) to present, for mutual TLS; needs `key`.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The name to verify the server's certificate against, when it is not
    /// the address's host.
    #[serde(default)]
    pub server_name: Option<String>,
}

impl ClientTls {
    /// What makes it unusable as written: a certificate without its key, or
    /// the other way round.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.cert.is_some() != self.key.is_some() {
            return Err("tls.cert and tls.key go together");
        }
        Ok(())
    }

    /// Its paths, to resolve against the configuration file's directory.
    pub fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        [&mut self.ca, &mut self.cert, &mut self.key]
            .into_iter()
            .flatten()
    }

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
