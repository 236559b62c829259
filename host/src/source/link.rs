//! The health of a source's link to what it dials (an etcd cluster, an
//! upstream hub): logged when it goes down and comes back, and held in the
//! diagnostics ledger while it is down, saying what stays served.

use std::sync::atomic::{AtomicBool, Ordering};

use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};
use tracing::{info, warn};

/// One source's link.
pub(super) struct Link {
    source: String,
    diagnostics: Diagnostics,
    /// Whether it is reported down (so `up`, called on every success, is
    /// one atomic load while all is well).
    down: AtomicBool,
}

impl Link {
    pub(super) fn new(source: String, diagnostics: Diagnostics) -> Self {
        Self {
            source,
            diagnostics,
            down: AtomicBool::new(false),
        }
    }

    fn scope(&self) -> Scope {
        Scope::Source(self.source.clone())
    }

    /// `endpoint` failed with `error`; `served` says what stays served.
    pub(super) fn down(&self, endpoint: &str, error: &dyn std::fmt::Display, served: &str) {
        warn!(source = %self.source, endpoint, %error, "link down; {served}");
        let problem = Problem::new(endpoint, format!("{error}; {served}"));
        self.diagnostics.set(&self.scope(), vec![problem]);
        self.down.store(true, Ordering::Relaxed);
    }

    /// `endpoint` answers again (or for the first time).
    pub(super) fn up(&self, endpoint: &str) {
        if self.down.swap(false, Ordering::Relaxed) {
            info!(source = %self.source, endpoint, "link back up");
            self.diagnostics.clear(&self.scope());
        }
    }
}
