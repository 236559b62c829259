//! One collection on one sink stream: what the sink holds, what is in flight,
//! and the push (full or incremental) that brings the sink up to date.

use std::collections::BTreeMap;
use std::sync::Arc;

use galleon_proto::mcp::Resources;

use super::push::{Carried, Push};
use super::session::{Pending, Route};
use crate::cache::CollectionSnapshot;

/// What the sink is known to hold of a collection.
pub(super) enum Held {
    /// Nothing acknowledged yet on this stream: the next push is full state.
    Unknown,
    /// The state of the last acknowledged push.
    Acked(Arc<CollectionSnapshot>),
    /// Name → version pairs the sink declared when it resumed.
    Declared(BTreeMap<String, String>),
}

impl Held {
    fn version_of(&self, name: &str) -> Option<&str> {
        match self {
            Held::Unknown => None,
            Held::Acked(state) => state.get(name).map(|r| r.version().as_ref()),
            Held::Declared(versions) => versions.get(name).map(String::as_str),
        }
    }

    fn names(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Held::Unknown => Box::new(std::iter::empty()),
            Held::Acked(state) => Box::new(state.resources().map(|r| r.name().as_ref())),
            Held::Declared(versions) => Box::new(versions.keys().map(String::as_str)),
        }
    }
}

/// The protocol state of one collection on one stream.
pub(super) struct Subscription {
    pub(super) route: Route,
    pub(super) incremental: bool,
    pub(super) held: Held,
    /// Version of the last push the sink answered (ACK or NACK): the watch
    /// waits for anything else, so a NACKed version is never re-sent.
    pub(super) answered: Option<Arc<str>>,
    pub(super) pending: Option<Pending<()>>,
}

impl Subscription {
    /// A new subscription. A sink that asks for incremental pushes and lists
    /// the versions it holds resumes: its first push is a delta.
    pub(super) fn new(route: Route, incremental: bool, declared: BTreeMap<String, String>) -> Self {
        let held = if incremental && !declared.is_empty() {
            Held::Declared(declared)
        } else {
            Held::Unknown
        };
        Self {
            route,
            incremental,
            held,
            answered: None,
            pending: None,
        }
    }

    /// The message that brings the sink from what it holds to `state`:
    /// a delta when it asked for one and its holdings are known, else full.
    pub(super) fn push(&self, state: &Arc<CollectionSnapshot>, nonce: String) -> Push {
        let mut header = Resources {
            system_version_info: state.version().to_string(),
            collection: state.collection().to_owned(),
            nonce,
            ..Default::default()
        };
        if !self.incremental || matches!(self.held, Held::Unknown) {
            return Push {
                header,
                carried: Carried::All(state.clone()),
            };
        }
        header.incremental = true;
        let changed = match &self.held {
            // Every sink that acked the same version shares one delta.
            Held::Acked(acked) => {
                let delta = state.delta_from(acked);
                header.removed_resources = delta.removed.iter().map(|n| n.to_string()).collect();
                delta.changed.clone()
            }
            Held::Unknown | Held::Declared(_) => {
                header.removed_resources = self
                    .held
                    .names()
                    .filter(|name| state.get(name).is_none())
                    .map(str::to_owned)
                    .collect();
                state
                    .resources()
                    .filter(|r| self.held.version_of(r.name()) != Some(r.version()))
                    .cloned()
                    .collect()
            }
        };
        Push {
            header,
            carried: Carried::Some(changed),
        }
    }

    /// The sink answered `pending` (an ACK when `acked`): the watch waits
    /// for another version, and an ACK moves what it holds.
    pub(super) fn answered(&mut self, pending: Pending<()>, acked: bool) {
        let Some(state) = pending.state else {
            return;
        };
        self.answered = Some(state.version().clone());
        if acked {
            self.held = Held::Acked(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CachedResource;
    use crate::cache::test_support::resource;

    fn state(items: &[(&str, &str)]) -> Arc<CollectionSnapshot> {
        Arc::new(CollectionSnapshot::new(
            "c",
            items
                .iter()
                .map(|(n, b)| CachedResource::new(resource(n, b))),
        ))
    }

    /// `state` went out under `nonce` and the sink answered: ACK or NACK.
    fn sent_and_answered(
        sub: &mut Subscription,
        nonce: &str,
        state: &Arc<CollectionSnapshot>,
        ack: bool,
    ) {
        let pending = Pending {
            nonce: nonce.into(),
            state: Some(state.clone()),
            extra: (),
        };
        sub.answered(pending, ack);
    }

    fn route() -> Route {
        Route {
            target: None,
            group: "default".into(),
        }
    }

    fn names(push: Push) -> Vec<String> {
        push.into_message()
            .decode_resources()
            .unwrap()
            .into_iter()
            .map(|r| r.metadata.unwrap().name)
            .collect()
    }

    #[test]
    fn first_push_is_full_then_deltas_against_the_ack() {
        let mut sub = Subscription::new(route(), true, BTreeMap::new());
        let v1 = state(&[("ns/a", "1"), ("ns/b", "1")]);
        let first = sub.push(&v1, "1".into());
        assert!(!first.header.incremental);
        assert_eq!(names(first), ["ns/a", "ns/b"]);

        sent_and_answered(&mut sub, "1", &v1, true);
        let v2 = state(&[("ns/a", "2"), ("ns/c", "1")]);
        let delta = sub.push(&v2, "2".into());
        assert!(delta.header.incremental);
        assert_eq!(delta.header.removed_resources, ["ns/b"]);
        assert_eq!(names(delta), ["ns/a", "ns/c"]);
    }

    #[test]
    fn nack_keeps_the_acked_base() {
        let mut sub = Subscription::new(route(), true, BTreeMap::new());
        let v1 = state(&[("ns/a", "1")]);
        sent_and_answered(&mut sub, "1", &v1, true);
        let v2 = state(&[("ns/a", "2")]);
        sent_and_answered(&mut sub, "2", &v2, false);
        assert_eq!(sub.answered.as_ref(), Some(v2.version()));
        let v3 = state(&[("ns/a", "1"), ("ns/b", "1")]);
        // Computed against v1 (acked), not v2 (nacked): ns/a is unchanged.
        assert_eq!(names(sub.push(&v3, "3".into())), ["ns/b"]);
    }

    #[test]
    fn resume_is_a_delta_against_declared_versions() {
        let v1 = state(&[("ns/a", "1"), ("ns/b", "1")]);
        let declared = v1
            .resources()
            .map(|r| (r.name().to_string(), r.version().to_string()))
            .chain([("ns/gone".to_string(), "x".to_string())])
            .collect();
        let sub = Subscription::new(route(), true, declared);
        let push = sub.push(&v1, "1".into()).into_message();
        assert!(push.incremental);
        assert!(push.resources.is_empty());
        assert_eq!(push.removed_resources, ["ns/gone"]);
    }

    #[test]
    fn without_incremental_every_push_is_full() {
        let mut sub = Subscription::new(route(), false, BTreeMap::new());
        let v1 = state(&[("ns/a", "1")]);
        sent_and_answered(&mut sub, "1", &v1, true);
        let push = sub.push(&state(&[("ns/b", "1")]), "2".into());
        assert!(!push.header.incremental);
        assert_eq!(names(push), ["ns/b"]);
    }
}
