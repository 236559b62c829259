//! Immutable, versioned snapshots: per collection, a version and its resources.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use super::resource::CachedResource;
use super::version::VersionHasher;

/// The state of one collection at one point in time.
#[derive(Debug)]
pub struct CollectionSnapshot {
    collection: Arc<str>,
    version: Arc<str>,
    resources: BTreeMap<Arc<str>, CachedResource>,
    /// Every resource's entry, concatenated: the body of a full-state push,
    /// built on first use and shared by every stream that gets one.
    entries: OnceLock<Bytes>,
    /// The same for MCP over xDS: every resource as a `DiscoveryResponse`
    /// entry.
    xds_entries: OnceLock<Bytes>,
    /// Whether any resource is tied to an Istio revision.
    revisioned: bool,
    /// The last delta computed from an older version: the sinks that all
    /// held that version share it.
    delta: Mutex<Option<Arc<Delta>>>,
    /// When this state was built (an unchanged collection keeps its
    /// snapshot, so this is when it last changed).
    made: SystemTime,
}

/// What changed from one version of a collection to another.
#[derive(Debug, PartialEq, Eq)]
pub struct Delta {
    /// The version the delta starts from.
    pub base: Arc<str>,
    /// Resources added or changed since `base`, by name.
    pub changed: Vec<CachedResource>,
    /// Names removed since `base`.
    pub removed: Vec<Arc<str>>,
}

/// `parts` in one buffer; a single part is used as it is.
fn concatenated<'a>(parts: impl Iterator<Item = &'a Bytes> + Clone) -> Bytes {
    let mut all = parts.clone();
    if let (Some(only), None) = (all.next(), all.next()) {
        return only.clone();
    }
    let mut buffer = BytesMut::with_capacity(parts.clone().map(Bytes::len).sum());
    for part in parts {
        buffer.extend_from_slice(part);
    }
    buffer.freeze()
}

impl PartialEq for CollectionSnapshot {
    fn eq(&self, other: &Self) -> bool {
        (&self.collection, &self.version, &self.resources)
            == (&other.collection, &other.version, &other.resources)
    }
}

impl Eq for CollectionSnapshot {}

impl CollectionSnapshot {
    /// Builds a collection from its resources. Names are unique: when two
    /// resources share a name, the later one wins.
    pub fn new(collection: &str, resources: impl IntoIterator<Item = CachedResource>) -> Self {
        let resources: BTreeMap<_, _> = resources
            .into_iter()
            .map(|r| (r.name().clone(), r))
            .collect();
        let mut hasher = VersionHasher::default();
        for (name, resource) in &resources {
            hasher
                .field(name.as_bytes())
                .field(resource.version().as_bytes());
        }
        Self {
            collection: collection.into(),
            version: hasher.finish().into(),
            revisioned: resources.values().any(|r| r.revision().is_some()),
            resources,
            entries: OnceLock::new(),
            xds_entries: OnceLock::new(),
            delta: Mutex::default(),
            made: SystemTime::now(),
        }
    }

    /// An empty collection (what a sink gets for a collection that a group's
    /// snapshot does not mention).
    pub fn empty(collection: &str) -> Self {
        Self::new(collection, [])
    }

    /// When this state was built: when the collection last changed.
    pub fn made_at(&self) -> SystemTime {
        self.made
    }

    /// The collection's name.
    pub fn collection(&self) -> &str {
        &self.collection
    }

    /// A hash of every (name, version) pair: equal content, equal version,
    /// whatever order the resources arrived in.
    pub fn version(&self) -> &Arc<str> {
        &self.version
    }

    /// The resources, ordered by name.
    pub fn resources(&self) -> impl ExactSizeIterator<Item = &CachedResource> {
        self.resources.values()
    }

    /// One resource by name.
    pub fn get(&self, name: &str) -> Option<&CachedResource> {
        self.resources.get(name)
    }

    /// Every resource as an entry of `Resources.resources`, in name order,
    /// in one buffer: assembled once per snapshot (a single resource's own
    /// bytes are used as they are), then shared by every full-state push.
    pub fn entries(&self) -> &Bytes {
        self.entries
            .get_or_init(|| concatenated(self.resources.values().map(CachedResource::entry)))
    }

    /// Every resource as an entry of an xDS `DiscoveryResponse`, in one
    /// buffer, like [`entries`](Self::entries).
    pub fn xds_entries(&self) -> &Bytes {
        self.xds_entries
            .get_or_init(|| concatenated(self.resources.values().map(CachedResource::xds_entry)))
    }

    /// Whether any resource carries an `istio.io/rev` label.
    pub fn is_revisioned(&self) -> bool {
        self.revisioned
    }

    /// What changed since `base`: computed once per (base, this) pair in a
    /// merge of the two name-ordered maps, then shared.
    pub fn delta_from(&self, base: &CollectionSnapshot) -> Arc<Delta> {
        let mut last = self.delta.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(delta) = last.as_ref().filter(|d| d.base == base.version) {
            return delta.clone();
        }
        let delta = Arc::new(self.changes_from(base));
        *last = Some(delta.clone());
        delta
    }

