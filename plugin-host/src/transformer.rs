//! A transformer plugin in the pipeline.
//!
//! The host keeps what the plugin was given (its current inputs, and which
//! input collections synced) and what it produced (its current outputs). So:
//!
//! - **Failure isolation.** A trap, a deadline or memory overrun, or output
//!   that breaks the contract discards the instance. A new instance gets the
//!   current inputs replayed (`Reset`, `Added`…, `FullSync`); only the
//!   differences between its outputs and the last good outputs are emitted.
//!   Until then the last good outputs stay served. Repeated failures back off
//!   (up to a minute) and mark the plugin failed.
//! - **Hot loading.** A new generation in the slot is started, configured and
//!   replayed off to the side, its outputs diffed against the current ones,
//!   and the instance swapped — or, if any step fails, the old one keeps
//!   running. Identical outputs mean no events, hence no push.
//! - **FullSync.** Emitted by the host for every output once every input has
//!   synced.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tracing::{info, warn};

use super::binding::TransformerBinding;
use super::component::Description;
use super::crossing::{Key, apply, cross, diff, replay_events};
use super::error::PluginError;
use super::instance::Instance;
use super::preview::{self, LiveState};
use super::retry::Retry;
use galleon_pipeline::diagnostics::{PluginScope, Problem, Scope};
use galleon_pipeline::event::{Collection, Entry, Event};
use galleon_pipeline::mesh::MeshSettings;
use galleon_pipeline::{Refresh, Transformer, TransformerFactory};

/// Consecutive failures after which a plugin is reported as failed.
const FAILED_AFTER: u32 = 3;

/// A transformer plugin bound into a pipeline session.
pub struct WasmTransformer {
    binding: Arc<TransformerBinding>,
    mesh: MeshSettings,
    description: Description,
    instance: Option<Instance>,
    inputs: BTreeMap<Key, Arc<Entry>>,
    synced: BTreeSet<Collection>,
    outputs: BTreeMap<Key, Arc<Entry>>,
    outputs_synced: bool,
    retry: Retry,
    /// Generation of the last start attempt: a newer one is tried at once.
    attempted: u64,
}

impl WasmTransformer {
    fn new(binding: Arc<TransformerBinding>, mesh: &MeshSettings) -> Self {
        let description = binding.slot.current().1.description.clone();
        let mut transformer = Self {
            binding,
            mesh: mesh.clone(),
            description,
            instance: None,
            inputs: BTreeMap::new(),
            synced: BTreeSet::new(),
            outputs: BTreeMap::new(),
            outputs_synced: false,
            retry: Retry::new(),
            attempted: 0,
        };
        if let Err(error) = transformer.replace() {
            transformer.failed(&error, false);
        }
        transformer
    }

    fn name(&self) -> &str {
        &self.binding.slot.name
    }

    fn record_input(&mut self, event: &Event) {
        match event {
            Event::Added(c, e) | Event::Updated(c, e) => {
                self.inputs.insert((c.clone(), e.name.clone()), e.clone());
            }
            Event::Deleted(c, name) => {
                self.inputs.remove(&(c.clone(), name.clone()));
            }
            Event::FullSync(c) => {
                self.synced.insert(c.clone());
            }
            Event::Reset => {
                self.inputs.clear();
                self.synced.clear();
            }
        }
    }

    /// Starts an instance of the slot's current plugin and replays the inputs
    /// into it; on success, swaps it in and returns the output differences.
    fn replace(&mut self) -> Result<Vec<Event>, PluginError> {
        let b = &self.binding;
        self.attempted = b.slot.generation();
        let mut instance = Instance::start(
            &b.sandbox,
            &b.slot.name,
            b.slot.current(),
            b.limits,
            &b.settings,
            &self.mesh,
        )?;
        let outputs = self.replay(&mut instance)?;
        let differences = diff(&self.outputs, &outputs);
        self.outputs = outputs;
        self.instance = Some(instance);
        self.retry.succeeded();
        self.binding
            .diagnostics
            .clear(&self.scope(PluginScope::Run));
        Ok(differences)
    }

    /// Replays the inputs into `instance` (see [`replay_events`]) in one
    /// batch.
    fn replay(&self, instance: &mut Instance) -> Result<BTreeMap<Key, Arc<Entry>>, PluginError> {
        let replay = replay_events(&self.inputs, &self.synced);
        let mut outputs = BTreeMap::new();
        for events in self.call(instance, &replay)?.into_iter().flatten() {
            apply(&mut outputs, events);
        }
        Ok(outputs)
    }

