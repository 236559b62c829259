//! An ADS client, as istiod dials `configSources: xds://…`: one stream, a
//! request per type URL, each response handed out and answered (ACK or
//! NACK). State of the world and delta (wildcard) are one interface; `galleon
//! watch --xds` and the xDS upstream source both use it.
//!
//! The first requests are queued before the call is made, so a server that
//! sends its response headers only after it has read a request is still
//! subscribed.

use std::collections::HashMap;

use galleon_proto::mcp::Resource;
use galleon_proto::rpc;
use galleon_proto::xds::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use galleon_proto::xds::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse, Node,
};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

use crate::cache::RESOURCE_TYPE_URL;

/// The node-metadata key under which istiod sends its revision.
pub const REVISION_KEY: &str = "ISTIO_REVISION";

/// Who the client is and what it asks for.
#[derive(Clone, Debug, Default)]
pub struct AdsOptions {
    /// The node sent with each type's first request.
    pub node: Node,
    /// The type URLs to subscribe to.
    pub types: Vec<String>,
    /// Speak delta xDS (wildcard subscriptions) instead of state of the world.
    pub incremental: bool,
    /// The largest response accepted, in bytes.
    pub max_message_size: usize,
}

/// A node with this id and, if given, a revision in its metadata.
pub fn node(id: &str, revision: Option<&str>) -> Node {
    let metadata = revision.map(|revision| prost_types::Struct {
        fields: [(
            REVISION_KEY.to_owned(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(revision.to_owned())),
            },
        )]
        .into(),
    });
    Node {
        id: id.to_owned(),
        cluster: String::new(),
        metadata,
    }
}

/// One response, whichever flavour carried it.
#[derive(Clone, Debug, Default)]
pub struct AdsResponse {
    /// Its type URL.
    pub type_url: String,
    /// `version_info` (state of the world) or `system_version_info` (delta).
    pub version: String,
    /// Its nonce, answered by [`AdsStream::ack`] or [`AdsStream::nack`].
    pub nonce: String,
    /// The resources: every one (state of the world) or those added and
    /// changed (delta).
    pub resources: Vec<AdsResource>,
    /// Names removed (delta only).
    pub removed: Vec<String>,
    /// Whether this came on a delta stream.
    pub incremental: bool,
}

/// One entry of a response.
#[derive(Clone, Debug, Default)]
pub struct AdsResource {
    /// Its name and version (delta only; a state-of-the-world entry carries
    /// them inside the body).
    pub name: String,
    /// See `name`.
    pub version: String,
    /// The entry: an `istio.mcp.v1alpha1.Resource`, or a bare body (how
    /// istiod's MeshConfig is sent).
    pub body: Option<prost_types::Any>,
}

/// Why an entry is not an MCP resource.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The entry has no body.
    #[error("an entry with no resource")]
    Empty,
    /// The body is another type.
    #[error("a {0} where {RESOURCE_TYPE_URL} was expected")]
    NotAResource(String),
    /// The body does not decode.
    #[error("{0}")]
    Decode(#[from] prost::DecodeError),
}

impl AdsResource {
    /// The entry as an MCP resource.
    pub fn resource(&self) -> Result<Resource, EnvelopeError> {
        let any = self.body.as_ref().ok_or(EnvelopeError::Empty)?;
        if any.type_url != RESOURCE_TYPE_URL {
            return Err(EnvelopeError::NotAResource(any.type_url.clone()));
        }
        Ok(Resource::decode(any.value.as_slice())?)
    }
}

/// An open ADS stream.
pub struct AdsStream {
    requests: Requests,
    responses: Responses,
    /// The version last accepted per type (what a state-of-the-world NACK
    /// names as still applied).
    accepted: HashMap<String, String>,
}

enum Requests {
    Sotw(mpsc::Sender<DiscoveryRequest>),
    Delta(mpsc::Sender<DeltaDiscoveryRequest>),
}

enum Responses {
    Sotw(Streaming<DiscoveryResponse>),
    Delta(Streaming<DeltaDiscoveryResponse>),
}

/// The stream was closed before a request could be sent.
#[derive(Debug, thiserror::Error)]
#[error("the ADS stream is closed")]
pub struct Closed;

