//! Callout: the hub dials a remote `ResourceSink` and serves it with the same
//! source logic, for sinks that cannot be reached by dialling in.

use galleon_proto::mcp::resource_sink_client::ResourceSinkClient;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::Endpoint;
use tracing::{info, warn};

use super::{McpSource, stream};
use crate::mcp::backoff::Backoff;
use crate::mcp::{BackoffOptions, VERSION_HEADER};

/// Where and how to dial out.
#[derive(Clone, Debug)]
pub struct CalloutOptions {
    /// The remote sink's address, e.g. `http://pilot:15010`.
    pub address: String,
    /// Key/values sent as request metadata when dialling.
    pub metadata: Vec<(String, String)>,
    /// Delays between reconnect attempts.
    pub backoff: BackoffOptions,
}

impl McpSource {
    /// Dials `options.address` and serves it, reconnecting with exponential
    /// backoff, until [`McpSource::shutdown`].
    pub async fn callout(&self, options: CalloutOptions) -> Result<(), tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(options.address.clone())?;
        let mut backoff = Backoff::new(options.backoff);
        while !self.shared.shutdown.is_cancelled() {
            match self.callout_once(&endpoint, &options).await {
                Ok(()) => backoff.reset(),
                Err(error) => warn!(address = %options.address, "callout failed: {error}"),
            }
            tokio::select! {
                () = self.stopped() => break,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
        Ok(())
    }

    /// One callout stream, from dial to close. `Ok` once a stream was served.
    async fn callout_once(
        &self,
        endpoint: &Endpoint,
        options: &CalloutOptions,
    ) -> anyhow::Result<()> {
        let channel = endpoint.connect().await?;
        let mut client = ResourceSinkClient::new(channel);
        let (outbox, pushes) = mpsc::channel(self.shared.options.collections.len().max(1));
        // A final status only matters to a dialled-in sink; here the stream
        // just ends. tonic encodes each push itself (callouts are few).
        let outgoing = ReceiverStream::new(pushes).map_while(|outgoing| match outgoing {
            stream::Outgoing::Push(push) => Some(push.into_message()),
            stream::Outgoing::End(_) | stream::Outgoing::Abort(_) => None,
        });
        let mut request = tonic::Request::new(outgoing);
        let headers = request.metadata_mut();
        headers.insert(
            VERSION_HEADER,
            MetadataValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        for (key, value) in &options.metadata {
            headers.insert(MetadataKey::from_bytes(key.as_bytes())?, value.parse()?);
        }
        let requests = client
            .establish_resource_stream(request)
            .await?
            .into_inner();
        info!(address = %options.address, "callout connected");
        stream::serve(
            self.shared.clone(),
            self.next_stream_id(),
            Some(options.address.clone()),
            requests,
            outbox,
        )
        .await;
        Ok(())
    }
}
