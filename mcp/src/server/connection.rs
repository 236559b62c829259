//! One sink connection as the HTTP/2 server sees it: plaintext or TLS over
//! a [`Limited`] socket (which holds its place under the connection limit
//! and closes if nothing arrives within the handshake deadline), and the
//! [`PeerInfo`] every request on it carries: the peer's address and, over
//! mutual TLS, the identities in its certificate.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
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
}

/// An accepted connection, plaintext or TLS.
pub(super) struct Connection {
    io: Either<Limited, TlsStream<Limited>>,
    peer: PeerInfo,
}

impl Connection {
    pub(super) fn plain(io: Limited, remote: SocketAddr) -> Self {
        let identities = Arc::from([]);
        Self {
            io: Either::Left(io),
            peer: PeerInfo { remote, identities },
        }
    }

    pub(super) fn tls(io: TlsStream<Limited>, remote: SocketAddr) -> Self {
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

/// A socket holding its place under the connection limit until it closes.
pub(super) struct Limited {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    /// Until the first byte arrives.
    handshake: Option<Pin<Box<Sleep>>>,
}

impl Limited {
    pub(super) fn new(
        stream: TcpStream,
        permit: OwnedSemaphorePermit,
        handshake: Duration,
    ) -> Self {
        Self {
            stream,
            _permit: permit,
            handshake: Some(Box::pin(tokio::time::sleep(handshake))),
        }
    }
}
impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        match (&polled, self.handshake.as_mut()) {
            (Poll::Ready(_), Some(_)) if buf.filled().len() > before => self.handshake = None,
            (Poll::Pending, Some(deadline)) => {
                ready!(deadline.as_mut().poll(cx));
                debug!("closing a connection that sent nothing within the handshake deadline");
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface within the handshake deadline",
                )));
            }
            _ => {}
        }
        polled
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
