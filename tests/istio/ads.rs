//! An ADS client written for the tests, independent of galleon's own code:
//! its messages are declared here with field numbers from Envoy's and
//! Istio's `.proto` files, and it speaks through tonic's generic gRPC client,
//! as istiod's `configSources` client (`adsc`) does.

use std::collections::BTreeMap;
use std::time::Duration;

use galleon_tests::PATIENCE;
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::Streaming;
use tonic::codegen::http::uri::PathAndQuery;
use tonic_prost::ProstCodec;

const STREAM: &str =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const DELTA: &str =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

/// Type URL of a resource wrapped for MCP over xDS.
pub(crate) const WRAPPED: &str = "type.googleapis.com/istio.mcp.v1alpha1.Resource";

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Node {
    #[prost(string, tag = "1")]
    pub(crate) id: String,
    #[prost(message, optional, tag = "3")]
    pub(crate) metadata: Option<prost_types::Struct>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Status {
    #[prost(int32, tag = "1")]
    pub(crate) code: i32,
    #[prost(string, tag = "2")]
    pub(crate) message: String,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct DiscoveryRequest {
    #[prost(string, tag = "1")]
    pub(crate) version_info: String,
    #[prost(message, optional, tag = "2")]
    pub(crate) node: Option<Node>,
    #[prost(string, repeated, tag = "3")]
    pub(crate) resource_names: Vec<String>,
    #[prost(string, tag = "4")]
    pub(crate) type_url: String,
    #[prost(string, tag = "5")]
    pub(crate) response_nonce: String,
    #[prost(message, optional, tag = "6")]
    pub(crate) error_detail: Option<Status>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct DiscoveryResponse {
    #[prost(string, tag = "1")]
    pub(crate) version_info: String,
    #[prost(message, repeated, tag = "2")]
    pub(crate) resources: Vec<prost_types::Any>,
    #[prost(string, tag = "4")]
    pub(crate) type_url: String,
    #[prost(string, tag = "5")]
    pub(crate) nonce: String,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct DeltaDiscoveryRequest {
    #[prost(message, optional, tag = "1")]
    pub(crate) node: Option<Node>,
    #[prost(string, tag = "2")]
    pub(crate) type_url: String,
    #[prost(string, repeated, tag = "3")]
    pub(crate) resource_names_subscribe: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub(crate) resource_names_unsubscribe: Vec<String>,
    #[prost(btree_map = "string, string", tag = "5")]
    pub(crate) initial_resource_versions: BTreeMap<String, String>,
    #[prost(string, tag = "6")]
    pub(crate) response_nonce: String,
    #[prost(message, optional, tag = "7")]
    pub(crate) error_detail: Option<Status>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct DeltaDiscoveryResponse {
    #[prost(string, tag = "1")]
    pub(crate) system_version_info: String,
    #[prost(message, repeated, tag = "2")]
    pub(crate) resources: Vec<XdsResource>,
    #[prost(string, tag = "4")]
    pub(crate) type_url: String,
    #[prost(string, tag = "5")]
    pub(crate) nonce: String,
    #[prost(string, repeated, tag = "6")]
    pub(crate) removed_resources: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct XdsResource {
    #[prost(string, tag = "1")]
    pub(crate) version: String,
    #[prost(message, optional, tag = "2")]
    pub(crate) resource: Option<prost_types::Any>,
    #[prost(string, tag = "3")]
    pub(crate) name: String,
}

/// `istio.mcp.v1alpha1.Resource`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct McpResource {
    #[prost(message, optional, tag = "1")]
    pub(crate) metadata: Option<McpMetadata>,
    #[prost(message, optional, tag = "2")]
    pub(crate) body: Option<prost_types::Any>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct McpMetadata {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(string, tag = "3")]
    pub(crate) version: String,
    #[prost(btree_map = "string, string", tag = "4")]
    pub(crate) labels: BTreeMap<String, String>,
}

/// Unwraps a `DiscoveryResponse` entry.
pub(crate) fn unwrap(any: &prost_types::Any) -> McpResource {
    assert_eq!(any.type_url, WRAPPED);
    McpResource::decode(any.value.as_slice()).expect("an istio.mcp.v1alpha1.Resource")
}

/// A node as istiod presents itself, with its revision if any.
pub(crate) fn istiod(revision: Option<&str>) -> Node {
    let field = |text: &str| prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(text.to_owned())),
    };
    let mut fields = BTreeMap::from([("GENERATOR".to_owned(), field("api"))]);
    if let Some(revision) = revision {
        fields.insert("ISTIO_REVISION".to_owned(), field(revision));
    }
    Node {
        id: "istiod-test".into(),
        metadata: Some(prost_types::Struct { fields }),
    }
}

/// One open ADS stream.
pub(crate) struct Ads<Q, R> {
    requests: mpsc::UnboundedSender<Q>,
    responses: Streaming<R>,
}

/// A state-of-the-world stream.
pub(crate) type Sotw = Ads<DiscoveryRequest, DiscoveryResponse>;

/// An incremental stream.
pub(crate) type Delta = Ads<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

impl<Q, R> Ads<Q, R>
where
    Q: Message + Send + 'static,
    R: Message + Default + std::fmt::Debug + Send + 'static,
{
    async fn open(url: &str, path: &'static str) -> Self {
        let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
            .unwrap()
            .connect()
            .await
            .expect("connect");
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let (requests, outgoing) = mpsc::unbounded_channel();
        let responses = grpc
            .streaming(
                tonic::Request::new(UnboundedReceiverStream::new(outgoing)),
                PathAndQuery::from_static(path),
                ProstCodec::<Q, R>::default(),
            )
            .await
            .expect("stream opens")
            .into_inner();
        Self {
            requests,
            responses,
        }
    }

    /// Sends a request.
    pub(crate) fn send(&self, request: Q) {
        self.requests.send(request).expect("stream open");
    }

    /// The next response.
    pub(crate) async fn recv(&mut self) -> R {
        tokio::time::timeout(PATIENCE, self.responses.message())
            .await
            .expect("a response in time")
            .expect("stream healthy")
            .expect("stream open")
    }

    /// The status the stream ended with, if it ends within `wait`; `None`
    /// while it stays open (panics on a response: none is expected).
    pub(crate) async fn ended_within(&mut self, wait: Duration) -> Option<tonic::Status> {
        match tokio::time::timeout(wait, self.responses.message()).await {
            Err(_) => None,
            Ok(Err(status)) => Some(status),
            Ok(Ok(None)) => Some(tonic::Status::ok("")),
            Ok(Ok(Some(response))) => panic!("expected no response, got {response:?}"),
        }
    }

    /// The next response within `wait`, if one comes.
    pub(crate) async fn recv_within(&mut self, wait: Duration) -> Option<R> {
        let next = tokio::time::timeout(wait, self.responses.message())
            .await
            .ok()?;
        next.expect("stream healthy")
    }

    /// Asserts nothing arrives for a while.
    pub(crate) async fn expect_silence(&mut self) {
        let quiet =
            tokio::time::timeout(Duration::from_millis(700), self.responses.message()).await;
        assert!(quiet.is_err(), "expected no response, got {quiet:?}");
    }
}

impl Sotw {
    /// A state-of-the-world stream to `url`.
    pub(crate) async fn connect(url: &str) -> Self {
        Self::open(url, STREAM).await
    }

    /// Asks for every resource of `type_url`.
    pub(crate) fn subscribe(&self, type_url: &str, node: &Node) {
        self.send(DiscoveryRequest {
            node: Some(node.clone()),
            type_url: type_url.into(),
            ..Default::default()
        });
    }

    /// ACKs `response`.
    pub(crate) fn ack(&self, response: &DiscoveryResponse) {
        self.send(DiscoveryRequest {
            version_info: response.version_info.clone(),
            type_url: response.type_url.clone(),
            response_nonce: response.nonce.clone(),
            ..Default::default()
        });
    }

    /// NACKs `response`.
    pub(crate) fn nack(&self, response: &DiscoveryResponse, message: &str) {
        self.send(DiscoveryRequest {
            type_url: response.type_url.clone(),
            response_nonce: response.nonce.clone(),
            error_detail: Some(Status {
                code: 3,
                message: message.into(),
            }),
            ..Default::default()
        });
    }
}

impl Delta {
    /// An incremental stream to `url`.
    pub(crate) async fn connect(url: &str) -> Self {
        Self::open(url, DELTA).await
    }

    /// ACKs `response`.
    pub(crate) fn ack(&self, response: &DeltaDiscoveryResponse) {
        self.send(DeltaDiscoveryRequest {
            type_url: response.type_url.clone(),
            response_nonce: response.nonce.clone(),
            ..Default::default()
        });
    }
}
