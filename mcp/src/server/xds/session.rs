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
use prost::Message;
use tokio::time::Instant;
use tokio_stream::{StreamExt, StreamMap};
use tonic::Status;
use tracing::{debug, info, warn};

use super::XdsType;
use crate::cache::{CachedResource, CollectionSnapshot, Nack, SinkStatus, StatusHandle, unix_now};
use crate::quote::quote;
use crate::server::push::grpc_frame;
use crate::server::stream::{Outbox, Outgoing, refusal, sleep_until};
use crate::server::{Shared, Stats};

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

/// Where a subscribed type URL comes from.
pub(super) struct Route {
    /// What it serves; `None`: nothing (answered empty at once).
    pub(super) target: Option<XdsType>,
    /// The snapshot group of its collection, for this sink.
    pub(super) group: String,
}

/// When the oldest of `pending` responses was sent.
pub(super) fn oldest<'a, T: 'a>(
    pending: impl Iterator<Item = Option<&'a Pending<T>>>,
) -> Option<Instant> {
    pending.flatten().map(|p| p.sent).min()
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
                    session.register(P::node(&request), P::NAME);
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
    /// Routes a new subscription to `type_url` and records it.
    pub(super) fn route(&self, type_url: &str, incremental: bool) -> Route {
        let target = self.shared.options.xds_types.get(type_url).cloned();
        let group = target
            .as_ref()
            .map(|t| self.shared.cache.group_for(&self.node, &t.collection))
            .unwrap_or_default();
        debug!(stream = self.id, type_url, %group, incremental, served = target.is_some(), "xDS subscribe");
        self.update_status(type_url, |c| {
            c.group.clone_from(&group);
            c.collection = target.as_ref().map(|t| t.collection.clone());
            c.incremental = incremental;
        });
        Route { target, group }
    }

    /// Answers a type the hub does not serve with `empty` at once: the sink
    /// is waiting for every type it asked for.
    pub(super) fn answer_empty(&mut self, type_url: &str, version: &str, empty: &impl Message) {
        self.sent(type_url, version, 0);
        self.queued.push(grpc_frame(empty, Vec::new()));
    }

    /// A fresh nonce.
    pub(super) fn nonce(&mut self) -> String {
        self.next_nonce += 1;
        self.next_nonce.to_string()
    }

    /// Watches the routed collection, if the hub serves it, for a state
    /// other than `known`.
    pub(super) fn arm(&mut self, type_url: &str, route: &Route, known: Option<Arc<str>>) {
        if let Some(target) = &route.target {
            let watch = self
                .shared
                .cache
                .watch(&route.group, &target.collection, known);
            self.watches.insert(
                type_url.to_owned(),
                Box::pin(futures_util::stream::once(watch)),
            );
        }
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

    fn register(&mut self, node: Option<&Node>, protocol: &'static str) {
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
            protocol: protocol.into(),
            connected_since: unix_now(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn node(metadata: &[(&str, &str)]) -> Node {
        let fields = metadata
            .iter()
            .map(|(k, v)| {
                let value = prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue((*v).to_owned())),
                };
                ((*k).to_owned(), value)
            })
            .collect();
        Node {
            metadata: Some(prost_types::Struct { fields }),
            ..Default::default()
        }
    }

    #[test]
    fn the_revision_comes_from_istiods_node_metadata() {
        assert_eq!(
            revision_of(&node(&[("ISTIO_REVISION", "canary")])).as_deref(),
            Some("canary")
        );
        assert_eq!(revision_of(&node(&[("ISTIO_REVISION", "")])), None);
        assert_eq!(revision_of(&node(&[("GENERATOR", "api")])), None);
        assert_eq!(revision_of(&Node::default()), None);
    }
}
