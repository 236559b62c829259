//! Reconnect delays shared by every dialling side (sink client, callout,
//! the hub's sources that dial).

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
pub struct Backoff {
    options: BackoffOptions,
    delays: ExponentialBackoff,
}

impl Backoff {
    /// The delays for `options`, starting at the shortest.
    pub fn new(options: BackoffOptions) -> Self {
        Self {
            options,
            delays: Self::delays(options),
        }
    }

    /// The wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.options.max)
    }

    /// Back to the shortest delay (after a success).
    pub fn reset(&mut self) {
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
