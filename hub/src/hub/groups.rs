//! Snapshot groups as the hub runs them: the configured groups, with every
//! output collection no group lists in `default`, and the collection → group
//! index the snapshot cache is built with.

use std::collections::BTreeSet;

use tracing::warn;

use crate::config::HubConfig;
use galleon_mcp::cache::{CollectionGroups, DEFAULT_GROUP};
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

pub(super) fn resolve_groups(config: &HubConfig, outputs: &BTreeSet<Collection>) -> Vec<GroupSpec> {
    let mut listed = BTreeSet::new();
    let mut groups: Vec<GroupSpec> = config
        .groups
        .iter()
        .map(|g| {
            let collections = g
                .collections
                .iter()
                .filter(|c| {
                    let first = listed.insert(c.to_string());
                    if !first {
                        warn!(collection = %c, group = %g.name, "collection is already in another group; ignored here");
                    }
                    first
                })
                .map(|c| Collection::from(c.as_str()))
                .collect();
            GroupSpec { name: g.name.clone(), strategy: g.strategy(), collections }
        })
        .collect();
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
    groups
}
