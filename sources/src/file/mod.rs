//! The file source: YAML and JSON files under one or more directories,
//! walked recursively, reloaded on file-system notifications and on SIGHUP
//! or SIGUSR1. Each document becomes a resource; only documents whose content
//! hash changed become events.

mod listing;
mod live;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rayon::iter::{IntoParallelRefIterator, ParallelIterator};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use self::listing::Listing;
use super::documents::{DocumentSet, ParsedFile, parse_file};
use super::{EventSender, Source, SourceRun, send_all};
use crate::health::SourceHealth;
use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};
use galleon_pipeline::event::{Collection, Event};
use galleon_pipeline::registry::Registry;

/// Files larger than this are refused by default (16 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 << 20;

/// How often a missing root is looked for (only while one is missing).
const ROOT_POLL: Duration = Duration::from_secs(1);

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
    follow_external_symlinks: bool,
    set: Mutex<DocumentSet>,
    loads: AtomicU64,
    /// What the last reads could not finish for a reason that passes: read
    /// again after a delay (see `live`).
    unfinished: Mutex<Unfinished>,
    /// The files whose problems are in the ledger (a file with nothing but
    /// problems contributes no resources, so the set does not know it).
    reported: Mutex<BTreeSet<PathBuf>>,
    health: SourceHealth,
}

