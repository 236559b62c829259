//! The admin server's connections: accepted under a limit of their own
//! (one over it is closed at once, so probes and scrapes can never take the
//! descriptors the sources and sinks need) and a quarter of it per peer
//! address (so one client cannot hold every slot from the probes), each
//! given a header-read
//! timeout that also closes it when idle between requests, and each request
//! checked for a `Host` it may carry: an IP address, `localhost`, or a name
//! the configuration lists. A web page that re-points its own DNS name at
//! this machine (DNS rebinding) is refused, while Kubernetes probes, which
//! name the pod's IP, pass.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::AdminConfig;
use galleon_mcp::quote::quote;

/// How long a failed `accept` (descriptors ran out) waits before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` as `config` limits it, until `stop`.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    config: &AdminConfig,
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
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let per_peer = (config.max_connections / 4).max(1);
    let peers = Peers::default();
    let header_read_timeout = config.header_read_timeout;
    let mut refusal_logged = None::<Instant>;
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                debug!("admin server: accept failed: {error}");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let slot = slots.clone().try_acquire_owned().ok();
        let peer_slot = PeerSlot::take(&peers, peer.ip(), per_peer);
        let (Some(slot), Some(peer_slot)) = (slot, peer_slot) else {
            if refusal_logged.is_none_or(|at| at.elapsed() > Duration::from_secs(1)) {
                warn!(%peer, limit = config.max_connections, per_peer, "admin server: refusing a connection over admin.maxConnections (a quarter of it per peer)");
                refusal_logged = Some(Instant::now());
            }
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let stop = stop.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        debug!(%peer, "admin connection ended: {error}");
                    }
                }
                () = stop.cancelled() => connection.as_mut().graceful_shutdown(),
            }
            drop((slot, peer_slot));
        });
    }
}

/// Connections open per peer address.
type Peers = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One connection's place in its peer's count; given back when dropped.
struct PeerSlot {
    peers: Peers,
    ip: IpAddr,
}

impl PeerSlot {
    /// A place for `ip`, unless it holds `limit` already.
    fn take(peers: &Peers, ip: IpAddr, limit: usize) -> Option<Self> {
        let mut counts = peers.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Self {
            peers: peers.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut counts = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Refuses a request whose `Host` names a domain not listed.
async fn check_host(allowed: Arc<[String]>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if host_allowed(host, &allowed) {
        return next.run(request).await;
    }
    let message = format!(
        "Host {} is not one this admin server answers to (an IP address, localhost, or admin.allowedHosts)\n",
        quote(host)
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
