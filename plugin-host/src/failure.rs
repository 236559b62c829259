//! Why a call into a plugin failed, from wasmtime's error types: a trap
//! (the epoch deadline's `Interrupt` among them), the memory cap (our
//! limiter's own error), a denied sleep, or anything else the host raised.
//! Never from an error's message text.

use std::fmt;

use super::limits::Limits;

/// A failed call, by cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The call ran past the instance's deadline.
    Deadline(Limits),
    /// The instance tried to grow its memory past the cap.
    Memory {
        /// The instance's limits.
        limits: Limits,
        /// The size it asked for, in bytes.
        desired: usize,
    },
    /// The plugin tried to sleep.
    Sleep,
    /// The plugin trapped (`unreachable`, out-of-bounds access, …).
    Trap(wasmtime::Trap),
    /// Anything else (a host import failed, an import is missing): the root
    /// cause's text, without the wasm backtrace.
    Other(String),
}

impl Failure {
    /// The cause of `error`, raised by a call into an instance with `limits`.
    pub(crate) fn of(error: &wasmtime::Error, limits: Limits) -> Self {
        if let Some(memory) = error.downcast_ref::<MemoryLimitExceeded>() {
            return Self::Memory {
                limits,
                desired: memory.desired,
            };
        }
        if error.is::<SleepDenied>() {
            return Self::Sleep;
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => Self::Deadline(limits),
            Some(trap) => Self::Trap(*trap),
            None => Self::Other(root_cause(error)),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deadline(limits) => {
                write!(
                    f,
                    "ran past its {} ms deadline",
                    limits.deadline.as_millis()
                )
            }
            Self::Memory { limits, desired } => write!(
                f,
                "exceeded its {} MiB memory limit (growing to {} MiB)",
                limits.memory >> 20,
                desired.div_ceil(1 << 20)
            ),
            Self::Sleep => SleepDenied.fmt(f),
            Self::Trap(trap) => write!(f, "trapped: {trap}"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

/// The cause in `error`'s chain, skipping the wasm backtrace wrapper.
fn root_cause(error: &wasmtime::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .find(|cause| !cause.starts_with("error while executing at wasm backtrace"))
        .unwrap_or_else(|| error.root_cause().to_string())
}

/// Raised by the sandbox's memory limiter.
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded growing to {desired} bytes")]
pub(crate) struct MemoryLimitExceeded {
    pub(crate) desired: usize,
}

/// Raised by the sandbox's clock when a plugin asks to sleep.
#[derive(Debug, thiserror::Error)]
#[error("plugins may not sleep")]
pub(crate) struct SleepDenied;
