//! The snapshot cache: immutable, versioned snapshots per group, and the one
//! seam between producers (the pipeline, tests) and the MCP server — a
//! [`Watch`] that resolves when a collection's version differs from what a
//! sink has, and is cancelled by dropping it.
//!
//! Each group is a `tokio::sync::watch` channel holding the latest snapshot:
//! setting a snapshot never blocks on sinks, a slow sink only ever sees the
//! newest state (intermediate snapshots coalesce), and no sink holds more
//! than one snapshot alive.

mod group;
mod resource;
mod snapshot;
mod status;
mod version;
mod watch;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use galleon_proto::mcp::SinkNode;
use tokio::sync::watch as channel;

pub use group::{CollectionGroups, DEFAULT_GROUP, DefaultGroup, GroupIndex};
pub use resource::{CachedResource, RESOURCE_TYPE_URL, REVISION_LABEL, resources_encoded};
pub use snapshot::{CollectionSnapshot, Delta, Snapshot, SnapshotBuilder};
pub use status::{CollectionStatus, Nack, SinkStatus, rfc3339_now};
pub(crate) use status::{StatusBoard, StatusHandle};
pub use watch::Watch;

type GroupSender = channel::Sender<Option<Arc<Snapshot>>>;

/// Snapshots per group, shared by the producer and every MCP stream.
/// Cloning is cheap and clones share state.
#[derive(Clone)]
pub struct SnapshotCache {
    inner: Arc<Inner>,
}

struct Inner {
    groups: Mutex<HashMap<String, GroupSender>>,
    index: Box<dyn GroupIndex>,
    status: Arc<StatusBoard>,
    /// Snapshots set since start.
    published: AtomicU64,
}

impl SnapshotCache {
    /// A cache whose sinks are assigned to groups by `index`.
    pub fn new(index: impl GroupIndex) -> Self {
        Self {
            inner: Arc::new(Inner {
                groups: Mutex::default(),
                index: Box::new(index),
                status: Arc::default(),
                published: AtomicU64::new(0),
            }),
        }
    }

    /// Publishes `snapshot` as `group`'s state and wakes the watches whose
    /// collection version changed.
    pub fn set_snapshot(&self, group: &str, snapshot: Snapshot) {
        // Counted before any watch wakes, so a sink that got the push sees
        // it counted.
        self.inner.published.fetch_add(1, Ordering::Relaxed);
        self.sender(group).send_replace(Some(Arc::new(snapshot)));
    }

    /// Snapshots published since start, every group together.
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::Relaxed)
    }

    /// Withdraws `group`'s snapshot; its watches park until a new one is set.
    pub fn clear_snapshot(&self, group: &str) {
        self.sender(group).send_replace(None);
    }

    /// `group`'s current snapshot.
    pub fn snapshot(&self, group: &str) -> Option<Arc<Snapshot>> {
        self.sender(group).borrow().clone()
    }

    /// Names of the groups that currently hold a snapshot, sorted.
    pub fn groups(&self) -> Vec<String> {
        let groups = self.lock();
        let mut names: Vec<_> = groups
            .iter()
            .filter(|(_, tx)| tx.borrow().is_some())
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// The group that serves `node`'s subscription to `collection`.
    pub fn group_for(&self, node: &SinkNode, collection: &str) -> String {
        self.inner.index.group(node, collection)
    }

    /// Waits for `collection` in `group` to have a version other than `known`
    /// (`None`: any version, i.e. answer as soon as the group has a snapshot).
    /// A collection a set snapshot does not mention is served as empty.
    pub fn watch(&self, group: &str, collection: &str, known: Option<Arc<str>>) -> Watch {
        Watch::new(self.sender(group).subscribe(), collection.into(), known)
    }

    /// The synchronisation status of every connected sink.
    pub fn sinks(&self) -> Vec<SinkStatus> {
        self.inner.status.all()
    }

    pub(crate) fn status_board(&self) -> &Arc<StatusBoard> {
        &self.inner.status
    }

    fn sender(&self, group: &str) -> GroupSender {
        self.lock()
            .entry(group.to_owned())
            .or_insert_with(|| channel::Sender::new(None))
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, GroupSender>> {
        self.inner
            .groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use galleon_proto::mcp::{Metadata, Resource};

    /// A resource named `name` whose body is `body`.
    pub(crate) fn resource(name: &str, body: &str) -> Resource {
        Resource {
            metadata: Some(Metadata {
                name: name.into(),
                labels: [("app".to_string(), "web".to_string())].into(),
                ..Default::default()
            }),
            body: Some(prost_types::Any {
                type_url: "type.googleapis.com/test".into(),
                value: body.as_bytes().to_vec(),
            }),
        }
    }
}
