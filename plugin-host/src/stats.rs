//! What each binding did since start: calls, failures by cause, call
//! durations (a Prometheus histogram), hot swaps and the last error. Shared
//! by the binding's instances in every session; read by the admin API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;
use serde::Serialize;

use super::error::PluginError;
use super::failure::Failure;

/// Bucket bounds of the call-duration histogram, in seconds: 10 µs to the
/// largest deadline anyone should set.
const DURATION_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// Live counters of one binding.
pub(crate) struct CallStats {
    calls: AtomicU64,
    failures: AtomicU64,
    deadlines: AtomicU64,
    memory: AtomicU64,
    linear_memory: AtomicU64,
    swaps: AtomicU64,
    durations: Histogram,
    last_error: Mutex<Option<String>>,
}

impl Default for CallStats {
    fn default() -> Self {
        Self {
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            deadlines: AtomicU64::new(0),
            memory: AtomicU64::new(0),
            linear_memory: AtomicU64::new(0),
            swaps: AtomicU64::new(0),
            durations: Histogram::new(DURATION_BUCKETS),
            last_error: Mutex::new(None),
        }
    }
}

impl CallStats {
    /// Records one call that took `elapsed`, however it ended, by an
    /// instance whose linear memory is now `memory` bytes.
    pub(crate) fn called(&self, elapsed: Duration, memory: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.linear_memory.store(memory as u64, Ordering::Relaxed);
        self.durations.observe(elapsed.as_secs_f64());
    }

    /// Records a failure: of a call, of its output, or of an instance that
    /// would not start.
    pub(crate) fn failed(&self, error: &PluginError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let cause = match error {
            PluginError::Call { failure, .. } | PluginError::Instantiate { failure, .. } => {
                Some(failure)
            }
            _ => None,
        };
        match cause {
            Some(Failure::Deadline(_)) => self.deadlines.fetch_add(1, Ordering::Relaxed),
            Some(Failure::Memory { .. }) => self.memory.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error.to_string());
    }

    /// Counts a new version swapped in.
    pub(crate) fn swapped(&self) {
        self.swaps.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CallCounts {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CallCounts {
            calls: read(&self.calls),
            failures: read(&self.failures),
            deadline_traps: read(&self.deadlines),
            memory_traps: read(&self.memory),
            linear_memory: read(&self.linear_memory),
            hot_swaps: read(&self.swaps),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            durations: self.durations.clone(),
        }
    }
}

/// A reading of one binding's counters.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallCounts {
    /// Calls made (every session, every instance).
    pub calls: u64,
    /// Calls and instance starts that failed, for any cause.
    pub failures: u64,
    /// Of those, calls stopped at the deadline.
    pub deadline_traps: u64,
    /// Of those, calls stopped at the memory cap.
    pub memory_traps: u64,
    /// The linear memory of the instance called last, in bytes (an
    /// instance's memory grows and never shrinks while it lives).
    pub linear_memory: u64,
    /// New versions swapped in since start.
    pub hot_swaps: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// Call durations in seconds (shared with the live histogram).
    #[serde(skip)]
    pub durations: Histogram,
}

/// One binding as the admin API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginStatus {
    /// The binding's name.
    pub name: String,
    /// `transformer` or `validator`.
    pub kind: &'static str,
    /// The file it is loaded from (and watched, unless built in).
    pub path: String,
    /// Whether it runs from the copy built into the binary.
    pub builtin: bool,
    /// SHA-256 of the version running.
    pub digest: String,
    /// Versions loaded since start (1 = the first).
    pub generation: u64,
    /// Longest one call may run, in milliseconds.
    pub deadline_ms: u128,
    /// Most memory one instance may grow to, in bytes.
    pub memory_limit: usize,
    /// A transformer's inputs, or the collections a validator judges.
    pub inputs: Vec<String>,
    /// A transformer's outputs.
    pub outputs: Vec<String>,
    /// What it did since start.
    #[serde(flatten)]
    pub counts: CallCounts,
}
