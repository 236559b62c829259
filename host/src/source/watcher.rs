//! File-system notifications (notify, debounced so an editor's burst of
//! writes, renames and deletes arrives as one batch) and the rescan signals
//! (SIGHUP, and SIGUSR1 as in Galley).

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tracing::warn;

/// How long the watcher waits for a burst of changes to settle.
const SETTLE: Duration = Duration::from_millis(50);

/// Batches of changed paths under the watched roots.
pub(crate) struct PathWatcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    batches: mpsc::UnboundedReceiver<Vec<PathBuf>>,
}

impl PathWatcher {
    /// Watches each of `roots` (directories recursively; a file through its
    /// parent directory, so atomic replacement is seen).
    pub(crate) fn new(roots: &[PathBuf]) -> notify::Result<Self> {
        let (tx, batches) = mpsc::unbounded_channel();
        let mut debouncer =
            new_debouncer(
                SETTLE,
                None,
                move |result: DebounceEventResult| match result {
                    Ok(events) => {
                        let paths = events.into_iter().flat_map(|e| e.event.paths).collect();
                        let _ = tx.send(paths);
                    }
                    Err(errors) => {
                        for error in errors {
                            warn!("file watcher: {error}");
                        }
                        // Something was missed: ask for a full rescan.
                        let _ = tx.send(Vec::new());
                    }
                },
            )?;
        for root in roots {
            let target = if root.is_dir() {
                root.as_path()
            } else {
                root.parent().unwrap_or(Path::new("."))
            };
            let mode = if root.is_dir() {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            debouncer.watch(target, mode)?;
        }
        Ok(Self {
            _debouncer: debouncer,
            batches,
        })
    }

    /// The next batch of changed paths; empty means "rescan everything".
    pub(crate) async fn changed(&mut self) -> Vec<PathBuf> {
        match self.batches.recv().await {
            Some(batch) => batch,
            None => std::future::pending().await,
        }
    }
}

/// SIGHUP or SIGUSR1: rescan now.
pub(crate) struct RescanSignals {
    hup: Option<Signal>,
    usr1: Option<Signal>,
}

impl RescanSignals {
    pub(crate) fn new() -> Self {
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

    pub(crate) async fn recv(&mut self) {
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
