//! The webhook's check sessions: a validator plugin instance serves one
//! call at a time, so reviews borrow a session from a pool (made on first
//! need, at most [`Pool::new`]'s size) and run it off the async workers. A
//! review that waits for a session or for the checks longer than its
//! deadline is answered without them; the session comes back to the pool
//! when its checks end.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use galleon_pipeline::Verdict;
use galleon_pipeline::event::{Collection, Entry};

use crate::checks::{CheckSession, Checks};

/// Sessions of one set of checks, shared by every review.
#[derive(Clone)]
pub(super) struct Pool {
    checks: Checks,
    idle: Arc<Mutex<Vec<CheckSession>>>,
    permits: Arc<Semaphore>,
}

/// The checks did not finish within the deadline.
#[derive(Debug)]
pub(super) struct Late;

impl Pool {
    /// A pool of up to `size` sessions of `checks`.
    pub(super) fn new(checks: Checks, size: usize) -> Self {
        Self {
            checks,
            idle: Arc::default(),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    /// Judges `entry` of `collection` within `deadline`.
    pub(super) async fn check(
        &self,
        collection: Collection,
        entry: Entry,
        deadline: Duration,
    ) -> Result<Verdict, Late> {
        let run = async {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| Late)?;
            let (sent, received) = oneshot::channel();
            let pool = self.clone();
            tokio::task::spawn_blocking(move || {
                let mut session = pool.take();
                let verdict = session.check(&collection, &entry);
                pool.put(session);
                drop(permit);
                let _ = sent.send(verdict);
            });
            received.await.map_err(|_| Late)
        };
        tokio::time::timeout(deadline, run)
            .await
            .unwrap_or(Err(Late))
    }

    fn take(&self) -> CheckSession {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        idle.unwrap_or_else(|| self.checks.session())
    }

    fn put(&self, session: CheckSession) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(session);
    }
}
