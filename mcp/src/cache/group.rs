//! Which snapshot group serves a sink's subscription to a collection: by
//! collection, a node annotation naming one, or a canary's selector.

use std::collections::{BTreeMap, HashMap};

use galleon_proto::mcp::SinkNode;

/// The group every collection belongs to unless configured otherwise.
pub const DEFAULT_GROUP: &str = "default";

/// Chooses the snapshot group for a (sink, collection) pair.
pub trait GroupIndex: Send + Sync + 'static {
    /// The group whose snapshot answers `node`'s subscription to `collection`.
    fn group(&self, node: &SinkNode, collection: &str) -> String;
}

/// Every collection is in [`DEFAULT_GROUP`].
#[derive(Clone, Debug, Default)]
pub struct DefaultGroup;

impl GroupIndex for DefaultGroup {
    fn group(&self, _: &SinkNode, _: &str) -> String {
        DEFAULT_GROUP.to_owned()
    }
}

/// Groups chosen by collection (Galley's layout: synthetic ServiceEntries in
/// their own immediate group), optionally overridden per sink by a node
/// annotation, so canary sinks can follow a separate group.
#[derive(Clone, Debug, Default)]
pub struct CollectionGroups {
    by_collection: HashMap<String, String>,
    node_annotation: Option<String>,
    /// Sinks it selects are served from each group's canary twin: the
    /// group's name with the suffix.
    canary: Option<(NodeSelector, String)>,
}

/// Which sinks a canary serves: a node id pattern (`*` any run of
/// characters, `?` one) and annotations (xDS: node metadata strings) a
/// node must all carry. An empty selector selects no sink.
#[derive(Clone, Debug, Default)]
pub struct NodeSelector {
    node_id: Option<globset::GlobMatcher>,
    annotations: BTreeMap<String, String>,
}

impl NodeSelector {
    /// Selects nodes whose id matches `node_id` (when given) and that carry
    /// every one of `annotations`.
    pub fn new(
        node_id: Option<&str>,
        annotations: BTreeMap<String, String>,
    ) -> Result<Self, globset::Error> {
        let node_id = node_id
            .map(|pattern| globset::Glob::new(pattern).map(|g| g.compile_matcher()))
            .transpose()?;
        Ok(Self {
            node_id,
            annotations,
        })
    }

    /// Whether `node` is selected.
    pub fn matches(&self, node: &SinkNode) -> bool {
        if self.node_id.is_none() && self.annotations.is_empty() {
            return false;
        }
        self.node_id.as_ref().is_none_or(|m| m.is_match(&node.id))
            && self
                .annotations
                .iter()
                .all(|(k, v)| node.annotations.get(k) == Some(v))
    }
}

impl CollectionGroups {
    /// Starts with every collection in [`DEFAULT_GROUP`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `collection` in `group`.
    pub fn assign(mut self, collection: impl Into<String>, group: impl Into<String>) -> Self {
        self.by_collection.insert(collection.into(), group.into());
        self
    }

    /// A sink whose node carries annotation `key` is served from the group it
    /// names, for every collection.
    pub fn node_annotation(mut self, key: impl Into<String>) -> Self {
        self.node_annotation = Some(key.into());
        self
    }

    /// Sinks `selector` selects are served from each group's twin named
    /// with `suffix` (a canary's pipeline publishes them).
    pub fn canary(mut self, selector: NodeSelector, suffix: impl Into<String>) -> Self {
        self.canary = Some((selector, suffix.into()));
        self
    }
}

impl GroupIndex for CollectionGroups {
    fn group(&self, node: &SinkNode, collection: &str) -> String {
        let group = self
            .node_annotation
            .as_ref()
            .and_then(|key| node.annotations.get(key))
            .or_else(|| self.by_collection.get(collection))
            .map_or(DEFAULT_GROUP, String::as_str);
        match &self.canary {
            Some((selector, suffix)) if selector.matches(node) => format!("{group}{suffix}"),
            _ => group.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_then_node_override() {
        let index = CollectionGroups::new()
            .assign("synthetic", "syntheticServiceEntry")
            .node_annotation("galleon.io/group");
        let plain = SinkNode::default();
        assert_eq!(index.group(&plain, "synthetic"), "syntheticServiceEntry");
        assert_eq!(index.group(&plain, "other"), DEFAULT_GROUP);
        let canary = SinkNode {
            id: "pilot-canary".into(),
            annotations: [("galleon.io/group".to_string(), "canary".to_string())].into(),
        };
        assert_eq!(index.group(&canary, "synthetic"), "canary");
    }

    #[test]
    fn a_canary_serves_the_sinks_it_selects_from_each_groups_twin() {
        let selector = NodeSelector::new(
            Some("sidecar~*~canary-*"),
            [("team".to_string(), "mesh".to_string())].into(),
        )
        .unwrap();
        let index = CollectionGroups::new()
            .assign("synthetic", "syntheticServiceEntry")
            .canary(selector, "~canary");
        let node = |id: &str, team: &str| SinkNode {
            id: id.into(),
            annotations: [("team".to_string(), team.to_string())].into(),
        };
        let selected = node("sidecar~10.0.0.1~canary-7~ns", "mesh");
        assert_eq!(index.group(&selected, "other"), "default~canary");
        assert_eq!(
            index.group(&selected, "synthetic"),
            "syntheticServiceEntry~canary"
        );
        for other in [
            node("sidecar~10.0.0.1~stable-7~ns", "mesh"),
            node("sidecar~10.0.0.1~canary-7~ns", "payments"),
        ] {
            assert_eq!(index.group(&other, "other"), DEFAULT_GROUP, "{other:?}");
        }
        let nobody = NodeSelector::new(None, BTreeMap::new()).unwrap();
        assert!(
            !nobody.matches(&selected),
            "an empty selector selects no sink"
        );
    }
}
