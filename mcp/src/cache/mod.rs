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
mod history;
mod pin;
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

pub use group::{CollectionGroups, DEFAULT_GROUP, DefaultGroup, GroupIndex, NodeSelector};
pub use history::{
    Answer, CollectionHistory, History, HistoryError, HistoryLimits, VersionRecord, Write, short,
};
pub use pin::PinStatus;
use pin::Pins;
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
    history: Arc<History>,
    /// Each group's snapshot as its producer set it, before pins.
    produced: Mutex<HashMap<String, Arc<Snapshot>>>,
    /// Groups served what another group publishes: target → followers.
    followers: Mutex<HashMap<String, Vec<String>>>,
    pins: Pins,
}

impl SnapshotCache {
    /// A cache whose sinks are assigned to groups by `index`, keeping the
    /// default history.
    pub fn new(index: impl GroupIndex) -> Self {
        Self::with_history(index, HistoryLimits::default())
    }

    /// A cache keeping history within `limits`.
    pub fn with_history(index: impl GroupIndex, limits: HistoryLimits) -> Self {
        let history = Arc::new(History::new(limits));
        Self {
            inner: Arc::new(Inner {
                groups: Mutex::default(),
                index: Box::new(index),
                status: Arc::new(StatusBoard::new(history.clone())),
                published: AtomicU64::new(0),
                history,
                produced: Mutex::default(),
                followers: Mutex::default(),
                pins: Pins::default(),
            }),
        }
    }

    /// Publishes `snapshot` as `group`'s state and wakes the watches whose
    /// collection version changed.
    pub fn set_snapshot(&self, group: &str, snapshot: Snapshot) {
        self.publish(group, snapshot, None);
    }

    /// [`set_snapshot`](Self::set_snapshot), noting in the history of each
    /// collection that changed what caused it (beyond the changed
    /// resources' origins, which are noted anyway).
    pub fn publish(&self, group: &str, snapshot: Snapshot, cause: Option<&str>) {
        let snapshot = Arc::new(snapshot);
        let followers = lock(&self.inner.followers)
            .get(group)
            .cloned()
            .unwrap_or_default();
        for group in std::iter::once(group).chain(followers.iter().map(String::as_str)) {
            self.produced(group, snapshot.clone(), cause);
        }
    }

    /// Records and serves `snapshot` as what `group`'s producer set.
    fn produced(&self, group: &str, snapshot: Arc<Snapshot>, cause: Option<&str>) {
        for collection in snapshot.collections() {
            self.inner.history.publish(group, collection, cause);
        }
        lock(&self.inner.produced).insert(group.to_owned(), snapshot.clone());
        self.serve(group, snapshot);
    }

    /// From now on `follower` is served what `group` publishes, starting
    /// with its current snapshot (a canary that ended: its sinks get
    /// exactly the difference, and nothing where the versions agree).
    pub fn follow(&self, follower: &str, group: &str, cause: &str) {
        let mut followers = lock(&self.inner.followers);
        let list = followers.entry(group.to_owned()).or_default();
        if !list.iter().any(|f| f == follower) {
            list.push(follower.to_owned());
        }
        let current = lock(&self.inner.produced).get(group).cloned();
        // Under the followers' lock: a publish of `group` waits, so the
        // follower never goes back to an older snapshot.
        if let Some(current) = current {
            self.produced(follower, current, Some(cause));
        }
    }

    /// Serves `produced` with `group`'s pins applied.
    fn serve(&self, group: &str, produced: Arc<Snapshot>) {
        let pinned = self.inner.pins.of_group(group);
        let served = if pinned.is_empty() {
            produced
        } else {
            Arc::new(produced.replacing(pinned))
        };
        // Counted before any watch wakes, so a sink that got the push sees
        // it counted.
        self.inner.published.fetch_add(1, Ordering::Relaxed);
        self.sender(group).send_replace(Some(served));
    }

    /// Serves the group's produced snapshot again (a pin came or went).
    fn reserve(&self, group: &str) {
        let produced = lock(&self.inner.produced).get(group).cloned();
        if let Some(produced) = produced {
            self.serve(group, produced);
        }
    }

    /// Every collection's history.
    pub fn history(&self) -> &Arc<History> {
        &self.inner.history
    }

    /// Pins `collection` in `group` to its kept `version` (for `duration`,
    /// if given, then released by itself): sinks are served that version
    /// while the producer's newer ones are only recorded. `by` says who
    /// asked, for the history. A timed pin must be made within a Tokio
    /// runtime.
    pub fn pin(
        &self,
        group: &str,
        collection: &str,
        version: &str,
        duration: Option<std::time::Duration>,
        by: &str,
    ) -> Result<PinStatus, HistoryError> {
        let content = self
            .inner
            .history
            .at(group, collection, version)
            .ok_or_else(|| HistoryError::UnknownVersion {
                collection: collection.to_owned(),
                reference: version.to_owned(),
                kept: "see /debug/history".into(),
            })?;
        let id = self.inner.pins.insert(group, content, duration, by);
        let action = match duration {
            Some(d) => format!(
                "rollback to {} for {}",
                short(version),
                humantime::format_duration(d)
            ),
            None => format!("rollback to {}", short(version)),
        };
        self.inner.history.wrote(group, collection, by, action);
        self.reserve(group);
        if let (Some(duration), Ok(runtime)) = (duration, tokio::runtime::Handle::try_current()) {
            let cache = self.clone();
            let (group, collection) = (group.to_owned(), collection.to_owned());
            runtime.spawn(async move {
                tokio::time::sleep(duration).await;
                if cache.inner.pins.remove_if(&group, &collection, id) {
                    cache
                        .inner
                        .history
                        .wrote(&group, &collection, "hub", "pin expired".into());
                    cache.reserve(&group);
                }
            });
        }
        Ok(self
            .pins()
            .into_iter()
            .find(|p| p.group == group && p.collection == collection)
            .expect("inserted above"))
    }

    /// Releases `collection`'s pin in `group`: sinks are served the newest
    /// version again. `false` when it was not pinned.
    pub fn release(&self, group: &str, collection: &str, by: &str) -> bool {
        if !self.inner.pins.remove(group, collection) {
            return false;
        }
        self.inner
            .history
            .wrote(group, collection, by, "release".into());
        self.reserve(group);
        true
    }

    /// Every pin in force, with the newest version each hides.
    pub fn pins(&self) -> Vec<PinStatus> {
        self.inner.pins.status(&self.inner.history)
    }

    /// Snapshots published since start, every group together.
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::Relaxed)
    }

    /// Withdraws `group`'s snapshot; its watches park until a new one is set.
    pub fn clear_snapshot(&self, group: &str) {
        lock(&self.inner.produced).remove(group);
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
        lock(&self.inner.groups)
    }
}

/// Locks `mutex`; its maps stay consistent even if an updater panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
