//! The ledger of bad input: every problem galleon found with what it was
//! given (a malformed document, an unknown kind, a duplicate name, a body a
//! codec cannot encode), grouped by scope (usually a file), with where and
//! why. A scope's problems are replaced whenever it is re-read, so the ledger
//! always shows what is wrong *now*; a counter keeps the total ever reported.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::event::Collection;

pub use galleon_mcp::quote::{self, escaped, quote};

/// One problem with the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where: `path`, `path:line (document n)` or a pipeline stage.
    pub location: String,
    /// Why, in words a user can act on.
    pub message: String,
    /// Whether it kept something out (an error) or was only worth saying
    /// (a warning: what it is about is served).
    #[serde(default)]
    pub severity: Severity,
}

/// How serious a problem is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was kept out, or is not working.
    #[default]
    Error,
    /// Worth saying; what it is about is served.
    Warning,
}

impl Problem {
    /// An error at `location`, described by `message`.
    pub fn new(location: impl fmt::Display, message: impl fmt::Display) -> Self {
        Self {
            location: location.to_string(),
            message: message.to_string(),
            severity: Severity::Error,
        }
    }

    /// A warning at `location`: what it is about is served.
    pub fn warning(location: impl fmt::Display, message: impl fmt::Display) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::new(location, message)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// What a set of problems belongs to: the problems of one scope are found
/// together and replaced together.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// One input file: a source file or the mesh-config file.
    File(PathBuf),
    /// The listing of a file source's tree (by source name).
    Listing(String),
    /// Names defined more than once across a file source's files.
    Duplicates(String),
    /// A source's link to what it reads (an etcd cluster, an upstream hub),
    /// by source name: set while it is down, cleared once it is back.
    Source(String),
    /// A validator's verdict on one resource.
    Validation(Collection, String),
    /// A resource the pipeline could not accumulate (a body its collection's
    /// codec cannot encode).
    Pipeline(Collection, String),
    /// One output resource that more than one transformer produces.
    Conflict(Collection, String),
    /// A plugin, by binding name.
    Plugin(String, PluginScope),
}

/// Which of a plugin's problems.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginScope {
    /// Loading a new version from its file.
    Load,
    /// Running: a failed instance and its restarts.
    Run,
    /// Swapping a loaded new version in.
    Upgrade,
    /// The plugin rejected one input resource.
    Rejection(Collection, String),
    /// Warnings and errors the plugin logged (the latest few).
    Log,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Listing(source) => write!(f, "listing of {source}"),
            Self::Duplicates(source) => write!(f, "duplicates in {source}"),
            Self::Source(source) => write!(f, "source {source}"),
            Self::Validation(collection, name) => write!(f, "validation {collection} {name}"),
            Self::Pipeline(collection, name) => write!(f, "pipeline {collection} {name}"),
            Self::Conflict(collection, name) => write!(f, "conflict {collection} {name}"),
            Self::Plugin(plugin, aspect) => match aspect {
                PluginScope::Load => write!(f, "plugin {plugin} load"),
                PluginScope::Run => write!(f, "plugin {plugin}"),
                PluginScope::Upgrade => write!(f, "plugin {plugin} upgrade"),
                PluginScope::Log => write!(f, "plugin {plugin} log"),
                PluginScope::Rejection(collection, name) => {
                    write!(f, "plugin {plugin} {collection} {name}")
                }
            },
        }
    }
}

/// The longest a problem's location or message is logged.
const LOGGED_MAX: usize = 2_000;

/// Current problems by scope. Cheap to clone; clones share the ledger.
#[derive(Clone, Default)]
pub struct Diagnostics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    scopes: Mutex<BTreeMap<Scope, Vec<Problem>>>,
    reported: AtomicU64,
}

impl Diagnostics {
    /// Replaces the problems of `scope`, logging the ones not already listed.
    pub fn set(&self, scope: &Scope, problems: Vec<Problem>) {
        self.replace(scope, problems, true);
    }

    /// Replaces the problems of `scope` without logging them: the caller
    /// logged them already (once per outage, where a ledger entry is kept
    /// per link).
    pub fn set_logged(&self, scope: &Scope, problems: Vec<Problem>) {
        self.replace(scope, problems, false);
    }

    /// Replaces the problems of `scope`, counting (and with `log`, logging)
    /// the ones not already listed.
    fn replace(&self, scope: &Scope, problems: Vec<Problem>, log: bool) {
        let mut scopes = self
            .inner
            .scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = scopes.remove(scope).unwrap_or_default();
        for problem in problems.iter().filter(|p| !old.contains(p)) {
            self.inner.reported.fetch_add(1, Ordering::Relaxed);
            if log {
                let location = escaped(&problem.location, LOGGED_MAX);
                warn!(location = %location, "{}", escaped(&problem.message, LOGGED_MAX));
            }
        }
        if !problems.is_empty() {
            scopes.insert(scope.clone(), problems);
        }
    }

    /// Adds `problem` to `scope`, keeping only the latest `keep`. It is not
    /// logged again: it comes from a line already logged.
    pub fn push(&self, scope: &Scope, problem: Problem, keep: usize) {
        let mut scopes = self
            .inner
            .scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let problems = scopes.entry(scope.clone()).or_default();
        problems.push(problem);
        let excess = problems.len().saturating_sub(keep);
        problems.drain(..excess);
        self.inner.reported.fetch_add(1, Ordering::Relaxed);
    }

    /// Clears `scope`.
    pub fn clear(&self, scope: &Scope) {
        self.set(scope, Vec::new());
    }

    /// Every current problem, by scope.
    pub fn current(&self) -> BTreeMap<Scope, Vec<Problem>> {
        self.inner
            .scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every current problem, flattened.
    pub fn problems(&self) -> Vec<Problem> {
        self.current().into_values().flatten().collect()
    }

    /// Problems reported since start (each distinct problem once per
    /// appearance).
    pub fn reported(&self) -> u64 {
        self.inner.reported.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(message: &str) -> Problem {
        Problem::new("f.yaml:1", message)
    }

    #[test]
    fn logged_text_cannot_forge_lines() {
        assert_eq!(escaped("line\nforged", LOGGED_MAX), "line\\nforged");
        assert_eq!(escaped("plain", LOGGED_MAX), "plain");
    }

    #[test]
    fn scopes_are_replaced_and_new_problems_counted_once() {
        let d = Diagnostics::default();
        let file = Scope::File("f.yaml".into());
        d.set(&file, vec![problem("bad")]);
        d.set(&file, vec![problem("bad")]);
        assert_eq!(d.reported(), 1);
        d.set(&file, vec![problem("bad"), problem("worse")]);
        assert_eq!(d.reported(), 2);
        assert_eq!(d.problems().len(), 2);
        d.clear(&file);
        assert!(d.current().is_empty());
    }

    #[test]
    fn a_file_named_like_a_scope_is_its_own_scope() {
        let d = Diagnostics::default();
        d.set(&Scope::File("duplicates".into()), vec![problem("bad")]);
        d.set(&Scope::Duplicates("files".into()), vec![problem("twice")]);
        d.clear(&Scope::Duplicates("files".into()));
        assert_eq!(d.problems(), vec![problem("bad")]);
    }
}
