//! Incremental xDS (`DeltaAggregatedResources`): per type URL, a wildcard
//! (`*`, or the legacy empty first request) or named subscription that
//! changes request by request; each response carries only what changed
//! since what the sink holds, with `removed_resources`, and per-resource
//! versions equal to the state-of-the-world ones. A sink that resumes lists
//! what it holds (`initial_resource_versions`) and gets only the difference.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use galleon_proto::xds::{DeltaDiscoveryRequest, DeltaDiscoveryResponse, Node};
use tokio::time::Instant;
use tonic::Status;

use super::session::{Pending, Protocol, Route, Session, oldest};
use crate::cache::CollectionSnapshot;
use crate::server::push::grpc_frame;

const WILDCARD: &str = "*";

/// Name → version, of what a sink holds.
type Held = BTreeMap<String, String>;

/// One type URL on one stream.
struct Subscription {
    route: Route,
    wildcard: bool,
    names: BTreeSet<String>,
    /// What the sink holds, as far as its ACKs say.
    held: Held,
    /// What it will hold once it ACKs the pending response.
    pending: Option<Pending<Held>>,
    /// The version the sink last answered: the watch waits for another.
    answered: Option<Arc<str>>,
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
pub(super) struct Delta {
    subscriptions: HashMap<String, Subscription>,
}

impl Protocol for Delta {
    type Request = DeltaDiscoveryRequest;

    const NAME: &'static str = "xds-delta";

    fn node(request: &DeltaDiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }

    fn on_request(
        &mut self,
        request: DeltaDiscoveryRequest,
        session: &mut Session,
    ) -> Result<(), Status> {
        let type_url = request.type_url;
        let Some(subscription) = self.subscriptions.get_mut(&type_url) else {
            let mut subscribe = request.resource_names_subscribe;
            if subscribe.is_empty() {
                // The legacy first request: an implicit wildcard.
                subscribe.push(WILDCARD.to_owned());
            }
            let held = request.initial_resource_versions;
            self.subscribe(type_url, subscribe, held, session);
            return Ok(());
        };
        let mut rearm = false;
        if !request.response_nonce.is_empty() {
            let pending_nonce = subscription.pending.as_ref().map(|p| p.nonce.as_str());
            if pending_nonce == Some(request.response_nonce.as_str()) {
                let pending = subscription.pending.take().expect("checked above");
                let version = pending.state.as_ref().map(|s| s.version().clone());
                let acked = request.error_detail.is_none();
                session.answered(
                    &type_url,
                    version.as_deref().unwrap_or_default(),
                    request.error_detail,
                );
                if acked {
                    subscription.held = pending.extra;
                }
                subscription.answered = version;
                rearm = true;
            } else {
                session.stale(&type_url, &request.response_nonce);
            }
        }
        let subscribe = request.resource_names_subscribe;
        let unsubscribe = request.resource_names_unsubscribe;
        if subscribe.is_empty() && unsubscribe.is_empty() && request.response_nonce.is_empty() {
            session.repeated(&type_url);
        }
        if subscription.change(subscribe, unsubscribe) {
            subscription.answered = None;
            rearm = true;
        }
        if rearm && subscription.pending.is_none() {
            let known = subscription.answered.clone();
            session.arm(&type_url, &subscription.route, known);
        }
        Ok(())
    }

    fn on_change(
        &mut self,
        type_url: &str,
        state: Arc<CollectionSnapshot>,
        session: &mut Session,
    ) -> Option<Vec<Bytes>> {
        let subscription = self.subscriptions.get_mut(type_url)?;
        let bare = subscription.route.target.as_ref()?.bare;
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
            // Nothing this sink sees changed: wait for the next version.
            subscription.answered = Some(state.version().clone());
            let known = subscription.answered.clone();
            session.arm(type_url, &subscription.route, known);
            return None;
        }
        let mut after = subscription.held.clone();
        for name in &removed {
            after.remove(name);
        }
        for resource in &changed {
            after.insert(resource.name().to_string(), resource.version().to_string());
        }
        let entries: Vec<Bytes> = changed.iter().map(|r| r.xds_delta_entry(bare)).collect();
        let nonce = session.nonce();
        let header = DeltaDiscoveryResponse {
            system_version_info: state.version().to_string(),
            resources: Vec::new(),
            type_url: type_url.to_owned(),
            nonce: nonce.clone(),
            removed_resources: removed,
        };
        session.sent(type_url, state.version(), entries.len());
        subscription.responded = true;
        subscription.pending = Some(Pending {
            nonce,
            state: Some(state),
            sent: Instant::now(),
            extra: after,
        });
        Some(grpc_frame(&header, entries))
    }

    fn oldest_pending(&self) -> Option<Instant> {
        oldest(self.subscriptions.values().map(|s| s.pending.as_ref()))
    }
}

impl Delta {
    fn subscribe(
        &mut self,
        type_url: String,
        subscribe: Vec<String>,
        held: Held,
        session: &mut Session,
    ) {
        let mut subscription = Subscription {
            route: session.route(&type_url, true),
            wildcard: false,
            names: BTreeSet::new(),
            held,
            pending: None,
            answered: None,
            responded: false,
        };
        subscription.change(subscribe, Vec::new());
        if subscription.route.target.is_some() {
            session.arm(&type_url, &subscription.route, None);
        } else {
            let nonce = session.nonce();
            let response = DeltaDiscoveryResponse {
                type_url: type_url.clone(),
                nonce: nonce.clone(),
                ..Default::default()
            };
            session.answer_empty(&type_url, "", &response);
            subscription.pending = Some(Pending {
                nonce,
                state: None,
                sent: Instant::now(),
                extra: Held::new(),
            });
        }
        self.subscriptions.insert(type_url, subscription);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription() -> Subscription {
        Subscription {
            route: Route {
                target: None,
                group: String::new(),
            },
            wildcard: false,
            names: BTreeSet::new(),
            held: Held::from([("ns/a".to_owned(), "1".to_owned())]),
            pending: None,
            answered: None,
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
