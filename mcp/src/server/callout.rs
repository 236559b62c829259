//! Callout: the hub dials a remote `ResourceSink` and serves it with the same
//! source logic, for sinks that cannot be reached by dialling in.

use galleon_proto::mcp::resource_sink_client::ResourceSinkClient;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{AsciiMetadataValue, MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::Endpoint;
use tracing::{info, warn};

use super::McpServer;
use super::mcp::Mcp;
use super::session::{self, Outgoing};
use crate::backoff::Backoff;
use crate::tls::{ClientTls, TlsError};
use crate::{BackoffOptions, VERSION_HEADER};

/// Why a callout cannot run at all (a failed stream is retried instead).
#[derive(Debug, thiserror::Error)]
pub enum CalloutError {
    /// The address is not a URI.
    #[error("bad callout address: {0}")]
    Address(#[from] tonic::transport::Error),
    /// A metadata key or value is not valid in a gRPC header.
    #[error("bad callout metadata {key:?}: not a valid gRPC header")]
    Metadata {
        /// The key of the offending pair.
        key: String,
    },
}

/// Why one callout stream ended.
#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error("cannot connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    #[error("the sink refused the stream: {0}")]
    Refused(#[from] tonic::Status),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
}

/// Where and how to dial out.
#[derive(Clone, Debug)]
pub struct CalloutOptions {
    /// The remote sink's address, e.g. `http://pilot:15010`.
    pub address: String,
    /// Key/values sent as request metadata when dialling.
    pub metadata: Vec<(String, String)>,
    /// Delays between reconnect attempts.
    pub backoff: BackoffOptions,
    /// TLS to dial with (its files are read at every dial); plaintext when
    /// `None`.
    pub tls: Option<ClientTls>,
}

impl McpServer {
    /// Dials `options.address` and serves it, reconnecting with exponential
    /// backoff, until [`McpServer::shutdown`].
    pub async fn callout(&self, options: CalloutOptions) -> Result<(), CalloutError> {
        let endpoint = Endpoint::from_shared(options.address.clone())?;
        let metadata = metadata(&options.metadata)?;
        let mut backoff = Backoff::new(options.backoff);
        while !self.shared.shutdown.is_cancelled() {
            match self.callout_once(&endpoint, &options, &metadata).await {
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
        metadata: &MetadataMap,
    ) -> Result<(), StreamError> {
        let address = options.address.as_str();
        let channel = match &options.tls {
            Some(tls) => endpoint.clone().tls_config(tls.config()?)?,
            None => endpoint.clone(),
        }
        .connect()
        .await?;
        let mut client = ResourceSinkClient::new(channel);
        let (outbox, pushes) = mpsc::channel(self.shared.options.collections.len().max(1));
        // A final status only matters to a dialled-in sink; here the stream
        // just ends. tonic encodes each push itself (callouts are few).
        let outgoing = ReceiverStream::new(pushes).map_while(|outgoing| match outgoing {
            Outgoing::Push(push) => Some(push.into_message()),
            Outgoing::Frame(_) | Outgoing::End(_) | Outgoing::Abort(_) => None,
        });
        let mut request = tonic::Request::new(outgoing);
        *request.metadata_mut() = metadata.clone();
        let requests = client
            .establish_resource_stream(request)
            .await?
            .into_inner();
        info!(address, "callout connected");
        let (id, peer) = (self.next_stream_id(), Some(address.to_owned()));
        session::serve(
            self.shared.clone(),
            id,
            peer,
            requests,
            outbox,
            Mcp::default(),
        )
        .await;
        Ok(())
    }
}

/// The headers every callout stream sends: the hub's version and the
/// configured pairs.
fn metadata(pairs: &[(String, String)]) -> Result<MetadataMap, CalloutError> {
    let mut headers = MetadataMap::new();
    headers.insert(
        VERSION_HEADER,
        MetadataValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    for (key, value) in pairs {
        let bad = || CalloutError::Metadata { key: key.clone() };
        let name = MetadataKey::from_bytes(key.as_bytes()).map_err(|_| bad())?;
        let value: AsciiMetadataValue = value.parse().map_err(|_| bad())?;
        headers.insert(name, value);
    }
    Ok(headers)
}
