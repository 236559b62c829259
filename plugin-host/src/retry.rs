//! When a failed plugin is tried again: the first failure of a running
//! instance at once (a trap on one odd event should cost one replay, not a
//! wait), then on the hub's exponential backoff with jitter, from 100 ms up
//! to a minute. A success starts the schedule over.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::time::Instant;

/// The shortest delay before a failed plugin is tried again.
const MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest.
const MAX_DELAY: Duration = Duration::from_secs(60);

fn delays() -> ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(MIN_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build()
}

/// One plugin's run of failures and its next attempt.
pub(crate) struct Retry {
    backoff: ExponentialBackoff,
    failures: u32,
    at: Option<Instant>,
}

impl Retry {
    pub(crate) fn new() -> Self {
        Self {
            backoff: delays(),
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
            self.backoff.next().unwrap_or(MAX_DELAY)
        };
        self.at = Some(Instant::now() + delay);
        delay
    }

    /// A start succeeded: the next failure starts a new schedule.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
        self.at = None;
        self.backoff = delays();
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
            let floor = (MIN_DELAY * 2u32.pow(k as u32)).min(MAX_DELAY);
            assert!(*delay >= floor, "delay {k} = {delay:?} below {floor:?}");
            assert!(*delay <= MAX_DELAY * 2, "delay {k} = {delay:?}");
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
