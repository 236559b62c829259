//! Events that flow from sources through the pipeline, and the resource
//! record (`Entry`) they carry.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

/// A collection name, e.g. `k8s/networking.istio.io/v1alpha3/virtualservices`
/// (a source collection) or `istio/networking/v1alpha3/virtualservices` (an
/// output collection served over MCP).
pub type Collection = Arc<str>;

/// Where a resource came from, for error messages and status pages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The file (or other source locator).
    pub path: PathBuf,
    /// Index of the document within the file, from 0.
    pub document: usize,
    /// Line where the document starts, from 1.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} (document {})",
            self.path.display(),
            self.line,
            self.document
        )
    }
}

/// One resource as the pipeline sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// `namespace/name`, or `name` for cluster-scoped kinds (Galley's
    /// convention, which sinks rely on).
    pub name: String,
    /// Labels from the resource's metadata.
    pub labels: BTreeMap<String, String>,
    /// Annotations from the resource's metadata.
    pub annotations: BTreeMap<String, String>,
    /// `metadata.creationTimestamp`, as written (RFC 3339).
    pub create_time: Option<String>,
    /// The source's version of the resource (informational; the cache
    /// versions by content).
    pub version: String,
    /// The body served to sinks (the `spec`, or the whole object for kinds
    /// Galley took whole).
    pub body: Body,
    /// Where it was read from, if anywhere.
    pub origin: Option<Arc<Origin>>,
}

/// A resource body, held once as its JSON text and shared by every stage
/// and version that holds it. A parse tree costs about twelve times its
/// text (a Pod: 5,959 bytes as a `serde_json::Value`, 481 as text, since a
/// map of two allocates a node of eleven slots), and the text is what
/// crosses into a plugin; a stage that reads fields parses it
/// ([`Body::value`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Body(Arc<str>);

impl Body {
    /// The body `value` stands for.
    pub fn new(value: &Value) -> Self {
        // A `Value` always serialises (its map keys are strings).
        Self(serde_json::to_string(value).unwrap_or_default().into())
    }

    /// Its JSON text.
    pub fn json(&self) -> &str {
        &self.0
    }

    /// It parsed: a tree of its own, for a stage that reads or edits it.
    pub fn value(&self) -> Value {
        // Made from a `Value`, so always JSON.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// Its size as text, in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty text (never, for a body made from a value).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Value> for Body {
    fn from(value: Value) -> Self {
        Self::new(&value)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened to a collection.
///
/// A resource is held once, shared (`Arc`): the source's record of it, the
/// events that carry it and every stage that keeps it (a plugin binding's
/// record for replay, the analyzers' state) hold the same allocation, so a
/// cluster's inputs cost one copy whatever reads them.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A resource appeared.
    Added(Collection, Arc<Entry>),
    /// A resource changed.
    Updated(Collection, Arc<Entry>),
    /// A resource went away.
    Deleted(Collection, String),
    /// The collection's initial state is complete.
    FullSync(Collection),
    /// Discard everything and rebuild.
    Reset,
}

impl Event {
    /// The collection the event is about (`None` for `Reset`).
    pub fn collection(&self) -> Option<&Collection> {
        match self {
            Event::Added(c, _)
            | Event::Updated(c, _)
            | Event::Deleted(c, _)
            | Event::FullSync(c) => Some(c),
            Event::Reset => None,
        }
    }

    /// The resource the event is about, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            Event::Added(_, e) | Event::Updated(_, e) => Some(&e.name),
            Event::Deleted(_, name) => Some(name),
            Event::FullSync(_) | Event::Reset => None,
        }
    }

    /// The same event about another collection (the direct mapping's rename).
    pub fn with_collection(self, collection: Collection) -> Self {
        match self {
            Event::Added(_, e) => Event::Added(collection, e),
            Event::Updated(_, e) => Event::Updated(collection, e),
            Event::Deleted(_, n) => Event::Deleted(collection, n),
            Event::FullSync(_) => Event::FullSync(collection),
            Event::Reset => Event::Reset,
        }
    }
}
