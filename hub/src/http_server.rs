//! The accept loop the hub's HTTP servers share (the admin server, the
//! admission webhook): connections accepted under a limit of their own (one
//! over it is closed at once, so probes, scrapes and reviews can never take
//! the descriptors the sources and sinks need) and a quarter of it per peer
//! address (so one client cannot hold every slot), each given a
//! header-read timeout that also closes it when idle between requests.
//! With TLS, the handshake has the same deadline and HTTP/2 or HTTP/1.1 is
//! chosen by ALPN, and a verified client certificate's identities go with
//! each request; without, HTTP/1.1 only.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use galleon_mcp::tls::{ServerTls, identities};

/// How long a failed `accept` (descriptors ran out) waits before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// One server's connection limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The server's name in logs.
    pub(crate) name: &'static str,
    /// The setting that raises the connection limit.
    pub(crate) setting: &'static str,
    /// Connections open at once.
    pub(crate) max_connections: usize,
    /// Deadline for the TLS handshake and each request's headers, and the
    /// longest a connection may idle between requests.
    pub(crate) header_read_timeout: Duration,
}

/// The address a request came from, in its extensions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// The identities (URI and DNS SANs) of the verified client certificate a
/// TLS connection presented, in its requests' extensions (absent over
/// plaintext or without a certificate).
#[derive(Clone, Debug)]
pub(crate) struct ClientIdentities(pub(crate) Vec<String>);

/// Serves `router` on `listener` within `limits`, over TLS when `tls` is
/// set, until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<ServerTls>,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_peer = (limits.max_connections / 4).max(1);
    let peers = Peers::default();
    let mut refusal_logged = None::<Instant>;
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            // Small responses go out at once (Nagle's algorithm and the
            // peer's delayed ACK would hold each one ~40ms).
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                (stream, peer)
            }
            Err(error) => {
                debug!("{}: accept failed: {error}", limits.name);
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let slot = slots.clone().try_acquire_owned().ok();
        let peer_slot = PeerSlot::take(&peers, peer.ip(), per_peer);
        let (Some(slot), Some(peer_slot)) = (slot, peer_slot) else {
            if refusal_logged.is_none_or(|at| at.elapsed() > Duration::from_secs(1)) {
                warn!(%peer, limit = limits.max_connections, per_peer, "{}: refusing a connection over {} (a quarter of it per peer)", limits.name, limits.setting);
                refusal_logged = Some(Instant::now());
            }
            continue;
        };
        let router = router.clone().layer(axum::Extension(Peer(peer)));
        let (tls, stop) = (tls.clone(), stop.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_plain(stream, peer, router, limits, stop).await,
                Some(tls) => serve_tls(stream, peer, router, limits, tls, stop).await,
            }
            drop((slot, peer_slot));
        });
    }
}

/// One plaintext connection, HTTP/1.1.
async fn serve_plain(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    stop: CancellationToken,
) {
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    drive(connection, peer, limits, stop).await;
}

/// One TLS connection: the handshake under the header deadline, then
/// HTTP/2 or HTTP/1.1.
async fn serve_tls(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    tls: ServerTls,
    stop: CancellationToken,
) {
    let handshake = tokio::time::timeout(limits.header_read_timeout, tls.acceptor().accept(stream));
    let stream = match handshake.await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            debug!(%peer, "{}: TLS handshake failed: {error}", limits.name);
            return;
        }
        Err(_) => {
            debug!(%peer, "{}: TLS handshake not done within the header deadline", limits.name);
            return;
        }
    };
    let presented = stream.get_ref().1.peer_certificates();
    let router = match presented.and_then(|chain| chain.first()) {
        Some(leaf) => router.layer(axum::Extension(ClientIdentities(identities(leaf)))),
        None => router,
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout));
    let connection =
        builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    drive(connection, peer, limits, stop).await;
}

/// Serves `connection` to its end, or until `stop` (then it finishes the
/// requests under way and closes).
async fn drive<C>(connection: C, peer: SocketAddr, limits: Limits, stop: CancellationToken)
where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(error) = served {
                debug!(%peer, "{} connection ended: {error}", limits.name);
            }
        }
        () = stop.cancelled() => connection.as_mut().graceful_shutdown(),
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
