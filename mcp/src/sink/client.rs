//! Client mode: the sink dials a `ResourceSource`.

use std::sync::Arc;

use galleon_proto::mcp::resource_source_client::ResourceSourceClient;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;
use tracing::{info, warn};

use super::{Shared, SinkError, SinkOptions, Updater, stream};
use crate::BackoffOptions;
use crate::backoff::Backoff;
use crate::quote::escaped;

/// The most of a failure's text logged (a source's status message could
/// carry anything).
const LOGGED_MAX: usize = 1_000;

/// A sink that dials a source and reconnects with backoff.
pub struct SinkClient<U> {
    endpoint: Endpoint,
    shared: Arc<Shared<U>>,
    backoff: BackoffOptions,
}

impl<U: Updater> SinkClient<U> {
    /// A sink for the source at `endpoint`.
    pub fn new(endpoint: Endpoint, options: SinkOptions, updater: U) -> Self {
        Self {
            endpoint,
            shared: Arc::new(Shared::new(options, updater)),
            backoff: BackoffOptions::default(),
        }
    }

    /// Sets the delays between reconnect attempts.
    pub fn with_backoff(mut self, backoff: BackoffOptions) -> Self {
        self.backoff = backoff;
        self
    }

    /// Versions of the resources applied so far for `collection`.
    pub fn applied(&self, collection: &str) -> std::collections::BTreeMap<String, String> {
        self.shared.applied(collection)
    }

    /// Keeps a stream open, reconnecting after failures with backoff, until
    /// `shutdown` (`Ok`) or until the source refuses the stream in a way a
    /// retry cannot fix (`Err`, see [`SinkError`]).
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), SinkError> {
        let mut backoff = Backoff::new(self.backoff);
        while !shutdown.is_cancelled() {
            let mut served = false;
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                result = self.run_once(&mut served) => match result {
                    Ok(()) => info!(endpoint = %self.endpoint.uri(), "source closed the stream"),
                    Err(error) if error.is_permanent() => return Err(error),
                    Err(error) => warn!(endpoint = %self.endpoint.uri(), "sink stream failed: {}", escaped(&error.to_string(), LOGGED_MAX)),
                },
            }
            if served {
                backoff.reset();
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
        Ok(())
    }

    /// One stream, from dial to close. `served` is set once a push was
    /// applied (and answered).
    pub async fn run_once(&self, served: &mut bool) -> Result<(), SinkError> {
        let channel = self.endpoint.connect().await?;
        let mut client = ResourceSourceClient::new(channel)
            .max_decoding_message_size(self.shared.options.max_message_size);
        let (requests, outgoing) = mpsc::channel(stream::room(&self.shared));
        stream::subscribe(&self.shared, &requests);
        let pushes = client
            .establish_resource_stream(ReceiverStream::new(outgoing))
            .await?
            .into_inner();
        stream::serve(&self.shared, pushes, requests, served).await?;
        Ok(())
    }
}
