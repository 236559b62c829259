//! An analyzer plugin beside the pipeline.
//!
//! Like a transformer, the host keeps what the plugin was given (its
//! current inputs and which of them synced), so a fresh instance — after a
//! failure, or a new version hot-loaded — is replayed them in one batch and
//! its answer replaces everything the binding reported (`complete`). The
//! first analysis waits until every input collection synced, then is one
//! batch of the whole state; each later change is a batch of what queued
//! up. A failure leaves the last messages standing, marked stale, and is
//! reported like any plugin's; retries back off.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tracing::{info, warn};
use wasmtime::Store;

use super::binding::AnalyzerBinding;
use super::error::PluginError;
use super::exports::AnalyzerExports;
use super::failure::Failure;
use super::instance::start;
use super::retry::Retry;
use super::sandbox::{StoreState, arm, blocking};
use super::wit_bindings::wit;
use super::{from_wit, to_wit};
use galleon_pipeline::analysis::{Analyzed, Analyzer, AnalyzerFactory, Report};
use galleon_pipeline::diagnostics::{PluginScope, Problem, Scope, escaped};
use galleon_pipeline::event::{Collection, Entry, Event};
use galleon_pipeline::mesh::MeshSettings;

type Key = (Collection, String);

/// The longest an analyzer's own error is shown.
const MESSAGE_MAX: usize = 1_000;

/// The most messages one answer may carry (a plugin cannot flood the
/// status page or the metrics).
const MESSAGES_MAX: usize = 100_000;

struct Instance {
    generation: u64,
    store: Store<StoreState>,
    plugin: AnalyzerExports,
}

/// An analyzer plugin bound into an analysis session.
pub struct WasmAnalyzer {
    binding: Arc<AnalyzerBinding>,
    mesh: wit::Mesh,
    inputs: Vec<Collection>,
    instance: Option<Instance>,
    state: BTreeMap<Key, Arc<Entry>>,
    synced: BTreeSet<Collection>,
    /// The first full analysis was answered.
    primed: bool,
    retry: Retry,
    last_error: Option<String>,
}

impl WasmAnalyzer {
    fn new(binding: Arc<AnalyzerBinding>, mesh: &MeshSettings) -> Self {
        let inputs = binding.inputs();
        Self {
            binding,
            mesh: to_wit::mesh(mesh),
            inputs,
            instance: None,
            state: BTreeMap::new(),
            synced: BTreeSet::new(),
            primed: false,
            retry: Retry::new(),
            last_error: None,
        }
    }

    fn name(&self) -> &str {
        &self.binding.slot.name
    }

    fn record(&mut self, event: &Event) {
        match event {
            Event::Added(c, e) | Event::Updated(c, e) => {
                self.state.insert((c.clone(), e.name.clone()), e.clone());
            }
            Event::Deleted(c, name) => {
                self.state.remove(&(c.clone(), name.clone()));
            }
            Event::FullSync(c) => {
                self.synced.insert(c.clone());
            }
            Event::Reset => {
                self.state.clear();
                self.synced.clear();
            }
        }
    }

    fn start(&self) -> Result<Instance, PluginError> {
        let b = &self.binding;
        let (generation, loaded) = b.slot.current();
        let (store, plugin) = start(
            &b.sandbox,
            &b.slot.name,
            b.limits,
            |store| loaded.instantiate(store),
            |plugin: &AnalyzerExports, store| plugin.call_configure(store, &b.settings, &self.mesh),
        )?;
        Ok(Instance {
            generation,
            store,
            plugin,
        })
    }

    /// A fresh instance of the current version, replayed the whole state:
    /// its answer is complete.
    fn replace(&mut self) -> Result<Analyzed, PluginError> {
        let mut instance = self.start()?;
        let replay: Vec<Event> = self
            .state
            .iter()
            .map(|((c, _), e)| Event::Added(c.clone(), e.clone()))
            .chain(self.synced.iter().map(|c| Event::FullSync(c.clone())))
            .collect();
        let reports = self.call(&mut instance, &replay)?;
        self.instance = Some(instance);
        self.retry.succeeded();
        self.last_error = None;
        self.primed = true;
        let scope = Scope::Plugin(self.name().into(), PluginScope::Run);
        self.binding.diagnostics.clear(&scope);
        Ok(Analyzed {
            reports,
            complete: true,
        })
    }

