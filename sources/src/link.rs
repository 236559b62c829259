//! The link of a source that dials (an etcd cluster, an upstream hub, a
//! Kubernetes API server): its health, and the retry loop around it.
//!
//! [`Link`] is the health: logged once when it goes down (then at debug
//! level while it stays down) and once when it comes back, and held in the
//! diagnostics ledger while it is down, saying what stays served.
//! [`Retry`] is one dialling loop's side: the delay before the next attempt
//! (exponential with jitter, reset once the link works) around a shared
//! [`Link`], so every dialling source retries and reports the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use galleon_mcp::{Backoff, BackoffOptions};
use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// One source's link.
pub(crate) struct Link {
    source: String,
    diagnostics: Diagnostics,
    /// Whether it is reported down (so `up`, called on every success, is
    /// one atomic load while all is well).
    down: AtomicBool,
}

impl Link {
    pub(crate) fn new(source: String, diagnostics: Diagnostics) -> Self {
        Self {
            source,
            diagnostics,
            down: AtomicBool::new(false),
        }
    }

    fn scope(&self) -> Scope {
        Scope::Source(self.source.clone())
    }

    /// `endpoint` failed with `error`; `served` says what stays served and
    /// `retry` when the next attempt is. Logged as a warning when the link
    /// goes down, at debug level while it stays down; the ledger always
    /// holds the latest error.
    fn down(&self, endpoint: &str, error: &dyn std::fmt::Display, served: &str, retry: Duration) {
        let retry = delay_field(retry);
        if self.down.swap(true, Ordering::Relaxed) {
            debug!(source = %self.source, endpoint, %error, retry, "link still down");
        } else {
            warn!(source = %self.source, endpoint, %error, retry, "link down; {served}; retrying with backoff");
        }
        let problem = Problem::new(endpoint, format!("{error}; {served}"));
        self.diagnostics.set(&self.scope(), vec![problem]);
    }

    /// `endpoint` answers again (or for the first time).
    pub(crate) fn up(&self, endpoint: &str) {
        if self.down.swap(false, Ordering::Relaxed) {
            info!(source = %self.source, endpoint, "link back up");
            self.diagnostics.clear(&self.scope());
        }
    }
}

/// A delay as a log field: `250ms`, `5s`.
fn delay_field(delay: Duration) -> String {
    if delay < Duration::from_secs(1) {
        format!("{}ms", delay.as_millis())
    } else {
        format!("{:.1}s", delay.as_secs_f64())
    }
}

/// One dialling loop: the link it reports to and the delays between its
/// attempts.
pub(crate) struct Retry {
    link: Arc<Link>,
    backoff: Backoff,
}

impl Retry {
    /// A loop reporting to `link`, waiting as `options` say between
    /// failed attempts.
    pub(crate) fn new(link: Arc<Link>, options: BackoffOptions) -> Self {
        Self {
            link,
            backoff: Backoff::new(options),
        }
    }

    /// `endpoint` works: the link is up and the next failure waits the
    /// shortest delay again.
    pub(crate) fn up(&mut self, endpoint: &str) {
        self.link.up(endpoint);
        self.backoff.reset();
    }

    /// An attempt at `endpoint` failed with `error` (`served`: what stays
    /// served): reports it and waits for the next attempt. `false` when
    /// `stop` came first.
    pub(crate) async fn failed(
        &mut self,
        endpoint: &str,
        error: &(dyn std::fmt::Display + Sync),
        served: &str,
        stop: &CancellationToken,
    ) -> bool {
        let delay = self.backoff.next_delay();
        self.link.down(endpoint, error, served, delay);
        tokio::select! {
            () = stop.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}
