//! Accepting sink connections: at most `maxConnections` open at once (one
//! more is accepted and closed at once, so idle sockets cannot take the
//! descriptors the sources need), and a connection that sends nothing
//! within the handshake deadline is closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::{debug, warn};

/// Accepted connections, within the limits.
pub(super) fn incoming(
    listener: TcpListener,
    max_connections: usize,
    handshake: Duration,
    refused: Arc<AtomicU64>,
) -> impl Stream<Item = io::Result<Limited>> + Send + 'static {
    let open = Arc::new(Semaphore::new(max_connections));
    futures_util::stream::unfold(listener, move |listener| {
        let (open, refused) = (open.clone(), refused.clone());
        async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of descriptors, say: wait instead of spinning.
                        warn!("cannot accept a connection: {error}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    let count = refused.fetch_add(1, Ordering::Relaxed) + 1;
                    if count.is_power_of_two() {
                        warn!(%peer, refused = count, limit = max_connections,
                            "refusing a connection: the limit of open connections is reached (mcp.maxConnections)");
                    }
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let limited = Limited {
                    stream,
                    _permit: permit,
                    handshake: Some(Box::pin(tokio::time::sleep(handshake))),
                };
                return Some((Ok(limited), listener));
            }
        }
    })
}

/// A connection holding its place under the limit until it closes.
pub(super) struct Limited {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    /// Until the first byte arrives.
    handshake: Option<Pin<Box<Sleep>>>,
}

impl Connected for Limited {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
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
