//! What both xDS flavours share, once: a [`Flavour`] says only what its
//! wire says (how a request reads, how a response is made, what a
//! subscription holds), and [`Xds`] runs every flavour on the session
//! engine: one subscription per type URL, opened by its first request,
//! answered by nonce, changed by later requests, re-armed when the sink
//! has answered or asked for something new, an unserved type answered
//! empty at once.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use galleon_proto::rpc;
use prost::Message;
use tonic::Status;
use tracing::warn;

use super::node_of;
use crate::cache::CollectionSnapshot;
use crate::quote::{did_you_mean, quote};
use crate::server::session::{Node, Outgoing, Pending, Protocol, Route, Session};

/// What a later request changed in its subscription.
pub(in crate::server) enum Change {
    /// Nothing new was asked for.
    Nothing,
    /// The same request again: nothing to do until the type changes.
    Repeated,
    /// Something new was asked for: send it whatever the version.
    New,
}

/// What a request's answer part was.
pub(in crate::server) enum Answer {
    /// No nonce: not an answer.
    None,
    /// An answer to something not pending.
    Stale,
    /// An answer to the pending response.
    Pending,
}

/// A response made from a state.
pub(in crate::server) enum Response<E> {
    /// Send this frame, carrying `resources`; `extra` is remembered with it.
    Send {
        frame: Vec<Bytes>,
        resources: usize,
        extra: E,
    },
    /// Nothing this sink sees changed: wait for the next version.
    Unchanged,
}

/// The subscription state every flavour keeps.
pub(in crate::server) struct Common<E> {
    pub(in crate::server) route: Route,
    pub(in crate::server) pending: Option<Pending<E>>,
    /// The version the sink last answered: the watch waits for another.
    pub(in crate::server) answered: Option<Arc<str>>,
}

impl<E> Common<E> {
    fn new(route: Route) -> Self {
        Self {
            route,
            pending: None,
            answered: None,
        }
    }
}

/// One xDS flavour's wire.
pub(in crate::server) trait Flavour: Send {
    /// What the sink sends.
    type Request: Send;
    /// What a subscription holds beyond [`Common`].
    type Subscription: Send;
    /// What is remembered with a pending response.
    type Extra: Send;

    /// The flavour, for logs and the status board.
    const NAME: &'static str;
    /// Whether its subscriptions are incremental.
    const INCREMENTAL: bool;
    /// The request's fields that name resources.
    const NAMED_FIELDS: &'static [u32];

    /// A response of the flavour.
    type Response: Message;

    /// The node a request names, if any.
    fn node(request: &Self::Request) -> Option<&galleon_proto::xds::Node>;

    /// A request's type URL, nonce and error detail, taken out of it.
    fn parts(request: &mut Self::Request) -> (String, String, Option<rpc::Status>);

    /// The subscription a type's first request opens.
    fn open(request: Self::Request) -> Self::Subscription;

    /// A later request's changes to its subscription (after its answer, if
    /// it answered: `answer`).
    fn change(
        subscription: &mut Self::Subscription,
        request: Self::Request,
        answer: &Answer,
    ) -> Change;

    /// How many names the subscription holds (capped at `max_names`).
    fn names(subscription: &Self::Subscription) -> usize;

    /// The sink answered `pending` (an ACK when `acked`).
    fn answered(subscription: &mut Self::Subscription, pending: Pending<Self::Extra>, acked: bool);

    /// The response bringing the sink to `state`, under `nonce`.
    fn respond(
        subscription: &mut Self::Subscription,
        common: &Common<Self::Extra>,
        type_url: &str,
        state: &CollectionSnapshot,
        nonce: &str,
        session: &Session,
    ) -> Response<Self::Extra>;

    /// The empty response to a type the hub does not serve, and what it
    /// stands for.
    fn empty(
        type_url: &str,
        nonce: &str,
    ) -> (Self::Response, Option<Arc<CollectionSnapshot>>, Self::Extra);
}

/// An xDS flavour on the session engine.
pub(in crate::server) struct Xds<F: Flavour> {
    subscriptions: HashMap<String, (Common<F::Extra>, F::Subscription)>,
}

