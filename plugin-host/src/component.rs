//! Loading a plugin file: read, hash, compile (through the cache), check that
//! the component exports its kind's interface at a contract version this host
//! loads, link it, and for a transformer or analyzer ask it to `describe`
//! itself in a scratch instance.

use std::path::Path;

use wasmtime::Store;
use wasmtime::component::{Component, Instance, InstancePre};

use super::error::PluginError;
use super::exports::{
    AnalyzerExports, AnalyzerIndices, Contract, TransformerExports, TransformerIndices,
    ValidatorExports, ValidatorIndices,
};
use super::failure::Failure;
use super::limits::Limits;
use super::sandbox::{Sandbox, StoreState, arm, blocking};
use super::wit_bindings::{WIT_PACKAGE, WIT_VERSION, WIT_VERSIONS_LOADED, wit};
use galleon_pipeline::event::Collection;

/// A transformer's declared inputs and outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description {
    /// Collections it consumes.
    pub inputs: Vec<Collection>,
    /// Collections it produces.
    pub outputs: Vec<Collection>,
    /// What it does.
    pub summary: String,
}

/// A loaded transformer, ready to instantiate.
pub(crate) struct LoadedTransformer {
    pub(crate) digest: String,
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) exports: TransformerIndices,
    pub(crate) description: Description,
}

/// A loaded validator, ready to instantiate.
pub(crate) struct LoadedValidator {
    pub(crate) digest: String,
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) exports: ValidatorIndices,
}

/// A loaded analyzer, ready to instantiate.
pub(crate) struct LoadedAnalyzer {
    pub(crate) digest: String,
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) exports: AnalyzerIndices,
    pub(crate) description: wit::Analyzers,
}

/// An instance of a loaded component in `store`, and its exports: the one
/// way every kind of plugin is instantiated.
macro_rules! instantiate {
    ($loaded:ty, $exports:ty) => {
        impl $loaded {
            pub(crate) fn instantiate(
                &self,
                store: &mut Store<StoreState>,
            ) -> wasmtime::Result<$exports> {
                let instance = self.pre.instantiate(&mut *store)?;
                self.exports.load(store, &instance)
            }
        }
    };
}

instantiate!(LoadedTransformer, TransformerExports);
instantiate!(LoadedValidator, ValidatorExports);
instantiate!(LoadedAnalyzer, AnalyzerExports);

