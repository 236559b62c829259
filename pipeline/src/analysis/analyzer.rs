//! The analyzer seam: a long-lived stage that reads the events of its input
//! collections and answers with reports (each resource's messages now). The
//! plugin host implements it for WebAssembly analyzers.

use std::fmt;
use std::sync::Arc;

use crate::event::{Collection, Event, Origin};
use crate::mesh::MeshSettings;

/// A resource by collection and name.
pub type ResourceKey = (Collection, String);

/// How serious a message is (Istio's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Most likely config that does not work.
    Error,
    /// Config that works but probably not as meant.
    Warning,
    /// Worth knowing.
    Info,
}

impl Level {
    /// Its name as istioctl prints it: `Error`, `Warning`, `Info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "Error",
            Level::Warning => "Warning",
            Level::Info => "Info",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    pub level: Level,
    /// The field it is about, e.g. `spec.gateways[0]`.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub text: String,
    /// The other resources it names.
    pub references: Vec<ResourceKey>,
}

/// An analyzer's messages about one resource now; they replace what it
/// reported about that resource before (none clears them).
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The resource they are about.
    pub subject: ResourceKey,
    /// Where that resource was read from, when the analyzer's host knows.
    pub origin: Option<Arc<Origin>>,
    /// Its messages now.
    pub messages: Vec<Message>,
}

/// What one `handle` produced.
#[derive(Debug, Default)]
pub struct Analyzed {
    /// Reports of the resources whose messages may have changed.
    pub reports: Vec<Report>,
    /// These are all the analyzer's messages (after a replay into a fresh
    /// instance): what it reported before about other resources is gone.
    pub complete: bool,
}

/// An analyzer bound into a session.
///
/// It contains its own failures: an `Err` says why it could not analyze
/// (its last reports stand, marked stale, until it recovers and answers
/// complete).
pub trait Analyzer: Send {
    /// Its binding's name.
    fn name(&self) -> &str;
    /// Collections it reads.
    fn inputs(&self) -> Vec<Collection>;
    /// Handles `events` (of its inputs, in order).
    fn handle(&mut self, events: &[Event]) -> Result<Analyzed, String>;
    /// Called when something outside the event stream changed (a plugin
    /// was replaced, a retry is due): reports, if it has new ones.
    fn refresh(&mut self) -> Option<Result<Analyzed, String>> {
        None
    }
}

/// Builds a session's analyzer from the session's mesh settings.
pub trait AnalyzerFactory: Send + Sync + 'static {
    /// Its binding's name.
    fn name(&self) -> String;
    /// Collections the analyzer reads (known before building).
    fn inputs(&self) -> Vec<Collection>;
    /// A fresh analyzer.
    fn build(&self, mesh: &MeshSettings) -> Box<dyn Analyzer>;
}
