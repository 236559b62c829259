//! Incremental xDS (`DeltaAggregatedResources`): per type URL, a wildcard
//! (`*`, or the legacy empty first request) or named subscription that
//! changes request by request; each response carries only what changed
//! since what the sink holds, with `removed_resources`, and per-resource
//! versions equal to the state-of-the-world ones. A sink that resumes lists
//! what it holds (`initial_resource_versions`) and gets only the difference.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use galleon_proto::rpc;
use galleon_proto::xds::{DeltaDiscoveryRequest, DeltaDiscoveryResponse, Node};

use super::flavour::{Answer, Change, Common, Flavour, Response};
use crate::cache::CollectionSnapshot;
use crate::server::push::grpc_frame;
use crate::server::session::{Pending, Session};

const WILDCARD: &str = "*";

/// Name → version, of what a sink holds.
type Held = BTreeMap<String, String>;

/// What a sink subscribes to of one type URL, and holds of it.
pub(in crate::server) struct Subscription {
    wildcard: bool,
    names: BTreeSet<String>,
    /// What the sink holds, as far as its ACKs say.
    held: Held,
    /// Whether any response was sent (the first is sent even if empty).
    responded: bool,
}

impl Subscription {
    fn wants(&self, name: &str) -> bool {
        self.wildcard || self.names.contains(name)
    }

    /// Applies a request's subscription changes; returns whether the sink
    /// asked for something new.
    fn change(&mut self, subscribe: Vec<String>, unsubscribe: Vec<String>) -> bool {
        for name in unsubscribe {
            if name == WILDCARD {
                self.wildcard = false;
            } else {
                self.names.remove(&name);
            }
            // An unsubscribed resource is forgotten by the sink.
            self.held.remove(&name);
        }
        let mut new = false;
        for name in subscribe {
            new |= if name == WILDCARD {
                !std::mem::replace(&mut self.wildcard, true)
            } else {
                self.names.insert(name)
            };
        }
        new
    }
}

/// The incremental flavour.
#[derive(Default)]
pub(in crate::server) struct Delta;

impl Flavour for Delta {
    type Request = DeltaDiscoveryRequest;
    type Subscription = Subscription;
    /// What the sink will hold once it ACKs the pending response.
    type Extra = Held;
    type Response = DeltaDiscoveryResponse;

    const NAME: &'static str = "xds-delta";
    /// `resource_names_subscribe`, `resource_names_unsubscribe`,
    /// `initial_resource_versions`.
    const NAMED_FIELDS: &'static [u32] = &[3, 4, 5];
    const INCREMENTAL: bool = true;

    fn node(request: &DeltaDiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }

    fn parts(request: &mut DeltaDiscoveryRequest) -> (String, String, Option<rpc::Status>) {
        let type_url = std::mem::take(&mut request.type_url);
        let nonce = std::mem::take(&mut request.response_nonce);
        (type_url, nonce, request.error_detail.take())
    }

    fn open(request: DeltaDiscoveryRequest) -> Subscription {
        let mut subscribe = request.resource_names_subscribe;
        if subscribe.is_empty() {
            // The legacy first request: an implicit wildcard.
            subscribe.push(WILDCARD.to_owned());
        }
        let mut subscription = Subscription {
            wildcard: false,
            names: BTreeSet::new(),
            held: request.initial_resource_versions,
            responded: false,
        };
        subscription.change(subscribe, Vec::new());
        subscription
    }

    fn names(subscription: &Subscription) -> usize {
        subscription.names.len()
    }

    fn change(
        subscription: &mut Subscription,
        request: DeltaDiscoveryRequest,
        answer: &Answer,
    ) -> Change {
        let subscribe = request.resource_names_subscribe;
        let unsubscribe = request.resource_names_unsubscribe;
        let nothing = subscribe.is_empty() && unsubscribe.is_empty();
        if subscription.change(subscribe, unsubscribe) {
            Change::New
        } else if nothing && matches!(answer, Answer::None) {
            Change::Repeated
        } else {
            Change::Nothing
        }
    }

    fn answered(subscription: &mut Subscription, pending: Pending<Held>, acked: bool) {
        if acked {
            subscription.held = pending.extra;
        }
    }

    fn respond(
        subscription: &mut Subscription,
        common: &Common<Held>,
        type_url: &str,
        state: &CollectionSnapshot,
        nonce: &str,
        session: &Session,
    ) -> Response<Held> {
        let Some(target) = &common.route.target else {
            return Response::Unchanged;
        };
        let shown: Vec<_> = state
            .resources()
            .filter(|r| session.visible(r) && subscription.wants(r.name()))
            .collect();
        let changed: Vec<_> = shown
            .iter()
            .filter(|r| subscription.held.get(&**r.name()).map(String::as_str) != Some(r.version()))
            .collect();
        let removed: Vec<String> = subscription
            .held
            .keys()
            .filter(|name| {
                !state
                    .get(name)
                    .is_some_and(|r| session.visible(r) && subscription.wants(name))
            })
            .cloned()
            .collect();
        if changed.is_empty() && removed.is_empty() && subscription.responded {
            return Response::Unchanged;
        }
        let mut after = subscription.held.clone();
        for name in &removed {
            after.remove(name);
        }
        for resource in &changed {
            after.insert(resource.name().to_string(), resource.version().to_string());
        }
        let entries: Vec<Bytes> = changed
            .iter()
            .map(|r| r.xds_delta_entry(target.bare))
            .collect();
        let header = DeltaDiscoveryResponse {
            system_version_info: state.version().to_string(),
            resources: Vec::new(),
            type_url: type_url.to_owned(),
            nonce: nonce.to_owned(),
            removed_resources: removed,
        };
        subscription.responded = true;
        Response::Send {
            resources: entries.len(),
            frame: grpc_frame(&header, entries),
            extra: after,
        }
    }

    fn empty(
        type_url: &str,
        nonce: &str,
    ) -> (
        DeltaDiscoveryResponse,
        Option<Arc<CollectionSnapshot>>,
        Held,
    ) {
        let response = DeltaDiscoveryResponse {
            type_url: type_url.to_owned(),
            nonce: nonce.to_owned(),
            ..Default::default()
        };
        (response, None, Held::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription() -> Subscription {
        Subscription {
            wildcard: false,
            names: BTreeSet::new(),
            held: Held::from([("ns/a".to_owned(), "1".to_owned())]),
            responded: false,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn subscriptions_change_by_name_and_wildcard() {
        let mut s = subscription();
        assert!(s.change(names(&["ns/a"]), Vec::new()), "a new name");
        assert!(!s.change(names(&["ns/a"]), Vec::new()), "nothing new");
        assert!(s.wants("ns/a") && !s.wants("ns/b"));
        assert!(s.change(names(&["*"]), Vec::new()), "the wildcard is new");
        assert!(s.wants("ns/b"));
        assert!(
            !s.change(Vec::new(), names(&["*"])),
            "unsubscribing is never new"
        );
        assert!(!s.wants("ns/b") && s.wants("ns/a"));
        s.change(Vec::new(), names(&["ns/a"]));
        assert!(!s.wants("ns/a"));
        assert!(s.held.is_empty(), "an unsubscribed resource is forgotten");
    }
}