impl<F: Flavour> Default for Xds<F> {
    fn default() -> Self {
        Self {
            subscriptions: HashMap::new(),
        }
    }
}

impl<F: Flavour> Protocol for Xds<F> {
    type Request = F::Request;

    const NAME: &'static str = F::NAME;
    const NAMED_FIELDS: &'static [u32] = F::NAMED_FIELDS;

    fn node(request: &F::Request) -> Option<Node> {
        F::node(request).map(node_of)
    }

    fn on_request(&mut self, mut request: F::Request, session: &mut Session) -> Result<(), Status> {
        let (type_url, nonce, error) = F::parts(&mut request);
        let Some((common, subscription)) = self.subscriptions.get_mut(&type_url) else {
            return self.open(type_url, request, session);
        };
        let mut rearm = false;
        let answer = if nonce.is_empty() {
            Answer::None
        } else {
            let acked = error.is_none();
            match session.answer(&type_url, &mut common.pending, &nonce, error) {
                Some(pending) => {
                    common.answered = pending.version();
                    F::answered(subscription, pending, acked);
                    rearm = true;
                    Answer::Pending
                }
                None => Answer::Stale,
            }
        };
        match F::change(subscription, request, &answer) {
            Change::Nothing => {}
            Change::Repeated => session.repeated(&type_url),
            Change::New => {
                common.answered = None;
                rearm = true;
            }
        }
        if rearm && common.pending.is_none() {
            session.arm(&type_url, &common.route, common.answered.clone());
        }
        self.names_within_limit(session)
    }

    fn on_change(
        &mut self,
        type_url: &str,
        state: Arc<CollectionSnapshot>,
        session: &mut Session,
    ) -> Option<Outgoing> {
        let (common, subscription) = self.subscriptions.get_mut(type_url)?;
        common.route.target.as_ref()?;
        let nonce = session.nonce();
        match F::respond(subscription, common, type_url, &state, &nonce, session) {
            Response::Send {
                frame,
                resources,
                extra,
            } => {
                let pending = &mut common.pending;
                session.pushed(type_url, pending, nonce, (Some(state), extra), resources);
                Some(Outgoing::Frame(frame))
            }
            Response::Unchanged => {
                common.answered = Some(state.version().clone());
                session.arm(type_url, &common.route, common.answered.clone());
                None
            }
        }
    }
}

impl<F: Flavour> Xds<F> {
    /// Opens `type_url`'s subscription: watched if the hub serves it, else
    /// answered empty at once.
    fn open(
        &mut self,
        type_url: String,
        request: F::Request,
        session: &mut Session,
    ) -> Result<(), Status> {
        let types = &session.shared.options.xds_types;
        let target = types.get(&type_url).cloned();
        if target.is_none() {
            // A type this hub does not serve is answered empty, as the
            // protocol asks (istiod asks for every type it knows); one close
            // to a served type is most likely misspelled.
            let hint = did_you_mean(&type_url, types.keys().map(String::as_str));
            if !hint.is_empty() {
                warn!(
                    node = %quote(&session.node().id),
                    "a sink asked for {}, which this hub does not serve (answered empty){hint}",
                    quote(&type_url)
                );
            }
        }
        let mut common = Common::new(session.route(&type_url, target, F::INCREMENTAL)?);
        let subscription = F::open(request);
        if common.route.target.is_some() {
            session.arm(&type_url, &common.route, None);
        } else {
            let nonce = session.nonce();
            let (empty, state, extra) = F::empty(&type_url, &nonce);
            session.answer_empty(
                &type_url,
                &mut common.pending,
                nonce,
                (state, extra),
                &empty,
            );
        }
        self.subscriptions.insert(type_url, (common, subscription));
        self.names_within_limit(session)
    }

    /// Refuses a stream whose subscriptions hold more names, together,
    /// than one request may carry.
    fn names_within_limit(&self, session: &Session) -> Result<(), Status> {
        let names: usize = self.subscriptions.values().map(|(_, s)| F::names(s)).sum();
        let max = session.shared.options.max_names;
        if names > max {
            return Err(Status::resource_exhausted(format!(
                "subscriptions to {names} names on one stream: at most {max} (mcp.maxNamesPerRequest)"
            )));
        }
        Ok(())
    }
}
