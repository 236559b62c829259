//! The source side of one MCP stream, whichever side dialled: reads the
//! sink's requests, answers ACKs and NACKs, and pushes each subscribed
//! collection when its watch fires — at most one push in flight per
//! collection, the latest state once the previous push is answered.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use galleon_proto::mcp::{RequestResources, SinkNode};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::{StreamExt, StreamMap};
use tonic::Status;
use tracing::{debug, info, warn};

use super::push::Push;
use super::subscription::{Pending, Subscription};
use super::{Shared, Stats};
use crate::cache::{CollectionSnapshot, SinkStatus, StatusHandle, unix_now};
use crate::quote::quote;

type WatchStream = Pin<Box<dyn Stream<Item = Arc<CollectionSnapshot>> + Send>>;

/// What the engine hands the transport.
pub(crate) enum Outgoing {
    /// A push to write (boxed: the channel's slots stay small).
    Push(Box<Push>),
    /// A framed gRPC message to write as it is (MCP over xDS).
    Frame(Vec<Bytes>),
    /// End the stream with this status (a protocol error).
    End(Status),
    /// Reset the stream, discarding whatever is still queued for it (a sink
    /// that stopped reading).
    Abort(Status),
}

/// Where pushes go.
pub(crate) type Outbox = mpsc::Sender<Outgoing>;

/// Why a stream ends early.
enum Ending {
    /// The sink went away (the outgoing half is closed).
    Closed,
    /// The sink left a push unanswered past the stall limit.
    Stalled(Status),
}

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
        stale: 0,
        status: None,
    };
    match stream.run(requests).await {
        Ok(Ok(())) | Ok(Err(Ending::Closed)) => {}
        Ok(Err(Ending::Stalled(status))) => {
            Stats::inc(&shared.stats.stalled_sinks);
            warn!(stream = id, peer = ?stream.peer, "dropping MCP stream: {}", status.message());
            let _ = outbox.try_send(Outgoing::Abort(status));
        }
        Err(status) => {
            warn!(stream = id, code = ?status.code(), "closing MCP stream: {}", status.message());
            let _ = outbox.send(Outgoing::End(status)).await;
        }
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
    /// Requests ignored for a stale nonce on this stream.
    stale: u64,
    status: Option<StatusHandle>,
}

impl SourceStream {
    /// Serves until the stream ends: `Err` for a protocol error (sent to
    /// the sink as the stream's status), `Ok(Err)` when it ends early.
    async fn run<S>(&mut self, mut requests: S) -> Result<Result<(), Ending>, Status>
    where
        S: Stream<Item = Result<RequestResources, Status>> + Unpin,
    {
        loop {
            let stall = self
                .oldest_pending()
                .map(|sent| sent + self.shared.options.stall_timeout);
            tokio::select! {
                () = self.shared.shutdown.cancelled() => return Ok(Ok(())),
                request = requests.next() => match request {
                    Some(Ok(request)) => self.on_request(request)?,
                    Some(Err(status)) => {
                        if let Some(refusal) = refusal(&status) {
                            return Err(refusal);
                        }
                        debug!(stream = self.id, "sink stream failed: {status}");
                        return Ok(Ok(()));
                    }
                    None => return Ok(Ok(())),
                },
                Some((collection, state)) = self.watches.next(), if !self.watches.is_empty() => {
                    if let Err(ending) = self.push(&collection, state).await {
                        return Ok(Err(ending));
                    }
                }
                () = sleep_until(stall), if stall.is_some() => {
                    return Ok(Err(Ending::Stalled(Status::deadline_exceeded(format!(
                        "the sink left a push unanswered for {:?} (stall limit)",
                        self.shared.options.stall_timeout
                    )))));
                }
            }
        }
    }

    /// When the oldest unanswered push was sent.
    fn oldest_pending(&self) -> Option<Instant> {
        self.subscriptions
            .values()
            .filter_map(|s| s.pending.as_ref().map(|p| p.sent))
            .min()
    }

    fn on_request(&mut self, request: RequestResources) -> Result<(), Status> {
        let collection = request.collection.as_str();
        if !self.shared.options.collections.contains(collection) {
            return Err(Status::invalid_argument(format!(
                "unknown collection {}: this hub serves {} collections",
                quote(collection),
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
            self.stale += 1;
            // The 1st, 2nd, 4th, 8th…: a flood costs a few log lines.
            if self.stale.is_power_of_two() {
                warn!(stream = self.id, collection = %quote(collection),
                    nonce = %quote(&request.response_nonce), ignored = self.stale,
                    "ignoring ACK/NACK with a stale or unknown nonce");
            }
            return Ok(());
        }
        self.answer(request);
        Ok(())
    }

    fn subscribe(&mut self, request: RequestResources, node: &SinkNode) {
        let collection = request.collection;
        if let Some(existing) = self.subscriptions.get(&collection)
            && existing.incremental == request.incremental
        {
            // Asking again buys nothing: the sink gets the collection when
            // it differs from what it has, as before.
            Stats::inc(&self.shared.stats.repeated_subscriptions);
            debug!(stream = self.id, %collection, "repeated subscription; nothing to send until it changes");
            return;
        }
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
                "sink rejected push (NACK): {}", quote(&error.message));
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
    ) -> Result<(), Ending> {
        let Some(subscription) = self.subscriptions.get_mut(collection) else {
            return Ok(());
        };
        self.next_nonce += 1;
        let push = subscription.push(&state, self.next_nonce.to_string());
        let sent = push.len() as u64;
        subscription.pending = Some(Pending {
            nonce: push.header.nonce.clone(),
            state,
            sent: Instant::now(),
        });
        let version = push.header.system_version_info.clone();
        debug!(stream = self.id, collection, %version, resources = sent,
            incremental = push.header.incremental, nonce = %push.header.nonce, "push");
        self.outbox
            .send(Outgoing::Push(Box::new(push)))
            .await
            .map_err(|_| Ending::Closed)?;
        Stats::inc(&self.shared.stats.pushes);
        Stats::add(&self.shared.stats.resources_sent, sent);
        self.update_status(collection, |c| c.pending_version = Some(version));
        Ok(())
    }

    fn register(&mut self, node: &SinkNode) {
        if self.status.is_some() {
            return;
        }
        info!(stream = self.id, node = %quote(&node.id), peer = ?self.peer, "sink connected");
        self.status = Some(self.shared.cache.status_board().register(SinkStatus {
            stream: self.id,
            node_id: node.id.clone(),
            peer: self.peer.clone(),
            protocol: "mcp".into(),
            connected_since: unix_now(),
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

/// The status to end the stream with when reading a request failed because
/// of the request itself; `None` when the sink just went away.
pub(super) fn refusal(status: &Status) -> Option<Status> {
    match status.code() {
        // tonic's limit on a decoded message's length.
        tonic::Code::OutOfRange => Some(Status::resource_exhausted(format!(
            "request too large: {}",
            status.message()
        ))),
        // The protobuf decoder's errors.
        tonic::Code::Internal if status.message().contains("decode") => Some(
            Status::invalid_argument(format!("malformed request: {}", status.message())),
        ),
        _ => None,
    }
}

pub(super) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
