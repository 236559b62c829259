//! TLS for the MCP port and the callouts (rustls with ring): the server's
//! certificate and client CA, re-read on demand so rotation needs no
//! restart ([`ServerTls`]); the client side the callouts dial with
//! ([`ClientTls`]); and the identities a client certificate carries
//! ([`identities`]), which the access list checks.

mod client;
mod identity;
mod pem;
mod server;

use std::path::PathBuf;

pub use client::ClientTls;
pub use identity::identities;
pub use server::{HTTPS_ALPN, ServerTls, ServerTlsFiles};

/// Why a TLS set-up could not be built from its files.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// A file is not the PEM it should be.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificate, key or CA.
    #[error("{0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
    /// An HTTPS client was given no CA to trust the server by.
    #[error("no CA to verify the server by: give the CA (PEM) that signed its certificate")]
    NoCa,
    /// The client CA cannot verify client certificates.
    #[error("client CA: {0}")]
    ClientCa(#[from] tokio_rustls::rustls::server::VerifierBuilderError),
}
