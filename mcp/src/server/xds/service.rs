//! The gRPC service `envoy.service.discovery.v3.AggregatedDiscoveryService`
//! on the MCP listener: routes each call to its flavour's engine.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use galleon_proto::xds::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;
use tower_service::Service;

use super::{serve_delta, serve_sotw};
use crate::server::McpServer;

const SERVICE: &str = "envoy.service.discovery.v3.AggregatedDiscoveryService";
const STREAM: &str =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const DELTA: &str =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

/// ADS, served from the hub's snapshot cache.
#[derive(Clone)]
pub(in crate::server) struct AdsService {
    source: McpServer,
}

impl AdsService {
    pub(in crate::server) fn new(source: McpServer) -> Self {
        Self { source }
    }
}

impl NamedService for AdsService {
    const NAME: &'static str = SERVICE;
}

impl Service<http::Request<Body>> for AdsService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let response = match request.uri().path() {
            STREAM => self
                .source
                .open_stream::<DiscoveryResponse, DiscoveryRequest, _, _>(request, serve_sotw),
            DELTA => self
                .source
                .open_stream::<DeltaDiscoveryResponse, DeltaDiscoveryRequest, _, _>(
                    request,
                    serve_delta,
                ),
            _ => Status::unimplemented(format!("{SERVICE} has no such method")).into_http(),
        };
        ready(Ok(response))
    }
}
