//! Reading certificates and keys from PEM files, with the file named in
//! every error, and within bounds: a file over 4 MiB is no certificate
//! anyone means, and a server chain over 1 MiB would not fit the 16 MiB a
//! TLS message can carry long before it reached it (rustls panics on one
//! that does not), so both are refused when loaded.

use std::path::Path;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// The largest PEM file read (a CA bundle of every public root is 0.3 MiB).
const MAX_FILE: u64 = 4 << 20;

/// The largest certificate chain a server presents, in DER bytes.
pub(super) const MAX_CHAIN: usize = 1 << 20;

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    let error = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(error)?.len();
    if size > MAX_FILE {
        return Err(bad(
            path,
            format!("{size} bytes, over the {MAX_FILE}-byte limit of a PEM file"),
        ));
    }
    std::fs::read(path).map_err(error)
}

fn bad(path: &Path, reason: impl ToString) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Every certificate in `path`; at least one.
pub(super) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(path, e))?;
    if certificates.is_empty() {
        return Err(bad(path, "no PEM certificate in it"));
    }
    Ok(certificates)
}

/// The server's chain in `path`: at least one certificate, at most
/// [`MAX_CHAIN`] bytes of them.
pub(super) fn chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = certificates(path)?;
    let size: usize = chain.iter().map(|c| c.len()).sum();
    if size > MAX_CHAIN {
        return Err(bad(
            path,
            format!(
                "a {size}-byte certificate chain, over the {MAX_CHAIN} bytes a TLS handshake carries here"
            ),
        ));
    }
    Ok(chain)
}

/// The private key in `path` (PKCS#8, PKCS#1 or SEC1).
pub(super) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| bad(path, e))
}

/// The raw bytes of `path`, for tonic's client set-up (it parses them).
pub(super) fn bytes(path: &Path) -> Result<Vec<u8>, TlsError> {
    read(path)
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    /// A PEM file of `count` certificate blocks of `size` bytes each (DER
    /// is not parsed when read, only when used).
    fn pem_file(dir: &Path, count: usize, size: usize) -> std::path::PathBuf {
        let block = base64::engine::general_purpose::STANDARD.encode(vec![0x30; size]);
        let one = format!("-----BEGIN CERTIFICATE-----\n{block}\n-----END CERTIFICATE-----\n");
        let path = dir.join(format!("{count}x{size}.pem"));
        std::fs::write(&path, one.repeat(count)).unwrap();
        path
    }

    #[test]
    fn an_oversized_chain_or_file_is_refused_when_loaded() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(chain(&pem_file(dir.path(), 2, 1000)).unwrap().len(), 2);
        let long = chain(&pem_file(dir.path(), 3, 400_000))
            .unwrap_err()
            .to_string();
        assert!(
            long.contains("certificate chain, over the 1048576 bytes"),
            "{long}"
        );
        let huge = certificates(&pem_file(dir.path(), 1, 4 << 20))
            .unwrap_err()
            .to_string();
        assert!(huge.contains("limit of a PEM file"), "{huge}");
    }
}
