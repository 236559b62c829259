//! A validator plugin in the pipeline: one instance per binding, replaced
//! after a failure or when a new version is installed. Failures are
//! fail-closed (the change is rejected) unless the binding says fail-open.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;

use super::binding::ValidatorBinding;
use super::error::PluginError;
use super::exports::ValidatorExports;
use super::failure::Failure;
use super::instance::start;
use super::sandbox::{StoreState, arm, blocking};
use super::to_wit;
use super::wit_bindings::wit;
use galleon_pipeline::diagnostics::Problem;
use galleon_pipeline::diagnostics::Severity;
use galleon_pipeline::event::{Collection, Entry};
use galleon_pipeline::{Validator, ValidatorFactory, Verdict};

struct Instance {
    generation: u64,
    store: Store<StoreState>,
    plugin: ValidatorExports,
}

/// A validator plugin bound into a pipeline session.
pub struct WasmValidator {
    binding: Arc<ValidatorBinding>,
    instance: Option<Instance>,
}

impl WasmValidator {
    fn start(&self) -> Result<Instance, PluginError> {
        let b = &self.binding;
        let (generation, loaded) = b.slot.current();
        let (store, plugin) = start(
            &b.sandbox,
            &b.slot.name,
            b.limits,
            |store| loaded.instantiate(store),
            |plugin: &ValidatorExports, store| plugin.configure(store, &b.settings),
        )?;
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
        let resource = to_wit::resource(collection, entry);
        let started = Instant::now();
        let diagnostics = blocking(|| instance.plugin.validate(&mut instance.store, &resource));
        self.binding
            .slot
            .stats
            .called(started.elapsed(), instance.store.data().peak_memory());
        let diagnostics = diagnostics.map_err(|e| PluginError::Call {
            name: self.binding.slot.name.clone(),
            call: "validate",
            failure: Failure::of(&e, self.binding.limits),
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
                    let problem = Problem::new(
                        location.clone(),
                        format!("{name} on {}: {}{field}", entry.name, d.message),
                    );
                    match d.severity {
                        wit::Severity::Error => verdict.errors.push(problem),
                        wit::Severity::Warning | wit::Severity::Info => {
                            verdict.warnings.push(Problem {
                                severity: Severity::Warning,
                                ..problem
                            })
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
                self.binding.slot.stats.failed(&error);
                let fail_open = self.binding.fail_open;
                let outcome = if fail_open {
                    "accepted (fail-open)"
                } else {
                    "rejected (fail-closed)"
                };
                let message = format!("{error}; {} {outcome}", entry.name);
                if fail_open {
                    let problem = Problem::warning(location, message);
                    Verdict {
                        errors: Vec::new(),
                        warnings: vec![problem],
                    }
                } else {
                    Verdict {
                        errors: vec![Problem::new(location, message)],
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
