//! One sink connection as the HTTP/2 server sees it: plaintext or TLS over
//! a [`Limited`] socket (which holds its place under the connection limit
//! and is on [`Probation`] until its first valid request: closed if none
//! comes within the handshake deadline, whatever bytes it sent), and the
//! [`PeerInfo`] every request on it carries: the peer's address, over
//! mutual TLS the identities in its certificate, and the probation to end.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;
use tonic::transport::server::Connected;
use tracing::debug;

use crate::tls;

/// Who is at the other end of a connection; in every request's extensions.
#[derive(Clone, Debug)]
pub(super) struct PeerInfo {
    /// The peer's address.
    pub(super) remote: SocketAddr,
    /// The URI and DNS SANs of its client certificate (empty without one).
    pub(super) identities: Arc<[String]>,
    /// The connection's probation, ended by its first valid request.
    pub(super) probation: Arc<Probation>,
}

/// The connections of each peer address still on probation (no valid
/// request yet), so one address cannot hold every slot with connections
/// that never ask for anything.
#[derive(Debug, Default)]
pub(super) struct OnProbation {
    by_peer: Mutex<HashMap<IpAddr, usize>>,
}

impl OnProbation {
    /// Puts a new connection from `peer` on probation, unless `peer` has
    /// `limit` there already.
    pub(super) fn admit(self: &Arc<Self>, peer: IpAddr, limit: usize) -> Option<Arc<Probation>> {
        let mut by_peer = self.lock();
        let count = by_peer.entry(peer).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Arc::new(Probation {
            ended: AtomicBool::new(false),
            peer,
            registry: self.clone(),
        }))
    }

    fn release(&self, peer: IpAddr) {
        let mut by_peer = self.lock();
        if let Some(count) = by_peer.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                by_peer.remove(&peer);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.by_peer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection's probation: until its first valid request it counts
/// against its peer's share and is closed at the handshake deadline.
#[derive(Debug)]
pub(super) struct Probation {
    ended: AtomicBool,
    peer: IpAddr,
    registry: Arc<OnProbation>,
}

impl Probation {
    /// Ends the probation: the connection made a valid request.
    pub(super) fn end(&self) {
        if !self.ended.swap(true, Ordering::AcqRel) {
            self.registry.release(self.peer);
        }
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }
}

impl Drop for Probation {
    fn drop(&mut self) {
        self.end();
    }
}

/// An accepted connection, plaintext or TLS.
pub(super) struct Connection {
    io: Either<Limited, TlsStream<Limited>>,
    peer: PeerInfo,
}

impl Connection {
    pub(super) fn plain(io: Limited, remote: SocketAddr) -> Self {
        let identities = Arc::from([]);
        let probation = io.probation.clone();
        Self {
            io: Either::Left(io),
            peer: PeerInfo {
                remote,
                identities,
                probation,
            },
        }
    }

    pub(super) fn tls(io: TlsStream<Limited>, remote: SocketAddr) -> Self {
        let probation = io.get_ref().0.probation.clone();
        let identities = io
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(tls::identities)
            .unwrap_or_default();
        Self {
            io: Either::Right(io),
            peer: PeerInfo {
                remote,
                identities: identities.into(),
                probation,
            },
        }
    }
}

impl Connected for Connection {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A socket holding its place under the connection limit until it closes,
/// closed at the handshake deadline unless its probation ended by then.
pub(super) struct Limited {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    probation: Arc<Probation>,
    /// Until the probation ends.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl Limited {
    pub(super) fn new(
        stream: TcpStream,
        permit: OwnedSemaphorePermit,
        probation: Arc<Probation>,
        handshake: Duration,
    ) -> Self {
        Self {
            stream,
            _permit: permit,
            probation,
            deadline: Some(Box::pin(tokio::time::sleep(handshake))),
        }
    }
}
impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.deadline.is_some() && self.probation.ended() {
            self.deadline = None;
        }
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            debug!("closing a connection that made no valid request within the handshake deadline");
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no valid request within the handshake deadline",
            )));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
