//! `ResourceSource`: the gRPC service sinks dial to subscribe.

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use galleon_proto::mcp::resource_source_server::{ResourceSource, ResourceSourceServer};
use galleon_proto::mcp::{RequestResources, Resources};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::{Request, Response, Status, Streaming};
use tracing::warn;

use super::{McpSource, stream};
use crate::mcp::VERSION_HEADER;

impl McpSource {
    /// Serves `ResourceSource` on `listener` until [`McpSource::shutdown`].
    pub async fn serve(&self, listener: TcpListener) -> Result<(), tonic::transport::Error> {
        tonic::transport::Server::builder()
            .max_concurrent_streams(self.shared.options.max_concurrent_streams)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .add_service(ResourceSourceServer::new(self.clone()))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), self.stopped())
            .await
    }

    fn response_metadata<T>(&self, response: &mut Response<T>) {
        let headers = response.metadata_mut();
        headers.insert(
            VERSION_HEADER,
            MetadataValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        for (key, value) in &self.shared.options.metadata {
            match (MetadataKey::from_bytes(key.as_bytes()), value.parse()) {
                (Ok(key), Ok(value)) => {
                    headers.insert(key, value);
                }
                _ => warn!(%key, "skipping response metadata that is not a valid header"),
            }
        }
    }
}

type PushStream = Pin<Box<dyn Stream<Item = Result<Resources, Status>> + Send>>;

#[tonic::async_trait]
impl ResourceSource for McpSource {
    type EstablishResourceStreamStream = PushStream;

    async fn establish_resource_stream(
        &self,
        request: Request<Streaming<RequestResources>>,
    ) -> Result<Response<PushStream>, Status> {
        let peer = request.remote_addr().map(|a| a.to_string());
        // Room for one push per collection: the engine never has more in flight.
        let (outbox, pushes) = mpsc::channel(self.shared.options.collections.len().max(1));
        tokio::spawn(stream::serve(
            self.shared.clone(),
            self.next_stream_id(),
            peer,
            request.into_inner(),
            outbox,
        ));
        let mut response = Response::new(Box::pin(ReceiverStream::new(pushes)) as PushStream);
        self.response_metadata(&mut response);
        Ok(response)
    }
}
