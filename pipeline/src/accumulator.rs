//! The accumulator of one output collection: the current resources, encoded
//! once per change, and whether every transformer feeding it has synced.
//!
//! Several transformers may feed one collection (the direct mapping and the
//! ingress plugin both write VirtualServices). Each resource name is held
//! per producer: when two claim one name, the first-bound producer's version
//! is served, whatever order they came in (so every replica serves the
//! same), the other is kept aside and reported, and it is served if the
//! first withdraws its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use galleon_proto::mcp::{Metadata, Resource};

use crate::codec::{BodyCodec, CodecError};
use crate::event::{Collection, Entry, Event};
use galleon_mcp::cache::{CachedResource, CollectionSnapshot};

/// Why a resource cannot be served.
#[derive(Debug, thiserror::Error)]
enum EncodeError {
    #[error("cannot serve {name} as {collection}: {error}")]
    Body {
        name: String,
        collection: Collection,
        error: CodecError,
    },
    #[error("{name}: creationTimestamp {text:?} is not RFC 3339: {error}")]
    CreateTime {
        name: String,
        text: String,
        error: prost_types::TimestampError,
    },
}

/// One output collection's state.
pub(crate) struct Accumulator {
    collection: Collection,
    codec: Arc<dyn BodyCodec>,
    /// Per name, each producer's version (by producer index); the first is
    /// served.
    resources: BTreeMap<String, BTreeMap<usize, CachedResource>>,
    feeders: usize,
    synced_feeders: usize,
    snapshot: Option<Arc<CollectionSnapshot>>,
}

/// What applying an event did.
pub(crate) enum Applied {
    /// The collection's content or sync state changed; the codec's warnings
    /// about the resource, if any.
    Changed(Vec<String>),
    /// Nothing changed (e.g. identical content).
    Unchanged(Vec<String>),
    /// The event was rejected, for this reason; the previous state stands.
    Rejected(String),
}

impl Accumulator {
    /// An accumulator fed by `feeders` transformers. With none it is synced
    /// (and empty) from the start.
    pub(super) fn new(collection: Collection, codec: Arc<dyn BodyCodec>, feeders: usize) -> Self {
        Self {
            collection,
            codec,
            resources: BTreeMap::new(),
            feeders,
            synced_feeders: 0,
            snapshot: None,
        }
    }

    pub(super) fn synced(&self) -> bool {
        self.synced_feeders >= self.feeders
    }

    /// Applies `event`, an output of transformer `producer`.
    pub(super) fn apply(&mut self, event: &Event, producer: usize) -> Applied {
        let applied = match event {
            Event::Added(_, entry) | Event::Updated(_, entry) => self.set(entry, producer),
            Event::Deleted(_, name) => self.delete(name, producer),
            Event::FullSync(_) => {
                self.synced_feeders += 1;
                if self.synced_feeders == self.feeders {
                    Applied::Changed(Vec::new())
                } else {
                    Applied::Unchanged(Vec::new())
                }
            }
            Event::Reset => {
                self.resources.clear();
                self.synced_feeders = 0;
                Applied::Changed(Vec::new())
            }
        };
        if matches!(applied, Applied::Changed(_)) {
            self.snapshot = None;
        }
        applied
    }

    fn set(&mut self, entry: &Entry, producer: usize) -> Applied {
        let (resource, warnings) = match self.encode(entry) {
            Ok(encoded) => encoded,
            Err(error) => return Applied::Rejected(error.to_string()),
        };
        let claims = self.resources.entry(entry.name.clone()).or_default();
        let served = served_version(claims);
        claims.insert(producer, resource);
        if served_version(claims) == served {
            Applied::Unchanged(warnings)
        } else {
            Applied::Changed(warnings)
        }
    }

    fn delete(&mut self, name: &str, producer: usize) -> Applied {
        let Some(claims) = self.resources.get_mut(name) else {
            return Applied::Unchanged(Vec::new());
        };
        let served = served_version(claims);
        claims.remove(&producer);
        let now = served_version(claims);
        if claims.is_empty() {
            self.resources.remove(name);
        }
        if now == served {
            Applied::Unchanged(Vec::new())
        } else {
            Applied::Changed(Vec::new())
        }
    }

    /// The producers holding a version of `name`, the served one first.
    pub(super) fn claimants(&self, name: &str) -> Vec<usize> {
        self.resources
            .get(name)
            .map(|claims| claims.keys().copied().collect())
            .unwrap_or_default()
    }

    fn encode(&self, entry: &Entry) -> Result<(CachedResource, Vec<String>), EncodeError> {
        let encoded =
            self.codec
                .encode(&entry.body.value())
                .map_err(|error| EncodeError::Body {
                    name: entry.name.clone(),
                    collection: self.collection.clone(),
                    error,
                })?;
        let create_time = match &entry.create_time {
            Some(text) => Some(text.parse::<prost_types::Timestamp>().map_err(|error| {
                EncodeError::CreateTime {
                    name: entry.name.clone(),
                    text: text.clone(),
                    error,
                }
            })?),
            None => None,
        };
        let resource = CachedResource::new(Resource {
            metadata: Some(Metadata {
                name: entry.name.clone(),
                create_time,
                version: String::new(),
                labels: entry.labels.clone(),
                annotations: entry.annotations.clone(),
            }),
            body: Some(encoded.body),
        })
        .with_origin(entry.origin.as_ref().map(|o| o.to_string().into()));
        Ok((resource, encoded.warnings))
    }

    /// The collection's current state; unchanged since the last call, the
    /// same `Arc` (so an unchanged collection costs nothing to republish).
    pub(super) fn snapshot(&mut self) -> Arc<CollectionSnapshot> {
        self.snapshot
            .get_or_insert_with(|| {
                Arc::new(CollectionSnapshot::new(
                    &self.collection,
                    self.resources
                        .values()
                        .filter_map(|claims| claims.values().next().cloned()),
                ))
            })
            .clone()
    }
}

/// The served version among a name's claims: the first producer's.
fn served_version(claims: &BTreeMap<usize, CachedResource>) -> Option<Arc<str>> {
    claims.values().next().map(|r| r.version().clone())
}
