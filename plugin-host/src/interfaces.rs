//! What a component imports and exports, by name, and which of galleon's
//! worlds (if any) it serves: what `galleon plugin inspect` reports before
//! anything is instantiated.

use std::path::Path;

use super::component::read;
use super::engine::PluginEngine;
use super::error::PluginError;
use super::wit_bindings::{WIT_PACKAGE, WIT_VERSION, WIT_VERSIONS_LOADED};

/// A component's imports and exports.
#[derive(Clone, Debug)]
pub struct Interfaces {
    /// Imported instance names, e.g. `wasi:io/streams@0.2.6`.
    pub imports: Vec<String>,
    /// Exported instance names, e.g. `galleon:plugin/transformer@0.2.0`.
    pub exports: Vec<String>,
}

/// The galleon contract a component exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contract {
    /// `transformer`, `validator` or `analyzer`.
    pub interface: String,
    /// The contract version it was built against.
    pub version: String,
}

impl Contract {
    /// Whether this host loads that version (the one it serves, or an
    /// earlier one it still loads).
    pub fn served(&self) -> bool {
        WIT_VERSIONS_LOADED.contains(&self.version.as_str())
            && (self.interface != "analyzer" || self.version == WIT_VERSION)
    }
}

impl Interfaces {
    /// Compiles the component at `path` (no cache) and lists its imports
    /// and exports.
    pub fn of(engine: &PluginEngine, path: &Path) -> Result<Self, PluginError> {
        let compiled = engine.compile(path, &read(path)?)?;
        let ty = compiled.component.component_type();
        let names = |items: &mut dyn Iterator<Item = &str>| items.map(str::to_owned).collect();
        Ok(Self {
            imports: names(&mut ty.imports(engine.engine()).map(|(name, _)| name)),
            exports: names(&mut ty.exports(engine.engine()).map(|(name, _)| name)),
        })
    }

    /// The galleon contract it exports, if any.
    pub fn contract(&self) -> Option<Contract> {
        self.exports.iter().find_map(|export| {
            let rest = export.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
            let (interface, version) = rest.split_once('@')?;
            // A kind's interface, not one it adds (`batch`).
            if !["transformer", "validator", "analyzer"].contains(&interface) {
                return None;
            }
            Some(Contract {
                interface: interface.into(),
                version: version.into(),
            })
        })
    }
}
