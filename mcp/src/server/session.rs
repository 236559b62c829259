//! The one session engine every protocol runs on: MCP (full and
//! incremental, [`super::mcp`]) and MCP over xDS (state of the world and
//! delta, [`super::xds`]) are [`Protocol`]s, each only the part where its
//! wire differs; everything else is here, once.
//!
//! The rules: a stream reads its sink's requests, its watches and the hub's
//! shutdown in one loop; each subscribed key (a collection, or an xDS type
//! URL) has at most one push in flight, and its watch is armed only while
//! none is, against the version the sink last answered, so changes
//! coalesce to the latest and a NACKed version is never sent again. An
//! answer whose nonce is not the pending one is stale: ignored and counted.
//! A push left unanswered past the stall limit drops the stream. The sink's
//! node, its revision and every key's state are on the status board.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use galleon_proto::mcp::SinkNode;
use galleon_proto::rpc;
use prost::Message;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::{StreamExt, StreamMap};
use tonic::Status;
use tracing::{debug, info, warn};

use super::push::{Push, grpc_frame};
use super::{Shared, Stats, XdsType};
use crate::cache::{
    CachedResource, CollectionSnapshot, Nack, SinkStatus, StatusHandle, rfc3339_now,
};
use crate::quote::{escaped, quote};

type WatchStream = Pin<Box<dyn Stream<Item = Arc<CollectionSnapshot>> + Send>>;

/// What the engine hands the transport.
pub(crate) enum Outgoing {
    /// An MCP push to write (boxed: the channel's slots stay small).
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

/// The longest node id the status board keeps (and logs show).
const NODE_ID_MAX: usize = 256;
/// The longest NACK message the status board keeps (and logs show).
const NACK_MAX: usize = 1_024;
/// The longest collection or type URL a sink may subscribe to.
const KEY_MAX: usize = 512;

/// Who the sink says it is.
#[derive(Clone, Debug, Default)]
pub(crate) struct Node {
    /// Its node id.
    pub(crate) id: String,
    /// Its annotations (MCP: they may pick its snapshot group).
    pub(crate) annotations: BTreeMap<String, String>,
    /// The Istio revision it runs (xDS node metadata `ISTIO_REVISION`).
    pub(crate) revision: Option<String>,
}

/// One protocol's part of a stream: what its requests say, what its pushes
/// are made of.
pub(crate) trait Protocol: Send {
    /// What the sink sends.
    type Request: Send;

    /// The protocol, for logs and the status board.
    const NAME: &'static str;

    /// The request's fields that name resources (counted against
    /// `max_names` before a request is decoded).
    const NAMED_FIELDS: &'static [u32];

    /// The node a request names, if any.
    fn node(request: &Self::Request) -> Option<Node>;

    /// Handles one request (a subscription, an ACK or a NACK); `Err` ends
    /// the stream with that status.
    fn on_request(&mut self, request: Self::Request, session: &mut Session) -> Result<(), Status>;