/// Reads to try again: files whose read failed (descriptors or memory ran
/// out), and whether a listing went unfinished for such a reason.
#[derive(Default)]
pub(super) struct Unfinished {
    pub(super) files: BTreeSet<PathBuf>,
    pub(super) listing: bool,
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
            follow_external_symlinks: false,
            set: Mutex::default(),
            loads: AtomicU64::new(0),
            unfinished: Mutex::default(),
            reported: Mutex::default(),
            health: SourceHealth::default(),
        }
    }

    /// Whether to reload on file-system notifications (default) or only on
    /// SIGHUP/SIGUSR1.
    pub fn with_watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Follows symbolic links that lead out of the roots (refused and
    /// reported by default).
    pub fn with_external_symlinks(mut self, follow: bool) -> Self {
        self.follow_external_symlinks = follow;
        self
    }

    /// Reports its roots' health to `health`: up while every root is
    /// there, down while one is missing.
    pub fn with_health(mut self, health: SourceHealth) -> Self {
        self.health = health;
        self
    }

    /// Refuses files larger than `bytes`.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DocumentSet> {
        self.set.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Files read so far (every load, changed or not).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Re-reads every file; returns the resulting events. A path that could
    /// not be listed keeps what its files contributed.
    ///
    /// A Kubernetes volume (ConfigMap, Secret) swaps all its files at once by
    /// re-pointing its `..data` link; a swap during the read is read again,
    /// so old and new content are never served mixed.
    fn rescan(&self) -> Vec<Event> {
        let mut set = self.lock();
        let mut touched = Vec::new();
        loop {
            let volumes = self.volume_generations();
            let listing = self.list();
            self.report_listing(&listing);
            self.lock_unfinished().listing = listing.transient;
            let reported = self
                .reported
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let known: BTreeSet<PathBuf> = set.paths().into_iter().chain(reported).collect();
            let gone = known
                .into_iter()
                .filter(|p| listing.files.binary_search(p).is_err() && !listing.hides(p));
            for path in gone {
                self.report(&path, Vec::new());
                self.lock_unfinished().files.remove(&path);
                touched.extend(set.remove(&path));
            }
            // Read and parse in parallel (parsing is most of a big tree's
            // load), then apply in listing order.
            let fetched: Vec<Fetched> = listing.files.par_iter().map(|p| self.fetch(p)).collect();
            for (path, fetched) in listing.files.iter().zip(fetched) {
                touched.extend(self.apply(&mut set, path, fetched));
            }
            if self.volume_generations() == volumes {
                return self.finish(&mut set, touched);
            }
            debug!(source = %self.name(), "a volume swapped its files during the read; reading again");
        }
    }

    /// Where each root's `..data` link (a Kubernetes volume's current
    /// generation) points, if it has one.
    fn volume_generations(&self) -> Vec<Option<PathBuf>> {
        self.roots()
            .iter()
            .map(|root| std::fs::read_link(root.join("..data")).ok())
            .collect()
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

    fn finish(&self, set: &mut DocumentSet, touched: Vec<(Collection, String)>) -> Vec<Event> {
        self.diagnostics
            .set(&Scope::Duplicates(self.name()), set.duplicates());
        set.diff(touched)
    }

    /// Reports the paths a listing could not see or would not follow
    /// (cleared once everything lists again).
    fn report_listing(&self, listing: &Listing) {
        let unseen = listing.unseen.iter().map(|(path, reason)| {
            Problem::new(
                path.display().to_string(),
                format!("{reason}; what was read from it before stays served until it lists again"),
            )
        });
        let refused = listing
            .refused
            .iter()
            .map(|(path, reason)| Problem::new(path.display().to_string(), reason.clone()));
        let problems = unseen.chain(refused).collect();
        self.diagnostics.set(&Scope::Listing(self.name()), problems);
    }

    fn roots(&self) -> &[PathBuf] {
        match &self.tree {
            Tree::Disk(roots) => roots,
            Tree::Embedded(_) => &[],
        }
    }

    /// Reads one file into the set; returns the keys it may have changed.
    fn load(&self, set: &mut DocumentSet, path: &Path) -> Vec<(Collection, String)> {
        let fetched = self.fetch(path);
        self.apply(set, path, fetched)
    }

    /// Reads and parses one file (safe to run for many files at once).
    fn fetch(&self, path: &Path) -> Fetched {
        self.loads.fetch_add(1, Ordering::Relaxed);
        let read = self.read(path);
        let retry = matches!(&read, Err(ReadError::Io(error)) if listing::transient(error));
        let mut unfinished = self.lock_unfinished();
        if retry {
            unfinished.files.insert(path.to_owned());
        } else {
            unfinished.files.remove(path);
        }
        drop(unfinished);
        match read {
            Ok(Some(Bytes::Disk(bytes))) => {
                Fetched::Parsed(parse_file(path, &bytes, &self.registry))
            }
            Ok(Some(Bytes::Embedded(bytes))) => {
                Fetched::Parsed(parse_file(path, bytes, &self.registry))
            }
            Ok(None) => Fetched::Gone,
            Err(error) => Fetched::Unreadable(error),
        }
    }

    /// Applies what [`FileSource::fetch`] found of `path` to the set;
    /// returns the keys it may have changed.
    fn apply(
        &self,
        set: &mut DocumentSet,
        path: &Path,
        fetched: Fetched,
    ) -> Vec<(Collection, String)> {
        match fetched {
            Fetched::Gone => {
                self.report(path, Vec::new());
                set.remove(path)
            }
            Fetched::Unreadable(error) => {
                // Unreadable: keep everything it contributed before (and,
                // when the cause passes, read it again soon).
                let problem = Problem::new(path.display(), error);
                self.report(path, vec![problem]);
                set.update(path, ParsedFile::default(), false)
            }
            Fetched::Parsed(parsed) => {
                let complete = parsed.problems.is_empty();
                self.report(path, parsed.problems.clone());
                debug!(path = %path.display(), documents = parsed.documents.len(), "loaded");
                set.update(path, parsed, complete)
            }
        }
    }

    /// Sets `path`'s problems in the ledger (none clears them), remembering
    /// which files have some.
    fn report(&self, path: &Path, problems: Vec<Problem>) {
        let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
        if problems.is_empty() {
            reported.remove(path);
        } else {
            reported.insert(path.to_owned());
        }
        self.diagnostics
            .set(&Scope::File(path.to_owned()), problems);
    }

    fn lock_unfinished(&self) -> std::sync::MutexGuard<'_, Unfinished> {
        self.unfinished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The file's bytes; `None` if it no longer exists.
    fn read(&self, path: &Path) -> Result<Option<Bytes>, ReadError> {
        match &self.tree {
            Tree::Embedded(files) => Ok(files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, b)| Bytes::Embedded(b))),
            Tree::Disk(_) => {
                let metadata = match std::fs::metadata(path) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(ReadError::Io(e)),
                };
                if metadata.len() > self.max_file_size {
                    return Err(ReadError::TooLarge {
                        size: metadata.len(),
                        limit: self.max_file_size,
                    });
                }
                match std::fs::read(path) {
                    Ok(bytes) => Ok(Some(Bytes::Disk(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(ReadError::Io(e)),
                }
            }
        }
    }

    /// Every configuration file currently present, and what could not be
    /// listed.
    fn list(&self) -> Listing {
        match &self.tree {
            Tree::Embedded(files) => {
                let mut files: Vec<_> = files.iter().map(|(p, _)| p.clone()).collect();
                files.sort();
                Listing {
                    files,
                    ..Listing::default()
                }
            }
            Tree::Disk(roots) => Listing::walk(roots, self.follow_external_symlinks),
        }
    }
}

/// Parses `bytes` as a YAML and as a JSON file, as the file source would.
#[cfg(feature = "fuzzing")]
pub fn fuzz_parse(bytes: &[u8]) -> usize {
    let registry = Registry::builtin();
    ["fuzz.yaml", "fuzz.json"]
        .into_iter()
        .map(|name| {
            let parsed = parse_file(Path::new(name), bytes, &registry);
            parsed.documents.len() + parsed.problems.len()
        })
        .sum()
}

/// Why a file could not be read (what it contributed stays served).
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("cannot read: {0}")]
    Io(std::io::Error),
    #[error(
        "file is {size} bytes, over the {limit}-byte limit (maxFileSize); its previous content stays served"
    )]
    TooLarge { size: u64, limit: u64 },
}

enum Bytes {
    Disk(Vec<u8>),
    Embedded(&'static [u8]),
}

/// What reading one file found.
enum Fetched {
    /// It no longer exists.
    Gone,
    /// It could not be read.
    Unreadable(ReadError),
    /// Its documents (and problems).
    Parsed(ParsedFile),
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
            // Watch before reading, so a change between the two is not missed.
            let watcher = self.watcher();
            let load = self.blocking(|source| {
                source.rescan();
                source.lock().full_state()
            });
            // A stop does not wait for a big load to finish.
            let initial = tokio::select! {
                () = stop.cancelled() => return,
                initial = load => initial,
            };
            let Some(initial) = initial else {
                return;
            };
            info!(source = %self.name(), resources = initial.len(), "loaded");
            self.report_roots();
            let syncs = self.collections().into_iter().map(Event::FullSync);
            if send_all(&events, initial.into_iter().chain(syncs))
                .await
                .is_err()
            {
                return;
            }
            self.follow(watcher, events, stop).await;
        })
    }
}
