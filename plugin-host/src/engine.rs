//! The one wasmtime [`Engine`] of the process: component model, Cranelift,
//! epoch interruption driven by a ticker thread (see `epoch`); and an on-disk cache of
//! precompiled components keyed by (sha256 of the component, the engine's
//! compatibility hash), so a restart loads plugins in milliseconds.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tracing::{debug, warn};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

use super::epoch::Ticker;
use super::error::PluginError;
use super::private_dir::{PrivateDirError, ensure_private};

/// The engine plus the precompile cache. Cheap to clone.
#[derive(Clone)]
pub struct PluginEngine {
    engine: Engine,
    cache_dir: Option<PathBuf>,
    compatibility: String,
    _ticker: Arc<Ticker>,
}

/// A compiled component and the digest of the bytes it came from.
#[derive(Clone)]
pub struct Compiled {
    /// sha256 of the `.wasm` bytes, hex.
    pub digest: String,
    /// The compiled component.
    pub component: Component,
}

impl PluginEngine {
    /// An engine caching precompiled components in `cache_dir`, which must
    /// be private (see `private_dir`); one that cannot be created (a
    /// read-only file system) means no cache, with a warning. (none: no
    /// cache).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, PluginError> {
        let cache_dir = match cache_dir.map(|dir| (ensure_private(&dir), dir)) {
            Some((Ok(()), dir)) => Some(dir),
            Some((Err(error @ PrivateDirError::Unwritable { .. }), _)) => {
                warn!("{error}; plugins are compiled at every start");
                None
            }
            Some((Err(error), _)) => return Err(error.into()),
            None => None,
        };
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Plugins are called synchronously; without concurrency support a
        // call costs about half as much.
        config.concurrency_support(false);
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(e.to_string()))?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compatibility = format!("{:016x}", hasher.finish());

        // The ticker stops when the last engine handle goes away.
        let ticker = Ticker::start(engine.clone())
            .map_err(|e| PluginError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Self {
            engine,
            cache_dir,
            compatibility,
            _ticker: Arc::new(ticker),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles `bytes` (read from `path`), through the cache.
    pub fn compile(&self, path: &Path, bytes: &[u8]) -> Result<Compiled, PluginError> {
        if !bytes.starts_with(b"\0asm") {
            return Err(PluginError::Compile {
                path: path.to_owned(),
                message: "not a WebAssembly file (it does not start with \\0asm): build the plugin with `galleon plugin build`".into(),
            });
        }
        let digest = hex::encode(Sha256::digest(bytes));
        let cached = self
            .cache_dir
            .as_ref()
            .map(|dir| dir.join(format!("{digest}-{}.cwasm", self.compatibility)));
        if let Some(component) = cached.as_deref().and_then(|file| self.load_cached(file)) {
            debug!(path = %path.display(), %digest, "loaded precompiled plugin from cache");
            return Ok(Compiled { digest, component });
        }
        let precompiled =
            self.engine
                .precompile_component(bytes)
                .map_err(|e| PluginError::Compile {
                    path: path.to_owned(),
                    message: one_line(&format!("{e:#}")),
                })?;
        if let Some(file) = &cached
            && let Err(error) = write_atomically(file, &precompiled)
        {
            warn!(cache = %file.display(), "cannot write the plugin cache: {error}");
        }
        let component = self
            .deserialize(&precompiled)
            .map_err(|e| PluginError::Compile {
                path: path.to_owned(),
                message: one_line(&format!("{e:#}")),
            })?;
        Ok(Compiled { digest, component })
    }

    fn load_cached(&self, file: &Path) -> Option<Component> {
        let bytes = std::fs::read(file).ok()?;
        // Only our own artifacts: the cache names them by the input digest
        // and the engine's compatibility hash; double-check the format.
        Engine::detect_precompiled(&bytes)?;
        self.deserialize(&bytes)
            .inspect_err(
                |e| warn!(cache = %file.display(), "ignoring an unusable cached plugin: {e}"),
            )
            .ok()
    }

    #[allow(unsafe_code)]
    fn deserialize(&self, precompiled: &[u8]) -> wasmtime::Result<Component> {
        // SAFETY: the bytes were produced by `precompile_component` of an
        // engine with the same compatibility hash — either just now, or
        // earlier into galleon's own cache directory, under a name that
        // carries that hash.
        unsafe { Component::deserialize(&self.engine, precompiled) }
    }
}

fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let aside = dir.join(format!(
        ".{}.{}",
        file.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::write(&aside, bytes).and_then(|()| std::fs::rename(&aside, file));
    if written.is_err() {
        // No partial artifact is left behind (a full disk, say).
        let _ = std::fs::remove_file(&aside);
    }
    written
}

/// The default cache directory: `$XDG_CACHE_HOME/galleon/wasm`, else
/// `$HOME/.cache/galleon/wasm`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|base| base.join("galleon").join("wasm"))
}

/// The longest a compile error is said: wasmtime's can list a corrupt
/// file's bytes.
const COMPILE_ERROR_MAX: usize = 500;

/// `message` on one line and bounded: the parser's multi-line values (a
/// byte list) folded into single spaces.
fn one_line(message: &str) -> String {
    let folded = message.split_whitespace().collect::<Vec<_>>().join(" ");
    galleon_pipeline::diagnostics::escaped(&folded, COMPILE_ERROR_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_webassembly_is_named_so_on_one_line() {
        let engine = PluginEngine::new(None).unwrap();
        let path = Path::new("plugin.wasm");
        for bytes in [&b"not wasm at all"[..], b"\0asm\x0d\0\x01\0garbage"] {
            let error = engine.compile(path, bytes).err().unwrap().to_string();
            assert!(!error.contains('\n'), "{error}");
            assert!(error.contains("plugin.wasm"), "{error}");
        }
        let mut corrupt = b"\0asm\x01\0\0\0\x01".to_vec();
        corrupt.extend(std::iter::repeat_n(0xff, 100_000));
        let error = engine.compile(path, &corrupt).err().unwrap().to_string();
        assert!(error.chars().count() < 700, "bounded: {error}");
        let text = engine.compile(path, b"text").err().unwrap().to_string();
        assert!(text.contains("not a WebAssembly file"), "{text}");
    }
}
