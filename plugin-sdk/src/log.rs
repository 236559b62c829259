//! Logging to the hub's log. In a component this calls the host's `log`
//! import (attributed to the plugin); natively the lines are kept per thread
//! for tests to inspect with [`crate::harness::take_logs`].

/// Log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Very detailed.
    Trace,
    /// Debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

/// Writes one line to the hub's log.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::guest::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    crate::harness::record_log(level, message);
}
