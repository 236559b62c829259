//! Which snapshot group serves a sink's subscription to a collection.

use std::collections::HashMap;

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
}

impl GroupIndex for CollectionGroups {
    fn group(&self, node: &SinkNode, collection: &str) -> String {
        self.node_annotation
            .as_ref()
            .and_then(|key| node.annotations.get(key))
            .or_else(|| self.by_collection.get(collection))
            .map_or(DEFAULT_GROUP, String::as_str)
            .to_owned()
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
}
