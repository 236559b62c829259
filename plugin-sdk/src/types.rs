//! The plugin-facing data types: resources with `serde_json` bodies, events,
//! descriptions, mesh settings and diagnostics.

use std::collections::BTreeMap;

use serde_json::Value;

/// One configuration resource.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource {
    /// Its collection.
    pub collection: String,
    /// `namespace/name`, or `name` if cluster-scoped.
    pub name: String,
    /// The host's version of it (opaque).
    pub version: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time, if known.
    pub create_time: Option<String>,
    /// The body: the `spec`, or the whole object for kinds without one.
    pub body: Value,
}

impl Resource {
    /// A resource with a body and nothing else.
    pub fn new(collection: impl Into<String>, name: impl Into<String>, body: Value) -> Self {
        Self {
            collection: collection.into(),
            name: name.into(),
            body,
            ..Default::default()
        }
    }

    /// The namespace part of the name (empty for cluster-scoped resources).
    pub fn namespace(&self) -> &str {
        self.name.split_once('/').map_or("", |(ns, _)| ns)
    }

    /// The name without its namespace.
    pub fn short_name(&self) -> &str {
        self.name
            .split_once('/')
            .map_or(self.name.as_str(), |(_, n)| n)
    }
}

/// What happened to a collection.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A resource appeared.
    Added(Resource),
    /// A resource changed.
    Updated(Resource),
    /// A resource went away.
    Deleted {
        /// Its collection.
        collection: String,
        /// Its name.
        name: String,
    },
    /// A collection's initial state is complete.
    FullSync(String),
    /// Discard all state; the inputs are about to be replayed.
    Reset,
}

impl Event {
    /// The collection the event is about (`None` for `Reset`).
    pub fn collection(&self) -> Option<&str> {
        match self {
            Event::Added(r) | Event::Updated(r) => Some(&r.collection),
            Event::Deleted { collection, .. } | Event::FullSync(collection) => Some(collection),
            Event::Reset => None,
        }
    }

    /// The same event about another collection.
    pub fn with_collection(self, collection: &str) -> Self {
        match self {
            Event::Added(r) => Event::Added(Resource {
                collection: collection.into(),
                ..r
            }),
            Event::Updated(r) => Event::Updated(Resource {
                collection: collection.into(),
                ..r
            }),
            Event::Deleted { name, .. } => Event::Deleted {
                collection: collection.into(),
                name,
            },
            Event::FullSync(_) => Event::FullSync(collection.into()),
            Event::Reset => Event::Reset,
        }
    }
}

/// What a transformer consumes and produces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    /// Input collections.
    pub inputs: Vec<String>,
    /// Output collections.
    pub outputs: Vec<String>,
    /// One line on what it does.
    pub summary: String,
}

impl Description {
    /// A description.
    pub fn new<I, O>(inputs: I, outputs: O, summary: &str) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
        O: IntoIterator,
        O::Item: Into<String>,
    {
        Self {
            inputs: inputs.into_iter().map(Into::into).collect(),
            outputs: outputs.into_iter().map(Into::into).collect(),
            summary: summary.into(),
        }
    }
}

/// Galley's `MeshConfig` defaults, as the hub fills them in (shared with the
/// host: one file beside the WIT).
const MESH_DEFAULTS: &str = include_str!("../mesh-defaults.json");

/// The mesh configuration the hub runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Mesh {
    /// Istio `MeshConfig` as JSON, defaults filled in.
    pub config: Value,
    /// Cluster DNS suffix.
    pub domain_suffix: String,
}

impl Default for Mesh {
    fn default() -> Self {
        Self {
            config: serde_json::from_str(MESH_DEFAULTS)
                .expect("mesh-defaults.json is a JSON object"),
            domain_suffix: "cluster.local".into(),
        }
    }
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Rejects the resource.
    Error,
    /// Reported; the resource is accepted.
    Warning,
    /// Reported; the resource is accepted.
    Info,
}

/// One finding of a validator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// Path of the offending field, e.g. `spec.hosts`.
    pub field: Option<String>,
}

impl Diagnostic {
    /// An error (rejects the resource) about `field`.
    pub fn error(field: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A warning about `field`.
    pub fn warning(field: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

/// A JSON value's type in words, for error messages ("a list", "null", ...).
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A resource by collection and name.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceRef {
    /// Its collection.
    pub collection: String,
    /// `namespace/name`, or `name` if cluster-scoped.
    pub name: String,
}

impl ResourceRef {
    /// The resource `name` of `collection`.
    pub fn new(collection: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            collection: collection.into(),
            name: name.into(),
        }
    }
}

impl From<&Resource> for ResourceRef {
    fn from(resource: &Resource) -> Self {
        Self::new(&resource.collection, &resource.name)
    }
}

/// One message of an analyzer about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The analyzer that found it, e.g. `virtualservice.GatewayAnalyzer`.
    pub analyzer: String,
    /// Its code, e.g. `IST0101`.
    pub code: String,
    /// The code's name, e.g. `ReferencedResourceNotFound`.
    pub name: String,
    /// How serious.
    pub severity: Severity,
    /// Path of the field it is about, e.g. `spec.gateways[0]`.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub text: String,
    /// The other resources it names.
    pub references: Vec<ResourceRef>,
}

/// An analyzer's current messages about one resource; they replace all it
/// reported about that resource before (none clears them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The resource the messages are about.
    pub subject: ResourceRef,
    /// Its messages now.
    pub messages: Vec<Message>,
}

/// One analyzer a plugin holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalyzerInfo {
    /// Its name, e.g. `virtualservice.GatewayAnalyzer`.
    pub name: String,
    /// One line on what it finds.
    pub description: String,
    /// The collections it reads.
    pub inputs: Vec<String>,
}

/// What an analyzer plugin holds and reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analyzers {
    /// Every collection any of its analyzers reads.
    pub inputs: Vec<String>,
    /// Its analyzers.
    pub analyzers: Vec<AnalyzerInfo>,
    /// One line on what it does.
    pub summary: String,
}
