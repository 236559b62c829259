//! What the two xDS flavours share on one stream: the loop that reads
//! requests, fires watches and enforces the stall limit; the sink's node
//! and revision; nonces, watches, statistics and the status board.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use galleon_proto::mcp::SinkNode;
use galleon_proto::rpc;
use galleon_proto::xds::Node;
use tokio::time::Instant;
use tokio_stream::{StreamExt, StreamMap};
use tonic::Status;
use tracing::{debug, info, warn};

use super::XdsType;
use crate::cache::{CachedResource, CollectionSnapshot, Nack, SinkStatus, StatusHandle};
use crate::quote::quote;
use crate::source::stream::{Outbox, Outgoing, refusal};
use crate::source::{Shared, Stats};

type WatchStream = Pin<Box<dyn Stream<Item = Arc<CollectionSnapshot>> + Send>>;

/// The node-metadata key under which istiod sends its revision.
const REVISION_KEY: &str = "ISTIO_REVISION";

/// One xDS flavour's protocol state on a stream.
pub(super) trait Protocol: Send {
    /// What the sink sends.
    type Request: Send;

    /// The flavour, for logs.
    const NAME: &'static str;

    /// The node a request names, if any.
    fn node(request: &Self::Request) -> Option<&Node>;

    /// Handles one request (a subscription, an ACK or a NACK).
    fn on_request(&mut self, request: Self::Request, session: &mut Session) -> Result<(), Status>;

    /// A watched type changed: the framed response to send, if any.
    fn on_change(
        &mut self,
        type_url: &str,
        state: Arc<CollectionSnapshot>,
        session: &mut Session,
    ) -> Option<Vec<Bytes>>;

    /// When the oldest unanswered response was sent.
    fn oldest_pending(&self) -> Option<Instant>;
}

/// A response the sink has not answered yet.
pub(super) struct Pending<T> {
    pub(super) nonce: String,
    /// The state sent (none for a type the hub does not serve).
    pub(super) state: Option<Arc<CollectionSnapshot>>,
    pub(super) sent: Instant,
    /// What the flavour remembers about it.
    pub(super) extra: T,
}

/// The stream-wide state both flavours use.
pub(super) struct Session {
    shared: Arc<Shared>,
    id: u64,
    peer: Option<String>,
    watches: StreamMap<String, WatchStream>,
    next_nonce: u64,
    stale: u64,
    node: SinkNode,
    revision: Option<String>,
    status: Option<StatusHandle>,
    /// Responses to send before reading on (answers given at once).
    queued: Vec<Vec<Bytes>>,
}

/// Serves one xDS stream until the sink closes it, the hub shuts down, or
/// the sink breaks the protocol.
pub(super) async fn serve<P, S>(
    shared: Arc<Shared>,
    id: u64,
    peer: Option<String>,
    requests: S,
    outbox: Outbox,
    mut protocol: P,
) where
    P: Protocol,
    S: Stream<Item = Result<P::Request, Status>> + Unpin,
{
    Stats::inc(&shared.stats.streams_opened);
    let mut session = Session {
        shared: shared.clone(),
        id,
        peer,
        watches: StreamMap::new(),
        next_nonce: 0,
        stale: 0,
        node: SinkNode::default(),
        revision: None,
        status: None,
        queued: Vec::new(),
    };
    match run(&mut session, &mut protocol, requests, &outbox).await {
        Ok(()) => {}
        Err(Some(status)) if status.code() == tonic::Code::DeadlineExceeded => {
            Stats::inc(&shared.stats.stalled_sinks);
            warn!(
                stream = id,
                flavour = P::NAME,
                "dropping xDS stream: {}",
                status.message()
            );
            let _ = outbox.try_send(Outgoing::Abort(status));
        }
        Err(Some(status)) => {
            warn!(stream = id, flavour = P::NAME, code = ?status.code(), "closing xDS stream: {}", status.message());
            let _ = outbox.send(Outgoing::End(status)).await;
        }
        Err(None) => {}
    }
    Stats::inc(&shared.stats.streams_closed);
}

/// `Err(Some)`: end with that status; `Err(None)`: the sink went away.
async fn run<P, S>(
    session: &mut Session,
    protocol: &mut P,
    mut requests: S,
    outbox: &Outbox,
) -> Result<(), Option<Status>>
where
    P: Protocol,
    S: Stream<Item = Result<P::Request, Status>> + Unpin,
{
    loop {
        let stall = protocol
            .oldest_pending()
            .map(|sent| sent + session.shared.options.stall_timeout);
        tokio::select! {
            () = session.shared.shutdown.cancelled() => return Ok(()),
            request = requests.next() => match request {
                Some(Ok(request)) => {
                    session.register(P::node(&request));
                    protocol.on_request(request, session).map_err(Some)?;
                    for frame in std::mem::take(&mut session.queued) {
                        outbox.send(Outgoing::Frame(frame)).await.map_err(|_| None)?;
                        Stats::inc(&session.shared.stats.pushes);
                    }
                }
                Some(Err(status)) => return match refusal(&status) {
                    Some(refusal) => Err(Some(refusal)),
                    None => Ok(()),
                },
                None => return Ok(()),
            },
            Some((type_url, state)) = session.watches.next(), if !session.watches.is_empty() => {
                if let Some(frame) = protocol.on_change(&type_url, state, session) {
                    outbox.send(Outgoing::Frame(frame)).await.map_err(|_| None)?;
                    Stats::inc(&session.shared.stats.pushes);
                }
            }
            () = sleep_until(stall), if stall.is_some() => {
                return Err(Some(Status::deadline_exceeded(format!(
                    "the sink left a response unanswered for {:?} (stall limit)",
                    session.shared.options.stall_timeout
                ))));
            }
        }
    }
}

