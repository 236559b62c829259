//! When a failed plugin is tried again: the first failure of a running
//! instance at once (a trap on one odd event should cost one replay, not a
//! wait), then on the hub's exponential backoff with jitter, from 100 ms up
//! to a minute. A success starts the schedule over.

use std::time::Duration;

use tokio::time::Instant;

use crate::mcp::BackoffOptions;
use crate::mcp::backoff::Backoff;

/// The backoff of failed plugin starts.
pub(crate) const PLUGIN_BACKOFF: BackoffOptions = BackoffOptions {
    min: Duration::from_millis(100),
    max: Duration::from_secs(60),
};

/// One plugin's run of failures and its next attempt.
pub(crate) struct Retry {
    backoff: Backoff,
    failures: u32,
    at: Option<Instant>,
}

impl Retry {
    pub(crate) fn new() -> Self {
        Self {
            backoff: Backoff::new(PLUGIN_BACKOFF),
            failures: 0,
            at: None,
        }
    }

    /// Records a failure; returns the delay until the next attempt.
    pub(crate) fn failed(&mut self, at_once: bool) -> Duration {
        self.failures += 1;
        let delay = if at_once {
            Duration::ZERO
        } else {
            self.backoff.next_delay()
        };
        self.at = Some(Instant::now() + delay);
        delay
    }

    /// A start succeeded: the next failure starts a new schedule.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
        self.at = None;
        self.backoff.reset();
    }

    /// Makes the next attempt due now (a new plugin version arrived).
    pub(crate) fn now(&mut self) {
        self.at = None;
    }

    /// Whether an attempt is due.
    pub(crate) fn due(&self) -> bool {
        self.at.is_none_or(|at| Instant::now() >= at)
    }

    /// Consecutive failures so far.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attempts while time passes in 10 ms steps, failing each time.
    async fn attempts_within(retry: &mut Retry, total: Duration) -> u32 {
        let mut attempts = 0;
        let end = Instant::now() + total;
        while Instant::now() < end {
            if retry.due() {
                attempts += 1;
                retry.failed(false);
            }
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        attempts
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_up_to_a_minute() {
        let mut retry = Retry::new();
        assert_eq!(retry.failed(true), Duration::ZERO, "first failure: at once");
        assert!(retry.due());
        let mut delays = Vec::new();
        for _ in 0..12 {
            delays.push(retry.failed(false));
            assert!(!retry.due(), "not due right after a failure");
        }
        // Jittered exponential growth: each delay at least the unjittered
        // floor (100 ms · 2^k), none over twice the ceiling.
        for (k, delay) in delays.iter().enumerate() {
            let floor = (PLUGIN_BACKOFF.min * 2u32.pow(k as u32)).min(PLUGIN_BACKOFF.max);
            assert!(*delay >= floor, "delay {k} = {delay:?} below {floor:?}");
            assert!(*delay <= PLUGIN_BACKOFF.max * 2, "delay {k} = {delay:?}");
        }
        assert_eq!(retry.failures(), 13);
        retry.succeeded();
        assert!(retry.due());
        assert_eq!(retry.failures(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_minute_of_failures_costs_a_handful_of_attempts() {
        let mut retry = Retry::new();
        retry.failed(false);
        // 100 ms, 200, 400, … : under ten attempts in a minute, not sixty.
        let attempts = attempts_within(&mut retry, Duration::from_secs(60)).await;
        assert!((3..10).contains(&attempts), "{attempts} attempts");
    }
}
