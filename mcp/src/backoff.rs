//! Reconnect delays shared by every dialling side (sink client, callout).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// Exponential backoff with jitter between reconnect attempts.
#[derive(Clone, Copy, Debug)]
pub struct BackoffOptions {
    /// First delay after a failure.
    pub min: Duration,
    /// Ceiling of the delay.
    pub max: Duration,
}

impl Default for BackoffOptions {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(100),
            max: Duration::from_secs(30),
        }
    }
}

/// The delays of one run of failures; [`Backoff::reset`] after a success.
pub(crate) struct Backoff {
    options: BackoffOptions,
    delays: ExponentialBackoff,
}

impl Backoff {
    pub(crate) fn new(options: BackoffOptions) -> Self {
        Self {
            options,
            delays: Self::delays(options),
        }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.options.max)
    }

    pub(crate) fn reset(&mut self) {
        self.delays = Self::delays(self.options);
    }

    fn delays(options: BackoffOptions) -> ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(options.min)
            .with_max_delay(options.max)
            .with_jitter()
            .without_max_times()
            .build()
    }
}
