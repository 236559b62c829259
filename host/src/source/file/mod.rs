//! The file source: YAML and JSON files under one or more directories,
//! walked recursively, reloaded on file-system notifications and on SIGHUP
//! or SIGUSR1. Each document becomes a resource; only documents whose content
//! hash changed become events.

mod parse;
mod set;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use walkdir::WalkDir;

use self::parse::{ParsedFile, is_config_file, parse_file};
use self::set::FileSet;
use super::watcher::{PathWatcher, RescanSignals};
use super::{EventSender, Source, SourceRun};
use crate::diagnostics::{Diagnostics, Problem};
use crate::event::{Collection, Event};
use crate::registry::Registry;

/// Files larger than this are refused by default (16 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 << 20;

/// Where the files are.
enum Tree {
    /// Directories (or single files) on disk, watched for changes.
    Disk(Vec<PathBuf>),
    /// Files built into the binary (the bundled example); never change.
    Embedded(Vec<(PathBuf, &'static [u8])>),
}

/// A source of resources read from files.
pub struct FileSource {
    tree: Tree,
    registry: Arc<Registry>,
    diagnostics: Diagnostics,
    max_file_size: u64,
    watch: bool,
    set: Mutex<FileSet>,
}

impl FileSource {
    /// Reads and watches `roots` (directories, or single files). Roots are
    /// made absolute and canonical, so the paths the walk finds and the
    /// paths file-system notifications report name each file the same way.
    pub fn new(roots: Vec<PathBuf>, registry: Arc<Registry>, diagnostics: Diagnostics) -> Self {
        let roots = roots
            .into_iter()
            .map(|root| {
                std::fs::canonicalize(&root)
                    .or_else(|_| std::path::absolute(&root))
                    .unwrap_or(root)
            })
            .collect();
        Self::with_tree(Tree::Disk(roots), registry, diagnostics)
    }

    /// Serves files built into the binary.
    pub fn embedded(
        files: Vec<(PathBuf, &'static [u8])>,
        registry: Arc<Registry>,
        diagnostics: Diagnostics,
    ) -> Self {
        Self::with_tree(Tree::Embedded(files), registry, diagnostics)
    }

    fn with_tree(tree: Tree, registry: Arc<Registry>, diagnostics: Diagnostics) -> Self {
        Self {
            tree,
            registry,
            diagnostics,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            watch: true,
            set: Mutex::default(),
        }
    }

    /// Whether to reload on file-system notifications (default) or only on
    /// SIGHUP/SIGUSR1.
    pub fn with_watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Refuses files larger than `bytes`.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FileSet> {
        self.set.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads every file; returns the resulting events.
    fn rescan(&self) -> Vec<Event> {
        let files = self.list();
        let mut set = self.lock();
        let mut touched = Vec::new();
        for gone in set.paths().into_iter().filter(|p| !files.contains(p)) {
            self.diagnostics.clear(&gone.display().to_string());
            touched.extend(set.remove(&gone));
        }
        for path in &files {
            touched.extend(self.load(&mut set, path));
        }
        self.finish(&mut set, touched)
    }

    /// Re-reads the given paths (files that changed, appeared or vanished).
    fn reload(&self, paths: &[PathBuf]) -> Vec<Event> {
        let mut set = self.lock();
        let mut touched = Vec::new();
        for path in paths {
            touched.extend(self.load(&mut set, path));
        }
        self.finish(&mut set, touched)
    }

    fn finish(&self, set: &mut FileSet, touched: Vec<(Collection, String)>) -> Vec<Event> {
        self.diagnostics.set("duplicates", set.duplicates());
        set.diff(touched)
    }

    /// Reads one file into the set; returns the keys it may have changed.
    fn load(&self, set: &mut FileSet, path: &Path) -> Vec<(Collection, String)> {
        let scope = path.display().to_string();
        let bytes = match self.read(path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                self.diagnostics.clear(&scope);
                return set.remove(path);
            }
            Err(message) => {
                // Unreadable: keep everything it contributed before.
                self.diagnostics.set(
                    &scope,
                    vec![Problem {
                        location: scope.clone(),
                        message,
                    }],
                );
                return set.update(path, ParsedFile::default(), false);
            }
        };
        let parsed = match &bytes {
            Bytes::Disk(bytes) => parse_file(path, bytes, &self.registry),
            Bytes::Embedded(bytes) => parse_file(path, bytes, &self.registry),
        };
        let complete = parsed.problems.is_empty();
        self.diagnostics.set(&scope, parsed.problems.clone());
        debug!(path = %path.display(), documents = parsed.documents.len(), "loaded");
        set.update(path, parsed, complete)
    }

    /// The file's bytes; `None` if it no longer exists.
    fn read(&self, path: &Path) -> Result<Option<Bytes>, String> {
        match &self.tree {
            Tree::Embedded(files) => Ok(files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, b)| Bytes::Embedded(b))),
            Tree::Disk(_) => {
                let metadata = match std::fs::metadata(path) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(format!("cannot read: {e}")),
                };
                if metadata.len() > self.max_file_size {
                    return Err(format!(
                        "file is {} bytes, over the {}-byte limit (maxFileSize); its previous content stays served",
                        metadata.len(),
                        self.max_file_size
                    ));
                }
                match std::fs::read(path) {
                    Ok(bytes) => Ok(Some(Bytes::Disk(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(format!("cannot read: {e}")),
                }
            }
        }
    }

    /// Every configuration file currently present, sorted.
    fn list(&self) -> Vec<PathBuf> {
        let mut files = match &self.tree {
            Tree::Embedded(files) => files.iter().map(|(p, _)| p.clone()).collect(),
            Tree::Disk(roots) => roots.iter().flat_map(|root| walk(root)).collect::<Vec<_>>(),
        };
        files.sort();
        files.dedup();
        files
    }
}

enum Bytes {
    Disk(Vec<u8>),
    Embedded(&'static [u8]),
}

/// Configuration files under `root`, following symbolic links and skipping
/// hidden entries (such as the `..data` directories of Kubernetes volumes,
/// which would otherwise be read twice).
fn walk(root: &Path) -> Vec<PathBuf> {
    WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|entry| match entry {
            Ok(entry) => Some(entry),
            Err(error) => {
                warn!(root = %root.display(), "skipping while walking: {error}");
                None
            }
        })
        .filter(|e| e.file_type().is_file() && is_config_file(e.path()))
        .map(|e| e.into_path())
        .collect()
}

impl Source for FileSource {
    fn name(&self) -> String {
        match &self.tree {
            Tree::Disk(roots) => {
                let roots: Vec<_> = roots.iter().map(|r| r.display().to_string()).collect();
                format!("files {}", roots.join(", "))
            }
            Tree::Embedded(_) => "bundled example".into(),
        }
    }

    fn collections(&self) -> Vec<Collection> {
        self.registry
            .schemas()
            .into_iter()
            .map(|s| s.collection.clone())
            .collect()
    }

    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
        Box::pin(async move {
            let watcher = match &self.tree {
                Tree::Disk(roots) if self.watch => PathWatcher::new(roots)
                    .inspect_err(|e| warn!("not watching files (SIGHUP still rescans): {e}"))
                    .ok(),
                Tree::Disk(_) | Tree::Embedded(_) => None,
            };
            self.rescan();
            let initial = self.lock().full_state();
            info!(source = %self.name(), resources = initial.len(), "loaded");
            let syncs = self.collections().into_iter().map(Event::FullSync);
            if send_all(&events, initial.into_iter().chain(syncs))
                .await
                .is_err()
            {
                return;
            }
            self.watch(watcher, events, stop).await;
        })
    }
}

impl FileSource {
    async fn watch(
        &self,
        mut watcher: Option<PathWatcher>,
        events: EventSender,
        stop: CancellationToken,
    ) {
        let mut signals = RescanSignals::new();
        loop {
            let changes = tokio::select! {
                () = stop.cancelled() => return,
                () = signals.recv() => {
                    info!(source = %self.name(), "rescan requested by signal");
                    self.rescan()
                }
                paths = changed(&mut watcher) => self.on_paths(paths),
            };
            if send_all(&events, changes).await.is_err() {
                return;
            }
        }
    }

    fn on_paths(&self, paths: Vec<PathBuf>) -> Vec<Event> {
        // Anything but a plain configuration file (a directory, a swapped
        // symbolic link, a missed event) calls for a full rescan.
        let plain = !paths.is_empty()
            && paths
                .iter()
                .all(|p| is_config_file(p) && !p.is_dir() && !p.is_symlink() && !self.hidden(p));
        if plain {
            self.reload(&paths)
        } else {
            self.rescan()
        }
    }

    /// Whether `path` lies in a hidden entry below one of the roots.
    fn hidden(&self, path: &Path) -> bool {
        let Tree::Disk(roots) = &self.tree else {
            return false;
        };
        roots
            .iter()
            .filter_map(|root| path.strip_prefix(root).ok())
            .any(|relative| {
                relative
                    .components()
                    .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
            })
    }
}

async fn changed(watcher: &mut Option<PathWatcher>) -> Vec<PathBuf> {
    match watcher {
        Some(watcher) => watcher.changed().await,
        None => std::future::pending().await,
    }
}

async fn send_all(events: &EventSender, batch: impl IntoIterator<Item = Event>) -> Result<(), ()> {
    for event in batch {
        events.send(event).await.map_err(|_| ())?;
    }
    Ok(())
}
