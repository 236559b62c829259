//! [`Watch`]: a one-shot wait for a collection to differ from a known version.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use tokio::sync::watch;

use super::snapshot::{CollectionSnapshot, Snapshot};

/// Version of a collection with no resources.
static EMPTY_VERSION: LazyLock<Arc<str>> =
    LazyLock::new(|| CollectionSnapshot::empty("").version().clone());

/// Resolves to a collection's state once its version differs from the one
/// the watcher knows. Fires once; dropping it cancels it.
pub struct Watch {
    wait: Pin<Box<dyn Future<Output = Arc<CollectionSnapshot>> + Send>>,
}

impl Watch {
    pub(super) fn new(
        rx: watch::Receiver<Option<Arc<Snapshot>>>,
        collection: String,
        known: Option<Arc<str>>,
    ) -> Self {
        Self {
            wait: Box::pin(wait(rx, collection, known)),
        }
    }
}

impl Future for Watch {
    type Output = Arc<CollectionSnapshot>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.wait.as_mut().poll(cx)
    }
}

async fn wait(
    mut rx: watch::Receiver<Option<Arc<Snapshot>>>,
    collection: String,
    known: Option<Arc<str>>,
) -> Arc<CollectionSnapshot> {
    loop {
        if let Some(changed) = differing(&rx.borrow_and_update(), &collection, known.as_deref()) {
            return changed;
        }
        if rx.changed().await.is_err() {
            // The cache is gone: nothing will ever change again.
            std::future::pending::<()>().await;
        }
    }
}

fn differing(
    snapshot: &Option<Arc<Snapshot>>,
    collection: &str,
    known: Option<&str>,
) -> Option<Arc<CollectionSnapshot>> {
    let snapshot = snapshot.as_ref()?;
    match snapshot.collection(collection) {
        Some(current) => (known != Some(current.version())).then(|| current.clone()),
        None => {
            (known != Some(&EMPTY_VERSION)).then(|| Arc::new(CollectionSnapshot::empty(collection)))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cache::test_support::resource;
    use crate::cache::{CachedResource, DefaultGroup, SnapshotCache};

    fn snapshot(bodies: &[&str]) -> Snapshot {
        Snapshot::builder()
            .collection(
                "c",
                bodies
                    .iter()
                    .enumerate()
                    .map(|(i, b)| CachedResource::new(resource(&format!("ns/{i}"), b))),
            )
            .build()
    }

    async fn fired(watch: &mut Watch) -> Option<Arc<CollectionSnapshot>> {
        tokio::time::timeout(Duration::from_millis(50), watch)
            .await
            .ok()
    }

    #[tokio::test]
    async fn parks_until_a_snapshot_exists_then_fires_once() {
        let cache = SnapshotCache::new(DefaultGroup);
        let mut watch = cache.watch("default", "c", None);
        assert!(fired(&mut watch).await.is_none());
        cache.set_snapshot("default", snapshot(&["a"]));
        let first = fired(&mut watch)
            .await
            .expect("fires on the first snapshot");
        assert_eq!(first.len(), 1);
    }

    #[tokio::test]
    async fn answers_at_once_when_versions_differ_and_parks_when_equal() {
        let cache = SnapshotCache::new(DefaultGroup);
        cache.set_snapshot("default", snapshot(&["a"]));
        let current = cache
            .snapshot("default")
            .unwrap()
            .collection("c")
            .unwrap()
            .version()
            .clone();

        let mut stale = cache.watch("default", "c", Some("old".into()));
        assert!(fired(&mut stale).await.is_some());

        let mut up_to_date = cache.watch("default", "c", Some(current.clone()));
        assert!(fired(&mut up_to_date).await.is_none());
        // Same content again: same version, the watch keeps waiting.
        cache.set_snapshot("default", snapshot(&["a"]));
        assert!(fired(&mut up_to_date).await.is_none());
        cache.set_snapshot("default", snapshot(&["b"]));
        let next = fired(&mut up_to_date).await.expect("fires on new content");
        assert_ne!(next.version(), &current);
    }

    #[tokio::test]
    async fn missing_collection_is_served_empty() {
        let cache = SnapshotCache::new(DefaultGroup);
        cache.set_snapshot("default", Snapshot::default());
        let mut watch = cache.watch("default", "absent", None);
        let empty = fired(&mut watch).await.expect("an empty collection");
        assert!(empty.is_empty());
        let mut parked = cache.watch("default", "absent", Some(empty.version().clone()));
        assert!(fired(&mut parked).await.is_none());
    }

    #[tokio::test]
    async fn cleared_group_parks_and_dropping_cancels() {
        let cache = SnapshotCache::new(DefaultGroup);
        cache.set_snapshot("default", snapshot(&["a"]));
        cache.clear_snapshot("default");
        let mut watch = cache.watch("default", "c", None);
        assert!(fired(&mut watch).await.is_none());
        let receivers = cache.sender("default").receiver_count();
        drop(watch);
        assert_eq!(cache.sender("default").receiver_count(), receivers - 1);
    }

    #[tokio::test]
    async fn two_caches_agree_on_versions_whatever_the_order() {
        let (a, b) = (
            SnapshotCache::new(DefaultGroup),
            SnapshotCache::new(DefaultGroup),
        );
        a.set_snapshot("default", snapshot(&["x", "y", "z"]));
        let reversed = Snapshot::builder()
            .collection(
                "c",
                [(2, "z"), (1, "y"), (0, "x")]
                    .map(|(i, b)| CachedResource::new(resource(&format!("ns/{i}"), b))),
            )
            .build();
        b.set_snapshot("default", reversed);
        let version = |c: &SnapshotCache| {
            c.snapshot("default")
                .unwrap()
                .collection("c")
                .unwrap()
                .version()
                .clone()
        };
        assert_eq!(version(&a), version(&b));
    }
}
