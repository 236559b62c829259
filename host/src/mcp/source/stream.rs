//! The source side of one MCP stream, whichever side dialled: reads the
//! sink's requests, answers ACKs and NACKs, and pushes each subscribed
//! collection when its watch fires — at most one push in flight per
//! collection, the latest state once the previous push is answered.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use galleon_proto::mcp::{RequestResources, Resources, SinkNode};
use tokio::sync::mpsc;
use tokio_stream::{StreamExt, StreamMap};
use tonic::Status;
use tracing::{debug, info, warn};

use super::subscription::{Pending, Subscription};
use super::{Shared, Stats};
use crate::cache::{CollectionSnapshot, SinkStatus, StatusHandle};

type WatchStream = Pin<Box<dyn Stream<Item = Arc<CollectionSnapshot>> + Send>>;

/// Where pushes go; the final `Err` ends the stream with that status.
pub(super) type Outbox = mpsc::Sender<Result<Resources, Status>>;

/// The sink went away (the outgoing half is closed).
struct Closed;

/// Serves one stream until the sink closes it, the hub shuts down, or the
/// sink breaks the protocol (then the stream ends with that status).
pub(super) async fn serve<S>(
    shared: Arc<Shared>,
    id: u64,
    peer: Option<String>,
    requests: S,
    outbox: Outbox,
) where
    S: Stream<Item = Result<RequestResources, Status>> + Unpin,
{
    Stats::inc(&shared.stats.streams_opened);
    let mut stream = SourceStream {
        shared: shared.clone(),
        id,
        peer,
        outbox: outbox.clone(),
        subscriptions: HashMap::new(),
        watches: StreamMap::new(),
        next_nonce: 0,
        status: None,
    };
    if let Err(status) = stream.run(requests).await {
        warn!(stream = id, code = ?status.code(), "closing MCP stream: {}", status.message());
        let _ = outbox.send(Err(status)).await;
    }
    Stats::inc(&shared.stats.streams_closed);
}

struct SourceStream {
    shared: Arc<Shared>,
    id: u64,
    peer: Option<String>,
    outbox: Outbox,
    subscriptions: HashMap<String, Subscription>,
    watches: StreamMap<String, WatchStream>,
    next_nonce: u64,
    status: Option<StatusHandle>,
}

impl SourceStream {
    async fn run<S>(&mut self, mut requests: S) -> Result<(), Status>
    where
        S: Stream<Item = Result<RequestResources, Status>> + Unpin,
    {
        loop {
            tokio::select! {
                () = self.shared.shutdown.cancelled() => return Ok(()),
                request = requests.next() => match request {
                    Some(Ok(request)) => self.on_request(request)?,
                    Some(Err(status)) => {
                        debug!(stream = self.id, "sink stream failed: {status}");
                        return Ok(());
                    }
                    None => return Ok(()),
                },
                Some((collection, state)) = self.watches.next(), if !self.watches.is_empty() => {
                    if self.push(&collection, state).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn on_request(&mut self, request: RequestResources) -> Result<(), Status> {
        let collection = request.collection.as_str();
        if !self.shared.options.collections.contains(collection) {
            return Err(Status::invalid_argument(format!(
                "unknown collection {collection:?}: this hub serves {} collections",
                self.shared.options.collections.len()
            )));
        }
        let node = request.sink_node.clone().unwrap_or_default();
        self.register(&node);
        if request.response_nonce.is_empty() {
            self.subscribe(request, &node);
            return Ok(());
        }
        let pending_nonce = self
            .subscriptions
            .get(collection)
            .and_then(|s| s.pending.as_ref())
            .map(|p| p.nonce.as_str());
        if pending_nonce != Some(request.response_nonce.as_str()) {
            Stats::inc(&self.shared.stats.stale_requests);
            warn!(stream = self.id, collection, nonce = %request.response_nonce,
                "ignoring ACK/NACK with a stale or unknown nonce");
            return Ok(());
        }
        self.answer(request);
        Ok(())
    }

    fn subscribe(&mut self, request: RequestResources, node: &SinkNode) {
        let collection = request.collection;
        let group = self.shared.cache.group_for(node, &collection);
        debug!(stream = self.id, %collection, %group, incremental = request.incremental, "subscribe");
        if let Some(status) = &self.status {
            status.collection(&collection, |c| {
                c.group.clone_from(&group);
                c.incremental = request.incremental;
            });
        }
        let subscription = Subscription::new(
            group,
            request.incremental,
            request.initial_resource_versions,
        );
        self.subscriptions.insert(collection.clone(), subscription);
        self.arm(&collection);
    }

    fn answer(&mut self, request: RequestResources) {
        let collection = request.collection.as_str();
        let Some(subscription) = self.subscriptions.get_mut(collection) else {
            return;
        };
        subscription.incremental = request.incremental;
        let acked = request.error_detail.is_none();
        let Some(state) = subscription.answer(acked) else {
            return;
        };
        let version = state.version().to_string();
        if let Some(error) = request.error_detail {
            Stats::inc(&self.shared.stats.nacks);
            warn!(stream = self.id, collection, %version, code = error.code,
                "sink rejected push (NACK): {}", error.message);
            self.update_status(collection, |c| {
                c.pending_version = None;
                c.nack = Some(crate::cache::Nack {
                    version,
                    message: error.message,
                });
            });
        } else {
            Stats::inc(&self.shared.stats.acks);
            self.update_status(collection, |c| {
                c.pending_version = None;
                c.acked_version = Some(version);
                c.nack = None;
            });
        }
        self.arm(collection);
    }

    /// Watches for a state other than the one the sink last answered.
    fn arm(&mut self, collection: &str) {
        let subscription = &self.subscriptions[collection];
        let watch = self.shared.cache.watch(
            &subscription.group,
            collection,
            subscription.answered.clone(),
        );
        self.watches.insert(
            collection.to_owned(),
            Box::pin(futures_util::stream::once(watch)),
        );
    }

    async fn push(
        &mut self,
        collection: &str,
        state: Arc<CollectionSnapshot>,
    ) -> Result<(), Closed> {
        let Some(subscription) = self.subscriptions.get_mut(collection) else {
            return Ok(());
        };
        self.next_nonce += 1;
        let message = subscription.push(&state, self.next_nonce.to_string());
        let sent = message.resources.len() as u64;
        subscription.pending = Some(Pending {
            nonce: message.nonce.clone(),
            state,
        });
        let version = message.system_version_info.clone();
        debug!(stream = self.id, collection, %version, resources = sent,
            incremental = message.incremental, nonce = %message.nonce, "push");
        self.outbox.send(Ok(message)).await.map_err(|_| Closed)?;
        Stats::inc(&self.shared.stats.pushes);
        Stats::add(&self.shared.stats.resources_sent, sent);
        self.update_status(collection, |c| c.pending_version = Some(version));
        Ok(())
    }

    fn register(&mut self, node: &SinkNode) {
        if self.status.is_some() {
            return;
        }
        info!(stream = self.id, node = %node.id, peer = ?self.peer, "sink connected");
        self.status = Some(self.shared.cache.status_board().register(SinkStatus {
            stream: self.id,
            node_id: node.id.clone(),
            peer: self.peer.clone(),
            collections: Default::default(),
        }));
    }

    fn update_status(
        &self,
        collection: &str,
        update: impl FnOnce(&mut crate::cache::CollectionStatus),
    ) {
        if let Some(status) = &self.status {
            status.collection(collection, update);
        }
    }
}
