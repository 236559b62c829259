//! Snapshot groups: sets of output collections published together into the
//! cache, with a publishing strategy — `immediate` on every change, or
//! `debounce` (publish once changes pause for `quiesce`, or at the latest
//! `max_delay` after the first unpublished change). A group publishes only
//! once all its collections have synced.

use std::time::Duration;

use tokio::time::Instant;

use crate::event::Collection;

/// When a group publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// On every change.
    Immediate,
    /// After changes settle.
    Debounce {
        /// Longest wait after the first unpublished change.
        max_delay: Duration,
        /// Quiet time that ends a burst of changes.
        quiesce: Duration,
    },
}

impl Strategy {
    /// Galley's debounce defaults (1.4, 1.5).
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(1);
    /// Galley's quiesce default.
    pub const DEFAULT_QUIESCE: Duration = Duration::from_millis(500);

    /// Debounce with Galley's defaults: max 1 s, quiesce 0.5 s.
    pub fn debounce() -> Self {
        Strategy::Debounce {
            max_delay: Self::DEFAULT_MAX_DELAY,
            quiesce: Self::DEFAULT_QUIESCE,
        }
    }
}

/// A group's publishing state within one pipeline session.
pub(super) struct SnapshotGroup {
    pub(super) name: String,
    pub(super) collections: Vec<Collection>,
    strategy: Strategy,
    /// (first, last) unpublished change while debouncing.
    unpublished: Option<(Instant, Instant)>,
}

impl SnapshotGroup {
    pub(super) fn new(name: String, collections: Vec<Collection>, strategy: Strategy) -> Self {
        Self {
            name,
            collections,
            strategy,
            unpublished: None,
        }
    }

    /// Records a change (the caller checked the group is synced). Returns
    /// true when the group must publish now.
    pub(super) fn changed(&mut self, now: Instant) -> bool {
        match self.strategy {
            Strategy::Immediate => true,
            Strategy::Debounce { .. } => {
                let first = self.unpublished.map_or(now, |(first, _)| first);
                self.unpublished = Some((first, now));
                false
            }
        }
    }

    /// When a debounced publish is due, if one is pending.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match (self.strategy, self.unpublished) {
            (Strategy::Debounce { max_delay, quiesce }, Some((first, last))) => {
                Some((first + max_delay).min(last + quiesce))
            }
            _ => None,
        }
    }

    /// Marks the pending changes as published.
    pub(super) fn published(&mut self) {
        self.unpublished = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debounce() -> SnapshotGroup {
        SnapshotGroup::new("default".into(), vec![], Strategy::debounce())
    }

    #[test]
    fn quiesce_ends_a_short_burst() {
        let mut group = debounce();
        let t0 = Instant::now();
        assert!(!group.changed(t0));
        group.changed(t0 + Duration::from_millis(100));
        assert_eq!(group.deadline(), Some(t0 + Duration::from_millis(600)));
    }

    #[test]
    fn max_delay_bounds_a_long_burst() {
        let mut group = debounce();
        let t0 = Instant::now();
        for ms in (0..=900).step_by(100) {
            group.changed(t0 + Duration::from_millis(ms));
        }
        assert_eq!(group.deadline(), Some(t0 + Duration::from_secs(1)));
        group.published();
        assert_eq!(group.deadline(), None);
    }

    #[test]
    fn immediate_publishes_on_every_change() {
        let mut group = SnapshotGroup::new("x".into(), vec![], Strategy::Immediate);
        assert!(group.changed(Instant::now()));
        assert_eq!(group.deadline(), None);
    }
}
