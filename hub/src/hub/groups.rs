//! Snapshot groups as the hub runs them: the configured groups, with every
//! output collection no group lists in `default`, and the collection → group
//! index the snapshot cache is built with.

use std::collections::BTreeSet;

use crate::config::{HubConfig, default_groups};
use galleon_mcp::cache::{CollectionGroups, DEFAULT_GROUP};
use galleon_mcp::quote::did_you_mean;
use galleon_pipeline::event::Collection;
use galleon_pipeline::{GroupSpec, PipelineSpec, Strategy};

/// Which group serves each collection of `spec`.
pub(super) fn group_index(spec: &PipelineSpec) -> CollectionGroups {
    spec.groups
        .iter()
        .flat_map(|g| {
            g.collections
                .iter()
                .map(move |c| (c.to_string(), g.name.clone()))
        })
        .fold(CollectionGroups::new(), |index, (c, g)| index.assign(c, g))
}

/// The configured groups over `outputs` (the collections the pipeline
/// produces), every unlisted output in `default`. A listed collection that
/// nothing produces and Galley's groups do not name either (a typo would
/// serve an empty collection for ever), or one listed in two groups, is an
/// error naming it. (Galley's collections may go unproduced: a built-in
/// plugin turned off leaves its output served empty.)
pub(super) fn resolve_groups(
    config: &HubConfig,
    outputs: &BTreeSet<Collection>,
) -> Result<Vec<GroupSpec>, GroupError> {
    let galleys: BTreeSet<String> = default_groups()
        .into_iter()
        .flat_map(|g| g.collections)
        .collect();
    let known = |c: &str| outputs.contains(c) || galleys.contains(c);
    let mut listed = BTreeSet::new();
    let mut groups = Vec::new();
    for group in &config.groups {
        let mut collections = Vec::new();
        for collection in &group.collections {
            if !known(collection) {
                let candidates = outputs
                    .iter()
                    .map(|c| &**c)
                    .chain(galleys.iter().map(String::as_str));
                let suggestion = did_you_mean(collection, candidates);
                return Err(GroupError::Unproduced {
                    group: group.name.clone(),
                    collection: collection.clone(),
                    suggestion,
                });
            }
            if !listed.insert(collection.clone()) {
                return Err(GroupError::Twice(collection.clone()));
            }
            collections.push(Collection::from(collection.as_str()));
        }
        groups.push(GroupSpec {
            name: group.name.clone(),
            strategy: group.strategy(),
            collections,
        });
    }
    let unlisted: Vec<Collection> = outputs
        .iter()
        .filter(|c| !listed.contains(&***c))
        .cloned()
        .collect();
    if !unlisted.is_empty() {
        match groups.iter_mut().find(|g| g.name == DEFAULT_GROUP) {
            Some(default) => default.collections.extend(unlisted),
            None => groups.push(GroupSpec {
                name: DEFAULT_GROUP.into(),
                strategy: Strategy::debounce(),
                collections: unlisted,
            }),
        }
    }
    Ok(groups)
}

/// Why the configured groups cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// A listed collection nothing produces.
    #[error(
        "groups[{group}]: no kind or plugin produces {collection}{suggestion} (list output collections, e.g. istio/networking/v1alpha3/virtualservices)"
    )]
    Unproduced {
        /// The group.
        group: String,
        /// The collection.
        collection: String,
        /// A close name, if any.
        suggestion: String,
    },
    /// A collection listed in two groups.
    #[error("groups: {0} is listed in two groups; a collection is served from one")]
    Twice(String),
}
