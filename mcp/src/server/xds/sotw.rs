//! State-of-the-world xDS (`StreamAggregatedResources`): per type URL, the
//! full set of resources the sink may see, one response in flight, ACK and
//! NACK by nonce, a NACKed version never re-sent, changes coalesced to the
//! latest. A type the hub does not serve gets an empty response at once, so
//! a client that waits for every type it asked for (istiod) syncs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use galleon_proto::xds::{DiscoveryRequest, DiscoveryResponse, Node};
use tokio::time::Instant;
use tonic::Status;

use super::XdsType;
use super::session::{Pending, Protocol, Route, Session, oldest};
use crate::cache::CollectionSnapshot;
use crate::server::push::grpc_frame;

/// One type URL on one stream.
struct Subscription {
    route: Route,
    /// Requested names; empty: every resource.
    names: BTreeSet<String>,
    pending: Option<Pending<()>>,
    /// The version the sink last answered: the watch waits for another.
    answered: Option<Arc<str>>,
}

/// The state-of-the-world flavour.
#[derive(Default)]
pub(super) struct Sotw {
    subscriptions: HashMap<String, Subscription>,
}

impl Protocol for Sotw {
    type Request = DiscoveryRequest;

    const NAME: &'static str = "xds-sotw";

    fn node(request: &DiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }

    fn on_request(
        &mut self,
        request: DiscoveryRequest,
        session: &mut Session,
    ) -> Result<(), Status> {
        let type_url = request.type_url;
        let names: BTreeSet<String> = request
            .resource_names
            .into_iter()
            .filter(|name| name != "*")
            .collect();
        let Some(subscription) = self.subscriptions.get_mut(&type_url) else {
            self.subscribe(type_url, names, session);
            return Ok(());
        };
        if request.response_nonce.is_empty() {
            // A new request for the same type: only a change of names
            // matters (the sink gets the rest when it changes, as before).
            if subscription.names == names {
                session.repeated(&type_url);
            } else {
                subscription.names = names;
                subscription.answered = None;
                if subscription.pending.is_none() {
                    session.arm(&type_url, &subscription.route, None);
                }
            }
            return Ok(());
        }
        let pending_nonce = subscription.pending.as_ref().map(|p| p.nonce.as_str());
        if pending_nonce != Some(request.response_nonce.as_str()) {
            session.stale(&type_url, &request.response_nonce);
            return Ok(());
        }
        let pending = subscription.pending.take().expect("checked above");
        let version = pending.state.as_ref().map(|s| s.version().clone());
        let shown = version.as_deref().unwrap_or_default();
        session.answered(&type_url, shown, request.error_detail);
        subscription.answered = version;
        if subscription.names != names {
            // The ACK asks for other names: send them whatever the version.
            subscription.names = names;
            subscription.answered = None;
        }
        let known = subscription.answered.clone();
        session.arm(&type_url, &subscription.route, known);
        Ok(())
    }

    fn on_change(
        &mut self,
        type_url: &str,
        state: Arc<CollectionSnapshot>,
        session: &mut Session,
    ) -> Option<Vec<Bytes>> {
        let subscription = self.subscriptions.get_mut(type_url)?;
        let target = subscription.route.target.as_ref()?;
        let (entries, resources) = entries(&state, target, &subscription.names, session);
        let nonce = session.nonce();
        let header = DiscoveryResponse {
            version_info: state.version().to_string(),
            resources: Vec::new(),
            type_url: type_url.to_owned(),
            nonce: nonce.clone(),
        };
        session.sent(type_url, state.version(), resources);
        subscription.pending = Some(Pending {
            nonce,
            state: Some(state),
            sent: Instant::now(),
            extra: (),
        });
        Some(grpc_frame(&header, entries))
    }

    fn oldest_pending(&self) -> Option<Instant> {
        oldest(self.subscriptions.values().map(|s| s.pending.as_ref()))
    }
}

impl Sotw {
    fn subscribe(&mut self, type_url: String, names: BTreeSet<String>, session: &mut Session) {
        let mut subscription = Subscription {
            route: session.route(&type_url, false),
            names,
            pending: None,
            answered: None,
        };
        if subscription.route.target.is_some() {
            session.arm(&type_url, &subscription.route, None);
        } else {
            let nonce = session.nonce();
            let empty = Arc::new(CollectionSnapshot::empty(""));
            let response = DiscoveryResponse {
                version_info: empty.version().to_string(),
                resources: Vec::new(),
                type_url: type_url.clone(),
                nonce: nonce.clone(),
            };
            session.answer_empty(&type_url, empty.version(), &response);
            subscription.pending = Some(Pending {
                nonce,
                state: Some(empty),
                sent: Instant::now(),
                extra: (),
            });
        }
        self.subscriptions.insert(type_url, subscription);
    }
}

/// The entries of a full-state response and the number of resources they
/// hold: the snapshot's shared buffer when the sink sees everything, else
/// each visible resource's own bytes.
fn entries(
    state: &CollectionSnapshot,
    target: &XdsType,
    names: &BTreeSet<String>,
    session: &Session,
) -> (Vec<Bytes>, usize) {
    if !target.bare && names.is_empty() && !state.is_revisioned() {
        let entries = if state.is_empty() {
            Vec::new()
        } else {
            vec![state.xds_entries().clone()]
        };
        return (entries, state.len());
    }
    let entries: Vec<Bytes> = state
        .resources()
        .filter(|r| session.visible(r) && (names.is_empty() || names.contains(&**r.name())))
        .map(|r| {
            if target.bare {
                r.xds_bare_entry().clone()
            } else {
                r.xds_entry().clone()
            }
        })
        .collect();
    let count = entries.len();
    (entries, count)
}
