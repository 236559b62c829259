//! An upstream `ResourceSource` (another galleon, or any MCP server),
//! subscribed with the sink library: incremental where the upstream offers
//! it, resuming with a delta after a reconnect.

use std::sync::{Arc, Mutex, PoisonError};

use galleon_mcp::sink::{ApplyError, Change, SinkClient, SinkOptions, Updater};
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::{Collection, Event};
use galleon_pipeline::registry::Registry;
use galleon_proto::mcp::SinkNode;
use galleon_schemas::DescriptorPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::SERVED;
use super::mirror::Mirror;
use super::{Dial, UpstreamError, UpstreamOptions};
use crate::link::Retry;
use crate::{EventSender, Source, SourceRun, send_all};

/// A source fed by an upstream hub over MCP.
pub struct McpUpstream {
    dial: Dial,
}

impl McpUpstream {
    /// Subscribes to `collections` (the upstream's output collections) at
    /// `address`; each feeds the local collection of the kind whose output
    /// it is. Typed bodies are read with `pool`.
    pub fn new(
        address: &str,
        collections: &[String],
        options: UpstreamOptions,
        registry: &Registry,
        pool: DescriptorPool,
        diagnostics: Diagnostics,
    ) -> Result<Self, UpstreamError> {
        let route = |collection: &str| {
            registry
                .schemas()
                .into_iter()
                .find(|s| s.output.as_deref() == Some(collection))
                .map(|s| s.collection.clone())
        };
        let what = "an output collection of a known kind";
        let dial = Dial::new(
            address,
            collections,
            route,
            what,
            options,
            pool,
            diagnostics,
        )?;
        Ok(Self { dial })
    }
}

/// Turns pushes into events for the source's run loop.
struct Forward {
    mirror: Mutex<Mirror>,
    events: mpsc::UnboundedSender<Vec<Event>>,
}

impl Updater for Forward {
    fn apply(&self, change: &Change) -> Result<(), ApplyError> {
        let events = self
            .mirror
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(
                &change.collection,
                &change.resources,
                &change.removed,
                change.incremental,
            );
        // Sent even when empty: a push arrived, so the link is up.
        self.events
            .send(events)
            .map_err(|_| ApplyError("the hub is stopping".into()))
    }
}

impl Source for McpUpstream {
    fn name(&self) -> String {
        format!("mcp {}", self.dial.address)
    }

    fn collections(&self) -> Vec<Collection> {
        self.dial.collections()
    }

    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
        Box::pin(async move {
            let (forward, mut batches) = mpsc::unbounded_channel();
            let dial = &self.dial;
            let mirror = dial.mirror(self.name());
            let options = SinkOptions {
                node: SinkNode {
                    id: dial.node_id.clone(),
                    annotations: Default::default(),
                },
                collections: dial.routes.keys().cloned().collect(),
                incremental: true,
                ..SinkOptions::default()
            };
            let forward = Forward {
                mirror: Mutex::new(mirror),
                events: forward,
            };
            // A new client per start: it asks for everything again.
            let client = SinkClient::new(dial.endpoint.clone(), options, forward);
            let link = Arc::new(dial.link(self.name()));
            let mut retry = Retry::new(link, dial.backoff);
            loop {
                let mut served = false;
                let mut up = false;
                let stream = client.run_once(&mut served);
                tokio::pin!(stream);
                let ended = loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        ended = &mut stream => break ended,
                        Some(batch) = batches.recv() => {
                            if !up {
                                retry.up(&dial.address);
                                up = true;
                            }
                            if send_all(&events, batch).await.is_err() {
                                return;
                            }
                        }
                    }
                };
                let error = match ended {
                    Ok(()) => "the upstream closed the stream".to_owned(),
                    Err(error) => error.to_string(),
                };
                if !retry.failed(&dial.address, &error, SERVED, &stop).await {
                    return;
                }
            }
        })
    }
}
