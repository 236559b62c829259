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
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use galleon_mcp::{Backoff, BackoffOptions};
use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};

use crate::health::SourceHealth;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Where a link stands, as one atomic value.
const CONNECTING: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// One link of a source: the source itself, or a part of it (one kind's
/// watch of a Kubernetes API server).
pub(crate) struct Link {
    source: String,
    name: String,
    diagnostics: Diagnostics,
    health: SourceHealth,
    /// Where it stands (so `up`, called on every success, is one atomic
    /// swap while all is well).
    state: AtomicU8,
}

impl Link {
    /// The link `name` of `source`, reporting to `diagnostics` and `health`.
    pub(crate) fn new(
        source: String,
        name: String,
        diagnostics: Diagnostics,
        health: SourceHealth,
    ) -> Self {
        health.connecting(&source, &name);
        Self {
            source,
            name,
            diagnostics,
            health,
            state: AtomicU8::new(CONNECTING),
        }
    }

    fn scope(&self) -> Scope {
        Scope::Source(self.name.clone())
    }

    /// `endpoint` failed with `error`; `served` says what stays served and
    /// `retry` when the next attempt is. Logged as a warning when the link
    /// goes down, at debug level while it stays down; the ledger always
    /// holds the latest error.
    fn down(&self, endpoint: &str, error: &dyn std::fmt::Display, served: &str, retry: Duration) {
        let retry = delay_field(retry);
        let text = error.to_string();
        let echoes = self
            .health
            .down(&self.source, &self.name, Some(endpoint), &text, served);
        if self.state.swap(DOWN, Ordering::Relaxed) == DOWN {
            debug!(source = %self.name, endpoint, %error, retry, "link still down");
        } else if echoes > 0 {
            debug!(source = %self.name, endpoint, %error, retry, echoes, "link down, as others of its source");
        } else {
            warn!(source = %self.name, endpoint, %error, retry, "link down; {served}; retrying with backoff (other links of this source down with the same error are logged at debug)");
        }
        // Logged above (once per outage, not per link and attempt).
        let problem = Problem::new(endpoint, format!("{text}; {served}"));
        self.diagnostics.set_logged(&self.scope(), vec![problem]);
    }

    /// `endpoint` answers again (or for the first time).
    pub(crate) fn up(&self, endpoint: &str) {
        match self.state.swap(UP, Ordering::Relaxed) {
            UP => {}
            DOWN => {
                info!(source = %self.name, endpoint, "link back up");
                self.diagnostics.clear(&self.scope());
                self.health.up(&self.source, &self.name, Some(endpoint));
            }
            _ => self.health.up(&self.source, &self.name, Some(endpoint)),
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