    /// One crossing for `events` (already recorded as inputs), counted in
    /// the binding's stats: per event, its outputs, or `None` when the
    /// plugin rejected it (reported).
    fn call(
        &self,
        instance: &mut Instance,
        events: &[Event],
    ) -> Result<Vec<Option<Vec<Event>>>, PluginError> {
        let started = Instant::now();
        let answers = cross(instance, events, &self.inputs, &self.description.outputs);
        self.binding
            .slot
            .stats
            .called(started.elapsed(), instance.peak_memory());
        let answers = answers?
            .into_iter()
            .zip(events)
            .map(|(answer, event)| match answer {
                Ok(outputs) => {
                    if let (Some(collection), Some(name)) = (event.collection(), event.name()) {
                        let scope =
                            self.scope(PluginScope::Rejection(collection.clone(), name.into()));
                        self.binding.diagnostics.clear(&scope);
                    }
                    Some(outputs)
                }
                Err(message) => {
                    self.report_rejection(event, message);
                    None
                }
            });
        Ok(answers.collect())
    }

    fn report_rejection(&self, event: &Event, message: String) {
        let (Some(collection), Some(name)) = (event.collection(), event.name()) else {
            warn!(plugin = %self.name(), "plugin rejected {event:?}: {message}");
            return;
        };
        let location = match event {
            Event::Added(_, e) | Event::Updated(_, e) => e.origin.as_ref().map(|o| o.to_string()),
            _ => None,
        }
        .unwrap_or_else(|| format!("{collection} {name}"));
        let problem = Problem::new(
            location,
            format!("plugin {} rejected {name}: {message}", self.name()),
        );
        let scope = self.scope(PluginScope::Rejection(collection.clone(), name.into()));
        self.binding.diagnostics.set(&scope, vec![problem]);
    }

    fn scope(&self, aspect: PluginScope) -> Scope {
        Scope::Plugin(self.name().into(), aspect)
    }

    /// Records a failure, schedules the next attempt (see [`Retry`]), and
    /// reports it. Discards the instance after `error`.
    fn failed(&mut self, error: &PluginError, at_once: bool) {
        self.instance = None;
        self.binding.slot.stats.failed(error);
        let delay = self.retry.failed(at_once);
        let failures = self.retry.failures();
        let state = if failures >= FAILED_AFTER {
            "failed"
        } else {
            "restarting"
        };
        warn!(
            plugin = %self.name(),
            failures,
            "{error}; {state}, next attempt in {delay:?} with its inputs replayed"
        );
        let problem = Problem::new(
            self.binding.slot.path.display().to_string(),
            format!(
                "{error} ({state} after {failures} consecutive failures; its last good outputs stay served)"
            ),
        );
        self.binding
            .diagnostics
            .set(&self.scope(PluginScope::Run), vec![problem]);
    }

    /// Restarts a failed plugin if its backoff has passed.
    fn recover_if_due(&mut self) -> Vec<Event> {
        if self.instance.is_some() || !self.retry.due() {
            return Vec::new();
        }
        match self.replace() {
            Ok(differences) => {
                info!(
                    plugin = %self.name(),
                    "plugin restarted with its inputs replayed"
                );
                differences
            }
            Err(error) => {
                self.failed(&error, false);
                Vec::new()
            }
        }
    }

    /// Hands `events` (already recorded) to the instance in one call and
    /// returns their outputs; a failure discards the instance and a fresh
    /// one gets the inputs (these events included) replayed at once.
    fn cross(&mut self, events: &[Event]) -> Vec<Event> {
        let Some(mut instance) = self.instance.take() else {
            return self.recover_if_due();
        };
        match self.call(&mut instance, events) {
            Ok(answers) => {
                self.instance = Some(instance);
                let events = answers.into_iter().flatten().flatten().collect::<Vec<_>>();
                apply(&mut self.outputs, events.clone());
                events
            }
            Err(error) => {
                self.failed(&error, true);
                self.recover_if_due()
            }
        }
    }

