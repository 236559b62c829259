//! Progress of a build that takes longer than a second: a line once it
//! passes one second, then every five, so a cold build (its toolchain
//! compiling dependencies) is never silent. Ends when dropped.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::info;

/// When the first line is written.
const FIRST: Duration = Duration::from_secs(1);

/// How often the next ones are.
const EVERY: Duration = Duration::from_secs(5);

/// A running build's progress lines; dropping it ends them.
pub(super) struct Progress {
    done: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Reports on the build of `plugin` in `language` until dropped.
    pub(super) fn start(plugin: &str, language: &str) -> Self {
        let (done, finished) = mpsc::channel::<()>();
        let (plugin, language) = (plugin.to_owned(), language.to_owned());
        let started = Instant::now();
        let thread = std::thread::Builder::new()
            .name("galleon-build-progress".into())
            .spawn(move || {
                let mut wait = FIRST;
                while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(wait) {
                    let elapsed = started.elapsed().as_secs();
                    info!(%plugin, %language, "still building ({elapsed}s)");
                    wait = EVERY;
                }
            })
            .ok();
        Self {
            done: Some(done),
            thread,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
