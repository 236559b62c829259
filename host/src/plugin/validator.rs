//! A validator plugin in the pipeline: one instance per binding, replaced
//! after a failure or when a new version is installed. Failures are
//! fail-closed (the change is rejected) unless the binding says fail-open.

use std::sync::Arc;

use wasmtime::Store;

use super::binding::ValidatorBinding;
use super::bindings::transformer::galleon::plugin::types as wit;
use super::bindings::validator::ValidatorPlugin;
use super::convert::resource;
use super::error::PluginError;
use super::instance::classify;
use super::sandbox::{StoreState, arm, blocking};
use crate::diagnostics::Problem;
use crate::event::{Collection, Entry};
use crate::pipeline::{Validator, ValidatorFactory, Verdict};

struct Instance {
    generation: u64,
    store: Store<StoreState>,
    plugin: ValidatorPlugin,
}

/// A validator plugin bound into a pipeline session.
pub struct WasmValidator {
    binding: Arc<ValidatorBinding>,
    instance: Option<Instance>,
}

impl WasmValidator {
    fn start(&self) -> Result<Instance, PluginError> {
        let b = &self.binding;
        let name = b.slot.name.as_str();
        let (generation, loaded) = b.slot.current();
        let mut store = b.sandbox.store(name, b.limits);
        arm(&mut store, b.limits);
        let plugin = blocking(|| loaded.pre.instantiate(&mut store)).map_err(|e| {
            PluginError::Instantiate {
                name: name.into(),
                message: classify(&e, b.limits),
            }
        })?;
        arm(&mut store, b.limits);
        let configured = blocking(|| {
            plugin
                .galleon_plugin_validator()
                .call_configure(&mut store, &b.settings)
        })
        .map_err(|e| PluginError::Call {
            name: name.into(),
            call: "configure",
            message: classify(&e, b.limits),
        })?;
        configured.map_err(|message| PluginError::Configure {
            name: name.into(),
            message,
        })?;
        Ok(Instance {
            generation,
            store,
            plugin,
        })
    }

    fn call(
        &mut self,
        collection: &Collection,
        entry: &Entry,
    ) -> Result<Vec<wit::Diagnostic>, PluginError> {
        let current = self.binding.slot.generation();
        let mut instance = match self.instance.take() {
            Some(instance) if instance.generation == current => instance,
            _ => self.start()?,
        };
        arm(&mut instance.store, self.binding.limits);
        let name = &self.binding.slot.name;
        let resource = resource(collection, entry);
        let diagnostics = blocking(|| {
            instance
                .plugin
                .galleon_plugin_validator()
                .call_validate(&mut instance.store, &resource)
        })
        .map_err(|e| PluginError::Call {
            name: name.clone(),
            call: "validate",
            message: classify(&e, self.binding.limits),
        })?;
        self.instance = Some(instance);
        Ok(diagnostics)
    }
}

impl Validator for WasmValidator {
    fn name(&self) -> &str {
        &self.binding.slot.name
    }

    fn collections(&self) -> Vec<Collection> {
        self.binding.collections.clone()
    }

    fn validate(&mut self, collection: &Collection, entry: &Entry) -> Verdict {
        let location = entry
            .origin
            .as_ref()
            .map_or_else(|| format!("{collection} {}", entry.name), |o| o.to_string());
        let name = self.binding.slot.name.clone();
        match self.call(collection, entry) {
            Ok(diagnostics) => {
                let mut verdict = Verdict::default();
                for d in diagnostics {
                    let field = d.field.map(|f| format!(" ({f})")).unwrap_or_default();
                    let problem = Problem {
                        location: location.clone(),
                        message: format!("{name} on {}: {}{field}", entry.name, d.message),
                    };
                    match d.severity {
                        wit::Severity::Error => verdict.errors.push(problem),
                        wit::Severity::Warning | wit::Severity::Info => {
                            verdict.warnings.push(problem)
                        }
                    }
                }
                if !verdict.errors.is_empty() {
                    verdict
                        .errors
                        .iter_mut()
                        .for_each(|p| p.message.insert_str(0, "rejected by validator "));
                }
                verdict
            }
            Err(error) => {
                let fail_open = self.binding.fail_open;
                let outcome = if fail_open {
                    "accepted (fail-open)"
                } else {
                    "rejected (fail-closed)"
                };
                let problem = Problem {
                    location,
                    message: format!("{error}; {} {outcome}", entry.name),
                };
                if fail_open {
                    Verdict {
                        errors: Vec::new(),
                        warnings: vec![problem],
                    }
                } else {
                    Verdict {
                        errors: vec![problem],
                        warnings: Vec::new(),
                    }
                }
            }
        }
    }
}

/// Builds a [`WasmValidator`] per pipeline session.
pub struct WasmValidatorFactory {
    binding: Arc<ValidatorBinding>,
}

impl WasmValidatorFactory {
    pub(crate) fn new(binding: Arc<ValidatorBinding>) -> Self {
        Self { binding }
    }
}

impl ValidatorFactory for WasmValidatorFactory {
    fn build(&self) -> Box<dyn Validator> {
        Box::new(WasmValidator {
            binding: self.binding.clone(),
            instance: None,
        })
    }
}
