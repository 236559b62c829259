//! Immutable, versioned snapshots: per collection, a version and its resources.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

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
            resources,
            entries: OnceLock::new(),
        }
    }

    /// An empty collection (what a sink gets for a collection that a group's
    /// snapshot does not mention).
    pub fn empty(collection: &str) -> Self {
        Self::new(collection, [])
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
        self.entries.get_or_init(|| {
            let mut resources = self.resources.values();
            if let (Some(only), None) = (resources.next(), resources.next()) {
                return only.entry().clone();
            }
            let size = self.resources.values().map(|r| r.entry().len()).sum();
            let mut entries = BytesMut::with_capacity(size);
            for resource in self.resources.values() {
                entries.extend_from_slice(resource.entry());
            }
            entries.freeze()
        })
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
