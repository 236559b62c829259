//! The MCP port's TLS: a server certificate, and with a client CA, mutual
//! TLS. The built configuration is swapped whole on [`ServerTls::reload`],
//! so a rotated certificate, key or CA applies to the next handshake while
//! established connections carry on.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use super::{TlsError, pem};

/// Where the server's TLS material lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// The certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// CAs (PEM) client certificates must chain to; set, every client must
    /// present one (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

impl ServerTlsFiles {
    /// Every file, for watching.
    pub fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        [&self.cert, &self.key].into_iter().chain(&self.client_ca)
    }
}

/// The server's current TLS configuration. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct ServerTls {
    files: Arc<ServerTlsFiles>,
    alpn: &'static [&'static [u8]],
    /// With a client CA: a client may also connect without a certificate
    /// (what it may do then is the server's to decide).
    clients_optional: bool,
    current: Arc<RwLock<Arc<ServerConfig>>>,
    /// When the files in use began to be read.
    read_at: Arc<RwLock<SystemTime>>,
}

/// What a gRPC port offers in ALPN: HTTP/2 only (clients such as grpc-go
/// insist on it).
const GRPC_ALPN: &[&[u8]] = &[b"h2"];

/// What an HTTPS port offers: HTTP/2 and HTTP/1.1.
pub const HTTPS_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

impl ServerTls {
    /// Reads `files` and builds the configuration of a gRPC port.
    pub fn load(files: ServerTlsFiles) -> Result<Self, TlsError> {
        Self::load_with_alpn(files, GRPC_ALPN)
    }

    /// Reads `files` and builds a configuration offering `alpn`
    /// ([`HTTPS_ALPN`] for an HTTPS server).
    pub fn load_with_alpn(
        files: ServerTlsFiles,
        alpn: &'static [&'static [u8]],
    ) -> Result<Self, TlsError> {
        Self::load_as(files, alpn, false)
    }

    /// An HTTPS server's configuration where, with a client CA, a client
    /// certificate is verified when presented but not required (the admin
    /// server: probes and reads need none, writes a listed identity).
    pub fn load_https_optional_clients(files: ServerTlsFiles) -> Result<Self, TlsError> {
        Self::load_as(files, HTTPS_ALPN, true)
    }

    fn load_as(
        files: ServerTlsFiles,
        alpn: &'static [&'static [u8]],
        clients_optional: bool,
    ) -> Result<Self, TlsError> {
        let read_at = SystemTime::now();
        let config = build(&files, alpn, clients_optional)?;
        Ok(Self {
            files: Arc::new(files),
            alpn,
            clients_optional,
            current: Arc::new(RwLock::new(Arc::new(config))),
            read_at: Arc::new(RwLock::new(read_at)),
        })
    }

    /// Re-reads the files. On error the configuration in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let read_at = SystemTime::now();
        let config = Arc::new(build(&self.files, self.alpn, self.clients_optional)?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = config;
        *self.read_at.write().unwrap_or_else(PoisonError::into_inner) = read_at;
        Ok(())
    }

    /// Whether a file changed since the configuration in use was read
    /// (a watch that starts later compares against this, not against
    /// what the files hold when it starts).
    pub fn changed_since_read(&self) -> bool {
        let read_at = *self.read_at.read().unwrap_or_else(PoisonError::into_inner);
        self.files.paths().any(|path| {
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified >= read_at)
        })
    }

    /// The files this configuration is read from.
    pub fn files(&self) -> &ServerTlsFiles {
        &self.files
    }

    /// Whether clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// An acceptor with the configuration of this moment.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        TlsAcceptor::from(config)
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn build(
    files: &ServerTlsFiles,
    alpn: &[&[u8]],
    clients_optional: bool,
) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for certificate in pem::certificates(ca)? {
                roots.add(certificate)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if clients_optional {
                verifier.allow_unauthenticated().build()?
            } else {
                verifier.build()?
            };
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config =
        builder.with_single_cert(pem::chain(&files.cert)?, pem::private_key(&files.key)?)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}
