//! Keeping a file source current after its first load: file-system
//! notifications, the rescan signals, and roots that go missing and come
//! back. Reading and parsing run on blocking threads, so a big file never
//! holds up the async workers or shutdown.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::parse::is_config_file;
use super::{FileSource, ROOT_POLL, Tree};
use crate::event::Event;
use crate::source::{EventSender, Source};
use crate::source::watcher::{PathWatcher, RescanSignals};

impl FileSource {
    /// A watcher over the roots that exist (none when watching is off).
    pub(super) fn watcher(&self) -> Option<PathWatcher> {
        match &self.tree {
            Tree::Disk(roots) if self.watch => {
                let present: Vec<PathBuf> = roots.iter().filter(|r| r.exists()).cloned().collect();
                PathWatcher::new(&present)
                    .inspect_err(|e| warn!("not watching files (SIGHUP still rescans): {e}"))
                    .ok()
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
                    paths = changed(&mut watcher) => Some(paths),
                    _ = poll.tick(), if missing => {
                        if self.root_ids() == watched {
                            continue;
                        }
                        None
                    }
                }
            };
            let changes = self
                .blocking(move |source| match work {
                    Some(paths) => source.on_paths(paths),
                    None => source.rescan(),
                })
                .await;
            if send_all(&events, changes.unwrap_or_default()).await.is_err() {
                return;
            }
            // A root that was removed, replaced or re-created is a new
            // directory: watch it afresh, then read it again in case
            // something landed before the watch did.
            let now = self.root_ids();
            if now != watched {
                if now.iter().any(Option::is_none) {
                    warn!(source = %self.name(),
                        "a root is missing; what it held stays served until it returns");
                } else {
                    info!(source = %self.name(), "a root was replaced or came back; watching it again");
                }
                watcher = self.watcher();
                watched = now;
                rescan_now = true;
            }
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
        let paths: Vec<PathBuf> = paths.into_iter().filter(|p| self.covers(p)).collect();
        // Anything but a plain configuration file (a directory, a swapped
        // symbolic link, a missed event, a root itself) calls for a full
        // rescan.
        let plain = paths.iter().all(|p| {
            is_config_file(p)
                && !p.is_dir()
                && !p.is_symlink()
                && !self.hidden(p)
                && !self.roots().contains(p)
        });
        if paths.is_empty() || !plain {
            self.rescan()
        } else {
            self.reload(&paths)
        }
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

async fn changed(watcher: &mut Option<PathWatcher>) -> Vec<PathBuf> {
    match watcher {
        Some(watcher) => watcher.changed().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn send_all(
    events: &EventSender,
    batch: impl IntoIterator<Item = Event>,
) -> Result<(), ()> {
    for event in batch {
        events.send(event).await.map_err(|_| ())?;
    }
    Ok(())
}
