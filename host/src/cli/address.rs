//! The one address convention of every command: `host:port`, a scheme
//! allowed (`http://`, `https://`), a hostname resolved (when dialled, or
//! once for an address `serve` listens on). `GALLEON_ADDR` and
//! `GALLEON_ADMIN_ADDR` are read by `serve` and by the commands that dial
//! it, so one value must mean the same to both.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{Context, bail};

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

/// `address` as one socket address to listen on: the same forms as
/// [`uri`], a hostname resolved to its first address.
pub(super) fn listen(flag: &str, address: &str) -> anyhow::Result<SocketAddr> {
    let uri: http::Uri = uri(flag, address, address.starts_with("https://"))?
        .parse()
        .expect("uri() gives a valid URI");
    let (host, port) = (
        uri.host().unwrap_or_default(),
        uri.port_u16().unwrap_or_default(),
    );
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("{flag} {address:?}: cannot resolve {host:?}"))?
        .next()
        .with_context(|| format!("{flag} {address:?}: {host:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::{listen, uri};

    #[test]
    fn serve_listens_on_what_the_dialling_commands_accept() {
        for (written, meant) in [
            ("127.0.0.1:9901", "127.0.0.1:9901"),
            ("http://127.0.0.1:9902/", "127.0.0.1:9902"),
            ("https://[::1]:15010", "[::1]:15010"),
            ("[::]:0", "[::]:0"),
        ] {
            assert_eq!(
                listen("--mcp-addr", written).unwrap(),
                meant.parse().unwrap()
            );
        }
        assert!(
            listen("--mcp-addr", "localhost:9901")
                .unwrap()
                .ip()
                .is_loopback()
        );
        let error = listen("--mcp-addr", "no-such-host.invalid:1").unwrap_err();
        assert!(format!("{error:#}").contains("cannot resolve"), "{error:#}");
        assert!(listen("--mcp-addr", "9901").is_err());
    }

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