    /// The watched `key` changed: what to send, if anything (a push made
    /// with [`Session::pushed`]).
    fn on_change(
        &mut self,
        key: &str,
        state: Arc<CollectionSnapshot>,
        session: &mut Session,
    ) -> Option<Outgoing>;
}

/// A push the sink has not answered yet.
pub(crate) struct Pending<T> {
    pub(crate) nonce: String,
    /// The state sent (none for a key the hub does not serve).
    pub(crate) state: Option<Arc<CollectionSnapshot>>,
    /// What the protocol remembers about it.
    pub(crate) extra: T,
}

impl<T> Pending<T> {
    /// The version it carried (empty for nothing served).
    pub(crate) fn version(&self) -> Option<Arc<str>> {
        self.state.as_ref().map(|s| s.version().clone())
    }
}

/// Where a subscribed key's state comes from.
pub(crate) struct Route {
    /// What it serves; `None`: nothing (xDS: answered empty at once).
    pub(crate) target: Option<XdsType>,
    /// The snapshot group of its collection, for this sink.
    pub(crate) group: String,
}

/// The stream-wide state every protocol uses.
pub(crate) struct Session {
    pub(crate) shared: Arc<Shared>,
    id: u64,
    peer: Option<String>,
    watches: StreamMap<String, WatchStream>,
    next_nonce: u64,
    stale: u64,
    node: Node,
    status: Option<StatusHandle>,
    /// When each key's unanswered push was sent (for the stall limit).
    unanswered: HashMap<String, Instant>,
    /// Every key subscribed to on the stream.
    routed: HashSet<String>,
    /// Pushes to send before reading on (answers given at once).
    queued: Vec<Outgoing>,
    /// When the stream is past `maxConnectionAge` and is ended as a drain
    /// ends it (`UNAVAILABLE`), so its sink reconnects, to any replica.
    retire_at: Option<Instant>,
}

/// Serves one stream of protocol `P` until the sink closes it, the hub shuts
/// down, or the sink breaks the protocol (then it ends with that status).
pub(crate) async fn serve<P, S>(
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
        node: Node::default(),
        status: None,
        unanswered: HashMap::new(),
        routed: HashSet::new(),
        queued: Vec::new(),
        retire_at: shared
            .options
            .max_connection_age
            .and_then(|age| Instant::now().checked_add(age)),
    };
    match run(&mut session, &mut protocol, requests, &outbox).await {
        Ok(()) => {}
        Err(Some(status)) if status.code() == tonic::Code::DeadlineExceeded => {
            Stats::inc(&shared.stats.stalled_sinks);
            warn!(stream = id, protocol = P::NAME, peer = ?session.peer, "dropping stream: {}", status.message());
            let _ = outbox.try_send(Outgoing::Abort(status));
        }
        Err(Some(status))
            if shared.shutdown.is_cancelled() || status.code() == tonic::Code::Unavailable =>
        {
            debug!(
                stream = id,
                protocol = P::NAME,
                "ending stream: {}",
                status.message()
            );
            let _ = outbox.send(Outgoing::End(status)).await;
        }
        Err(Some(status)) => {
            warn!(stream = id, protocol = P::NAME, code = ?status.code(), "closing stream: {}", status.message());
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
        let stall = session
            .unanswered
            .values()
            .min()
            .and_then(|sent| sent.checked_add(session.shared.options.stall_timeout));
        tokio::select! {
            () = session.shared.shutdown.cancelled() => {
                return Err(Some(Status::unavailable(
                    "the hub is shutting down: reconnect (to another replica)",
                )));
            }
            request = requests.next() => match request {
                Some(Ok(request)) => {
                    session.register(P::node(&request), P::NAME);
                    protocol.on_request(request, session).map_err(Some)?;
                    let shared = session.shared.clone();
                    for outgoing in std::mem::take(&mut session.queued) {
                        send(&shared, outgoing, outbox).await?;
                    }
                }
                Some(Err(status)) => return match refusal(&status) {
                    Some(refusal) => Err(Some(refusal)),
                    None => {
                        debug!(stream = session.id, "sink stream failed: {status}");
                        Ok(())
                    }
                },
                None => return Ok(()),
            },
            Some((key, state)) = session.watches.next(), if !session.watches.is_empty() => {
                if let Some(outgoing) = protocol.on_change(&key, state, session) {
                    let shared = session.shared.clone();
                    send(&shared, outgoing, outbox).await?;
                }
            }
            () = sleep_until(session.retire_at), if session.retire_at.is_some() => {
                return Err(Some(Status::unavailable(
                    "the stream reached mcp.maxConnectionAge: reconnect (to any replica)",
                )));
            }
            () = sleep_until(stall), if stall.is_some() => {
                return Err(Some(Status::deadline_exceeded(format!(
                    "the sink left a push unanswered for {:?} (stall limit)",
                    session.shared.options.stall_timeout
                ))));
            }
        }
    }
}

/// Hands `outgoing` to the transport; `Err(None)` once the sink is gone.
async fn send(shared: &Shared, outgoing: Outgoing, outbox: &Outbox) -> Result<(), Option<Status>> {
    outbox.send(outgoing).await.map_err(|_| None)?;
    Stats::inc(&shared.stats.pushes);
    Ok(())
}

impl Session {
    /// The sink's node, as its first request named it.
    pub(crate) fn node(&self) -> SinkNode {
        SinkNode {
            id: self.node.id.clone(),
            annotations: self.node.annotations.clone().into_iter().collect(),
        }
    }

