//! The plugin host: loads the built-ins and every configured binding, hands
//! their factories to the pipeline, and hot-loads new versions when their
//! files change (or on SIGHUP).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::analyzer::WasmAnalyzerFactory;
use super::binding::{AnalyzerBinding, TransformerBinding, ValidatorBinding};
use super::builtin::{Builtin, builtin_bindings};
use super::canary::{Canary, CanaryError, CanaryStatus};
use super::component::{
    LoadedAnalyzer, LoadedTransformer, load_analyzer, load_transformer, load_validator, read,
};
use super::config::{BindingConfig, CanaryConfig, PluginKind, PluginsConfig, SinkSelectorConfig};
use super::engine::{PluginEngine, default_cache_dir};
use super::error::PluginError;
use super::limits::Limits;
use super::preview::{PREVIEW_WAIT, PreviewError, PreviewQueue, PreviewReport, PreviewRequest};
use super::sandbox::Sandbox;
use super::slot::{Digest, Slot};
use super::stats::PluginStatus;
use super::transformer::WasmTransformerFactory;
use super::validator::WasmValidatorFactory;
use galleon_fs_watch::{RescanSignals, next_change, watch_or_warn};
use galleon_pipeline::analysis::AnalyzerFactory;
use galleon_pipeline::diagnostics::{Diagnostics, PluginScope, Problem, Scope};
use galleon_pipeline::event::Collection;
use galleon_pipeline::registry::{MESH_CONFIG, Registry};
use galleon_pipeline::{TransformerFactory, ValidatorFactory};

/// Every bound plugin.
pub struct PluginHost {
    sandbox: Sandbox,
    registry: Arc<Registry>,
    diagnostics: Diagnostics,
    transformers: Vec<Arc<TransformerBinding>>,
    validators: Vec<Arc<ValidatorBinding>>,
    analyzers: Vec<Arc<AnalyzerBinding>>,
    /// Wakes the pipeline to refresh its transformers (a new version, a
    /// preview waiting).
    wake: Arc<Notify>,
    /// The canary, when a binding has one.
    canary: Option<Canary>,
    /// When loading began: a file changed after it may have changed after
    /// it was read and before the watch began.
    loaded_at: std::time::SystemTime,
}

impl PluginHost {
    /// Loads the built-ins and every binding (compiling, or loading from the
    /// cache). Any
    /// binding that cannot be loaded is an error: the hub does not start
    /// half-configured.
    pub fn load(
        config: &PluginsConfig,
        builtins: &[Builtin],
        registry: Arc<Registry>,
        diagnostics: Diagnostics,
    ) -> Result<Self, PluginError> {
        let engine = PluginEngine::new(config.cache_dir.clone().or_else(default_cache_dir))?;
        let sandbox = Sandbox::new(engine)?.with_ledger(diagnostics.clone());
        // Built-ins are written to their directory first; reading begins after.
        let builtin = builtin_bindings(config, builtins)?;
        let mut host = Self {
            loaded_at: std::time::SystemTime::now(),
            wake: Arc::new(Notify::new()),
            canary: None,
            sandbox,
            registry,
            diagnostics,
            transformers: Vec::new(),
            validators: Vec::new(),
            analyzers: Vec::new(),
        };
        for binding in builtin.iter().chain(&config.bindings) {
            let (name, path) = (binding.name(), binding.file.clone());
            let bytes = match binding.bundled {
                Some(bytes) => bytes.to_vec(),
                None => read(&path)?,
            };
            if binding.canary.is_some() && binding.kind != PluginKind::Transformer {
                return Err(PluginError::Binding {
                    name,
                    message:
                        "only a transformer takes a `canary` (its outputs are what sinks receive)"
                            .into(),
                });
            }
            match binding.kind {
                PluginKind::Transformer => {
                    let loaded = host.load_transformer(&name, &path, &bytes, binding.limits())?;
                    info!(plugin = %name, inputs = ?loaded.description.inputs, outputs = ?loaded.description.outputs, "transformer loaded");
                    let watched = binding.bundled.is_none();
                    let bound = host.transformer_binding(binding, (name, path), loaded, watched);
                    host.transformers.push(bound.clone());
                    if let Some(canary) = &binding.canary {
                        host.load_canary(binding, bound, canary)?;
                    }
                }
                PluginKind::Validator => {
                    let collections: Vec<Collection> = binding
                        .collections
                        .iter()
                        .map(|c| Collection::from(c.as_str()))
                        .collect();
                    if collections.is_empty() {
                        return Err(PluginError::Binding {
                            name,
                            message: "a validator binding needs `collections`".into(),
                        });
                    }
                    host.check_inputs(&name, &collections)?;
                    let loaded = load_validator(&host.sandbox, &name, &path, &bytes)?;
                    info!(plugin = %name, collections = ?collections, "validator loaded");
                    host.validators.push(Arc::new(ValidatorBinding {
                        sandbox: host.sandbox.clone(),
                        slot: Slot::new(name, path, loaded),
                        limits: binding.limits(),
                        settings: binding.settings(),
                        collections,
                        fail_open: binding.fail_open,
                    }));
                }
                PluginKind::Analyzer => {
                    let loaded = host.load_analyzer(&name, &path, &bytes, binding.limits())?;
                    let analyzers: Vec<_> = loaded
                        .description
                        .analyzers
                        .iter()
                        .map(|a| &a.name)
                        .collect();
                    info!(plugin = %name, ?analyzers, inputs = ?loaded.description.inputs, "analyzer loaded");
                    host.analyzers.push(Arc::new(AnalyzerBinding {
                        sandbox: host.sandbox.clone(),
                        slot: Slot::new(name, path, loaded),
                        limits: binding.limits(),
                        settings: binding.settings(),
                        diagnostics: host.diagnostics.clone(),
                        watched: binding.bundled.is_none(),
                    }));
                }
            }
        }
        Ok(host)
    }

