//! A session's processors: the main pipeline and, while a [`canary`]
//! runs, its twin with the candidate build, handed the same events; when
//! the canary ends the twin is dropped and its groups follow the main
//! ones in the cache.
//!
//! [`canary`]: crate::canary

use tokio::time::Instant;
use tracing::info;

use crate::canary::CanarySpec;
use crate::diagnostics::Diagnostics;
use crate::event::Event;
use crate::mesh::MeshSettings;
use crate::processor::{PipelineSpec, Processor};
use galleon_mcp::cache::SnapshotCache;

/// A session's processors: the main one and, while a canary runs, its
/// twin, handed the same events.
pub(super) struct Processors {
    main: Processor,
    twin: Option<Processor>,
    spec: PipelineSpec,
    cache: SnapshotCache,
    /// Whether this session made the twin groups follow the main ones.
    followed: bool,
}

impl Processors {
    pub(super) fn new(
        spec: &PipelineSpec,
        mesh: &MeshSettings,
        cache: SnapshotCache,
        diagnostics: Diagnostics,
    ) -> Self {
        let twin = spec
            .canary
            .as_ref()
            .filter(|canary| !canary.ended())
            .map(|canary| {
                Processor::new(
                    &twin_spec(canary, spec),
                    mesh,
                    cache.clone(),
                    diagnostics.clone(),
                )
            });
        Self {
            main: Processor::new(spec, mesh, cache.clone(), diagnostics),
            twin,
            spec: spec.clone(),
            cache,
            followed: false,
        }
    }

    fn each(&mut self) -> impl Iterator<Item = &mut Processor> {
        std::iter::once(&mut self.main).chain(self.twin.as_mut())
    }

    pub(super) fn handle(&mut self, event: &Event, now: Instant) {
        self.each().for_each(|p| p.handle(event, now));
    }

    pub(super) fn handle_batch(&mut self, events: &[Event], now: Instant) {
        self.each().for_each(|p| p.handle_batch(events, now));
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        let twin = self.twin.as_ref().and_then(Processor::deadline);
        self.main.deadline().into_iter().chain(twin).min()
    }

    pub(super) fn on_timer(&mut self, now: Instant) {
        self.each().for_each(|p| p.on_timer(now));
    }

    pub(super) fn because(&mut self, cause: &str) {
        self.each().for_each(|p| p.because(cause));
    }

    /// Refreshes both; a canary that ended is wound up after the main
    /// pipeline took in what ended it (a promoted build swapped in).
    pub(super) fn refresh(&mut self, now: Instant) -> Option<String> {
        let rebuild = self.main.refresh(now);
        if let Some(twin) = &mut self.twin {
            let twin_rebuild = twin.refresh(now);
            if rebuild.is_some() || twin_rebuild.is_some() {
                return rebuild.or(twin_rebuild);
            }
        }
        if rebuild.is_none() {
            self.end_canary_if_ended();
        }
        rebuild
    }

    fn end_canary_if_ended(&mut self) {
        let Some(canary) = self.spec.canary.as_ref().filter(|c| c.ended()) else {
            return;
        };
        if self.followed {
            return;
        }
        // Also when this session started after the end (a rebuild) and
        // never ran a twin: the followers must be set whatever happened.
        self.followed = true;
        self.twin = None;
        // What the main pipeline owes is published before the twins
        // follow it, so no selected sink is served an older state.
        self.main.flush();
        for group in &self.spec.groups {
            let twin = format!("{}{}", group.name, canary.suffix);
            self.cache.follow(&twin, &group.name, "canary ended");
        }
        info!("canary ended: its sinks are served the main pipeline's snapshots");
    }
}

/// The twin pipeline of `spec` for `canary`: its groups renamed, nothing
/// analyzed (the main pipeline's analysis stands for both).
fn twin_spec(canary: &CanarySpec, spec: &PipelineSpec) -> PipelineSpec {
    let mut twin = spec.clone();
    twin.transformers = canary.transformers.clone();
    for group in &mut twin.groups {
        group.name = format!("{}{}", group.name, canary.suffix);
    }
    twin.analysis = None;
    twin.canary = None;
    twin
}
