//! How the hub's stream services are served over gRPC: the one way every
//! stream is opened (access list, stream rate, decoding, the session engine).
//!
//! The stream services are written against tonic's transport rather than
//! generated: requests are decoded by tonic's own streaming decoder (within
//! the request size limit), but responses are a [`PushBody`], which writes
//! each push's shared bytes to HTTP/2 without the per-stream encode buffer
//! a generated service would copy them into. A service is a [`Methods`]
//! table; [`StreamService`] serves any of them.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use tokio::sync::mpsc;
use tonic::Status;
use tonic::body::Body;
use tonic::codec::{Codec, Streaming};
use tonic::server::NamedService;
use tower_service::Service;
use tracing::warn;

use super::body::PushBody;
use super::capped::Capped;
use super::connection::PeerInfo;
use super::session::{self, Outbox, Outgoing, Protocol};
use super::{McpServer, Shared, Stats, access};
use crate::VERSION_HEADER;

/// A gRPC service of bidirectional streams: its name, and how each of its
/// methods opens a stream.
pub(super) trait Methods: Send + Sync + 'static {
    /// The service's gRPC name.
    const NAME: &'static str;

    /// Opens a stream of the method at `path`; `None` if it has none.
    fn open(
        server: &McpServer,
        path: &str,
        request: http::Request<Body>,
    ) -> Option<http::Response<Body>>;
}

/// Serves the methods of `M` from the hub.
pub(super) struct StreamService<M> {
    server: McpServer,
    methods: PhantomData<M>,
}

impl<M> StreamService<M> {
    pub(super) fn new(server: McpServer) -> Self {
        Self {
            server,
            methods: PhantomData,
        }
    }
}

impl<M> Clone for StreamService<M> {
    fn clone(&self) -> Self {
        Self::new(self.server.clone())
    }
}

impl<M: Methods> NamedService for StreamService<M> {
    const NAME: &'static str = M::NAME;
}

impl<M: Methods> Service<http::Request<Body>> for StreamService<M> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let response = M::open(&self.server, &path, request).unwrap_or_else(|| {
            Status::unimplemented(format!("{} has no such method", M::NAME)).into_http()
        });
        ready(Ok(response))
    }
}

impl McpServer {
    fn response_headers(&self, headers: &mut http::HeaderMap) {
        headers.insert(
            HeaderName::from_static(VERSION_HEADER),
            HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        for (key, value) in &self.shared.options.metadata {
            match (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(key), Ok(value)) => {
                    headers.insert(key, value);
                }
                _ => warn!(%key, "skipping response metadata that is not a valid header"),
            }
        }
    }
}

/// Ends a stream (its engine already dropped) whose client the access list
/// no longer allows.
async fn end_revoked(shared: &Shared, identities: &[String], outbox: &Outbox) {
    Stats::inc(&shared.stats.denied_streams);
    Stats::inc(&shared.stats.streams_closed);
    let refusal = access::refusal(identities);
    warn!("ending a stream: {refusal}");
    let _ = outbox
        .send(Outgoing::End(Status::permission_denied(refusal)))
        .await;
}

impl McpServer {
    /// Answers a bidirectional streaming call of protocol `P`: checks the
    /// caller against the access list and its stream rate, decodes its
    /// requests (within the request size limit), runs the session engine
    /// on them, and streams what the engine sends as the response body.
    /// `R` is the response type (for the codec only: the engine frames
    /// responses itself).
    pub(super) fn open_stream<R, P>(&self, request: http::Request<Body>) -> http::Response<Body>
    where
        R: prost::Message + Send + 'static,
        P: Protocol + Default + 'static,
        P::Request: prost::Message + Default + 'static,
    {
        let shared = &self.shared;
        let peer = request.extensions().get::<PeerInfo>().cloned();
        if let (Some(list), Some(peer)) = (&shared.options.access, &peer)
            && !list.allows(&peer.identities)
        {
            let count = Stats::inc(&shared.stats.denied_streams);
            let refusal = access::refusal(&peer.identities);
            if count.is_power_of_two() {
                warn!(peer = %peer.remote, denied = count, "refusing a stream: {refusal}");
            }
            return Status::permission_denied(refusal).into_http();
        }
        let identities = peer.as_ref().map(|p| p.identities.clone());
        let identities_probation = peer.as_ref().map(|p| p.probation.clone());
        let remote = peer.map(|p| p.remote);
        if let Some(remote) = remote
            && !shared.admission.admit(remote.ip())
        {
            Stats::inc(&shared.stats.refused_streams);
            let refusal = format!(
                "too many new streams from {}: over its stream rate",
                remote.ip()
            );
            return Status::resource_exhausted(refusal).into_http();
        }
        let peer = remote.map(|a| a.to_string());
        let decoder = Capped {
            inner: tonic_prost::ProstCodec::<R, P::Request>::default().decoder(),
            fields: P::NAMED_FIELDS,
            max: shared.options.max_names,
        };
        let limit = Some(shared.options.max_request_size);
        let requests = Streaming::new_request(decoder, request.into_body(), None, limit);
        // The first request that decodes ends the connection's probation.
        let probation = identities_probation;
        let requests = requests.inspect(move |request| {
            if let (Ok(_), Some(probation)) = (request, &probation) {
                probation.end();
            }
        });
        let slots = (shared.options.collections.len() + shared.options.xds_types.len()).max(1);
        let (outbox, pushes) = mpsc::channel(slots);
        let engine = session::serve(
            shared.clone(),
            self.next_stream_id(),
            peer,
            requests,
            outbox.clone(),
            P::default(),
        );
        match (&shared.options.access, identities) {
            (Some(list), Some(identities)) => {
                let revoked = list.revoked(identities.clone());
                let shared = shared.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = engine => {}
                        () = revoked => end_revoked(&shared, &identities, &outbox).await,
                    }
                });
            }
            _ => {
                tokio::spawn(engine);
            }
        }
        let mut response = http::Response::new(Body::new(PushBody::new(pushes)));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        self.response_headers(headers);
        response
    }
}
