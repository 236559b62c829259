//! The one address convention of every command that dials: `host:port`,
//! a scheme allowed (`http://`, `https://`), a hostname resolved when
//! dialled.

use anyhow::bail;

/// `address` as a URI with a scheme: `https://` when `tls` (or when it is
/// written with one), else `http://`.
pub(super) fn uri(flag: &str, address: &str, tls: bool) -> anyhow::Result<String> {
    let (scheme, rest) = match address.split_once("://") {
        Some(("http", rest)) if !tls => ("http", rest),
        Some(("http", _)) => bail!("{flag} {address:?}: http:// with TLS options; write https://"),
        Some(("https", rest)) => ("https", rest),
        Some((other, _)) => bail!("{flag} {address:?}: unknown scheme {other:?} (http or https)"),
        None if tls => ("https", address),
        None => ("http", address),
    };
    let uri = format!("{scheme}://{}", rest.trim_end_matches('/'));
    let parsed: http::Uri = uri
        .parse()
        .map_err(|e| anyhow::anyhow!("{flag} {address:?}: {e} (write host:port)"))?;
    if parsed.host().is_none() || parsed.port_u16().is_none() {
        bail!("{flag} {address:?}: expected host:port, e.g. 127.0.0.1:9902");
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn every_command_reads_addresses_alike() {
        assert_eq!(
            uri("--addr", "127.0.0.1:9901", false).unwrap(),
            "http://127.0.0.1:9901"
        );
        assert_eq!(
            uri("--addr", "galleon.istio-system:9901", false).unwrap(),
            "http://galleon.istio-system:9901"
        );
        assert_eq!(
            uri("--addr", "http://localhost:9902/", false).unwrap(),
            "http://localhost:9902"
        );
        assert_eq!(uri("--addr", "hub:9901", true).unwrap(), "https://hub:9901");
        for bad in ["ftp://hub:1", "hub", "not an address"] {
            assert!(uri("--addr", bad, false).is_err(), "{bad}");
        }
        assert!(uri("--addr", "http://hub:1", true).is_err());
    }
}
