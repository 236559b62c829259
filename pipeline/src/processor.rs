//! One session's pipeline: router → transformers → accumulators → snapshot
//! groups → snapshot cache.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::time::Instant;
use tracing::{debug, warn};

use crate::accumulator::{Accumulator, Applied};
use crate::analysis::AnalysisFeed;
use crate::canary::CanarySpec;
use crate::codec::{BodyCodec, StructCodec};
use crate::diagnostics::{Diagnostics, Problem, Scope, Severity};
use crate::event::{Collection, Entry, Event};
use crate::group::{SnapshotGroup, Strategy};
use crate::mesh::MeshSettings;
use crate::transformer::{DIRECT, Refresh, Transformer, TransformerFactory};
use crate::validator::{Validator, ValidatorFactory};
use galleon_mcp::cache::{Snapshot, SnapshotCache};

/// A snapshot group as configured.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    /// Group name, as sinks' group index names it.
    pub name: String,
    /// When it publishes.
    pub strategy: Strategy,
    /// Its output collections.
    pub collections: Vec<Collection>,
}

/// Everything needed to build a session's pipeline.
#[derive(Clone)]
pub struct PipelineSpec {
    /// Transformers, the direct mapping among them.
    pub transformers: Vec<Arc<dyn TransformerFactory>>,
    /// Snapshot groups; together they list every output collection.
    pub groups: Vec<GroupSpec>,
    /// Codecs by output collection; others use [`StructCodec`].
    pub codecs: HashMap<Collection, Arc<dyn BodyCodec>>,
    /// Validators, run in order before routing.
    pub validators: Vec<Arc<dyn ValidatorFactory>>,
    /// Where admitted events go to be analyzed, if any analyzer is bound.
    pub analysis: Option<AnalysisFeed>,
    /// A canary running beside this pipeline, if one is configured.
    pub canary: Option<CanarySpec>,
}