    /// Routes a new subscription to `key`, served as `target` (`None`: the
    /// hub does not serve it), and records it; refused when the key is
    /// longer than any collection or type URL, or one too many for a stream.
    pub(crate) fn route(
        &mut self,
        key: &str,
        target: Option<XdsType>,
        incremental: bool,
    ) -> Result<Route, Status> {
        if key.len() > KEY_MAX {
            return Err(Status::invalid_argument(format!(
                "a type URL or collection of {} bytes: at most {KEY_MAX}",
                key.len()
            )));
        }
        let max = self.shared.options.max_types_per_stream;
        if !self.routed.contains(key) && self.routed.len() >= max {
            return Err(Status::resource_exhausted(format!(
                "more than {max} collections or type URLs on one stream (mcp.maxTypesPerStream)"
            )));
        }
        self.routed.insert(key.to_owned());
        let group = target
            .as_ref()
            .map(|t| self.shared.cache.group_for(&self.node(), &t.collection))
            .unwrap_or_default();
        debug!(stream = self.id, key = %quote(key), %group, incremental, served = target.is_some(), "subscribe");
        self.update_status(key, |c| {
            c.group.clone_from(&group);
            c.collection = target
                .as_ref()
                .filter(|t| t.collection != key)
                .map(|t| t.collection.clone());
            c.incremental = incremental;
        });
        Ok(Route { target, group })
    }

    /// Answers `key`, which the hub does not serve, with `empty` (made
    /// with `nonce`) at once: the sink is waiting for every key it asked
    /// for. `state` is what `empty` stands for.
    pub(crate) fn answer_empty<T>(
        &mut self,
        key: &str,
        pending: &mut Option<Pending<T>>,
        nonce: String,
        (state, extra): (Option<Arc<CollectionSnapshot>>, T),
        empty: &impl Message,
    ) {
        self.pushed(key, pending, nonce, (state, extra), 0);
        self.queued
            .push(Outgoing::Frame(grpc_frame(empty, Vec::new())));
    }

    /// A push of `key` is going out under `nonce`, carrying `state` and
    /// `resources` of it: it is the pending one (what the protocol
    /// remembers of it, `extra`), counted, timed for the stall limit and
    /// shown on the status board.
    pub(crate) fn pushed<T>(
        &mut self,
        key: &str,
        pending: &mut Option<Pending<T>>,
        nonce: String,
        (state, extra): (Option<Arc<CollectionSnapshot>>, T),
        resources: usize,
    ) {
        let version = state
            .as_ref()
            .map(|s| s.version().to_string())
            .unwrap_or_default();
        Stats::add(&self.shared.stats.resources_sent, resources as u64);
        debug!(stream = self.id, key = %quote(key), %version, resources, %nonce, "push");
        self.update_status(key, |c| c.pending_version = Some(version));
        self.unanswered.insert(key.to_owned(), Instant::now());
        *pending = Some(Pending {
            nonce,
            state,
            extra,
        });
    }

    /// A fresh nonce.
    pub(crate) fn nonce(&mut self) -> String {
        self.next_nonce += 1;
        self.next_nonce.to_string()
    }

    /// Watches the routed collection, if the hub serves it, for a state
    /// other than `known`.
    pub(crate) fn arm(&mut self, key: &str, route: &Route, known: Option<Arc<str>>) {
        if let Some(target) = &route.target {
            let watch = self
                .shared
                .cache
                .watch(&route.group, &target.collection, known);
            self.watches
                .insert(key.to_owned(), Box::pin(futures_util::stream::once(watch)));
        }
    }

    /// Whether this sink may see `resource`: Istio's revision rule, with
    /// unlabelled resources served to every revision.
    pub(crate) fn visible(&self, resource: &CachedResource) -> bool {
        resource
            .revision()
            .is_none_or(|revision| self.node.revision.as_deref() == Some(revision))
    }