impl Session {
    /// What `type_url` serves, if this hub serves it.
    pub(super) fn target(&self, type_url: &str) -> Option<XdsType> {
        self.shared.options.xds_types.get(type_url).cloned()
    }

    /// The snapshot group `collection` comes from for this sink.
    pub(super) fn group_for(&self, collection: &str) -> String {
        self.shared.cache.group_for(&self.node, collection)
    }

    /// Sends `frame` as soon as the current request is handled.
    pub(super) fn send_now(&mut self, frame: Vec<Bytes>) {
        self.queued.push(frame);
    }

    /// A fresh nonce.
    pub(super) fn nonce(&mut self) -> String {
        self.next_nonce += 1;
        self.next_nonce.to_string()
    }

    /// Watches `target`'s collection for a state other than `known`.
    pub(super) fn arm(
        &mut self,
        type_url: &str,
        group: &str,
        target: &XdsType,
        known: Option<Arc<str>>,
    ) {
        let watch = self.shared.cache.watch(group, &target.collection, known);
        self.watches.insert(
            type_url.to_owned(),
            Box::pin(futures_util::stream::once(watch)),
        );
    }

    /// Whether this sink may see `resource`: Istio's revision rule, with
    /// unlabelled resources served to every revision.
    pub(super) fn visible(&self, resource: &CachedResource) -> bool {
        resource
            .revision()
            .is_none_or(|revision| self.revision.as_deref() == Some(revision))
    }

    /// Counts `resources` sent and notes the pending version.
    pub(super) fn sent(&self, type_url: &str, version: &str, resources: usize) {
        Stats::add(&self.shared.stats.resources_sent, resources as u64);
        debug!(
            stream = self.id,
            type_url, version, resources, "xDS response"
        );
        self.update_status(type_url, |c| c.pending_version = Some(version.to_owned()));
    }

    /// Records that `type_url` was subscribed, from `group`.
    pub(super) fn subscribed(&self, type_url: &str, group: &str, incremental: bool) {
        debug!(
            stream = self.id,
            type_url, group, incremental, "xDS subscribe"
        );
        self.update_status(type_url, |c| {
            c.group = group.to_owned();
            c.incremental = incremental;
        });
    }

    /// A repeated request that changes nothing.
    pub(super) fn repeated(&self, type_url: &str) {
        Stats::inc(&self.shared.stats.repeated_subscriptions);
        debug!(stream = self.id, type_url, "repeated xDS subscription");
    }

    /// An ACK or NACK with a nonce that is not the pending one: ignored.
    pub(super) fn stale(&mut self, type_url: &str, nonce: &str) {
        Stats::inc(&self.shared.stats.stale_requests);
        self.stale += 1;
        if self.stale.is_power_of_two() {
            warn!(stream = self.id, type_url = %quote(type_url), nonce = %quote(nonce),
                ignored = self.stale, "ignoring xDS ACK/NACK with a stale or unknown nonce");
        }
    }

    /// The sink answered the response of `version`.
    pub(super) fn answered(&self, type_url: &str, version: &str, error: Option<rpc::Status>) {
        let version = version.to_owned();
        match error {
            Some(error) => {
                Stats::inc(&self.shared.stats.nacks);
                warn!(stream = self.id, type_url, %version, code = error.code,
                    "sink rejected xDS response (NACK): {}", quote(&error.message));
                self.update_status(type_url, |c| {
                    c.pending_version = None;
                    c.nack = Some(Nack {
                        version,
                        message: error.message,
                    });
                });
            }
            None => {
                Stats::inc(&self.shared.stats.acks);
                self.update_status(type_url, |c| {
                    c.pending_version = None;
                    c.acked_version = Some(version);
                    c.nack = None;
                });
            }
        }
    }

    fn register(&mut self, node: Option<&Node>) {
        if self.status.is_some() {
            return;
        }
        let node = node.cloned().unwrap_or_default();
        self.revision = revision_of(&node);
        info!(stream = self.id, node = %quote(&node.id), revision = ?self.revision,
            peer = ?self.peer, "xDS sink connected");
        self.node = SinkNode {
            id: node.id.clone(),
            annotations: Default::default(),
        };
        self.status = Some(self.shared.cache.status_board().register(SinkStatus {
            stream: self.id,
            node_id: node.id,
            peer: self.peer.clone(),
            collections: Default::default(),
        }));
    }

    fn update_status(
        &self,
        type_url: &str,
        update: impl FnOnce(&mut crate::cache::CollectionStatus),
    ) {
        if let Some(status) = &self.status {
            status.collection(type_url, update);
        }
    }
}

/// The revision in a node's metadata (`ISTIO_REVISION`), if any.
fn revision_of(node: &Node) -> Option<String> {
    use prost_types::value::Kind;
    let fields = &node.metadata.as_ref()?.fields;
    match fields.get(REVISION_KEY)?.kind.as_ref()? {
        Kind::StringValue(revision) if !revision.is_empty() => Some(revision.clone()),
        _ => None,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