    /// A copy of what it was given and serves, for a preview.
    fn live(&self) -> LiveState {
        LiveState {
            inputs: self.inputs.clone(),
            synced: self.synced.clone(),
            outputs: self.outputs.clone(),
            mesh: self.mesh.clone(),
            name: self.name().to_owned(),
            sandbox: self.binding.sandbox.clone(),
            limits: self.binding.limits,
            settings: self.binding.settings.clone(),
            current: self.instance.as_ref().map_or_else(
                || self.binding.slot.current().1,
                |instance| instance.loaded.clone(),
            ),
        }
    }

    fn full_sync_if_ready(&mut self) -> Vec<Event> {
        if self.outputs_synced
            || !self
                .description
                .inputs
                .iter()
                .all(|c| self.synced.contains(c))
        {
            return Vec::new();
        }
        self.outputs_synced = true;
        self.description
            .outputs
            .iter()
            .map(|c| Event::FullSync(c.clone()))
            .collect()
    }
}

impl Transformer for WasmTransformer {
    fn name(&self) -> &str {
        WasmTransformer::name(self)
    }

    fn inputs(&self) -> Vec<Collection> {
        self.description.inputs.clone()
    }

    fn outputs(&self) -> Vec<Collection> {
        self.description.outputs.clone()
    }

    fn handle(&mut self, event: &Event) -> Vec<Event> {
        self.record_input(event);
        let mut produced = self.cross(std::slice::from_ref(event));
        if matches!(event, Event::Reset) {
            produced.push(Event::Reset);
        }
        produced.extend(self.full_sync_if_ready());
        produced
    }

    /// Until its inputs have synced, events that arrived together cross in
    /// one call, as a replay does; after, in calls of one, so a live event
    /// has the whole deadline.
    fn handle_batch(&mut self, events: &[Event]) -> Vec<Event> {
        let initial = !self.outputs_synced;
        if !initial || events.len() < 2 || events.contains(&Event::Reset) {
            return events.iter().flat_map(|event| self.handle(event)).collect();
        }
        for event in events {
            self.record_input(event);
        }
        let mut produced = self.cross(events);
        produced.extend(self.full_sync_if_ready());
        produced
    }

    fn refresh(&mut self) -> Refresh {
        for request in self.binding.previews.take() {
            preview::serve(request, self.live());
        }
        let Some(current) = self.instance.as_ref().map(|i| i.generation) else {
            if self.attempted != self.binding.slot.generation() {
                self.retry.now();
            }
            return Refresh::Events(self.recover_if_due());
        };
        if current == self.binding.slot.generation() {
            return Refresh::Events(Vec::new());
        }
        let (_, loaded) = self.binding.slot.current();
        if loaded.description.inputs != self.description.inputs
            || loaded.description.outputs != self.description.outputs
        {
            return Refresh::Rebuild(format!(
                "plugin {} changed its inputs or outputs",
                self.name()
            ));
        }
        let previous = self.instance.as_ref().map(|i| i.loaded.digest.clone());
        match self.replace() {
            Ok(differences) => {
                info!(plugin = %self.name(), digest = %loaded.digest, changes = differences.len(), "plugin swapped in");
                Refresh::Events(differences)
            }
            Err(error) => {
                warn!(
                    plugin = %self.name(),
                    "new plugin version not swapped in, the previous one keeps running: {error}"
                );
                let problem = Problem::new(
                    self.binding.slot.path.display().to_string(),
                    format!(
                        "new version not swapped in ({error}); still running {}",
                        previous.unwrap_or_default()
                    ),
                );
                self.binding
                    .diagnostics
                    .set(&self.scope(PluginScope::Upgrade), vec![problem]);
                Refresh::Events(Vec::new())
            }
        }
    }
}

/// Builds a [`WasmTransformer`] per pipeline session.
pub struct WasmTransformerFactory {
    binding: Arc<TransformerBinding>,
}

impl WasmTransformerFactory {
    pub(crate) fn new(binding: Arc<TransformerBinding>) -> Self {
        Self { binding }
    }
}

impl TransformerFactory for WasmTransformerFactory {
    fn inputs(&self) -> Vec<Collection> {
        self.binding.slot.current().1.description.inputs.clone()
    }

    fn outputs(&self) -> Vec<Collection> {
        self.binding.slot.current().1.description.outputs.clone()
    }

    fn build(&self, mesh: &MeshSettings) -> Box<dyn Transformer> {
        Box::new(WasmTransformer::new(self.binding.clone(), mesh))
    }
}