impl PipelineSpec {
    /// Every collection served, across groups.
    pub fn served_collections(&self) -> Vec<Collection> {
        let mut all: Vec<_> = self
            .groups
            .iter()
            .flat_map(|g| g.collections.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

pub(super) struct Processor {
    routes: HashMap<Collection, Vec<usize>>,
    transformers: Vec<Box<dyn Transformer>>,
    validators: Vec<Box<dyn Validator>>,
    judged: HashMap<Collection, Vec<usize>>,
    analysis: Option<AnalysisFeed>,
    accumulators: HashMap<Collection, Accumulator>,
    groups: Vec<SnapshotGroup>,
    groups_of: HashMap<Collection, Vec<usize>>,
    cache: SnapshotCache,
    diagnostics: Diagnostics,
    /// Accumulated resources the ledger lists problems for.
    flagged: HashSet<(Collection, String)>,
    /// Per group, what its next publish owes to beyond the changed
    /// resources (a rebuild, a replaced plugin), for the history.
    causes: Vec<Option<String>>,
}

impl Processor {
    pub(super) fn new(
        spec: &PipelineSpec,
        mesh: &MeshSettings,
        cache: SnapshotCache,
        diagnostics: Diagnostics,
    ) -> Self {
        let transformers: Vec<_> = spec.transformers.iter().map(|f| f.build(mesh)).collect();
        let mut routes: HashMap<Collection, Vec<usize>> = HashMap::new();
        let mut feeders: HashMap<Collection, usize> = HashMap::new();
        for (index, transformer) in transformers.iter().enumerate() {
            for input in transformer.inputs() {
                routes.entry(input).or_default().push(index);
            }
            for output in transformer.outputs() {
                *feeders.entry(output).or_default() += 1;
            }
        }
        let mut accumulators = HashMap::new();
        let mut groups_of: HashMap<Collection, Vec<usize>> = HashMap::new();
        let groups: Vec<_> = spec
            .groups
            .iter()
            .enumerate()
            .map(|(index, g)| {
                for collection in &g.collections {
                    groups_of.entry(collection.clone()).or_default().push(index);
                    let codec = spec
                        .codecs
                        .get(collection)
                        .cloned()
                        .unwrap_or_else(|| Arc::new(StructCodec));
                    let fed_by = feeders.get(collection).copied().unwrap_or(0);
                    accumulators
                        .entry(collection.clone())
                        .or_insert_with(|| Accumulator::new(collection.clone(), codec, fed_by));
                }
                SnapshotGroup::new(g.name.clone(), g.collections.clone(), g.strategy)
            })
            .collect();
        let validators: Vec<_> = spec.validators.iter().map(|f| f.build()).collect();
        let mut judged: HashMap<Collection, Vec<usize>> = HashMap::new();
        for (index, validator) in validators.iter().enumerate() {
            for collection in validator.collections() {
                judged.entry(collection).or_default().push(index);
            }
        }
        let mut processor = Self {
            routes,
            transformers,
            validators,
            judged,
            analysis: spec.analysis.clone(),
            accumulators,
            groups,
            groups_of,
            cache,
            diagnostics,
            flagged: HashSet::new(),
            causes: vec![None; spec.groups.len()],
        };
        // Groups that nothing feeds are complete (and empty) from the start.
        for index in 0..processor.groups.len() {
            if processor.group_synced(index) {
                processor.publish(index);
            }
        }
        processor
    }

    /// Routes one source event through the validators, then to the
    /// analyzers that read it and the transformers that consume it.
    pub(super) fn handle(&mut self, event: &Event, now: Instant) {
        self.handle_batch(std::slice::from_ref(event), now);
    }

    /// Routes source events that arrived together: each through the
    /// validators and to the analyzers in order, then to each transformer
    /// the admitted events of its inputs, in order, as one batch.
    pub(super) fn handle_batch(&mut self, events: &[Event], now: Instant) {
        let mut routed: Vec<Vec<Event>> = vec![Vec::new(); self.transformers.len()];
        for event in events {
            let Some(collection) = event.collection() else {
                continue;
            };
            if !self.admit(event) {
                continue;
            }
            if let Some(analysis) = &self.analysis {
                analysis.event(event);
            }
            let Some(route) = self.routes.get(collection) else {
                debug!(%collection, "no transformer consumes this collection");
                continue;
            };
            for &index in route {
                routed[index].push(event.clone());
            }
        }
        for (producer, batch) in routed.iter().enumerate() {
            if batch.is_empty() {
                continue;
            }
            for output in self.transformers[producer].handle_batch(batch) {
                self.accumulate(&output, producer, now);
            }
        }
    }

    /// Runs the collection's validators on an added or updated resource.
    /// A rejected change is reported and dropped.
    fn admit(&mut self, event: &Event) -> bool {
        let (Event::Added(collection, entry) | Event::Updated(collection, entry)) = event else {
            if let Event::Deleted(collection, name) = event {
                let scope = Scope::Validation(collection.clone(), name.clone());
                self.diagnostics.clear(&scope);
            }
            return true;
        };
        let Some(validators) = self.judged.get(collection) else {
            return true;
        };
        let mut problems = Vec::new();
        let mut rejected = false;
        for &index in validators {
            let verdict = self.validators[index].validate(collection, entry);
            rejected |= !verdict.errors.is_empty();
            problems.extend(verdict.errors);
            problems.extend(verdict.warnings);
        }
        let scope = Scope::Validation(collection.clone(), entry.name.clone());
        self.diagnostics.set(&scope, problems);
        !rejected
    }

    /// Lets every transformer react to something outside the event stream
    /// (a replaced plugin). Returns why the pipeline must be rebuilt, if a
    /// transformer asked for that.
    pub(super) fn refresh(&mut self, now: Instant) -> Option<String> {
        for index in 0..self.transformers.len() {
            match self.transformers[index].refresh() {
                Refresh::Events(events) => {
                    let cause = format!("plugin {} reloaded", self.transformers[index].name());
                    for event in &events {
                        self.because_of(event, &cause);
                    }
                    for event in events {
                        self.accumulate(&event, index, now);
                    }
                }
                Refresh::Rebuild(reason) => return Some(reason),
            }
        }
        None
    }

    /// Applies a transformer's output (from `producer`) to its collection's
    /// accumulator, reporting what the codec refused or dropped.
    fn accumulate(&mut self, event: &Event, producer: usize, now: Instant) {
        let Some(collection) = event.collection().cloned() else {
            return;
        };
        let Some(accumulator) = self.accumulators.get_mut(&collection) else {
            warn!(%collection, "dropping output for a collection no snapshot group serves");
            return;
        };
        let applied = accumulator.apply(event, producer);
        if let Some(name) = event.name() {
            let claimants = accumulator.claimants(name);
            self.report_conflict(&collection, name, &claimants);
        }
        match event {
            Event::Added(_, entry) | Event::Updated(_, entry) => {
                let problems = match &applied {
                    Applied::Changed(warnings) | Applied::Unchanged(warnings) => warnings
                        .iter()
                        .map(|w| (Severity::Warning, w.clone()))
                        .collect(),
                    Applied::Rejected(reason) => vec![(Severity::Error, reason.clone())],
                };
                self.report(&collection, entry, producer, problems);
            }
            Event::Deleted(_, name) => {
                let key = (collection.clone(), name.clone());
                if self.flagged.remove(&key) {
                    self.diagnostics.clear(&scope(&key));
                }
            }
            Event::FullSync(_) | Event::Reset => {}
        }
        if !matches!(applied, Applied::Changed(_)) {
            return;
        }
        let groups = self.groups_of.get(&collection).map_or(0, Vec::len);
        for i in 0..groups {
            let index = self.groups_of[&collection][i];
            if self.group_synced(index) && self.groups[index].changed(now) {
                self.publish(index);
            }
        }
    }

    /// Reports (or clears) two transformers producing one resource: the
    /// first-bound one's version is served, the others' are not.
    fn report_conflict(&mut self, collection: &Collection, name: &str, claimants: &[usize]) {
        let scope = Scope::Conflict(collection.clone(), name.to_owned());
        let [served, hidden @ ..] = claimants else {
            self.diagnostics.clear(&scope);
            return;
        };
        if hidden.is_empty() {
            self.diagnostics.clear(&scope);
            return;
        }
        let producer = |index: &usize| match self.transformers[*index].name() {
            DIRECT => "the direct mapping".to_owned(),
            plugin => format!("plugin {plugin}"),
        };
        let others: Vec<String> = hidden.iter().map(producer).collect();
        let problem = Problem::new(
            format!("{collection} {name}"),
            format!(
                "{} and {} both produce {name} in {collection}; the one from {} is served, \
                 the other is not. Rename one of them, or bind only one transformer to write it",
                producer(served),
                others.join(" and "),
                producer(served),
            ),
        );
        self.diagnostics.set(&scope, vec![problem]);
    }

    /// Replaces what the ledger says about one accumulated resource.
    fn report(
        &mut self,
        collection: &Collection,
        entry: &Entry,
        producer: usize,
        problems: Vec<(Severity, String)>,
    ) {
        let key = (collection.clone(), entry.name.clone());
        if problems.is_empty() {
            if self.flagged.remove(&key) {
                self.diagnostics.clear(&scope(&key));
            }
            return;
        }
        let location = entry.origin.as_ref().map_or_else(
            || format!("{collection} {}", entry.name),
            |origin| origin.to_string(),
        );
        let problems = problems
            .into_iter()
            .map(|(severity, message)| {
                let message = match self.transformers[producer].name() {
                    DIRECT => message,
                    plugin => format!("output of plugin {plugin}: {message}"),
                };
                Problem {
                    severity,
                    ..Problem::new(&location, message)
                }
            })
            .collect();
        self.diagnostics.set(&scope(&key), problems);
        self.flagged.insert(key);
    }

    fn group_synced(&self, index: usize) -> bool {
        self.groups[index]
            .collections
            .iter()
            .all(|c| self.accumulators[c].synced())
    }

    /// The earliest debounced publish, if any is pending.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.groups.iter().filter_map(SnapshotGroup::deadline).min()
    }

    /// Publishes the groups whose debounce deadline has passed.
    pub(super) fn on_timer(&mut self, now: Instant) {
        for index in 0..self.groups.len() {
            if self.groups[index].deadline().is_some_and(|due| due <= now) {
                self.publish(index);
            }
        }
    }

    /// Publishes every group with a debounced publish pending, now.
    pub(super) fn flush(&mut self) {
        for index in 0..self.groups.len() {
            if self.groups[index].deadline().is_some() {
                self.publish(index);
            }
        }
    }

    /// Notes `cause` for every group's next publish.
    pub(super) fn because(&mut self, cause: &str) {
        for slot in &mut self.causes {
            *slot = Some(cause.to_owned());
        }
    }

    /// Notes `cause` for the next publish of the groups serving `event`'s
    /// collection.
    fn because_of(&mut self, event: &Event, cause: &str) {
        let groups = event.collection().and_then(|c| self.groups_of.get(c));
        for &index in groups.into_iter().flatten() {
            self.causes[index] = Some(cause.to_owned());
        }
    }

    fn publish(&mut self, index: usize) {
        let cause = self.causes[index].take();
        let group = &mut self.groups[index];
        group.published();
        let snapshot = group
            .collections
            .iter()
            .fold(Snapshot::builder(), |builder, c| {
                builder.with(
                    self.accumulators
                        .get_mut(c)
                        .expect("every group collection has an accumulator")
                        .snapshot(),
                )
            })
            .build();
        debug!(group = %group.name, "publishing snapshot");
        self.cache.publish(&group.name, snapshot, cause.as_deref());
    }
}

fn scope((collection, name): &(Collection, String)) -> Scope {
    Scope::Pipeline(collection.clone(), name.clone())
}
