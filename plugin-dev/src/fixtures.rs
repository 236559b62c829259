//! `galleon plugin test`: runs a project's golden fixtures against its
//! compiled component in the real sandbox. Transformers are checked on
//! their outputs, validators on their findings, analyzers on the messages
//! standing after the fixture's events; the component's own exports say
//! which it is.

use std::path::{Path, PathBuf};

use galleon_plugin_host::{Interfaces, Limits, PluginEngine};
use galleon_plugin_sdk::harness::{
    Fixture, compare_golden, list_fixtures, run, run_analyzer, run_validator,
};

use crate::DevError;
use crate::under_test::{HarnessAnalyzer, HarnessTransformer, HarnessValidator};

/// The verdict on one fixture.
#[derive(Debug)]
pub struct Outcome {
    /// The fixture file.
    pub fixture: PathBuf,
    /// `Err` says where the transcript first differs from the golden file.
    pub result: Result<(), String>,
}

/// Runs every fixture in `fixtures` against `component`; with `bless`, the
/// golden files are rewritten instead of compared.
pub fn test(
    engine: &PluginEngine,
    component: &Path,
    fixtures: &Path,
    limits: Limits,
    bless: bool,
) -> Result<Vec<Outcome>, DevError> {
    let found = list_fixtures(fixtures).map_err(|message| DevError::Manifest {
        path: fixtures.to_owned(),
        message,
    })?;
    if found.is_empty() {
        return Err(DevError::Manifest {
            path: fixtures.to_owned(),
            message: "no fixtures (*.yaml) to run".into(),
        });
    }
    let contract = Interfaces::of(engine, component)?.contract();
    let mut transcribe: Box<dyn FnMut(&Fixture) -> serde_json::Value> =
        match contract.as_ref().map(|c| c.interface.as_str()) {
            Some("validator") => {
                let mut plugin = HarnessValidator::load_in(engine.clone(), component, limits)?;
                Box::new(move |fixture| run_validator(&mut plugin, fixture))
            }
            Some("analyzer") => {
                // A fresh instance per fixture: each is a state of its own.
                let engine = engine.clone();
                let component = component.to_owned();
                HarnessAnalyzer::load_in(engine.clone(), &component, limits)?;
                Box::new(move |fixture| {
                    match HarnessAnalyzer::load_in(engine.clone(), &component, limits) {
                        Ok(mut plugin) => run_analyzer(&mut plugin, fixture),
                        Err(error) => serde_json::json!({ "error": error.to_string() }),
                    }
                })
            }
            _ => {
                let mut plugin = HarnessTransformer::load_in(engine.clone(), component, limits)?;
                Box::new(move |fixture| run(&mut plugin, fixture))
            }
        };
    Ok(found
        .into_iter()
        .map(|(fixture, golden)| {
            let result = Fixture::load(&fixture)
                .and_then(|loaded| compare_golden(&transcribe(&loaded), &golden, bless));
            Outcome { fixture, result }
        })
        .collect())
}
