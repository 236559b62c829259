//! Plugin bindings: which plugin file serves which collections with which
//! settings and limits (from the hub configuration), and the plugin host that
//! loads them, hands their factories to the pipeline, and hot-loads new
//! versions when their files change (or on SIGHUP).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::builtin::{BuiltinConfig, builtin_bindings, builtins};
use super::component::{
    LoadedTransformer, LoadedValidator, load_transformer, load_validator, read,
};
use super::engine::{PluginEngine, default_cache_dir};
use super::error::PluginError;
use super::sandbox::{Limits, Sandbox};
use super::slot::{Digest, Slot};
use super::transformer::WasmTransformerFactory;
use super::validator::WasmValidatorFactory;
use crate::diagnostics::{Diagnostics, Problem};
use crate::event::Collection;
use crate::pipeline::{TransformerFactory, ValidatorFactory};
use crate::registry::{MESH_CONFIG, Registry};
use crate::source::watcher::{PathWatcher, RescanSignals};

/// The `plugins` section of the hub configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginsConfig {
    /// Where precompiled plugins are cached (default
    /// `$XDG_CACHE_HOME/galleon/wasm` or `~/.cache/galleon/wasm`).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Where the bundled built-in plugins are written to be bound (default
    /// `<cache dir>/builtin/<galleon version>`); replacing a file there
    /// swaps that built-in.
    #[serde(default)]
    pub builtin_dir: Option<PathBuf>,
    /// Built-in plugins to disable, replace or configure, by name (all are
    /// bound by default).
    #[serde(default)]
    pub builtins: BTreeMap<String, BuiltinConfig>,
    /// The plugins to run.
    #[serde(default)]
    pub bindings: Vec<BindingConfig>,
}

impl PluginsConfig {
    /// Whether any plugin is bound: a binding or an enabled built-in.
    pub fn binds_any(&self) -> bool {
        !self.bindings.is_empty()
            || builtins()
                .iter()
                .any(|(name, _)| self.builtins.get(*name).is_none_or(|b| b.enabled))
    }
}

/// What a plugin is.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PluginKind {
    /// Turns input collections into output collections.
    Transformer,
    /// Judges resources before they enter the pipeline.
    Validator,
}

/// One plugin binding.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindingConfig {
    /// Name in logs and status (default: the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// The component (`.wasm`); watched and hot-loaded.
    pub file: PathBuf,
    /// Transformer or validator.
    pub kind: PluginKind,
    /// A validator's collections (a transformer's come from `describe`).
    #[serde(default)]
    pub collections: Vec<String>,
    /// JSON settings passed to `configure`.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Longest a single call may run (default 100ms).
    #[serde(default, with = "humantime_serde")]
    pub deadline: Option<Duration>,
    /// Memory cap per instance in MiB (default 64).
    #[serde(default)]
    pub memory_mib: Option<usize>,
    /// A validator that fails accepts the change instead of rejecting it.
    #[serde(default)]
    pub fail_open: bool,
    /// The component's bytes when it is not read from `file` (a built-in
    /// run from the binary); such a binding is not watched.
    #[serde(skip)]
    pub bundled: Option<&'static [u8]>,
}

impl BindingConfig {
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.file
                .file_stem()
                .map_or_else(|| "plugin".into(), |s| s.to_string_lossy().into_owned())
        })
    }

    fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            deadline: self.deadline.unwrap_or(defaults.deadline),
            memory: self.memory_mib.map_or(defaults.memory, |mib| mib << 20),
        }
    }

    fn settings(&self) -> String {
        if self.settings.is_null() {
            String::new()
        } else {
            self.settings.to_string()
        }
    }
}

/// A transformer binding, shared by its instances in every session.
pub(crate) struct TransformerBinding {
    pub(crate) sandbox: Sandbox,
    pub(crate) slot: Slot<LoadedTransformer>,
    pub(crate) limits: Limits,
    pub(crate) settings: String,
    pub(crate) diagnostics: Diagnostics,
    /// Whether its file is watched (not for a built-in run from the binary).
    pub(crate) watched: bool,
}

