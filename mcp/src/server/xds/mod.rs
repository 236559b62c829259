//! MCP over xDS: Envoy's aggregated discovery service on the MCP port, the
//! way istiod's `configSources: xds://…` client, Nacos and Higress exchange
//! Istio configuration. A type URL is a GVK (`networking.istio.io/v1/
//! VirtualService`); each resource is an `Any` of `istio.mcp.v1alpha1.Resource`
//! (the MeshConfig type: the body alone). Both flavours are served: state of
//! the world ([`sotw`]) and incremental ([`delta`]), from the same snapshot
//! cache, watches and shared encodings as `ResourceSource`.

mod delta;
mod service;
mod session;
mod sotw;

use std::sync::Arc;

use futures_util::Stream;
use galleon_proto::xds::{DeltaDiscoveryRequest, DiscoveryRequest};
use tonic::Status;

pub(super) use service::AdsService;

use super::Shared;
use super::stream::Outbox;

/// What one xDS type URL serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdsType {
    /// The collection behind it.
    pub collection: String,
    /// Each resource is its body alone rather than wrapped in
    /// `istio.mcp.v1alpha1.Resource` (how istiod reads its MeshConfig).
    pub bare: bool,
}

/// Serves one state-of-the-world stream until it ends.
pub(super) async fn serve_sotw<S>(
    shared: Arc<Shared>,
    id: u64,
    peer: Option<String>,
    requests: S,
    outbox: Outbox,
) where
    S: Stream<Item = Result<DiscoveryRequest, Status>> + Unpin,
{
    session::serve(shared, id, peer, requests, outbox, sotw::Sotw::default()).await;
}

/// Serves one incremental stream until it ends.
pub(super) async fn serve_delta<S>(
    shared: Arc<Shared>,
    id: u64,
    peer: Option<String>,
    requests: S,
    outbox: Outbox,
) where
    S: Stream<Item = Result<DeltaDiscoveryRequest, Status>> + Unpin,
{
    session::serve(shared, id, peer, requests, outbox, delta::Delta::default()).await;
}
