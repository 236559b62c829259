//! Several sources as one. A collection's `FullSync` is forwarded only once
//! **every** source feeding that collection has synced it (Galley forwarded
//! the first one, so a slow source's state could be published as deleted).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::{EventSender, Source, SourceRun};
use crate::event::{Collection, Event};

/// Sources combined into one.
pub struct Aggregate {
    sources: Vec<Arc<dyn Source>>,
}

impl Aggregate {
    /// Combines `sources`.
    pub fn new(sources: Vec<Arc<dyn Source>>) -> Self {
        Self { sources }
    }
}

impl Source for Aggregate {
    fn name(&self) -> String {
        let names: Vec<_> = self.sources.iter().map(|s| s.name()).collect();
        format!("aggregate[{}]", names.join(", "))
    }

    fn collections(&self) -> Vec<Collection> {
        let mut all: Vec<_> = self.sources.iter().flat_map(|s| s.collections()).collect();
        all.sort();
        all.dedup();
        all
    }

    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
        Box::pin(async move {
            let mut waiting: HashMap<Collection, HashSet<usize>> = HashMap::new();
            let mut merged = StreamMap::new();
            let mut tasks = Vec::new();
            for (index, source) in self.sources.iter().enumerate() {
                for collection in source.collections() {
                    waiting.entry(collection).or_default().insert(index);
                }
                let (tx, rx) = mpsc::channel(256);
                merged.insert(index, ReceiverStream::new(rx));
                tasks.push(tokio::spawn(source.clone().run(tx, stop.clone())));
            }
            loop {
                let next = tokio::select! {
                    () = stop.cancelled() => break,
                    next = merged.next() => next,
                };
                let Some((index, event)) = next else {
                    break;
                };
                if let Event::FullSync(collection) = &event {
                    let Some(pending) = waiting.get_mut(collection) else {
                        continue;
                    };
                    if !pending.remove(&index) || !pending.is_empty() {
                        continue;
                    }
                }
                if events.send(event).await.is_err() {
                    break;
                }
            }
            stop.cancel();
            // A source blocked on a full channel sees it closed, not a
            // reader that never comes back.
            drop(merged);
            for task in tasks {
                let _ = task.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::scripted::scripted;

    #[tokio::test]
    async fn full_sync_waits_for_every_source_of_the_collection() {
        let (a, script_a) = scripted(&["shared", "only-a"]);
        let (b, script_b) = scripted(&["shared"]);
        let aggregate = Arc::new(Aggregate::new(vec![a, b]));
        let (tx, mut rx) = mpsc::channel(16);
        let stop = CancellationToken::new();
        let run = tokio::spawn(aggregate.run(tx, stop.clone()));

        script_a
            .send(Event::FullSync("shared".into()))
            .await
            .unwrap();
        script_a
            .send(Event::FullSync("only-a".into()))
            .await
            .unwrap();
        assert_eq!(rx.recv().await, Some(Event::FullSync("only-a".into())));
        // `shared` is still waiting for b.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), rx.recv())
                .await
                .is_err()
        );
        script_b
            .send(Event::FullSync("shared".into()))
            .await
            .unwrap();
        assert_eq!(rx.recv().await, Some(Event::FullSync("shared".into())));
        stop.cancel();
        run.await.unwrap();
    }

    /// Sends events until the channel closes, heedless of `stop` (as a
    /// source does while it hands over a large load).
    struct Flood;

    impl Source for Flood {
        fn name(&self) -> String {
            "flood".into()
        }

        fn collections(&self) -> Vec<Collection> {
            vec!["flood".into()]
        }

        fn run(self: Arc<Self>, events: EventSender, _stop: CancellationToken) -> SourceRun {
            Box::pin(async move { while events.send(Event::Reset).await.is_ok() {} })
        }
    }

    #[tokio::test]
    async fn stopping_mid_load_ends_even_a_source_blocked_on_sending() {
        let aggregate = Arc::new(Aggregate::new(vec![Arc::new(Flood)]));
        let (tx, mut rx) = mpsc::channel(1);
        let stop = CancellationToken::new();
        let run = tokio::spawn(aggregate.run(tx, stop.clone()));
        assert!(rx.recv().await.is_some());
        drop(rx);
        stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(5), run)
            .await
            .expect("the aggregate ends once stopped")
            .unwrap();
    }
}
