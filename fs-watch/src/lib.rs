//! File-system notifications (notify) and the rescan signals (SIGHUP, and
//! SIGUSR1 as in Galley).
//!
//! Only events that can change what a file holds count: data written, a file
//! closed after writing, created, renamed or removed. Opens, reads and
//! metadata changes are dropped, so galleon reading its own files never
//! causes a reload. A close-after-write or a rename within the tree means new
//! content is complete: it is delivered at once, together with whatever else
//! is already queued. Other changes (writes in progress, removals, which
//! editors often follow with a re-creation) wait up to [`SETTLE`] for such
//! a completing event; a burst is delivered as one batch either way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::warn;

/// How long an incomplete change waits for the event that completes it.
pub const SETTLE: Duration = Duration::from_millis(50);

/// What one notification means for the batch being gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Weight {
    /// Cannot change content (an open, a read, a metadata change).
    Ignore,
    /// A change that may still be under way.
    Settle,
    /// New content is complete (closed after writing, renamed into place,
    /// a new directory): deliver now.
    Complete,
    /// Events were lost: rescan everything, now.
    Rescan,
}

fn weigh(event: &Event) -> Weight {
    if event.need_rescan() {
        return Weight::Rescan;
    }
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Weight::Complete,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => Weight::Ignore,
        // A rename within the watched tree arrives as From, To, then Both:
        // Both completes it (a file moved in from elsewhere, To alone,
        // settles).
        EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        | EventKind::Create(CreateKind::Folder) => Weight::Complete,
        EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Any
        | EventKind::Other => Weight::Settle,
    }
}

/// A watcher over `roots`, or `None` with a warning naming `what` is not
/// watched (the rescan signals still reload it).
pub fn watch_or_warn(roots: &[PathBuf], what: &str) -> Option<PathWatcher> {
    PathWatcher::new(roots)
        .inspect_err(|e| warn!("not watching {what} (SIGHUP still reloads it): {e}"))
        .ok()
}

/// The next batch of `watcher`, or never when there is no watcher (watching
/// failed to start; rescan signals still work). Cancel-safe.
pub async fn next_change(watcher: &mut Option<PathWatcher>) -> Vec<PathBuf> {
    match watcher {
        Some(watcher) => watcher.changed().await,
        None => std::future::pending().await,
    }
}

/// Batches of changed paths under the watched roots.
pub struct PathWatcher {
    _watcher: RecommendedWatcher,
    events: mpsc::UnboundedReceiver<notify::Result<Event>>,
    /// The batch being gathered; kept across cancelled calls of
    /// [`PathWatcher::changed`], so nothing is lost to a `select!`.
    pending: Vec<PathBuf>,
    rescan: bool,
    deadline: Option<Instant>,
}

impl PathWatcher {
    /// Watches each of `roots` (directories recursively; a file through its
    /// parent directory, so atomic replacement is seen).
    pub fn new(roots: &[PathBuf]) -> notify::Result<Self> {
        let (tx, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })?;
        for root in roots {
            let (target, mode) = if root.is_dir() {
                (root.as_path(), RecursiveMode::Recursive)
            } else {
                (
                    root.parent().unwrap_or(Path::new(".")),
                    RecursiveMode::NonRecursive,
                )
            };
            watcher.watch(target, mode)?;
        }
        Ok(Self {
            _watcher: watcher,
            events,
            pending: Vec::new(),
            rescan: false,
            deadline: None,
        })
    }

    /// The next batch of changed paths; empty means "rescan everything".
    /// Cancel-safe.
    pub async fn changed(&mut self) -> Vec<PathBuf> {
        loop {
            let event = match self.deadline {
                None => self.events.recv().await,
                Some(deadline) => tokio::select! {
                    event = self.events.recv() => event,
                    () = tokio::time::sleep_until(deadline) => return self.take(),
                },
            };
            let Some(event) = event else {
                // The watcher is gone: nothing more will ever arrive.
                return std::future::pending().await;
            };
            if self.add(event) {
                // Complete: take along whatever is already queued.
                while let Ok(event) = self.events.try_recv() {
                    self.add(event);
                }
                return self.take();
            }
        }
    }

    /// Adds one notification; returns whether the batch is due now.
    fn add(&mut self, event: notify::Result<Event>) -> bool {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                warn!("file watcher: {error}; rescanning");
                self.rescan = true;
                return true;
            }
        };
        let weight = weigh(&event);
        match weight {
            Weight::Ignore => return false,
            Weight::Rescan => self.rescan = true,
            Weight::Settle | Weight::Complete => self.pending.extend(event.paths),
        }
        if self.deadline.is_none() {
            self.deadline = Some(Instant::now() + SETTLE);
        }
        matches!(weight, Weight::Complete | Weight::Rescan)
    }

    fn take(&mut self) -> Vec<PathBuf> {
        self.deadline = None;
        let mut batch = std::mem::take(&mut self.pending);
        if std::mem::take(&mut self.rescan) {
            batch.clear();
        } else {
            batch.sort();
            batch.dedup();
        }
        batch
    }
}

/// Installs the process's SIGHUP and SIGUSR1 handlers (they stay installed),
/// so either signal, however early, asks for a rescan instead of ending the
/// process.
pub fn install_rescan_signals() {
    drop(RescanSignals::new());
}

/// SIGHUP or SIGUSR1: rescan now.
pub struct RescanSignals {
    hup: Option<Signal>,
    usr1: Option<Signal>,
}

impl Default for RescanSignals {
    fn default() -> Self {
        Self::new()
    }
}

impl RescanSignals {
    /// Listens for the rescan signals (see [`install_rescan_signals`]); a
    /// signal that cannot be listened for is logged and never arrives.
    pub fn new() -> Self {
        let listen = |kind| {
            signal(kind)
                .inspect_err(|e| warn!("cannot listen for {kind:?}: {e}"))
                .ok()
        };
        Self {
            hup: listen(SignalKind::hangup()),
            usr1: listen(SignalKind::user_defined1()),
        }
    }

    /// Resolves at the next rescan signal.
    pub async fn recv(&mut self) {
        tokio::select! {
            Some(()) = next(&mut self.hup) => {}
            Some(()) = next(&mut self.usr1) => {}
            else => std::future::pending().await,
        }
    }
}

async fn next(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> Event {
        Event::new(kind).add_path("/r/a.yaml".into())
    }

    #[test]
    fn reads_and_metadata_never_count() {
        for kind in [
            EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any)),
        ] {
            assert_eq!(weigh(&event(kind)), Weight::Ignore, "{kind:?}");
        }
    }

    #[test]
    fn completed_content_is_due_at_once() {
        for kind in [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Create(CreateKind::Folder),
        ] {
            assert_eq!(weigh(&event(kind)), Weight::Complete, "{kind:?}");
        }
        for kind in [
            EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Remove(notify::event::RemoveKind::File),
            EventKind::Create(CreateKind::File),
        ] {
            assert_eq!(weigh(&event(kind)), Weight::Settle, "{kind:?}");
        }
        let lost = Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert_eq!(weigh(&lost), Weight::Rescan);
    }
}
