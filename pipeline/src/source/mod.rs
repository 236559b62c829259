//! The source seam: what every source of configuration events implements.
//! A source can be started and stopped any number of times; every start
//! emits its full state, then `FullSync` for each collection it feeds, then
//! changes as they happen. [`Aggregate`] runs several as one.

mod aggregate;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::event::{Collection, Event};

pub use aggregate::Aggregate;

/// Where a source sends its events. Bounded: a source waits when the
/// pipeline is behind.
pub type EventSender = mpsc::Sender<Event>;

/// A running source's future.
pub type SourceRun = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of configuration events.
pub trait Source: Send + Sync + 'static {
    /// A short description for logs.
    fn name(&self) -> String;
    /// The collections it feeds (and sends `FullSync` for on every start).
    fn collections(&self) -> Vec<Collection>;
    /// Runs one start of the source until `stop` is cancelled.
    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun;
}

/// A source driven by the test that holds its script sender.
#[cfg(test)]
pub(crate) mod scripted {
    use super::*;

    /// Emits what the test sends on the script channel (once started).
    pub(crate) struct Scripted {
        collections: Vec<Collection>,
        script: tokio::sync::Mutex<Option<mpsc::Receiver<Event>>>,
    }

    impl Source for Scripted {
        fn name(&self) -> String {
            "scripted".into()
        }

        fn collections(&self) -> Vec<Collection> {
            self.collections.clone()
        }

        fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
            Box::pin(async move {
                let mut script = self
                    .script
                    .lock()
                    .await
                    .take()
                    .expect("a scripted source starts once");
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        Some(event) = script.recv() => { let _ = events.send(event).await; }
                    }
                }
            })
        }
    }

    /// A scripted source feeding `collections`, and its script.
    pub(crate) fn scripted(collections: &[&str]) -> (Arc<Scripted>, mpsc::Sender<Event>) {
        let (tx, rx) = mpsc::channel(64);
        let source = Scripted {
            collections: collections.iter().map(|c| Collection::from(*c)).collect(),
            script: tokio::sync::Mutex::new(Some(rx)),
        };
        (Arc::new(source), tx)
    }
}