/// A validator binding.
pub(crate) struct ValidatorBinding {
    pub(crate) sandbox: Sandbox,
    pub(crate) slot: Slot<LoadedValidator>,
    pub(crate) limits: Limits,
    pub(crate) settings: String,
    pub(crate) collections: Vec<Collection>,
    pub(crate) fail_open: bool,
}

/// Every bound plugin.
pub struct PluginHost {
    sandbox: Sandbox,
    registry: Arc<Registry>,
    diagnostics: Diagnostics,
    transformers: Vec<Arc<TransformerBinding>>,
    validators: Vec<Arc<ValidatorBinding>>,
}

impl PluginHost {
    /// Loads the built-ins and every binding (compiling, or loading from the
    /// cache). Any
    /// binding that cannot be loaded is an error: the hub does not start
    /// half-configured.
    pub fn load(
        config: &PluginsConfig,
        registry: Arc<Registry>,
        diagnostics: Diagnostics,
    ) -> Result<Self, PluginError> {
        let engine = PluginEngine::new(config.cache_dir.clone().or_else(default_cache_dir))?;
        let sandbox = Sandbox::new(engine)?;
        let mut host = Self {
            sandbox,
            registry,
            diagnostics,
            transformers: Vec::new(),
            validators: Vec::new(),
        };
        for binding in builtin_bindings(config)?.iter().chain(&config.bindings) {
            let (name, path) = (binding.name(), binding.file.clone());
            let bytes = match binding.bundled {
                Some(bytes) => bytes.to_vec(),
                None => read(&path)?,
            };
            match binding.kind {
                PluginKind::Transformer => {
                    let loaded = host.load_transformer(&name, &path, &bytes, binding.limits())?;
                    info!(plugin = %name, inputs = ?loaded.description.inputs, outputs = ?loaded.description.outputs, "transformer loaded");
                    host.transformers.push(Arc::new(TransformerBinding {
                        sandbox: host.sandbox.clone(),
                        slot: Slot::new(name, path, loaded),
                        limits: binding.limits(),
                        settings: binding.settings(),
                        diagnostics: host.diagnostics.clone(),
                        watched: binding.bundled.is_none(),
                    }));
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
            }
        }
        Ok(host)
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

    /// Hot loading: watches every plugin file (and SIGHUP) until `stop`;
    /// installs each new version that loads, then wakes the pipeline through
    /// `refresh` so it swaps the new version in.
    pub async fn watch(self: Arc<Self>, refresh: Arc<Notify>, stop: CancellationToken) {
        let files: Vec<PathBuf> = self.files();
        if files.is_empty() {
            return;
        }
        let mut watcher = PathWatcher::new(&files)
            .inspect_err(|e| warn!("not watching plugin files (SIGHUP still reloads them): {e}"))
            .ok();
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
                paths = async { match watcher.as_mut() { Some(w) => w.changed().await, None => std::future::pending().await } } => paths,
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
        transformers
            .chain(self.validators.iter().map(|b| b.slot.path.clone()))
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
        installed
    }

    fn reload_slot<L: Digest>(
        &self,
        slot: &Slot<L>,
        load: impl FnOnce(&[u8]) -> Result<L, PluginError>,
    ) -> bool {
        let scope = format!("plugin {} load", slot.name);
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
                info!(plugin = %slot.name, generation, "new plugin version loaded");
                true
            }
            Ok(None) => false,
            Err(error) => {
                warn!(plugin = %slot.name, "new plugin version rejected, the previous one keeps running: {error}");
                let problem = Problem {
                    location: slot.path.display().to_string(),
                    message: error.to_string(),
                };
                self.diagnostics.set(&scope, vec![problem]);
                false
            }
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || (a.file_name() == b.file_name()
            && a.parent().and_then(|p| p.canonicalize().ok())
                == b.parent().and_then(|p| p.canonicalize().ok()))
}