impl AdsStream {
    /// Opens a stream on `channel` and subscribes to every type. In state
    /// of the world, `versions` holds the version last accepted per type
    /// (sent again so an unchanged server need not resend).
    pub async fn open(
        channel: Channel,
        options: &AdsOptions,
        versions: &HashMap<String, String>,
    ) -> Result<Self, tonic::Status> {
        let mut client = AggregatedDiscoveryServiceClient::new(channel)
            .max_decoding_message_size(options.max_message_size);
        // Room for every first request, so they are queued before the call.
        let room = options.types.len() + 1;
        if options.incremental {
            let (requests, outgoing) = mpsc::channel(room);
            for type_url in &options.types {
                let _ = requests.try_send(DeltaDiscoveryRequest {
                    node: Some(options.node.clone()),
                    type_url: type_url.clone(),
                    resource_names_subscribe: vec!["*".into()],
                    ..Default::default()
                });
            }
            let responses = client
                .delta_aggregated_resources(ReceiverStream::new(outgoing))
                .await?
                .into_inner();
            Ok(Self {
                requests: Requests::Delta(requests),
                responses: Responses::Delta(responses),
                accepted: HashMap::new(),
            })
        } else {
            let (requests, outgoing) = mpsc::channel(room);
            for type_url in &options.types {
                let _ = requests.try_send(DiscoveryRequest {
                    node: Some(options.node.clone()),
                    type_url: type_url.clone(),
                    version_info: versions.get(type_url).cloned().unwrap_or_default(),
                    ..Default::default()
                });
            }
            let responses = client
                .stream_aggregated_resources(ReceiverStream::new(outgoing))
                .await?
                .into_inner();
            Ok(Self {
                requests: Requests::Sotw(requests),
                responses: Responses::Sotw(responses),
                accepted: versions.clone(),
            })
        }
    }

    /// The next response; `None` when the server ends the stream.
    pub async fn next(&mut self) -> Result<Option<AdsResponse>, tonic::Status> {
        Ok(match &mut self.responses {
            Responses::Sotw(responses) => responses.message().await?.map(|r| AdsResponse {
                resources: r
                    .resources
                    .into_iter()
                    .map(|body| AdsResource {
                        body: Some(body),
                        ..AdsResource::default()
                    })
                    .collect(),
                type_url: r.type_url,
                version: r.version_info,
                nonce: r.nonce,
                removed: Vec::new(),
                incremental: false,
            }),
            Responses::Delta(responses) => responses.message().await?.map(|r| AdsResponse {
                resources: r
                    .resources
                    .into_iter()
                    .map(|resource| AdsResource {
                        name: resource.name,
                        version: resource.version,
                        body: resource.resource,
                    })
                    .collect(),
                type_url: r.type_url,
                version: r.system_version_info,
                nonce: r.nonce,
                removed: r.removed_resources,
                incremental: true,
            }),
        })
    }

    /// Accepts `response`.
    pub async fn ack(&mut self, response: &AdsResponse) -> Result<(), Closed> {
        self.accepted
            .insert(response.type_url.clone(), response.version.clone());
        self.answer(response, None).await
    }

    /// Rejects `response` with `message` (the server keeps it unsent).
    pub async fn nack(&self, response: &AdsResponse, message: String) -> Result<(), Closed> {
        let status = rpc::Status {
            code: tonic::Code::InvalidArgument as i32,
            message,
            details: Vec::new(),
        };
        self.answer(response, Some(status)).await
    }

    async fn answer(
        &self,
        response: &AdsResponse,
        error_detail: Option<rpc::Status>,
    ) -> Result<(), Closed> {
        let type_url = response.type_url.clone();
        let response_nonce = response.nonce.clone();
        match &self.requests {
            Requests::Sotw(requests) => {
                // An ACK names the new version, a NACK the one still applied.
                let version_info = self.accepted.get(&type_url).cloned().unwrap_or_default();
                let request = DiscoveryRequest {
                    version_info,
                    type_url,
                    response_nonce,
                    error_detail,
                    ..Default::default()
                };
                requests.send(request).await.map_err(|_| Closed)
            }
            Requests::Delta(requests) => {
                let request = DeltaDiscoveryRequest {
                    type_url,
                    response_nonce,
                    error_detail,
                    ..Default::default()
                };
                requests.send(request).await.map_err(|_| Closed)
            }
        }
    }
}
