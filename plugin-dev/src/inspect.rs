//! `galleon plugin inspect`: what a compiled plugin is — its contract and
//! version, what it declares, what it imports, how big it is — and whether
//! it loads under given limits (compiled, instantiated and, for a
//! transformer or an analyzer, described within the deadline and memory cap).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use galleon_plugin_host::{Contract, Description, Interfaces, Limits, PluginEngine};

use crate::DevError;
use crate::under_test::{HarnessAnalyzer, HarnessTransformer, HarnessValidator};

/// What `inspect` found.
#[derive(Debug)]
pub struct Report {
    /// The component file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The galleon contract it exports, if any.
    pub contract: Option<Contract>,
    /// Everything it exports.
    pub exports: Vec<String>,
    /// Everything it imports (WASI for most toolchains; the host's `log`).
    pub imports: Vec<String>,
    /// How long compiling took (no cache).
    pub compile: Duration,
    /// A transformer's declaration, or an analyzer plugin's (its inputs,
    /// no outputs).
    pub description: Option<Description>,
    /// An analyzer plugin's analyzers, by name.
    pub analyzers: Vec<String>,
    /// The limits it was tried under.
    pub limits: Limits,
    /// How long loading the precompiled component, instantiating it and
    /// (a transformer) describing it took under `limits`, or why it would
    /// not load.
    pub load: Result<Duration, String>,
}

/// Inspects the component at `path`, trying it under `limits`.
pub fn inspect(path: &Path, limits: Limits) -> Result<Report, DevError> {
    let size = std::fs::metadata(path).map_err(DevError::io(path))?.len();
    // A private cache: the first load compiles into it, the second is what
    // a hub restart does (load the precompiled code, instantiate).
    let cache = tempfile::tempdir().map_err(DevError::io(std::env::temp_dir()))?;
    let engine = PluginEngine::new(Some(cache.path().join("wasm")))?;
    let started = Instant::now();
    let interfaces = Interfaces::of(&engine, path)?;
    let compile = started.elapsed();
    let contract = interfaces.contract();
    let mut description = None;
    let mut analyzers = Vec::new();
    let started = Instant::now();
    let load = match contract.as_ref().map(|c| c.interface.as_str()) {
        Some("validator") => HarnessValidator::load_in(engine, path, limits)
            .and_then(|mut plugin| plugin.instantiate()),
        Some("analyzer") => HarnessAnalyzer::load_in(engine, path, limits).map(|plugin| {
            let (inputs, held, summary) = plugin.describe();
            description = Some(Description {
                inputs: inputs.into_iter().map(Into::into).collect(),
                outputs: Vec::new(),
                summary,
            });
            analyzers = held.into_iter().map(|(name, _, _)| name).collect();
        }),
        _ => HarnessTransformer::load_in(engine, path, limits).map(|plugin| {
            description = Some(plugin.description().clone());
        }),
    }
    .map(|()| started.elapsed())
    .map_err(|e| e.to_string());
    Ok(Report {
        path: path.to_owned(),
        size,
        contract,
        exports: interfaces.exports,
        imports: interfaces.imports,
        compile,
        description,
        analyzers,
        limits,
        load,
    })
}
