//! Built-in plugins: components the binary bundles and binds by default
//! (galleon's are Galley's three transforms and Istio's analyzers; the binary hands them over as
//! [`Builtin`]s, so this crate knows no particular plugin).
//!
//! At start each enabled built-in is written to the built-in directory
//! (`plugins.builtinDir`) and bound from there like any plugin, so replacing
//! that file swaps it at runtime. A restart writes the bundled build back;
//! `plugins.builtins.<name>.file` binds another build for good, and
//! `enabled: false` turns a built-in off.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::{info, warn};

use super::config::{BindingConfig, BuiltinConfig, PluginKind, PluginsConfig};
use super::engine::default_cache_dir;
use super::error::PluginError;
use super::private_dir::{PrivateDirError, ensure_private};

/// A plugin bundled into the binary, bound by default.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// Its name (`plugins.builtins.<name>` configures it).
    pub name: &'static str,
    /// The compiled component.
    pub component: &'static [u8],
    /// What it is bound as.
    pub kind: PluginKind,
    /// Its per-call deadline unless configured (the default limits' when
    /// `None`).
    pub deadline: Option<Duration>,
    /// Its memory cap in MiB unless configured (the default limits' when
    /// `None`).
    pub memory_mib: Option<usize>,
}

/// Whether `config` binds any plugin: a binding or an enabled built-in.
pub fn binds_any(config: &PluginsConfig, builtins: &[Builtin]) -> bool {
    !config.bindings.is_empty()
        || builtins
            .iter()
            .any(|b| config.builtins.get(b.name).is_none_or(|c| c.enabled))
}

/// Where bundled builds are written when `plugins.builtinDir` is not set:
/// `<cache dir>/builtin/<galleon version>`. Without a cache directory there
/// is none (never a shared temporary directory): the built-ins then run
/// from the bytes in the binary.
pub fn default_builtin_dir(cache_dir: Option<&Path>) -> Option<PathBuf> {
    cache_dir
        .map(Path::to_path_buf)
        .or_else(default_cache_dir)
        .map(|dir| dir.join("builtin").join(env!("CARGO_PKG_VERSION")))
}

/// The bindings of the enabled built-ins, writing the bundled builds they
/// use into the built-in directory.
pub(crate) fn builtin_bindings(
    config: &PluginsConfig,
    builtins: &[Builtin],
) -> Result<Vec<BindingConfig>, PluginError> {
    check_names(&config.builtins, builtins)?;
    let dir = config
        .builtin_dir
        .clone()
        .or_else(|| default_builtin_dir(config.cache_dir.as_deref()));
    let mut bindings = Vec::new();
    for bundled_builtin in builtins {
        let (name, bytes) = (&bundled_builtin.name, &bundled_builtin.component);
        let builtin = config.builtins.get(*name).cloned().unwrap_or_default();
        if !builtin.enabled {
            info!(plugin = %name, "built-in plugin disabled");
            continue;
        }
        let (file, bundled) = match builtin.file {
            Some(file) => (file, None),
            None => match dir.as_deref().map(|dir| write_bundled(dir, name, bytes)) {
                Some(Ok(file)) => (file, None),
                Some(Err(PluginError::PrivateDir(error @ PrivateDirError::Unsafe { .. }))) => {
                    return Err(error.into());
                }
                written => {
                    let why = match written {
                        Some(Err(error)) => error.to_string(),
                        _ => "no cache directory ($XDG_CACHE_HOME or $HOME)".into(),
                    };
                    warn!(plugin = %name, "{why}; running the built-in plugin from the binary (it cannot be swapped by replacing its file)");
                    (
                        PathBuf::from(format!("<built into galleon>/{name}.wasm")),
                        Some(*bytes),
                    )
                }
            },
        };
        bindings.push(BindingConfig {
            name: Some((*name).into()),
            file,
            bundled,
            kind: bundled_builtin.kind,
            collections: Vec::new(),
            settings: builtin.settings,
            deadline: builtin.deadline.or(bundled_builtin.deadline),
            memory_mib: builtin.memory_mib.or(bundled_builtin.memory_mib),
            fail_open: false,
            canary: None,
        });
    }
    Ok(bindings)
}

fn check_names(
    configured: &BTreeMap<String, BuiltinConfig>,
    builtins: &[Builtin],
) -> Result<(), PluginError> {
    let known: Vec<&str> = builtins.iter().map(|b| b.name).collect();
    match configured
        .keys()
        .find(|name| !known.contains(&name.as_str()))
    {
        None => Ok(()),
        Some(name) => Err(PluginError::Binding {
            name: name.clone(),
            message: format!("no built-in plugin of that name; the built-ins are {known:?}"),
        }),
    }
}

/// Writes `bytes` to `<dir>/<name>.wasm` unless it already holds them
/// (so galleons sharing the directory do not wake each other's watchers).
fn write_bundled(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, PluginError> {
    ensure_private(dir)?;
    let path = dir.join(format!("{name}.wasm"));
    if std::fs::read(&path).is_ok_and(|current| current == bytes) {
        return Ok(path);
    }
    let partial = dir.join(format!(".{name}.wasm.{}", std::process::id()));
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, &path));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(PluginError::Write { path, source });
    }
    info!(plugin = %name, path = %path.display(), "built-in plugin written (replace the file to swap it)");
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTINS: &[Builtin] = &[
        Builtin {
            name: "authpolicy",
            component: b"authpolicy component",
            kind: PluginKind::Transformer,
            deadline: None,
            memory_mib: None,
        },
        Builtin {
            name: "ingress",
            component: b"ingress component",
            kind: PluginKind::Transformer,
            deadline: None,
            memory_mib: None,
        },
        Builtin {
            name: "serviceentry",
            component: b"serviceentry component",
            kind: PluginKind::Transformer,
            deadline: Some(Duration::from_secs(1)),
            memory_mib: Some(512),
        },
    ];

    #[test]
    fn every_builtin_is_bound_by_default_and_each_can_be_disabled_or_replaced() {
        let dir = std::env::temp_dir().join(format!("galleon-builtin-{}", std::process::id()));
        let mut config = PluginsConfig {
            builtin_dir: Some(dir.clone()),
            ..PluginsConfig::default()
        };
        let names = |config: &PluginsConfig| -> Vec<String> {
            builtin_bindings(config, BUILTINS)
                .unwrap()
                .into_iter()
                .map(|b| b.name.unwrap())
                .collect()
        };
        assert_eq!(names(&config), ["authpolicy", "ingress", "serviceentry"]);
        assert_eq!(
            std::fs::read(dir.join("ingress.wasm")).unwrap(),
            BUILTINS[1].component
        );

        config.builtins.insert(
            "ingress".into(),
            BuiltinConfig {
                enabled: false,
                ..BuiltinConfig::default()
            },
        );
        config.builtins.insert(
            "serviceentry".into(),
            BuiltinConfig {
                file: Some("/opt/se.wasm".into()),
                ..BuiltinConfig::default()
            },
        );
        let bound = builtin_bindings(&config, BUILTINS).unwrap();
        assert_eq!(bound.len(), 2);
        assert_eq!(bound[1].file, Path::new("/opt/se.wasm"));
        assert_eq!(bound[1].memory_mib, Some(512));
        assert_eq!(bound[1].deadline, Some(Duration::from_secs(1)));

        config
            .builtins
            .insert("ingres".into(), BuiltinConfig::default());
        let error = builtin_bindings(&config, BUILTINS).unwrap_err().to_string();
        assert!(
            error.contains("ingres") && error.contains("\"ingress\""),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
