//! The runtime: runs pipeline sessions one after another. A session starts
//! the sources, buffers their events until the mesh configuration has
//! synced, then builds the processor with that configuration and feeds it.
//! A `Reset` or a mesh-config change ends the session; the next one starts
//! the sources again (so every transformer sees a full replay). The snapshot
//! cache outlives sessions and versions are content hashes, so sinks keep
//! their streams and see a push only where outputs really changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::diagnostics::Diagnostics;
use crate::event::Event;
use crate::mesh::MeshSettings;
use crate::processor::PipelineSpec;
use crate::registry::MESH_CONFIG;
use crate::source::Source;
use crate::twin::Processors;
use galleon_mcp::cache::SnapshotCache;

/// Capacity of the channel from the sources to the pipeline.
const EVENT_BUFFER: usize = 1024;

/// The most events handled as one batch: what had arrived together, up to
/// this, so a source's initial sync of 100,000 objects crosses into each
/// plugin a few hundred times, not 100,000, and no one call grows an
/// instance's memory by the whole sync.
const BATCH_MAX: usize = 512;

/// Runs sessions of the pipeline described by a [`PipelineSpec`].
pub struct Runtime {
    source: Arc<dyn Source>,
    refresh: Arc<Notify>,
    spec: PipelineSpec,
    cache: SnapshotCache,
    diagnostics: Diagnostics,
    domain_suffix: String,
    /// Events the sources delivered, every session together.
    events: Arc<AtomicU64>,
}

/// Why a session ended.
enum Outcome {
    Stopped,
    Rebuild(&'static str),
}

impl Runtime {
    /// A runtime feeding `cache` from `source` through `spec`.
    pub fn new(
        source: Arc<dyn Source>,
        spec: PipelineSpec,
        cache: SnapshotCache,
        diagnostics: Diagnostics,
        domain_suffix: String,
    ) -> Self {
        Self {
            source,
            refresh: Arc::new(Notify::new()),
            spec,
            cache,
            diagnostics,
            domain_suffix,
            events: Arc::default(),
        }
    }

    /// Counts the events the sources deliver into `events` (read by the
    /// hub's metrics).
    pub fn with_event_counter(mut self, events: Arc<AtomicU64>) -> Self {
        self.events = events;
        self
    }

    /// Uses `refresh` to learn that transformers have something to say
    /// outside the event stream (a replaced plugin).
    pub fn with_refresh(mut self, refresh: Arc<Notify>) -> Self {
        self.refresh = refresh;
        self
    }

    /// Runs sessions until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let mut rebuilt = None;
        for session in 1.. {
            let session_stop = stop.child_token();
            let (events, rx) = mpsc::channel(EVENT_BUFFER);
            let sources = tokio::spawn(self.source.clone().run(events, session_stop.clone()));
            let outcome = self.session(session, rx, &stop, rebuilt).await;
            session_stop.cancel();
            let _ = sources.await;
            match outcome {
                Outcome::Stopped => return,
                Outcome::Rebuild(reason) => {
                    info!(session, "rebuilding the pipeline: {reason}");
                    rebuilt = Some(reason);
                }
            }
        }
    }

