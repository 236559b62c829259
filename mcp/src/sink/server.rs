//! Server mode: the sink implements `ResourceSink` and sources dial it.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use galleon_proto::mcp::resource_sink_server::{ResourceSink, ResourceSinkServer};
use galleon_proto::mcp::{RequestResources, Resources};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{info, warn};

use super::{Shared, SinkOptions, Updater, stream};

/// A sink that sources dial (the target of a hub's callout). Applied versions
/// are kept across streams, so a source that reconnects can resume.
pub struct SinkServer<U> {
    shared: Arc<Shared<U>>,
}

impl<U> Clone for SinkServer<U> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<U: Updater> SinkServer<U> {
    /// A sink server applying pushes with `updater`.
    pub fn new(options: SinkOptions, updater: U) -> Self {
        Self {
            shared: Arc::new(Shared::new(options, updater)),
        }
    }

    /// The gRPC service to add to a tonic server.
    pub fn into_service(self) -> ResourceSinkServer<Self> {
        let limit = self.shared.options.max_message_size;
        ResourceSinkServer::new(self).max_decoding_message_size(limit)
    }

    /// Versions of the resources applied so far for `collection`.
    pub fn applied(&self, collection: &str) -> std::collections::BTreeMap<String, String> {
        self.shared.applied(collection)
    }
}

type RequestStream = Pin<Box<dyn Stream<Item = Result<RequestResources, Status>> + Send>>;

#[tonic::async_trait]
impl<U: Updater> ResourceSink for SinkServer<U> {
    type EstablishResourceStreamStream = RequestStream;

    async fn establish_resource_stream(
        &self,
        request: Request<Streaming<Resources>>,
    ) -> Result<Response<RequestStream>, Status> {
        let peer = request.remote_addr();
        info!(?peer, "source connected");
        let (requests, outgoing) = mpsc::channel(stream::room(&self.shared));
        stream::subscribe(&self.shared, &requests);
        let shared = self.shared.clone();
        let pushes = request.into_inner();
        tokio::spawn(async move {
            let mut served = false;
            if let Err(status) = stream::serve(&shared, pushes, requests, &mut served).await {
                warn!(?peer, "source stream failed: {status}");
            }
        });
        Ok(Response::new(Box::pin(
            ReceiverStream::new(outgoing).map(Ok),
        )))
    }
}
