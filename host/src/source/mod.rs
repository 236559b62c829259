//! Sources of configuration events. A source can be started and stopped any
//! number of times; every start emits its full state, then `FullSync` for
//! each collection it feeds, then changes as they happen.

mod aggregate;
pub mod file;
mod mesh;
mod watcher;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use aggregate::Aggregate;
pub use file::FileSource;
pub use mesh::MeshSource;

use crate::event::{Collection, Event};

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
