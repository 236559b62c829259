//! `galleon validate` without a server: the paths read as a file source
//! reads them (documents, names, kinds), and every resource put through
//! the hub's validation stages (the CRDs of `schemas.crds`), so a CI
//! pipeline or a pre-commit hook refuses what `serve` would refuse, with
//! the same locations and words.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use galleon_pipeline::diagnostics::{Diagnostics, Problem};
use galleon_pipeline::event::Event;
use galleon_pipeline::source::Source;
use galleon_pipeline::{Validator, ValidatorFactory};
use galleon_sources::FileSource;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{HubError, crds, registry};
use crate::config::HubConfig;

/// What validating found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Resources read.
    pub resources: usize,
    /// Every problem: documents that are not resources, and resources a
    /// validation stage refused (errors) or remarked on (warnings).
    pub problems: Vec<Problem>,
}

/// Validates the files and directories `paths` with `config`'s kinds and
/// CRDs. `Err` when the set-up is wrong (a path or CRD that cannot be read).
pub async fn validate(config: &HubConfig, paths: &[PathBuf]) -> Result<Findings, HubError> {
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        return Err(HubError::Missing(missing.clone()));
    }
    let registry = Arc::new(registry(config));
    let validation = crds::load(&config.schemas.crds, &registry)?;
    let mut validators: Vec<Box<dyn Validator>> = validation.iter().map(|v| v.build()).collect();
    let diagnostics = Diagnostics::default();
    let source =
        Arc::new(FileSource::new(paths.to_vec(), registry, diagnostics.clone()).with_watch(false));
    let mut unsynced: BTreeSet<_> = source.collections().into_iter().collect();
    let (events, mut received) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    let running = tokio::spawn(source.run(events, stop.clone()));
    let mut findings = Findings::default();
    while !unsynced.is_empty() {
        let Some(event) = received.recv().await else {
            break;
        };
        match event {
            Event::Added(collection, entry) | Event::Updated(collection, entry) => {
                findings.resources += 1;
                for validator in &mut validators {
                    if validator.collections().contains(&collection) {
                        let verdict = validator.validate(&collection, &entry);
                        findings.problems.extend(verdict.errors);
                        findings.problems.extend(verdict.warnings);
                    }
                }
            }
            Event::FullSync(collection) => {
                unsynced.remove(&collection);
            }
            _ => {}
        }
    }
    stop.cancel();
    let _ = running.await;
    let mut problems = diagnostics.problems();
    problems.append(&mut findings.problems);
    findings.problems = problems;
    Ok(findings)
}
