//! The resource limits of one plugin instance: how long a call may run and
//! how much memory an instance may grow to.

use std::time::Duration;

/// Resource limits of one plugin instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest a single call may run.
    pub deadline: Duration,
    /// Most linear memory an instance may grow to.
    pub memory: usize,
}

impl Default for Limits {
    /// 100 ms per call, 64 MiB of memory (Rust and C plugins need far less;
    /// Python and JavaScript components need more — see the README).
    fn default() -> Self {
        Self {
            deadline: Duration::from_millis(100),
            memory: 64 << 20,
        }
    }
}
