//! The `plugins` section of the hub configuration: where plugins are
//! cached, which files are bound as transformers, validators or analyzers with which
//! settings and limits, and how the built-ins are bound.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::limits::Limits;
use super::to_wit;

/// The `plugins` section of the hub configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
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

/// What a plugin is.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PluginKind {
    /// Turns input collections into output collections.
    Transformer,
    /// Judges resources before they enter the pipeline.
    Validator,
    /// Judges resources against each other, reporting messages beside
    /// the pipeline (contract 0.2.0).
    Analyzer,
}

/// One plugin binding.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
    /// A transformer's candidate build, served only to the sinks it
    /// selects until `galleon plugin promote` or `abort`.
    #[serde(default)]
    pub canary: Option<CanaryConfig>,
    /// The component's bytes when it is not read from `file` (a built-in
    /// run from the binary); such a binding is not watched.
    #[serde(skip)]
    pub bundled: Option<&'static [u8]>,
}

impl BindingConfig {
    /// Its name in logs and status: `name`, else the file's stem.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.file
                .file_stem()
                .map_or_else(|| "plugin".into(), |s| s.to_string_lossy().into_owned())
        })
    }

    /// Its limits, defaults filled in.
    pub(crate) fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            deadline: self.deadline.unwrap_or(defaults.deadline),
            memory: self.memory_mib.map_or(defaults.memory, |mib| mib << 20),
        }
    }

    /// Its settings as `configure` receives them.
    pub(crate) fn settings(&self) -> String {
        to_wit::settings(&self.settings)
    }
}

/// A canary (`plugins.bindings[].canary`): a candidate build of the
/// binding and the sinks that receive its outputs.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryConfig {
    /// The candidate component (`.wasm`).
    pub plugin: PathBuf,
    /// Which sinks receive its outputs.
    pub sinks: SinkSelectorConfig,
}

/// Which sinks a canary serves: every condition given must hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SinkSelectorConfig {
    /// A node id pattern (`*` any run of characters, `?` one), e.g.
    /// `sidecar~*~canary-*`.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Node metadata (MCP: node annotations) a sink must carry.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// How one built-in plugin is bound (`plugins.builtins.<name>`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuiltinConfig {
    /// Whether it runs (default true).
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Another build to bind instead of the bundled one (watched and
    /// hot-loaded).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// JSON settings passed to `configure`.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Longest a single call may run (default 100ms; `serviceentry` 1s).
    #[serde(default, with = "humantime_serde")]
    pub deadline: Option<Duration>,
    /// Memory cap per instance in MiB (default 64; `serviceentry` 512).
    #[serde(default)]
    pub memory_mib: Option<usize>,
}

impl Default for BuiltinConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            file: None,
            settings: serde_json::Value::Null,
            deadline: None,
            memory_mib: None,
        }
    }
}

fn enabled() -> bool {
    true
}