/// Reads a file and hashes it, without compiling.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, PluginError> {
    std::fs::read(path).map_err(|source| PluginError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Compiles and checks a transformer.
pub(crate) fn load_transformer(
    sandbox: &Sandbox,
    name: &str,
    path: &Path,
    bytes: &[u8],
    limits: Limits,
) -> Result<LoadedTransformer, PluginError> {
    let (digest, pre, contract) = link(sandbox, "transformer", name, path, bytes)?;
    let exports = TransformerIndices::new(&pre, contract).map_err(instantiate_error(name))?;
    let described = describe(sandbox, name, &pre, limits, |store, instance| {
        exports.load(store, instance)?.describe(store)
    })?;
    let description = Description {
        inputs: described
            .inputs
            .iter()
            .map(|c| Collection::from(c.as_str()))
            .collect(),
        outputs: described
            .outputs
            .iter()
            .map(|c| Collection::from(c.as_str()))
            .collect(),
        summary: described.summary,
    };
    if description.inputs.is_empty() || description.outputs.is_empty() {
        return Err(PluginError::Binding {
            name: name.into(),
            message: "describe() must name at least one input and one output collection".into(),
        });
    }
    Ok(LoadedTransformer {
        digest,
        pre,
        exports,
        description,
    })
}

/// Compiles and checks a validator.
pub(crate) fn load_validator(
    sandbox: &Sandbox,
    name: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<LoadedValidator, PluginError> {
    let (digest, pre, contract) = link(sandbox, "validator", name, path, bytes)?;
    let exports = ValidatorIndices::new(&pre, contract).map_err(instantiate_error(name))?;
    Ok(LoadedValidator {
        digest,
        pre,
        exports,
    })
}

/// Compiles and checks an analyzer.
pub(crate) fn load_analyzer(
    sandbox: &Sandbox,
    name: &str,
    path: &Path,
    bytes: &[u8],
    limits: Limits,
) -> Result<LoadedAnalyzer, PluginError> {
    let (digest, pre, _) = link(sandbox, "analyzer", name, path, bytes)?;
    let exports = AnalyzerIndices::new(&pre).map_err(instantiate_error(name))?;
    let description = describe(sandbox, name, &pre, limits, |store, instance| {
        exports.load(&mut *store, instance)?.call_describe(store)
    })?;
    if description.analyzers.is_empty() || description.inputs.is_empty() {
        return Err(PluginError::Binding {
            name: name.into(),
            message: "describe() must name at least one analyzer and one input collection".into(),
        });
    }
    Ok(LoadedAnalyzer {
        digest,
        pre,
        exports,
        description,
    })
}

/// Calls `describe` in a scratch instance, under `limits`.
fn describe<D>(
    sandbox: &Sandbox,
    name: &str,
    pre: &InstancePre<StoreState>,
    limits: Limits,
    call: impl FnOnce(&mut Store<StoreState>, &Instance) -> wasmtime::Result<D>,
) -> Result<D, PluginError> {
    let mut store = sandbox.store(name, limits);
    arm(&mut store, limits);
    let instance = blocking(|| pre.instantiate(&mut store)).map_err(instantiate_error(name))?;
    arm(&mut store, limits);
    blocking(|| call(&mut store, &instance)).map_err(|e| PluginError::Call {
        name: name.into(),
        call: "describe",
        failure: Failure::of(&e, limits),
    })
}

/// Compiles `bytes` (through the cache), checks the component exports
/// `interface` at a version this host loads, and links it.
fn link(
    sandbox: &Sandbox,
    interface: &str,
    name: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<(String, InstancePre<StoreState>, Contract), PluginError> {
    let compiled = sandbox.engine.compile(path, bytes)?;
    let contract = check_world(sandbox, &compiled.component, interface, path)?;
    let pre = sandbox
        .linker
        .instantiate_pre(&compiled.component)
        .map_err(instantiate_error(name))?;
    Ok((compiled.digest, pre, contract))
}

fn instantiate_error(name: &str) -> impl Fn(wasmtime::Error) -> PluginError + '_ {
    // Linking fails on the host's side (a missing import), not in a call:
    // the whole chain says which import and why.
    move |e| PluginError::Instantiate {
        name: name.into(),
        failure: Failure::Other(format!("{e:#}")),
    }
}

/// Checks that the component exports `galleon:plugin/<interface>` at a
/// version this host loads (analyzers: 0.2.0 on), naming the versions when
/// it does not.
fn check_world(
    sandbox: &Sandbox,
    component: &Component,
    interface: &str,
    path: &Path,
) -> Result<Contract, PluginError> {
    let engine = sandbox.engine.engine();
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let wanted = format!("{WIT_PACKAGE}/{interface}@{WIT_VERSION}");
    let prefix = format!("{WIT_PACKAGE}/{interface}@");
    let built = exports.iter().find_map(|e| e.strip_prefix(&prefix));
    if let Some(contract) = built.and_then(Contract::of)
        && (interface != "analyzer" || contract == Contract::V0_2)
    {
        return Ok(contract);
    }
    let world = |message: String| {
        Err(PluginError::World {
            path: path.to_owned(),
            message,
        })
    };
    if let Some(other) = built {
        let loaded = WIT_VERSIONS_LOADED.join(" and ");
        return world(format!(
            "built against {WIT_PACKAGE}@{other}, but this host serves {WIT_PACKAGE}@{WIT_VERSION} (and loads {loaded}); rebuild it with a matching SDK"
        ));
    }
    if let Some(other) = exports
        .iter()
        .find(|e| e.starts_with(&format!("{WIT_PACKAGE}/")))
    {
        return world(format!("exports {other}, but it is bound as a {interface}"));
    }
    world(format!(
        "does not export {wanted} (it exports: {})",
        exports.join(", ")
    ))
}
