//! Keeping a file source current after its first load: file-system
//! notifications, the rescan signals, roots that go missing and come back,
//! and reads that failed for a reason that passes (descriptors or memory
//! ran out), tried again with backoff until they succeed, since no
//! notification will come for them. Reading and parsing run on blocking
//! threads, so a big file never holds up the async workers or shutdown.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{FileSource, ROOT_POLL, Tree};
use crate::documents::is_config_file;
use crate::{EventSender, Source, send_all};
use galleon_fs_watch::{PathWatcher, RescanSignals, next_change, watch_or_warn};
use galleon_mcp::{Backoff, BackoffOptions};
use galleon_pipeline::event::Event;

impl FileSource {
    /// A watcher over the roots that exist (none when watching is off).
    pub(super) fn watcher(&self) -> Option<PathWatcher> {
        match &self.tree {
            Tree::Disk(roots) if self.watch => {
                let present: Vec<PathBuf> = roots.iter().filter(|r| r.exists()).cloned().collect();
                watch_or_warn(&present, "files")
            }
            Tree::Disk(_) | Tree::Embedded(_) => None,
        }
    }

    /// Runs `work` on a blocking thread; `None` if it panicked.
    pub(super) async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Self) -> T + Send + 'static,
    ) -> Option<T> {
        let source = self.clone();
        tokio::task::spawn_blocking(move || work(&source))
            .await
            .inspect_err(|e| warn!("file source task failed: {e}"))
            .ok()
    }

    /// Turns notifications, signals and replaced or returning roots into
    /// events until `stop`.
    pub(super) async fn follow(
        self: &Arc<Self>,
        mut watcher: Option<PathWatcher>,
        events: EventSender,
        stop: CancellationToken,
    ) {
        let mut signals = RescanSignals::new();
        let mut watched = self.root_ids();
        let mut poll = tokio::time::interval(ROOT_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rescan_now = false;
        let mut retry = Backoff::new(READ_RETRY);
        let mut retry_at = self
            .unfinished_work()
            .map(|_| Instant::now() + retry.next_delay());
        loop {
            let missing = watched.iter().any(Option::is_none);
            // `Some(paths)` reloads those paths; `None` rescans everything.
            let work = if std::mem::take(&mut rescan_now) {
                None
            } else {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = signals.recv() => {
                        info!(source = %self.name(), "rescan requested by signal");
                        None
                    }
                    paths = next_change(&mut watcher) => Some(paths),
                    () = sleep_until(retry_at) => {
                        let Some(work) = self.unfinished_work() else { continue };
                        debug!(source = %self.name(), "reading again what could not be read");
                        work
                    }
                    _ = poll.tick(), if missing => {
                        if self.root_ids() == watched {
                            continue;
                        }
                        None
                    }
                }
            };
            // A directory root removed, moved or replaced loses its watch.
            let root_touched = work.as_ref().is_some_and(|paths| {
                paths
                    .iter()
                    .any(|p| self.roots().contains(p) && !p.is_file())
            });
            let load = self.blocking(move |source| match work {
                Some(paths) => source.on_paths(paths),
                None => source.rescan(),
            });
            let changes = tokio::select! {
                () = stop.cancelled() => return,
                changes = load => changes,
            };
            if send_all(&events, changes.unwrap_or_default())
                .await
                .is_err()
            {
                return;
            }
            retry_at = match self.unfinished_work() {
                Some(_) => Some(Instant::now() + retry.next_delay()),
                None => {
                    retry.reset();
                    None
                }
            };
            // A root that was removed, replaced or re-created is a new
            // directory: watch it afresh, then read it again in case
            // something landed before the watch did.
            let now = self.root_ids();
            if now != watched || root_touched {
                if now.iter().any(Option::is_none) {
                    warn!(source = %self.name(),
                        "a root is missing; what it held stays served until it returns");
                } else {
                    info!(source = %self.name(), "a root was replaced or came back; watching it again");
                }
                watcher = self.watcher();
                watched = now;
                rescan_now = true;
                self.report_roots();
            }
        }
    }

    /// What to read again (`Some(None)`: list everything), if a read failed
    /// for a reason that passes.
    fn unfinished_work(&self) -> Option<Option<Vec<PathBuf>>> {
        let unfinished = self.lock_unfinished();
        if unfinished.listing {
            Some(None)
        } else if unfinished.files.is_empty() {
            None
        } else {
            Some(Some(unfinished.files.iter().cloned().collect()))
        }
    }

    /// Reports the roots' health: down while one is missing (what it held
    /// stays served), up otherwise.
    pub(super) fn report_roots(&self) {
        let name = self.name();
        let missing: Vec<String> = self
            .roots()
            .iter()
            .filter(|root| !root.exists())
            .map(|root| root.display().to_string())
            .collect();
        if missing.is_empty() {
            self.health.up(&name, &name, None);
        } else {
            let error = format!("missing: {}", missing.join(", "));
            self.health.down(
                &name,
                &name,
                None,
                &error,
                "what it held stays served until it returns",
            );
        }
    }

    /// Each root's identity (device, inode), `None` while it is missing.
    fn root_ids(&self) -> Vec<Option<(u64, u64)>> {
        self.roots()
            .iter()
            .map(|root| std::fs::metadata(root).ok().map(|m| (m.dev(), m.ino())))
            .collect()
    }

    fn on_paths(&self, paths: Vec<PathBuf>) -> Vec<Event> {
        let mut reload = Vec::new();
        for path in paths.into_iter().filter(|p| self.covers(p)) {
            match self.change_at(&path) {
                Change::Nothing => {}
                Change::File => reload.push(path),
                Change::Tree => return self.rescan(),
            }
        }
        self.reload(&reload)
    }

    /// What a notification about `path` calls for.
    fn change_at(&self, path: &Path) -> Change {
        let metadata = std::fs::symlink_metadata(path).ok();
        let plain_file = metadata.as_ref().is_some_and(|m| m.is_file());
        let gone = metadata.is_none();
        if self.roots().iter().any(|root| root == path) {
            // A file root is reloaded like any file; a directory root that
            // changed itself (removed, replaced) is listed again.
            return if plain_file || (gone && is_config_file(path)) {
                Change::File
            } else {
                Change::Tree
            };
        }
        if self.hidden(path) {
            // Hidden files (an editor's temporary copy) are never read; a
            // hidden directory or link (a Kubernetes volume's `..data`
            // swap) may change what visible links point at.
            return if plain_file || gone {
                Change::Nothing
            } else {
                Change::Tree
            };
        }
        match (is_config_file(path), plain_file, gone) {
            (true, true, _) | (true, _, true) => Change::File,
            (false, true, _) => Change::Nothing,
            // Something vanished: a directory if files were read below it
            // (sed's and editors' temporary files vanish all the time).
            (false, false, true) if !self.knows_files_under(path) => Change::Nothing,
            // A directory, a link, a directory that vanished.
            _ => Change::Tree,
        }
    }

    /// Whether any file below `dir` contributes resources or has problems
    /// reported.
    fn knows_files_under(&self, dir: &Path) -> bool {
        let reported = self
            .reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reported = reported
            .range(dir.to_path_buf()..)
            .next()
            .is_some_and(|p| p.starts_with(dir));
        reported || self.lock().holds_files_under(dir)
    }

    /// Whether `path` is a root, lies under a directory root, or is an
    /// ancestor of a root (a file root is watched through its directory,
    /// whose other files are none of this source's business).
    fn covers(&self, path: &Path) -> bool {
        self.roots().iter().any(|root| {
            path == root || root.starts_with(path) || (root.is_dir() && path.starts_with(root))
        })
    }

    /// Whether `path` lies in a hidden entry below one of the roots.
    fn hidden(&self, path: &Path) -> bool {
        self.roots()
            .iter()
            .filter_map(|root| path.strip_prefix(root).ok())
            .any(|relative| {
                relative
                    .components()
                    .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
            })
    }
}

/// Delays between attempts at reads that failed for a reason that passes.
const READ_RETRY: BackoffOptions = BackoffOptions {
    min: Duration::from_millis(100),
    max: Duration::from_secs(5),
};

/// Sleeps until `at`; for ever when `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// What a notification calls for.
enum Change {
    /// Nothing this source reads changed.
    Nothing,
    /// Reload that file.
    File,
    /// List everything again.
    Tree,
}
