//! The client side, for every connection the hub dials (callouts, upstream
//! hubs): the CA that verifies the remote end and the certificate the hub
//! presents to it; also the `tls:` section of each such connection's
//! configuration. The files are read at every
//! dial, so a rotated certificate is used from the next reconnect. The CLI
//! dials an HTTPS admin server with the same files, as rustls's own
//! configuration.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
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

    /// A rustls client configuration (its ALPN left to the HTTP client),
    /// from the files as they are now: the servers `ca` vouches for (required: a client of
    /// an HTTPS admin server trusts its own CA, not the system's), and the
    /// client certificate when given.
    pub fn rustls_config(&self) -> Result<ClientConfig, TlsError> {
        let Some(ca) = &self.ca else {
            return Err(TlsError::NoCa);
        };
        let mut roots = RootCertStore::empty();
        for certificate in pem::certificates(ca)? {
            roots.add(certificate)?;
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        Ok(match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                builder.with_client_auth_cert(pem::chain(cert)?, pem::private_key(key)?)?
            }
            _ => builder.with_no_client_auth(),
        })
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
