//! The HTTP/2 response body of a `ResourceSource` stream: each push from the
//! engine as its chunks (see `push`), then the gRPC status as trailers. The
//! chunks are shared bytes: nothing is copied into a per-stream buffer, and
//! nothing is kept once HTTP/2 has written it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::Frame;
use tokio::sync::mpsc;
use tonic::Status;

use super::session::Outgoing;

/// The pushes of one stream, as an HTTP body.
pub(super) struct PushBody {
    outgoing: mpsc::Receiver<Outgoing>,
    chunks: VecDeque<Bytes>,
    ended: bool,
}

impl PushBody {
    pub(super) fn new(outgoing: mpsc::Receiver<Outgoing>) -> Self {
        Self {
            outgoing,
            chunks: VecDeque::new(),
            ended: false,
        }
    }

    fn trailers(&mut self, status: &Status) -> Frame<Bytes> {
        self.ended = true;
        let mut trailers = HeaderMap::new();
        // Only fails for a message that cannot be a header; then the code
        // alone goes out.
        if status.add_header(&mut trailers).is_err() {
            let _ = Status::new(status.code(), "").add_header(&mut trailers);
        }
        Frame::trailers(trailers)
    }
}

impl http_body::Body for PushBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        let frame = match ready!(self.outgoing.poll_recv(cx)) {
            Some(Outgoing::Push(push)) => {
                self.chunks.extend(push.frame());
                let first = self.chunks.pop_front().expect("a frame has a header");
                Frame::data(first)
            }
            Some(Outgoing::Frame(chunks)) => {
                self.chunks.extend(chunks);
                let first = self.chunks.pop_front().expect("a frame has a header");
                Frame::data(first)
            }
            Some(Outgoing::End(status)) => self.trailers(&status),
            Some(Outgoing::Abort(status)) => {
                // An error resets the HTTP/2 stream, dropping what it still
                // holds.
                self.ended = true;
                self.chunks.clear();
                return Poll::Ready(Some(Err(status)));
            }
            None => self.trailers(&Status::ok("")),
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.chunks.is_empty()
    }
}