    /// A transformer binding of `loaded`, named and read from `(name,
    /// path)`, under `binding`'s limits and settings.
    fn transformer_binding(
        &self,
        binding: &BindingConfig,
        (name, path): (String, PathBuf),
        loaded: LoadedTransformer,
        watched: bool,
    ) -> Arc<TransformerBinding> {
        Arc::new(TransformerBinding {
            sandbox: self.sandbox.clone(),
            slot: Slot::new(name, path, loaded),
            limits: binding.limits(),
            settings: binding.settings(),
            diagnostics: self.diagnostics.clone(),
            watched,
            previews: PreviewQueue::default(),
        })
    }

    /// Loads `binding`'s canary candidate, bound beside it (the same
    /// limits and settings; its file read once, not watched).
    fn load_canary(
        &mut self,
        binding: &BindingConfig,
        bound: Arc<TransformerBinding>,
        canary: &CanaryConfig,
    ) -> Result<(), PluginError> {
        let name = bound.slot.name.clone();
        let refuse = |message: String| PluginError::Binding {
            name: name.clone(),
            message,
        };
        if let Some(other) = &self.canary {
            return Err(refuse(format!(
                "binding {} has a canary already: one canary runs at a time",
                other.name()
            )));
        }
        let sinks = &canary.sinks;
        if sinks.node_id.is_none() && sinks.metadata.is_empty() {
            return Err(refuse(
                "canary.sinks selects no sink: give nodeId (a pattern) or metadata".into(),
            ));
        }
        let candidate_name = format!("{name} (canary)");
        let bytes = read(&canary.plugin)?;
        let loaded =
            self.load_transformer(&candidate_name, &canary.plugin, &bytes, binding.limits())?;
        let current = &bound.slot.current().1.description;
        if loaded.description.inputs != current.inputs
            || loaded.description.outputs != current.outputs
        {
            return Err(refuse(format!(
                "the canary {} reads or writes other collections than the binding (inputs {:?}, outputs {:?}); a canary replaces the build of the same collections",
                canary.plugin.display(),
                names(&loaded.description.inputs),
                names(&loaded.description.outputs)
            )));
        }
        info!(plugin = %name, candidate = %loaded.digest, node_id = ?sinks.node_id, metadata = ?sinks.metadata, "canary loaded");
        let named = (candidate_name, canary.plugin.clone());
        let candidate = self.transformer_binding(binding, named, loaded, false);
        self.canary = Some(Canary::new(bound, candidate, sinks.clone()));
        Ok(())
    }

    /// The canary's selector and the flag set when it ends, if one is
    /// configured.
    pub fn canary(&self) -> Option<(&SinkSelectorConfig, Arc<AtomicBool>)> {
        self.canary.as_ref().map(|c| (&c.sinks, c.ended.clone()))
    }

    /// [`transformer_factories`](Self::transformer_factories) with the
    /// canary's candidate in place of its binding: the canary pipeline's.
    pub fn canary_factories(&self) -> Option<Vec<Arc<dyn TransformerFactory>>> {
        let canary = self.canary.as_ref()?;
        let factories = self.transformers.iter().map(|b| {
            let binding = if Arc::ptr_eq(b, &canary.binding) {
                canary.candidate.clone()
            } else {
                b.clone()
            };
            Arc::new(WasmTransformerFactory::new(binding)) as Arc<dyn TransformerFactory>
        });
        Some(factories.collect())
    }

