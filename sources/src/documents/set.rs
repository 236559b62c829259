//! The resources a file source currently holds: which documents each file
//! contributes, who claims each (collection, name), and what was last sent
//! downstream — so every reload turns into exactly the events that changed.
//!
//! Bad input loses nothing: a file that cannot be read keeps contributing
//! what it contributed before, and a file with a bad document keeps the
//! resources of its previous version that the new version no longer yields
//! (one of them is the bad document's last good version) until the file
//! parses cleanly again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::parse::{Document, ParsedFile};
use galleon_pipeline::diagnostics::Problem;
use galleon_pipeline::event::{Collection, Event};

type Key = (Collection, String);

/// A file's documents by (document index, key): a `kind: List` document
/// yields several resources under one index.
type FileDocuments = HashMap<(usize, Key), Arc<Document>>;

#[derive(Default)]
pub(crate) struct DocumentSet {
    files: BTreeMap<PathBuf, FileDocuments>,
    /// Every (file, document index) defining a key; the first one wins.
    claims: BTreeMap<Key, BTreeSet<(Arc<Path>, usize)>>,
    /// Hash of what was sent downstream for each key.
    sent: HashMap<Key, [u8; 32]>,
}

fn key(document: &Document) -> Key {
    (document.collection.clone(), document.entry.name.clone())
}

impl DocumentSet {
    /// The files currently contributing resources.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.files.keys().cloned().collect()
    }

    /// Whether any file below `dir` contributes resources.
    pub(crate) fn holds_files_under(&self, dir: &Path) -> bool {
        self.files
            .range(dir.to_path_buf()..)
            .next()
            .is_some_and(|(path, _)| path.starts_with(dir))
    }

    /// Replaces `path`'s contribution with what it now yields. With
    /// `complete == false` (the file had problems) the resources it no longer
    /// yields are kept. Returns the keys whose winner may have changed.
    pub(crate) fn update(&mut self, path: &Path, parsed: ParsedFile, complete: bool) -> Vec<Key> {
        let mut documents: FileDocuments = parsed
            .documents
            .into_iter()
            .map(|d| ((d.origin().document, key(&d)), Arc::new(d)))
            .collect();
        let previous = self.files.get(path);
        if !complete && let Some(previous) = previous {
            let yielded: HashSet<&Key> = documents.keys().map(|(_, k)| k).collect();
            let kept: Vec<_> = previous
                .iter()
                .filter(|((_, k), _)| !yielded.contains(k))
                .map(|(id, d)| (id.clone(), d.clone()))
                .collect();
            documents.extend(kept);
        }
        let mut touched = self.remove(path);
        let path: Arc<Path> = path.into();
        for (index, k) in documents.keys() {
            self.claims
                .entry(k.clone())
                .or_default()
                .insert((path.clone(), *index));
            touched.push(k.clone());
        }
        if !documents.is_empty() {
            self.files.insert(path.to_path_buf(), documents);
        }
        touched
    }

    /// Forgets `path`. Returns the keys it claimed.
    pub(crate) fn remove(&mut self, path: &Path) -> Vec<Key> {
        let documents = self.files.remove(path).unwrap_or_default();
        let mut touched = Vec::with_capacity(documents.len());
        let path: Arc<Path> = path.into();
        for (index, k) in documents.into_keys() {
            if let Some(claims) = self.claims.get_mut(&k) {
                claims.remove(&(path.clone(), index));
                if claims.is_empty() {
                    self.claims.remove(&k);
                }
            }
            touched.push(k);
        }
        touched
    }

    fn winner(&self, key: &Key) -> Option<&Arc<Document>> {
        let (path, index) = self.claims.get(key)?.first()?;
        self.document(path, *index, key)
    }

    fn document(&self, path: &Path, index: usize, key: &Key) -> Option<&Arc<Document>> {
        self.files.get(path)?.get(&(index, key.clone()))
    }

    /// The events that bring downstream from what it was sent to the current
    /// winners of `keys`.
    pub(crate) fn diff(&mut self, mut keys: Vec<Key>) -> Vec<Event> {
        keys.sort();
        keys.dedup();
        let mut events = Vec::new();
        for k in keys {
            let current = self.winner(&k).cloned();
            match (current, self.sent.get(&k)) {
                (Some(doc), None) => {
                    self.sent.insert(k.clone(), doc.hash);
                    events.push(Event::Added(k.0, doc.entry.clone()));
                }
                (Some(doc), Some(hash)) if *hash != doc.hash => {
                    self.sent.insert(k.clone(), doc.hash);
                    events.push(Event::Updated(k.0, doc.entry.clone()));
                }
                (Some(_), Some(_)) => {}
                (None, Some(_)) => {
                    self.sent.remove(&k);
                    events.push(Event::Deleted(k.0, k.1));
                }
                (None, None) => {}
            }
        }
        events
    }

    /// Forgets what was sent and returns everything as `Added` (a new start).
    pub(crate) fn full_state(&mut self) -> Vec<Event> {
        self.sent.clear();
        let keys = self.claims.keys().cloned().collect();
        self.diff(keys)
    }

    /// One problem per definition that lost to an earlier one.
    pub(crate) fn duplicates(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (k, claims) in self.claims.iter().filter(|(_, c)| c.len() > 1) {
            let Some(winner) = self.winner(k) else {
                continue;
            };
            for (path, index) in claims.iter().skip(1) {
                if let Some(loser) = self.document(path, *index, k) {
                    problems.push(Problem::new(
                        loser.origin().to_string(),
                        format!(
                            "duplicate {} {}: already defined at {}; this definition is ignored",
                            k.0,
                            k.1,
                            winner.origin()
                        ),
                    ));
                }
            }
        }
        problems
    }
}
