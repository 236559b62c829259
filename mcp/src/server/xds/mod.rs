//! MCP over xDS: Envoy's aggregated discovery service on the MCP port, the
//! way istiod's `configSources: xds://…` client, Nacos and Higress exchange
//! Istio configuration. A type URL is a GVK (`networking.istio.io/v1/
//! VirtualService`); each resource is an `Any` of `istio.mcp.v1alpha1.Resource`
//! (the MeshConfig type: the body alone). Both flavours are served: state of
//! the world ([`sotw`]) and incremental ([`delta`]), from the same snapshot
//! cache, watches and shared encodings as `ResourceSource`.

mod delta;
mod flavour;
mod service;
mod sotw;

pub(super) use service::Ads;
/// The fuzz targets drive the engine with each flavour directly.
#[cfg(feature = "fuzzing")]
pub(super) use {delta::Delta, flavour::Xds, sotw::Sotw};

use super::session::Node;
use crate::ads::REVISION_KEY;

/// An xDS node as the session knows sinks: its id, and the revision in its
/// metadata (`ISTIO_REVISION`), if any.
fn node_of(node: &galleon_proto::xds::Node) -> Node {
    Node {
        id: node.id.clone(),
        annotations: Default::default(),
        revision: revision_of(node),
    }
}

/// The revision in a node's metadata (`ISTIO_REVISION`), if any.
fn revision_of(node: &galleon_proto::xds::Node) -> Option<String> {
    use prost_types::value::Kind;
    let fields = &node.metadata.as_ref()?.fields;
    match fields.get(REVISION_KEY)?.kind.as_ref()? {
        Kind::StringValue(revision) if !revision.is_empty() => Some(revision.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use galleon_proto::xds::Node as XdsNode;

    fn node(metadata: &[(&str, &str)]) -> XdsNode {
        let fields = metadata
            .iter()
            .map(|(k, v)| {
                let value = prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue((*v).to_owned())),
                };
                ((*k).to_owned(), value)
            })
            .collect();
        XdsNode {
            metadata: Some(prost_types::Struct { fields }),
            ..Default::default()
        }
    }

    #[test]
    fn the_revision_comes_from_istiods_node_metadata() {
        assert_eq!(
            revision_of(&node(&[("ISTIO_REVISION", "canary")])).as_deref(),
            Some("canary")
        );
        assert_eq!(revision_of(&node(&[("ISTIO_REVISION", "")])), None);
        assert_eq!(revision_of(&node(&[("GENERATOR", "api")])), None);
        assert_eq!(revision_of(&XdsNode::default()), None);
    }
}