    fn call(&self, instance: &mut Instance, events: &[Event]) -> Result<Vec<Report>, PluginError> {
        let limits = self.binding.limits;
        let sent: Vec<_> = events.iter().map(to_wit::event).collect();
        arm(&mut instance.store, limits);
        let started = Instant::now();
        let answer = blocking(|| {
            instance
                .plugin
                .call_handle_batch(&mut instance.store, &sent)
        });
        self.binding
            .slot
            .stats
            .called(started.elapsed(), instance.store.data().peak_memory());
        let answer = answer.map_err(|e| PluginError::Call {
            name: self.name().into(),
            call: "handle-batch",
            failure: Failure::of(&e, limits),
        })?;
        // The plugin's words reach the log and the status page: escaped
        // and bounded, so they cannot forge a line.
        let reports = answer.map_err(|message| PluginError::Analyze {
            name: self.name().into(),
            message: escaped(&message, MESSAGE_MAX),
        })?;
        let messages: usize = reports.iter().map(|r| r.messages.len()).sum();
        if messages > MESSAGES_MAX {
            return Err(PluginError::Analyze {
                name: self.name().into(),
                message: format!("answered {messages} messages, more than {MESSAGES_MAX}"),
            });
        }
        Ok(reports.into_iter().map(|r| self.report(r)).collect())
    }

    /// A plugin's report, with its subject's origin from the inputs.
    fn report(&self, report: wit::Report) -> Report {
        let mut report = from_wit::report(report);
        report.origin = self
            .state
            .get(&report.subject)
            .and_then(|e| e.origin.clone());
        report
    }

    /// Records a failure (the instance is gone) and reports it.
    fn failed(&mut self, error: &PluginError) -> String {
        self.instance = None;
        self.binding.slot.stats.failed(error);
        let delay = self.retry.failed(false);
        warn!(plugin = %self.name(), "{error}; its last messages stay, marked stale; next attempt in {delay:?}");
        let problem = Problem::new(
            self.binding.slot.path.display().to_string(),
            format!("{error} (its last analysis messages stay, marked stale)"),
        );
        let scope = Scope::Plugin(self.name().into(), PluginScope::Run);
        self.binding.diagnostics.set(&scope, vec![problem]);
        let why = error.to_string();
        self.last_error = Some(why.clone());
        why
    }

    fn replace_or_fail(&mut self) -> Result<Analyzed, String> {
        self.replace().map_err(|error| self.failed(&error))
    }
}

impl Analyzer for WasmAnalyzer {
    fn name(&self) -> &str {
        WasmAnalyzer::name(self)
    }

    fn inputs(&self) -> Vec<Collection> {
        self.inputs.clone()
    }

    fn handle(&mut self, events: &[Event]) -> Result<Analyzed, String> {
        for event in events {
            self.record(event);
        }
        if !self.primed {
            if !self.inputs.iter().all(|c| self.synced.contains(c)) {
                return Ok(Analyzed::default());
            }
            return self.replace_or_fail();
        }
        let Some(mut instance) = self.instance.take() else {
            if self.retry.due() {
                return self.replace_or_fail();
            }
            return Err(self.last_error.clone().unwrap_or_default());
        };
        match self.call(&mut instance, events) {
            Ok(reports) => {
                self.instance = Some(instance);
                Ok(Analyzed {
                    reports,
                    complete: false,
                })
            }
            Err(error) => Err(self.failed(&error)),
        }
    }

    fn refresh(&mut self) -> Option<Result<Analyzed, String>> {
        if !self.primed {
            return None;
        }
        match &self.instance {
            Some(i) if i.generation == self.binding.slot.generation() => None,
            Some(_) => {
                let answer = self.replace();
                match answer {
                    Ok(analyzed) => {
                        info!(plugin = %self.name(), "analyzer swapped in");
                        Some(Ok(analyzed))
                    }
                    Err(error) => {
                        warn!(plugin = %self.name(), "new analyzer version not swapped in, the previous one keeps running: {error}");
                        None
                    }
                }
            }
            None if self.retry.due() => Some(self.replace_or_fail()),
            None => None,
        }
    }
}

/// Builds a [`WasmAnalyzer`] per analysis session.
pub struct WasmAnalyzerFactory {
    binding: Arc<AnalyzerBinding>,
}

impl WasmAnalyzerFactory {
    pub(crate) fn new(binding: Arc<AnalyzerBinding>) -> Self {
        Self { binding }
    }
}

impl AnalyzerFactory for WasmAnalyzerFactory {
    fn name(&self) -> String {
        self.binding.slot.name.clone()
    }

    fn inputs(&self) -> Vec<Collection> {
        self.binding.inputs()
    }

    fn build(&self, mesh: &MeshSettings) -> Box<dyn Analyzer> {
        Box::new(WasmAnalyzer::new(self.binding.clone(), mesh))
    }
}