    /// What changed since `base`, computed afresh (not shared: for
    /// introspection, where [`delta_from`](Self::delta_from)'s one shared
    /// delta belongs to the sinks).
    pub fn changes_from(&self, base: &CollectionSnapshot) -> Delta {
        let (mut changed, mut removed) = (Vec::new(), Vec::new());
        let mut old = base.resources.iter().peekable();
        let mut new = self.resources.iter().peekable();
        loop {
            let order = match (old.peek(), new.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((o, _)), Some((n, _))) => o.cmp(n),
            };
            match order {
                Ordering::Less => removed.push(old.next().expect("peeked").0.clone()),
                Ordering::Greater => changed.push(new.next().expect("peeked").1.clone()),
                Ordering::Equal => {
                    let (_, before) = old.next().expect("peeked");
                    let (_, now) = new.next().expect("peeked");
                    if before.version() != now.version() {
                        changed.push(now.clone());
                    }
                }
            }
        }
        Delta {
            base: base.version.clone(),
            changed,
            removed,
        }
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether the collection holds no resources.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// A group's state: its collections, each with its own version.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    collections: BTreeMap<String, Arc<CollectionSnapshot>>,
}

impl Snapshot {
    /// Starts an empty snapshot.
    pub fn builder() -> SnapshotBuilder {
        SnapshotBuilder::default()
    }

    /// One collection's state, if the snapshot has it.
    pub fn collection(&self, name: &str) -> Option<&Arc<CollectionSnapshot>> {
        self.collections.get(name)
    }

    /// All collections, ordered by name.
    pub fn collections(&self) -> impl Iterator<Item = &Arc<CollectionSnapshot>> {
        self.collections.values()
    }

    /// The same snapshot with `replacements` in place of the collections
    /// of their names.
    pub(crate) fn replacing(
        &self,
        replacements: impl IntoIterator<Item = Arc<CollectionSnapshot>>,
    ) -> Snapshot {
        let mut collections = self.collections.clone();
        for collection in replacements {
            collections.insert(collection.collection().to_owned(), collection);
        }
        Snapshot { collections }
    }
}

/// Assembles a [`Snapshot`]; collections that did not change can be carried
/// over from the previous snapshot by `Arc` without re-encoding anything.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    collections: BTreeMap<String, Arc<CollectionSnapshot>>,
}

impl SnapshotBuilder {
    /// Adds a collection built from `resources`.
    pub fn collection(
        self,
        collection: &str,
        resources: impl IntoIterator<Item = CachedResource>,
    ) -> Self {
        self.with(Arc::new(CollectionSnapshot::new(collection, resources)))
    }

    /// Adds an already-built collection, replacing one of the same name.
    pub fn with(mut self, collection: Arc<CollectionSnapshot>) -> Self {
        self.collections
            .insert(collection.collection().to_owned(), collection);
        self
    }

    /// Finishes the snapshot.
    pub fn build(self) -> Snapshot {
        Snapshot {
            collections: self.collections,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::test_support::resource;

    #[test]
    fn versions_do_not_depend_on_insertion_order() {
        let forward = ["ns/a", "ns/b", "ns/c"].map(|n| resource(n, n));
        let mut backward = forward.clone();
        backward.reverse();
        let a = CollectionSnapshot::new("c", forward.map(CachedResource::new));
        let b = CollectionSnapshot::new("c", backward.map(CachedResource::new));
        assert_eq!(a.version(), b.version());
        assert_eq!(a, b);
    }

    #[test]
    fn deltas_are_computed_once_per_base_and_shared() {
        let v1 = CollectionSnapshot::new(
            "c",
            [
                resource("ns/a", "1"),
                resource("ns/b", "1"),
                resource("ns/d", "1"),
            ]
            .map(CachedResource::new),
        );
        let v2 = CollectionSnapshot::new(
            "c",
            [
                resource("ns/a", "2"),
                resource("ns/c", "1"),
                resource("ns/d", "1"),
            ]
            .map(CachedResource::new),
        );
        let delta = v2.delta_from(&v1);
        let changed: Vec<&str> = delta.changed.iter().map(|r| &**r.name()).collect();
        assert_eq!(changed, ["ns/a", "ns/c"]);
        assert_eq!(delta.removed, [Arc::from("ns/b")]);
        assert!(Arc::ptr_eq(&delta, &v2.delta_from(&v1)), "shared");
        let from_empty = v2.delta_from(&CollectionSnapshot::empty("c"));
        assert_eq!(from_empty.changed.len(), 3);
        assert!(from_empty.removed.is_empty());
    }

    #[test]
    fn versions_change_with_content_and_membership() {
        let base = CollectionSnapshot::new("c", [CachedResource::new(resource("ns/a", "1"))]);
        let changed = CollectionSnapshot::new("c", [CachedResource::new(resource("ns/a", "2"))]);
        let grown = CollectionSnapshot::new(
            "c",
            [resource("ns/a", "1"), resource("ns/b", "1")].map(CachedResource::new),
        );
        assert_ne!(base.version(), changed.version());
        assert_ne!(base.version(), grown.version());
        assert_ne!(base.version(), CollectionSnapshot::empty("c").version());
    }
}
