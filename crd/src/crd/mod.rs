//! The loaded CustomResourceDefinitions, indexed by (group, kind) and version.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::LoadError;
mod load;

pub use load::Note;

use crate::schema::Schema;

/// One version of a CRD.
#[derive(Debug, Clone)]
pub struct Version {
    /// `name` (`v1`).
    pub name: String,
    /// `served`: objects of this version are validated.
    pub served: bool,
    /// `storage`.
    pub storage: bool,
    /// The structural schema, its rules compiled.
    pub schema: Arc<Schema>,
}

/// One CustomResourceDefinition.
#[derive(Debug, Clone)]
pub struct Crd {
    /// `metadata.name` (`virtualservices.networking.istio.io`).
    pub name: String,
    /// `spec.group`.
    pub group: String,
    /// `spec.names.kind`.
    pub kind: String,
    /// `spec.names.plural`.
    pub plural: String,
    /// `spec.scope` is `Namespaced`.
    pub namespaced: bool,
    /// `spec.versions`.
    pub versions: Vec<Version>,
    /// Where it was read: file and line.
    pub origin: (PathBuf, usize),
}

impl Crd {
    /// A version by name.
    pub fn version(&self, name: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// `Kind.group`, as the API server names the kind in messages.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

/// Loaded CRDs, and what loading skipped or refused.
#[derive(Debug, Default)]
pub struct Crds {
    by_kind: HashMap<(String, String), Crd>,
    notes: Vec<Note>,
    problems: Vec<LoadError>,
}

/// `group/version` → (group, version); the core group has no slash.
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

impl Crds {
    /// Loads the CRDs in these files and directories. Never fails as a whole: what could not be
    /// read or loaded is in [`Crds::problems`], what was skipped in [`Crds::notes`].
    pub fn load<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Crds {
        Self::assemble(load::load(paths))
    }

    /// Loads the CRDs in `text` (YAML or JSON documents), naming `origin`
    /// in problems and notes as [`Crds::load`] names a file.
    pub fn from_text(text: &str, origin: &Path) -> Crds {
        Self::assemble(load::load_str(text, origin))
    }

    fn assemble(loaded: load::Loaded) -> Crds {
        let mut crds = Crds {
            notes: loaded.notes,
            problems: loaded.problems,
            ..Crds::default()
        };
        for crd in loaded.crds {
            tracing::debug!(crd = %crd.name, "CustomResourceDefinition loaded");
            crds.by_kind
                .insert((crd.group.clone(), crd.kind.clone()), crd);
        }
        crds
    }

    /// The CRD and served version for an object's `apiVersion` and `kind`.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<(&Crd, &Version)> {
        let (group, version) = split_api_version(api_version);
        let crd = self.by_kind.get(&(group.to_owned(), kind.to_owned()))?;
        let v = crd.version(version).filter(|v| v.served)?;
        Some((crd, v))
    }

    /// The CRD of a (group, kind).
    pub fn crd(&self, group: &str, kind: &str) -> Option<&Crd> {
        self.by_kind.get(&(group.to_owned(), kind.to_owned()))
    }

    /// Every loaded CRD, by group then kind.
    pub fn kinds(&self) -> Vec<&Crd> {
        let mut all: Vec<&Crd> = self.by_kind.values().collect();
        all.sort_by(|a, b| (&a.group, &a.kind).cmp(&(&b.group, &b.kind)));
        all
    }

    /// The schema of a served version.
    pub fn schema(&self, api_version: &str, kind: &str) -> Option<&Schema> {
        self.lookup(api_version, kind)
            .map(|(_, v)| v.schema.as_ref())
    }

    /// Documents skipped (not `apiextensions.k8s.io/v1` CRDs).
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// Files that could not be read and CRDs that were refused.
    pub fn problems(&self) -> &[LoadError] {
        &self.problems
    }

    /// How many CRDs loaded.
    pub fn len(&self) -> usize {
        self.by_kind.len()
    }

    /// Whether none loaded.
    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }
}
