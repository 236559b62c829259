//! Loading a plugin file: read, hash, compile (through the cache), check that
//! the component serves this host's world and version, link it, and for a
//! transformer ask it to `describe` itself in a scratch instance.

use std::path::Path;

use wasmtime::component::{Component, InstancePre, Linker};

use super::error::PluginError;
use super::failure::Failure;
use super::limits::Limits;
use super::sandbox::{Sandbox, StoreState, arm, blocking};
use super::wit_bindings::{TransformerPluginPre, ValidatorPluginPre, WIT_PACKAGE, WIT_VERSION};
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
    pub(crate) pre: TransformerPluginPre<StoreState>,
    pub(crate) description: Description,
}

/// A loaded validator, ready to instantiate.
pub(crate) struct LoadedValidator {
    pub(crate) digest: String,
    pub(crate) pre: ValidatorPluginPre<StoreState>,
}

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
    let instantiate = instantiate_error(name);
    let (digest, pre) = link(
        sandbox,
        &sandbox.transformers,
        "transformer",
        name,
        path,
        bytes,
    )?;
    let pre = TransformerPluginPre::new(pre).map_err(&instantiate)?;
    let mut store = sandbox.store(name, limits);
    arm(&mut store, limits);
    let plugin = blocking(|| pre.instantiate(&mut store)).map_err(instantiate)?;
    arm(&mut store, limits);
    let described = blocking(|| {
        plugin
            .galleon_plugin_transformer()
            .call_describe(&mut store)
    })
    .map_err(|e| PluginError::Call {
        name: name.into(),
        call: "describe",
        failure: Failure::of(&e, limits),
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
    let (digest, pre) = link(sandbox, &sandbox.validators, "validator", name, path, bytes)?;
    let pre = ValidatorPluginPre::new(pre).map_err(instantiate_error(name))?;
    Ok(LoadedValidator { digest, pre })
}

/// Compiles `bytes` (through the cache), checks the component exports
/// `interface` at this host's version, and links it.
fn link(
    sandbox: &Sandbox,
    linker: &Linker<StoreState>,
    interface: &str,
    name: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<(String, InstancePre<StoreState>), PluginError> {
    let compiled = sandbox.engine.compile(path, bytes)?;
    check_world(sandbox, &compiled.component, interface, path)?;
    let pre = linker
        .instantiate_pre(&compiled.component)
        .map_err(instantiate_error(name))?;
    Ok((compiled.digest, pre))
}

fn instantiate_error(name: &str) -> impl Fn(wasmtime::Error) -> PluginError + '_ {
    // Linking fails on the host's side (a missing import), not in a call:
    // the whole chain says which import and why.
    move |e| PluginError::Instantiate {
        name: name.into(),
        failure: Failure::Other(format!("{e:#}")),
    }
}

/// Checks that the component exports `galleon:plugin/<interface>` at the
/// version this host serves, naming both versions when it does not.
fn check_world(
    sandbox: &Sandbox,
    component: &Component,
    interface: &str,
    path: &Path,
) -> Result<(), PluginError> {
    let engine = sandbox.engine.engine();
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let wanted = format!("{WIT_PACKAGE}/{interface}@{WIT_VERSION}");
    if exports.contains(&wanted) {
        return Ok(());
    }
    let world = |message: String| {
        Err(PluginError::World {
            path: path.to_owned(),
            message,
        })
    };
    let prefix = format!("{WIT_PACKAGE}/{interface}@");
    if let Some(other) = exports.iter().find_map(|e| e.strip_prefix(&prefix)) {
        return world(format!(
            "built against {WIT_PACKAGE}@{other}, but this host serves {WIT_PACKAGE}@{WIT_VERSION}; rebuild it with a matching SDK"
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