    /// The canary, if one is configured.
    pub fn canary_status(&self) -> Option<CanaryStatus> {
        self.canary.as_ref().map(Canary::status)
    }

    /// Ends binding `name`'s canary: `promote` makes the candidate its
    /// current build (every session swaps it in), else it is dropped. `at`
    /// and `by` say when and who.
    pub fn end_canary(
        &self,
        name: &str,
        promote: bool,
        at: String,
        by: &str,
    ) -> Result<CanaryStatus, CanaryError> {
        let canary = self
            .canary
            .as_ref()
            .filter(|c| c.name() == name)
            .ok_or_else(|| CanaryError::NoCanary {
                name: name.into(),
                which: self.canary.as_ref().map_or_else(
                    || "no binding has one".into(),
                    |c| format!("binding {} has", c.name()),
                ),
            })?;
        canary.end(promote, at, by)?;
        self.wake.notify_one();
        Ok(canary.status())
    }

    fn load_transformer(
        &self,
        name: &str,
        path: &Path,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<LoadedTransformer, PluginError> {
        let loaded = load_transformer(&self.sandbox, name, path, bytes, limits)?;
        self.check_inputs(name, &loaded.description.inputs)?;
        Ok(loaded)
    }

    fn load_analyzer(
        &self,
        name: &str,
        path: &Path,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<LoadedAnalyzer, PluginError> {
        let loaded = load_analyzer(&self.sandbox, name, path, bytes, limits)?;
        let inputs: Vec<Collection> = loaded
            .description
            .inputs
            .iter()
            .map(|c| Collection::from(c.as_str()))
            .collect();
        self.check_inputs(name, &inputs)?;
        Ok(loaded)
    }

    /// Inputs must be collections the registry knows.
    fn check_inputs(&self, name: &str, collections: &[Collection]) -> Result<(), PluginError> {
        let unknown: Vec<&str> = collections
            .iter()
            .filter(|c| &***c != MESH_CONFIG && self.registry.by_collection(c).is_none())
            .map(|c| &**c)
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(PluginError::Binding {
            name: name.into(),
            message: format!(
                "unknown input collections {unknown:?}: declare their kinds under `kinds:`"
            ),
        })
    }

    /// Every binding: what runs, its limits and what it did since start.
    pub fn status(&self) -> Vec<PluginStatus> {
        let transformers = self.transformers.iter().map(|b| {
            status(&b.slot, "transformer", !b.watched, b.limits, |loaded| {
                let description = &loaded.description;
                (names(&description.inputs), names(&description.outputs))
            })
        });
        let validators = self.validators.iter().map(|b| {
            status(&b.slot, "validator", false, b.limits, |_| {
                (names(&b.collections), Vec::new())
            })
        });
        let analyzers = self.analyzers.iter().map(|b| {
            status(&b.slot, "analyzer", !b.watched, b.limits, |loaded| {
                let d = &loaded.description;
                (
                    d.inputs.clone(),
                    d.analyzers.iter().map(|a| a.name.clone()).collect(),
                )
            })
        });
        transformers.chain(validators).chain(analyzers).collect()
    }

    /// The analyzers, for the analysis thread and `galleon analyze`.
    pub fn analyzer_factories(&self) -> Vec<Arc<dyn AnalyzerFactory>> {
        self.analyzers
            .iter()
            .map(|b| Arc::new(WasmAnalyzerFactory::new(b.clone())) as Arc<dyn AnalyzerFactory>)
            .collect()
    }

    /// Every analyzer the bound analyzer plugins hold: (binding, name,
    /// description, inputs).
    pub fn analyzers(&self) -> Vec<(String, String, String, Vec<String>)> {
        self.analyzers
            .iter()
            .flat_map(|b| {
                let (_, loaded) = b.slot.current();
                loaded
                    .description
                    .analyzers
                    .iter()
                    .map(|a| {
                        (
                            b.slot.name.clone(),
                            a.name.clone(),
                            a.description.clone(),
                            a.inputs.clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The transformers, for the pipeline.
    pub fn transformer_factories(&self) -> Vec<Arc<dyn TransformerFactory>> {
        self.transformers
            .iter()
            .map(|b| {
                Arc::new(WasmTransformerFactory::new(b.clone())) as Arc<dyn TransformerFactory>
            })
            .collect()
    }

    /// The validators, for the pipeline.
    pub fn validator_factories(&self) -> Vec<Arc<dyn ValidatorFactory>> {
        self.validators
            .iter()
            .map(|b| Arc::new(WasmValidatorFactory::new(b.clone())) as Arc<dyn ValidatorFactory>)
            .collect()
    }

    /// What wakes the pipeline to refresh its transformers: hand it to the
    /// pipeline's runtime.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Previews `bytes`, a candidate build of transformer binding `name`:
    /// compiles it, then has the pipeline replay the binding's live inputs
    /// into it beside the current build (see `preview`), and reports what
    /// it would change. Nothing is served.
    pub async fn preview(&self, name: &str, bytes: Vec<u8>) -> Result<PreviewReport, PreviewError> {
        let binding = self.transformer(name)?;
        let (sandbox, capture) = self.sandbox.capturing();
        let compiling = (sandbox.clone(), name.to_owned(), binding.limits);
        let loaded = tokio::task::spawn_blocking(move || {
            let (sandbox, name, limits) = compiling;
            load_transformer(
                &sandbox,
                &name,
                Path::new("(preview upload)"),
                &bytes,
                limits,
            )
        })
        .await
        .map_err(|e| PreviewError::Candidate(PluginError::Engine(e.to_string())))?
        .map_err(PreviewError::Candidate)?;
        let current = binding.slot.current().1;
        let (now, then) = (&current.description, &loaded.description);
        if now.inputs != then.inputs || now.outputs != then.outputs {
            return Err(PreviewError::Collections {
                name: name.into(),
                inputs: names(&then.inputs),
                outputs: names(&then.outputs),
                current_inputs: names(&now.inputs),
                current_outputs: names(&now.outputs),
            });
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        binding.previews.push(PreviewRequest {
            loaded: Arc::new(loaded),
            sandbox,
            capture,
            reply,
        });
        self.wake.notify_one();
        match tokio::time::timeout(PREVIEW_WAIT, answer).await {
            Ok(Ok(report)) => report,
            Ok(Err(_)) => Err(PreviewError::Dropped { name: name.into() }),
            Err(_) => {
                // Not taken: it must not run after its caller gave up.
                binding.previews.take();
                Err(PreviewError::NotRun {
                    name: name.into(),
                    waited: PREVIEW_WAIT,
                })
            }
        }
    }

    /// The transformer binding `name`, or why there is none.
    fn transformer(&self, name: &str) -> Result<Arc<TransformerBinding>, PreviewError> {
        if let Some(binding) = self.transformers.iter().find(|b| b.slot.name == name) {
            return Ok(binding.clone());
        }
        let kind = if self.validators.iter().any(|b| b.slot.name == name) {
            Some("validator")
        } else if self.analyzers.iter().any(|b| b.slot.name == name) {
            Some("analyzer")
        } else {
            None
        };
        Err(match kind {
            Some(kind) => PreviewError::NotTransformer {
                name: name.into(),
                kind,
            },
            None => PreviewError::UnknownBinding {
                name: name.into(),
                known: self
                    .transformers
                    .iter()
                    .map(|b| b.slot.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        })
    }

    /// Hot loading: watches every plugin file (and SIGHUP) until `stop`;
    /// installs each new version that loads, then wakes the pipeline (see
    /// [`PluginHost::wake`]) so it swaps the new version in.
    pub async fn watch(self: Arc<Self>, stop: CancellationToken) {
        let refresh = self.wake.clone();
        let files: Vec<PathBuf> = self.files();
        if files.is_empty() {
            return;
        }
        let mut watcher = watch_or_warn(&files, "plugin files");
        // A file replaced between loading and the watch starting would
        // otherwise wait for the next change: those changed since loading
        // began are read again now.
        let since_load: Vec<PathBuf> = files
            .into_iter()
            .filter(|f| {
                std::fs::metadata(f)
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| modified >= self.loaded_at)
            })
            .collect();
        let host = self.clone();
        if !since_load.is_empty()
            && tokio::task::spawn_blocking(move || host.reload(&since_load))
                .await
                .unwrap_or(false)
        {
            refresh.notify_one();
        }
        let mut signals = RescanSignals::new();
        // Failed plugins retry on their backoff even when no events arrive.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let changed = tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {
                    refresh.notify_one();
                    continue;
                }
                () = signals.recv() => Vec::new(),
                paths = next_change(&mut watcher) => paths,
            };
            let host = self.clone();
            let installed = tokio::task::spawn_blocking(move || host.reload(&changed))
                .await
                .unwrap_or(false);
            if installed {
                refresh.notify_one();
            }
        }
    }

    fn files(&self) -> Vec<PathBuf> {
        let transformers = self
            .transformers
            .iter()
            .filter(|b| b.watched)
            .map(|b| b.slot.path.clone());
        let analyzers = self
            .analyzers
            .iter()
            .filter(|b| b.watched)
            .map(|b| b.slot.path.clone());
        transformers
            .chain(self.validators.iter().map(|b| b.slot.path.clone()))
            .chain(analyzers)
            .collect()
    }

    /// Reloads the bindings whose file is among `changed` (all when empty).
    /// Returns whether any new version was installed.
    fn reload(&self, changed: &[PathBuf]) -> bool {
        let affected =
            |path: &Path| changed.is_empty() || changed.iter().any(|c| same_file(c, path));
        let mut installed = false;
        let watched = self.transformers.iter().filter(|b| b.watched);
        for binding in watched.filter(|b| affected(&b.slot.path)) {
            installed |= self.reload_slot(&binding.slot, |bytes| {
                self.load_transformer(
                    &binding.slot.name,
                    &binding.slot.path,
                    bytes,
                    binding.limits,
                )
            });
        }
        for binding in self.validators.iter().filter(|b| affected(&b.slot.path)) {
            installed |= self.reload_slot(&binding.slot, |bytes| {
                load_validator(&self.sandbox, &binding.slot.name, &binding.slot.path, bytes)
            });
        }
        let watched = self.analyzers.iter().filter(|b| b.watched);
        for binding in watched.filter(|b| affected(&b.slot.path)) {
            installed |= self.reload_slot(&binding.slot, |bytes| {
                let loaded = self.load_analyzer(
                    &binding.slot.name,
                    &binding.slot.path,
                    bytes,
                    binding.limits,
                )?;
                let (_, current) = binding.slot.current();
                if loaded.description.inputs != current.description.inputs {
                    return Err(PluginError::Binding {
                        name: binding.slot.name.clone(),
                        message:
                            "the new version reads other collections; restart the hub to bind it"
                                .into(),
                    });
                }
                Ok(loaded)
            });
        }
        installed
    }

    fn reload_slot<L: Digest>(
        &self,
        slot: &Slot<L>,
        load: impl FnOnce(&[u8]) -> Result<L, PluginError>,
    ) -> bool {
        let scope = Scope::Plugin(slot.name.clone(), PluginScope::Load);
        debug!(plugin = %slot.name, path = %slot.path.display(), "reading plugin file");
        let result = read(&slot.path).and_then(|bytes| {
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            if digest == slot.current().1.digest() {
                debug!(plugin = %slot.name, "plugin file rewritten with identical content; nothing to do");
                return Ok(None);
            }
            load(&bytes).map(Some)
        });
        match result {
            Ok(Some(loaded)) => {
                let generation = slot.install(loaded);
                self.diagnostics.clear(&scope);
                // What the previous version logged is its own.
                self.diagnostics
                    .clear(&Scope::Plugin(slot.name.clone(), PluginScope::Log));
                info!(plugin = %slot.name, generation, "new plugin version loaded");
                true
            }
            Ok(None) => false,
            Err(error) => {
                warn!(plugin = %slot.name, "new plugin version rejected, the previous one keeps running: {error}");
                let problem = Problem::new(slot.path.display().to_string(), error.to_string());
                self.diagnostics.set(&scope, vec![problem]);
                false
            }
        }
    }
}

/// A slot's status; `collections` gives the inputs and outputs of what it
/// runs.
fn status<L: Digest>(
    slot: &Slot<L>,
    kind: &'static str,
    builtin: bool,
    limits: Limits,
    collections: impl FnOnce(&L) -> (Vec<String>, Vec<String>),
) -> PluginStatus {
    let (generation, loaded) = slot.current();
    let (inputs, outputs) = collections(&loaded);
    PluginStatus {
        name: slot.name.clone(),
        kind,
        path: slot.path.display().to_string(),
        builtin,
        digest: loaded.digest().to_owned(),
        generation,
        deadline_ms: limits.deadline.as_millis(),
        memory_limit: limits.memory,
        inputs,
        outputs,
        counts: slot.stats.snapshot(),
    }
}

fn names(collections: &[Collection]) -> Vec<String> {
    collections.iter().map(|c| c.to_string()).collect()
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || (a.file_name() == b.file_name()
            && a.parent().and_then(|p| p.canonicalize().ok())
                == b.parent().and_then(|p| p.canonicalize().ok()))
}
