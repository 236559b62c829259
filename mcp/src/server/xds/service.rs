//! The gRPC service `envoy.service.discovery.v3.AggregatedDiscoveryService`
//! on the MCP listener: each method opens a stream of its flavour.

use galleon_proto::xds::{DeltaDiscoveryResponse, DiscoveryResponse};
use tonic::body::Body;

use super::delta::Delta;
use super::flavour::Xds;
use super::sotw::Sotw;
use crate::server::McpServer;
use crate::server::grpc::Methods;

const STREAM: &str =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const DELTA: &str =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

/// ADS, served from the hub's snapshot cache.
pub(in crate::server) struct Ads;

impl Methods for Ads {
    const NAME: &'static str = "envoy.service.discovery.v3.AggregatedDiscoveryService";

    fn open(
        server: &McpServer,
        path: &str,
        request: http::Request<Body>,
    ) -> Option<http::Response<Body>> {
        match path {
            STREAM => Some(server.open_stream::<DiscoveryResponse, Xds<Sotw>>(request)),
            DELTA => Some(server.open_stream::<DeltaDiscoveryResponse, Xds<Delta>>(request)),
            _ => None,
        }
    }
}
