//! `galleon validate` without a server: the paths read as a file source
//! reads them (documents, names, kinds), and every resource put through
//! the hub's [`checks`](crate::checks) (the CRDs of `schemas.crds`, the
//! validator plugins, the typed bodies of `schemas.protoPaths`), so a CI
//! pipeline or a pre-commit hook refuses what `serve` would refuse, with
//! the same locations and words. Transformer plugins are not loaded: what
//! they make is not in the files.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use galleon_pipeline::ValidatorFactory;
use galleon_pipeline::diagnostics::{Diagnostics, Problem};
use galleon_pipeline::event::Event;
use galleon_pipeline::source::Source;
use galleon_plugin_host::{PluginHost, PluginKind, PluginsConfig};
use galleon_sources::FileSource;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{HubError, codecs, crds};
use crate::checks::Checks;
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
    let registry = Arc::new(config.registry());
    let diagnostics = Diagnostics::default();
    let (codecs, _) = codecs::load(&config.schemas, &registry)?;
    let mut validators: Vec<Arc<dyn ValidatorFactory>> = Vec::new();
    if let Some(validation) = crds::load(&config.schemas.crds, &registry)? {
        validators.push(Arc::new(validation));
    }
    validators.extend(validator_plugins(config, &registry, &diagnostics).await?);
    let mut checks = Checks::new(validators, &codecs, &registry).session();
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
                let verdict = checks.check(&collection, &entry);
                findings.problems.extend(verdict.errors);
                findings.problems.extend(verdict.warnings);
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
    problems.sort_by(|a, b| file_order(&a.location).cmp(&file_order(&b.location)));
    findings.problems = problems;
    Ok(findings)
}

/// Where a problem is, for reading in file order: its path, then its line
/// (locations read `path:line (document n)`; others sort by their text).
fn file_order(location: &str) -> (&str, u64) {
    let place = location.split(" (document ").next().unwrap_or(location);
    place
        .rsplit_once(':')
        .and_then(|(path, line)| Some((path, line.parse().ok()?)))
        .unwrap_or((place, 0))
}

/// The validator plugins `config` binds, loaded off the async workers
/// (compiling is CPU-bound).
async fn validator_plugins(
    config: &HubConfig,
    registry: &Arc<galleon_pipeline::registry::Registry>,
    diagnostics: &Diagnostics,
) -> Result<Vec<Arc<dyn ValidatorFactory>>, HubError> {
    let plugins = PluginsConfig {
        bindings: config
            .plugins
            .bindings
            .iter()
            .filter(|b| b.kind == PluginKind::Validator)
            .cloned()
            .collect(),
        builtins: Default::default(),
        ..config.plugins.clone()
    };
    if plugins.bindings.is_empty() {
        return Ok(Vec::new());
    }
    let (registry, diagnostics) = (registry.clone(), diagnostics.clone());
    let host =
        tokio::task::spawn_blocking(move || PluginHost::load(&plugins, &[], registry, diagnostics))
            .await
            .map_err(|error| HubError::Thread(std::io::Error::other(error)))??;
    Ok(host.validator_factories())
}

#[cfg(test)]
mod tests {
    use super::file_order;

    #[test]
    fn problems_read_in_file_order() {
        let mut locations = vec![
            "b.yaml:2 (document 0)",
            "a.yaml:10 (document 2)",
            "a.yaml:9 (document 1)",
            "crd validation",
        ];
        locations.sort_by_key(|l| file_order(l));
        assert_eq!(
            locations,
            [
                "a.yaml:9 (document 1)",
                "a.yaml:10 (document 2)",
                "b.yaml:2 (document 0)",
                "crd validation"
            ]
        );
    }
}