    /// A repeated request that changes nothing.
    pub(crate) fn repeated(&self, key: &str) {
        Stats::inc(&self.shared.stats.repeated_subscriptions);
        debug!(stream = self.id, key = %quote(key), "repeated subscription; nothing to send until it changes");
    }

    /// An ACK or NACK of `key` with `nonce`: when it answers the pending
    /// push, that push, with the answer recorded (statistics, status, a
    /// NACK logged); otherwise `None`, the answer ignored as stale and
    /// counted.
    pub(crate) fn answer<T>(
        &mut self,
        key: &str,
        pending: &mut Option<Pending<T>>,
        nonce: &str,
        error: Option<rpc::Status>,
    ) -> Option<Pending<T>> {
        if pending.as_ref().map(|p| p.nonce.as_str()) != Some(nonce) {
            self.stale(key, nonce);
            return None;
        }
        let answered = pending.take()?;
        self.unanswered.remove(key);
        let version = answered.version().as_deref().unwrap_or_default().to_owned();
        match error {
            Some(error) => {
                Stats::inc(&self.shared.stats.nacks);
                self.shared.stats.answered(key, Some(error.code));
                let message = escaped(&error.message, NACK_MAX);
                warn!(stream = self.id, key = %quote(key), %version, code = error.code,
                    "sink rejected push (NACK): {message}");
                self.update_status(key, |c| {
                    c.pending_version = None;
                    c.nack = Some(Nack { version, message });
                });
            }
            None => {
                Stats::inc(&self.shared.stats.acks);
                self.shared.stats.answered(key, None);
                self.update_status(key, |c| {
                    c.pending_version = None;
                    c.acked_version = Some(version);
                    c.nack = None;
                });
            }
        }
        Some(answered)
    }

    /// An answer whose nonce is not the pending one: ignored, counted, and
    /// logged at the 1st, 2nd, 4th, 8th… (a flood costs a few lines).
    fn stale(&mut self, key: &str, nonce: &str) {
        Stats::inc(&self.shared.stats.stale_requests);
        self.stale += 1;
        if self.stale.is_power_of_two() {
            warn!(stream = self.id, key = %quote(key), nonce = %quote(nonce),
                ignored = self.stale, "ignoring ACK/NACK with a stale or unknown nonce");
        }
    }

    fn register(&mut self, node: Option<Node>, protocol: &'static str) {
        if self.status.is_some() {
            return;
        }
        let mut node = node.unwrap_or_default();
        node.id = escaped(&node.id, NODE_ID_MAX);
        info!(stream = self.id, node = %node.id, revision = ?node.revision, peer = ?self.peer,
            protocol, "sink connected");
        self.status = Some(self.shared.cache.status_board().register(SinkStatus {
            stream: self.id,
            node_id: node.id.clone(),
            peer: self.peer.clone(),
            protocol: protocol.into(),
            connected_since: rfc3339_now(),
            collections: Default::default(),
        }));
        self.node = node;
    }

    /// Updates `key`'s entry on the status board.
    pub(crate) fn update_status(
        &self,
        key: &str,
        update: impl FnOnce(&mut crate::cache::CollectionStatus),
    ) {
        if let Some(status) = &self.status {
            status.collection(key, update);
        }
    }
}

/// The status to end the stream with when reading a request failed because
/// of the request itself; `None` when the sink just went away.
pub(crate) fn refusal(status: &Status) -> Option<Status> {
    match status.code() {
        // tonic's limit on a decoded message's length.
        tonic::Code::OutOfRange => Some(Status::resource_exhausted(format!(
            "request too large: {}",
            status.message()
        ))),
        // The caps checked before decoding (`capped`).
        tonic::Code::ResourceExhausted | tonic::Code::InvalidArgument => Some(status.clone()),
        // The protobuf decoder's errors.
        tonic::Code::Internal if status.message().contains("decode") => Some(
            Status::invalid_argument(format!("malformed request: {}", status.message())),
        ),
        _ => None,
    }
}

/// Sleeps until `deadline`; for ever when `None`.
pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
