//! `ResourceSource`: the MCP service sinks dial to subscribe, one method
//! (`EstablishResourceStream`) opening an MCP stream.

use galleon_proto::mcp::Resources;
use tonic::body::Body;

use super::McpServer;
use super::grpc::Methods;
use super::mcp::Mcp;

/// The path of its one method.
const ESTABLISH: &str = "/istio.mcp.v1alpha1.ResourceSource/EstablishResourceStream";

/// `istio.mcp.v1alpha1.ResourceSource`.
pub(super) struct ResourceSource;

impl Methods for ResourceSource {
    const NAME: &'static str = "istio.mcp.v1alpha1.ResourceSource";

    fn open(
        server: &McpServer,
        path: &str,
        request: http::Request<Body>,
    ) -> Option<http::Response<Body>> {
        (path == ESTABLISH).then(|| server.open_stream::<Resources, Mcp>(request))
    }
}
