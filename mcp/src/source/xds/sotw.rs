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
use super::session::{Pending, Protocol, Session};
use crate::cache::CollectionSnapshot;
use crate::source::push::grpc_frame;

/// One type URL on one stream.
struct Subscription {
    /// What it serves; `None`: nothing (answered empty).
    target: Option<XdsType>,
    group: String,
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

    const NAME: &'static str = "sotw";

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
                    arm(&type_url, subscription, session);
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
        arm(&type_url, subscription, session);
        Ok(())
    }

    fn on_change(
        &mut self,
        type_url: &str,
        state: Arc<CollectionSnapshot>,
        session: &mut Session,
    ) -> Option<Vec<Bytes>> {
        let subscription = self.subscriptions.get_mut(type_url)?;
        let target = subscription.target.as_ref()?;
        let entries = entries(&state, target, &subscription.names, session);
        let resources = entries.len();
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
        self.subscriptions
            .values()
            .filter_map(|s| s.pending.as_ref().map(|p| p.sent))
            .min()
    }
}

impl Sotw {
    fn subscribe(&mut self, type_url: String, names: BTreeSet<String>, session: &mut Session) {
        let target = session.target(&type_url);
        let group = target
            .as_ref()
            .map(|t| session.group_for(&t.collection))
            .unwrap_or_default();
        session.subscribed(&type_url, &group, false);
        let mut subscription = Subscription {
            target,
            group,
            names,
            pending: None,
            answered: None,
        };
        if subscription.target.is_some() {
            arm(&type_url, &subscription, session);
        } else {
            // Answer at once, empty: the sink is waiting for every type.
            let nonce = session.nonce();
            let empty = Arc::new(CollectionSnapshot::empty(""));
            let header = DiscoveryResponse {
                version_info: empty.version().to_string(),
                resources: Vec::new(),
                type_url: type_url.clone(),
                nonce: nonce.clone(),
            };
            session.sent(&type_url, empty.version(), 0);
            session.send_now(grpc_frame(&header, Vec::new()));
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

fn arm(type_url: &str, subscription: &Subscription, session: &mut Session) {
    if let Some(target) = &subscription.target {
        let known = subscription.answered.clone();
        session.arm(type_url, &subscription.group, target, known);
    }
}

/// The entries of a full-state response: the snapshot's shared buffer
/// when the sink sees everything, else each visible resource's own bytes.
fn entries(
    state: &CollectionSnapshot,
    target: &XdsType,
    names: &BTreeSet<String>,
    session: &Session,
) -> Vec<Bytes> {
    if !target.bare && names.is_empty() && !state.is_revisioned() {
        return if state.is_empty() {
            Vec::new()
        } else {
            vec![state.xds_entries().clone()]
        };
    }
    state
        .resources()
        .filter(|r| session.visible(r) && (names.is_empty() || names.contains(&**r.name())))
        .map(|r| {
            if target.bare {
                r.xds_bare_entry().clone()
            } else {
                r.xds_entry().clone()
            }
        })
        .collect()
}
