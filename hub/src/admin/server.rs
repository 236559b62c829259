//! The admin server's connections: the shared accept loop
//! ([`http_server`](crate::http_server): a connection limit of its own, a
//! quarter of it per peer, a header-read timeout), and each request
//! checked for a `Host` it may carry: an IP address, `localhost`, or a name
//! the configuration lists. A web page that re-points its own DNS name at
//! this machine (DNS rebinding) is refused, while Kubernetes probes, which
//! name the pod's IP, pass.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::AdminConfig;
use crate::http_server::{self, Limits};
use galleon_mcp::quote::quote;
use galleon_mcp::tls::ServerTls;

/// Serves `router` on `listener` as `config` limits it (over HTTPS with
/// `tls`), until `stop`.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    config: &AdminConfig,
    tls: Option<ServerTls>,
    stop: CancellationToken,
) {
    let hosts: Arc<[String]> = config
        .allowed_hosts
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let router = router.layer(axum::middleware::from_fn(move |request, next| {
        check_host(hosts.clone(), request, next)
    }));
    let limits = Limits {
        name: "admin server",
        setting: "admin.maxConnections",
        max_connections: config.max_connections,
        header_read_timeout: config.header_read_timeout,
    };
    http_server::serve(listener, router, limits, tls, stop).await;
}

/// Refuses a request whose `Host` names a domain not listed.
async fn check_host(allowed: Arc<[String]>, request: Request, next: Next) -> Response {
    // HTTP/1.1 names the host in `Host`, HTTP/2 (over TLS) in `:authority`.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default()
        .to_owned();
    if host_allowed(&host, &allowed) {
        return next.run(request).await;
    }
    let message = format!(
        "Host {} is not one this admin server answers to (an IP address, localhost, or admin.allowedHosts)\n",
        quote(&host)
    );
    (StatusCode::MISDIRECTED_REQUEST, Body::from(message)).into_response()
}

/// Whether `host` (a `Host` header: name or address, with an optional
/// port) is an IP address, `localhost`, or one of `allowed`.
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:9902`
        Some(bracketed) => bracketed.split_once(']').map_or(bracketed, |(ip, _)| ip),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    let name = name.to_ascii_lowercase();
    name.parse::<IpAddr>().is_ok() || name == "localhost" || allowed.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_addresses_localhost_and_listed_names_pass() {
        for host in [
            "127.0.0.1:9902",
            "10.1.2.3:9902",
            "[::1]:9902",
            "localhost:9902",
            "LOCALHOST",
            "localhost",
        ] {
            assert!(host_allowed(host, &[]), "{host}");
        }
        for host in [
            "attacker.example:9902",
            "attacker.example",
            "",
            "localhost.attacker.example",
        ] {
            assert!(!host_allowed(host, &[]), "{host}");
        }
        assert!(host_allowed(
            "galleon.istio-system:9902",
            &["galleon.istio-system".into()]
        ));
    }
}