    /// One session; `rebuilt` is why the one before it ended, if one did.
    async fn session(
        &self,
        id: u64,
        mut events: mpsc::Receiver<Event>,
        stop: &CancellationToken,
        rebuilt: Option<&'static str>,
    ) -> Outcome {
        let mut buffer = Vec::new();
        // An event taken from the channel that ends a batch (a reset or the
        // mesh config), handled next.
        let mut pending: Option<Event> = None;
        let mut mesh: Option<Value> = None;
        let mut processor: Option<Processors> = None;
        loop {
            let deadline = processor.as_ref().and_then(Processors::deadline);
            let event = if let Some(event) = pending.take() {
                event
            } else {
                tokio::select! {
                () = stop.cancelled() => return Outcome::Stopped,
                () = self.refresh.notified() => {
                    if let Some(analysis) = &self.spec.analysis {
                        analysis.refresh();
                    }
                    if let Some(reason) = processor.as_mut().and_then(|p| p.refresh(Instant::now())) {
                        info!(session = id, "rebuilding the pipeline: {reason}");
                        return Outcome::Rebuild("a transformer asked for it");
                    }
                    continue;
                }
                () = sleep_until(deadline) => {
                    if let Some(p) = processor.as_mut() {
                        p.on_timer(Instant::now());
                    }
                    continue;
                }
                event = events.recv() => match event {
                    Some(event) => {
                        self.events.fetch_add(1, Ordering::Relaxed);
                        event
                    }
                    None => return Outcome::Stopped,
                },
                }
            };
            if event == Event::Reset {
                return Outcome::Rebuild("a source reset");
            }
            if !is_mesh(&event) {
                match processor.as_mut() {
                    Some(p) => {
                        let batch = self.arrived_with(event, &mut events, &mut pending);
                        p.handle_batch(&batch, Instant::now());
                    }
                    None => buffer.push(event),
                }
                continue;
            }
            if processor.is_some() {
                return Outcome::Rebuild("the mesh config changed");
            }
            match &event {
                Event::Added(_, entry) | Event::Updated(_, entry) => {
                    mesh = Some(entry.body.value())
                }
                Event::Deleted(..) => mesh = None,
                Event::FullSync(_) | Event::Reset => {}
            }
            let synced = matches!(event, Event::FullSync(_));
            buffer.push(event);
            if synced {
                let settings = MeshSettings {
                    config: Arc::new(
                        mesh.take()
                            .unwrap_or_else(|| Value::Object(crate::mesh::defaults())),
                    ),
                    domain_suffix: self.domain_suffix.clone(),
                };
                if let Some(analysis) = &self.spec.analysis {
                    analysis.session(&settings);
                }
                let mut built = Processors::new(
                    &self.spec,
                    &settings,
                    self.cache.clone(),
                    self.diagnostics.clone(),
                );
                info!(
                    session = id,
                    buffered = buffer.len(),
                    "mesh config synced; pipeline started"
                );
                if let Some(reason) = rebuilt {
                    built.because(&format!("pipeline rebuilt: {reason}"));
                }
                let now = Instant::now();
                // A collection no source feeds is complete as it is: empty.
                for collection in self.unfed() {
                    built.handle(&Event::FullSync(collection), now);
                }
                for batch in buffer.chunks(BATCH_MAX) {
                    built.handle_batch(batch, now);
                }
                buffer.clear();
                processor = Some(built);
            }
        }
    }
}

impl Runtime {
    /// `first` and the events that arrived with it (already in the
    /// channel), up to [`BATCH_MAX`]; one that must be handled on its own (a
    /// reset, the mesh config) ends the batch and is left in `pending`.
    fn arrived_with(
        &self,
        first: Event,
        events: &mut mpsc::Receiver<Event>,
        pending: &mut Option<Event>,
    ) -> Vec<Event> {
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX {
            let Ok(event) = events.try_recv() else {
                break;
            };
            self.events.fetch_add(1, Ordering::Relaxed);
            if event == Event::Reset || is_mesh(&event) {
                *pending = Some(event);
                break;
            }
            batch.push(event);
        }
        batch
    }

    /// The transformers' and analyzers' inputs that no source feeds.
    fn unfed(&self) -> Vec<crate::event::Collection> {
        let fed: std::collections::HashSet<_> = self.source.collections().into_iter().collect();
        let analyzed = self.spec.analysis.iter().flat_map(|a| a.inputs().cloned());
        let mut unfed: Vec<_> = self
            .spec
            .transformers
            .iter()
            .flat_map(|t| t.inputs())
            .chain(analyzed)
            .filter(|c| !fed.contains(c))
            .collect();
        unfed.sort();
        unfed.dedup();
        unfed
    }
}

/// Whether `event` is about the mesh config (which rebuilds the pipeline).
fn is_mesh(event: &Event) -> bool {
    event.collection().is_some_and(|c| &**c == MESH_CONFIG)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
