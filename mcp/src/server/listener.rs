//! Accepting sink connections: at most `maxConnections` open at once (one
//! more is accepted and closed at once, so idle sockets cannot take the
//! descriptors the sources need); a connection that has made no valid
//! request within the handshake deadline is closed, and one peer address
//! holds at most a quarter of the slots with such connections. With TLS,
//! each handshake runs on its own task, so a slow client never holds up
//! the accept loop.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, warn};

use super::connection::{Connection, Limited, OnProbation};
use super::{Shared, Stats};
use crate::tls::ServerTls;

/// Connections whose handshake finished, waiting for the HTTP/2 server.
const READY_QUEUE: usize = 64;

/// Connections the kernel holds for the accept loop: Linux's default
/// `somaxconn`, so a fleet of sinks reconnecting at once is queued rather
/// than answered with SYN cookies and resets (tokio's default is 1,024).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `address` for [`McpServer::serve`](super::McpServer::serve), with
/// [`LISTEN_BACKLOG`].
pub fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Accepted connections, within the limits, as the HTTP/2 server takes
/// them. Accepting stops when the stream is dropped.
pub(super) fn incoming(
    shared: Arc<Shared>,
    listener: TcpListener,
) -> ReceiverStream<io::Result<Connection>> {
    let (ready, incoming) = mpsc::channel(READY_QUEUE);
    tokio::spawn(accept(shared, listener, ready));
    ReceiverStream::new(incoming)
}

async fn accept(
    shared: Arc<Shared>,
    listener: TcpListener,
    ready: mpsc::Sender<io::Result<Connection>>,
) {
    let limit = shared.options.max_connections;
    let handshake = shared.options.handshake_timeout;
    let open = Arc::new(Semaphore::new(limit));
    let on_probation = Arc::new(OnProbation::default());
    let per_peer = (limit / 4).max(1);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = ready.closed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, say: wait instead of spinning.
                warn!("cannot accept a connection: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            let count = Stats::inc(&shared.stats.refused_connections);
            if count.is_power_of_two() {
                warn!(%peer, refused = count, limit,
                    "refusing a connection: the limit of open connections is reached (mcp.maxConnections)");
            }
            continue;
        };
        let Some(probation) = on_probation.admit(peer.ip(), per_peer) else {
            let count = Stats::inc(&shared.stats.refused_connections);
            if count.is_power_of_two() {
                warn!(%peer, refused = count, per_peer,
                    "refusing a connection: this address has a quarter of mcp.maxConnections open without a valid request");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let limited = Limited::new(stream, permit, probation, handshake);
        match &shared.options.tls {
            None => {
                if ready
                    .send(Ok(Connection::plain(limited, peer)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(tls) => {
                let (tls, shared, ready) = (tls.clone(), shared.clone(), ready.clone());
                tokio::spawn(async move {
                    if let Some(connection) = secure(&shared, &tls, limited, peer, handshake).await
                    {
                        let _ = ready.send(Ok(connection)).await;
                    }
                });
            }
        }
    }
}

/// The TLS handshake of one connection, within `deadline`; `None` (logged
/// and counted) when it fails.
async fn secure(
    shared: &Shared,
    tls: &ServerTls,
    limited: Limited,
    peer: SocketAddr,
    deadline: Duration,
) -> Option<Connection> {
    let failure = match tokio::time::timeout(deadline, tls.acceptor().accept(limited)).await {
        Ok(Ok(stream)) => return Some(Connection::tls(stream, peer)),
        Ok(Err(error)) => error.to_string(),
        Err(_) => "not finished within the handshake deadline".to_owned(),
    };
    // Logged at the first failure and each power of two after, so a
    // misconfigured client is seen and a flood is not written out.
    let count = Stats::inc(&shared.stats.tls_failures);
    if count.is_power_of_two() {
        warn!(%peer, failures = count, "TLS handshake failed: {failure}");
    } else {
        debug!(%peer, "TLS handshake failed: {failure}");
    }
    None
}
