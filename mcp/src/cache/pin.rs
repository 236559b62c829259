//! Pins: a collection served at an earlier kept version while its producer
//! moves on (a rollback), until released or its time is up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::history::History;
use super::lock;
use super::snapshot::CollectionSnapshot;

/// A pin in force, as the admin API and `galleon status` show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinStatus {
    /// The snapshot group.
    pub group: String,
    /// The pinned collection.
    pub collection: String,
    /// The version sinks are served.
    pub version: String,
    /// The newest version the producer published, hidden by the pin.
    pub hides: Option<String>,
    /// Resources the hidden version adds, changes or removes against the
    /// pinned one.
    pub hidden_changes: usize,
    /// Since when (RFC 3339).
    pub since: String,
    /// When it is released by itself, if timed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Who made it.
    pub by: String,
}

struct Pin {
    id: u64,
    content: Arc<CollectionSnapshot>,
    since: SystemTime,
    until: Option<SystemTime>,
    by: String,
}

/// The pins in force, by (group, collection).
#[derive(Default)]
pub(super) struct Pins {
    pins: Mutex<BTreeMap<(String, String), Pin>>,
    next: AtomicU64,
}

impl Pins {
    /// Pins `content` in `group` (replacing a pin of the same collection);
    /// its id.
    pub(super) fn insert(
        &self,
        group: &str,
        content: Arc<CollectionSnapshot>,
        duration: Option<Duration>,
        by: &str,
    ) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let since = SystemTime::now();
        let key = (group.to_owned(), content.collection().to_owned());
        let pin = Pin {
            id,
            content,
            since,
            until: duration.map(|d| since + d),
            by: by.to_owned(),
        };
        lock(&self.pins).insert(key, pin);
        id
    }

    /// Removes the pin of `collection` in `group`; whether there was one.
    pub(super) fn remove(&self, group: &str, collection: &str) -> bool {
        lock(&self.pins)
            .remove(&(group.to_owned(), collection.to_owned()))
            .is_some()
    }

    /// Removes the pin only if it is still pin `id` (a timed pin that was
    /// replaced or released meanwhile stays as it is).
    pub(super) fn remove_if(&self, group: &str, collection: &str, id: u64) -> bool {
        let mut pins = lock(&self.pins);
        let key = (group.to_owned(), collection.to_owned());
        if pins.get(&key).is_some_and(|p| p.id == id) {
            pins.remove(&key);
            return true;
        }
        false
    }

    /// The pinned collections of `group`.
    pub(super) fn of_group(&self, group: &str) -> Vec<Arc<CollectionSnapshot>> {
        lock(&self.pins)
            .iter()
            .filter(|((g, _), _)| g == group)
            .map(|(_, pin)| pin.content.clone())
            .collect()
    }

    /// Every pin, with what it hides according to `history`.
    pub(super) fn status(&self, history: &History) -> Vec<PinStatus> {
        let pins = lock(&self.pins);
        pins.iter()
            .map(|((group, collection), pin)| {
                let newest = history.newest(group, collection);
                let hidden_changes = newest.as_ref().map_or(0, |n| {
                    let delta = n.changes_from(&pin.content);
                    delta.changed.len() + delta.removed.len()
                });
                PinStatus {
                    group: group.clone(),
                    collection: collection.clone(),
                    version: pin.content.version().to_string(),
                    hides: newest.map(|n| n.version().to_string()),
                    hidden_changes,
                    since: humantime::format_rfc3339_seconds(pin.since).to_string(),
                    until: pin
                        .until
                        .map(|u| humantime::format_rfc3339_seconds(u).to_string()),
                    by: pin.by.clone(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::cache::test_support::resource;
    use crate::cache::{CachedResource, DefaultGroup, Snapshot, SnapshotCache};

    fn snapshot(body: &str) -> Snapshot {
        Snapshot::builder()
            .collection("c", [CachedResource::new(resource("ns/a", body))])
            .build()
    }

    fn served(cache: &SnapshotCache) -> String {
        let snapshot = cache.snapshot("default").unwrap();
        snapshot.collection("c").unwrap().version().to_string()
    }

    #[tokio::test]
    async fn a_pin_serves_the_old_version_until_released() {
        let cache = SnapshotCache::new(DefaultGroup);
        cache.set_snapshot("default", snapshot("1"));
        let old = served(&cache);
        cache.set_snapshot("default", snapshot("2"));
        let new = served(&cache);
        let pin = cache.pin("default", "c", &old, None, "test").unwrap();
        assert_eq!(
            (served(&cache), pin.hides.as_deref()),
            (old.clone(), Some(&*new))
        );
        assert_eq!(pin.hidden_changes, 1);
        // The producer moves on; sinks still see the pinned version.
        cache.set_snapshot("default", snapshot("3"));
        assert_eq!(served(&cache), old);
        assert_eq!(
            cache.history().of("default", "c").unwrap().versions.len(),
            3
        );
        assert!(cache.release("default", "c", "test"));
        assert_ne!(served(&cache), old);
        assert!(
            !cache.release("default", "c", "test"),
            "nothing left to release"
        );
        let writes = cache.history().of("default", "c").unwrap().writes;
        let actions: Vec<_> = writes.iter().map(|w| w.action.as_str()).collect();
        assert_eq!(actions[0], "release");
        assert!(actions[1].starts_with("rollback to "), "{actions:?}");
    }

    #[test]
    fn a_follower_is_served_its_groups_snapshots_from_the_current_one_on() {
        let cache = SnapshotCache::new(DefaultGroup);
        let version = |group: &str| {
            let snapshot = cache.snapshot(group).unwrap();
            snapshot.collection("c").unwrap().version().to_string()
        };
        cache.set_snapshot("default", snapshot("1"));
        cache.set_snapshot("default~canary", snapshot("candidate"));
        assert_ne!(version("default~canary"), version("default"));
        cache.follow("default~canary", "default", "canary ended");
        assert_eq!(version("default~canary"), version("default"));
        cache.set_snapshot("default", snapshot("2"));
        assert_eq!(version("default~canary"), version("default"));
        let kept = cache.history().of("default~canary", "c").unwrap();
        assert_eq!(kept.versions.len(), 3, "each version it was served");
        assert_eq!(
            cache.history().group_of("c", None).unwrap(),
            "default",
            "a group's twin does not make its collections ambiguous"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_timed_pin_releases_itself() {
        let cache = SnapshotCache::new(DefaultGroup);
        cache.set_snapshot("default", snapshot("1"));
        let old = served(&cache);
        cache.set_snapshot("default", snapshot("2"));
        let duration = std::time::Duration::from_secs(60);
        cache
            .pin("default", "c", &old, Some(duration), "test")
            .unwrap();
        assert_eq!(served(&cache), old);
        tokio::time::sleep(duration * 2).await;
        assert_ne!(served(&cache), old);
        assert!(cache.pins().is_empty());
    }

    #[test]
    fn an_unkept_version_cannot_be_pinned() {
        let cache = SnapshotCache::new(DefaultGroup);
        cache.set_snapshot("default", snapshot("1"));
        assert!(cache.pin("default", "c", "0000", None, "test").is_err());
        assert!(cache.pins().is_empty());
    }
}
