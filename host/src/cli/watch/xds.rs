//! `galleon watch --xds`: one ADS stream, as istiod opens it for
//! `configSources: xds://…`: a request per type URL, every response printed
//! and ACKed. `--incremental` speaks delta xDS (wildcard) instead.

use anyhow::Context;
use galleon_mcp::cache::RESOURCE_TYPE_URL;
use galleon_proto::mcp::Resource;
use galleon_proto::xds::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use galleon_proto::xds::{DeltaDiscoveryRequest, DiscoveryRequest, Node};
use prost::Message;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::transport::Channel;

use super::{Printer, WatchArgs};

/// The node-metadata key istiod sends its revision under.
const REVISION_KEY: &str = "ISTIO_REVISION";

pub(super) async fn run(args: &WatchArgs, printer: &Printer) -> anyhow::Result<()> {
    let channel = args
        .endpoint()?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    let client = AggregatedDiscoveryServiceClient::new(channel)
        .max_decoding_message_size(args.max_message_size);
    let node = node(args);
    if args.incremental {
        delta(client, node, args, printer).await
    } else {
        state_of_the_world(client, node, args, printer).await
    }
}

fn node(args: &WatchArgs) -> Node {
    let metadata = args.revision.as_ref().map(|revision| prost_types::Struct {
        fields: [(
            REVISION_KEY.to_owned(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(revision.clone())),
            },
        )]
        .into(),
    });
    Node {
        id: args.node_id.clone(),
        cluster: String::new(),
        metadata,
    }
}

async fn state_of_the_world(
    mut client: AggregatedDiscoveryServiceClient<Channel>,
    node: Node,
    args: &WatchArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (requests, outgoing) = mpsc::unbounded_channel();
    for type_url in &args.types {
        let _ = requests.send(DiscoveryRequest {
            node: Some(node.clone()),
            type_url: type_url.clone(),
            ..Default::default()
        });
    }
    let mut responses = client
        .stream_aggregated_resources(UnboundedReceiverStream::new(outgoing))
        .await?
        .into_inner();
    while let Some(response) = responses.message().await? {
        let resources: Vec<Value> = response
            .resources
            .iter()
            .map(|any| resource(printer, any))
            .collect();
        printer
            .print(&json!({
                "typeUrl": response.type_url,
                "version": response.version_info,
                "nonce": response.nonce,
                "resources": resources,
            }))
            .map_err(anyhow::Error::msg)?;
        let _ = requests.send(DiscoveryRequest {
            version_info: response.version_info,
            type_url: response.type_url,
            response_nonce: response.nonce,
            ..Default::default()
        });
    }
    Ok(())
}

async fn delta(
    mut client: AggregatedDiscoveryServiceClient<Channel>,
    node: Node,
    args: &WatchArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (requests, outgoing) = mpsc::unbounded_channel();
    for type_url in &args.types {
        let _ = requests.send(DeltaDiscoveryRequest {
            node: Some(node.clone()),
            type_url: type_url.clone(),
            resource_names_subscribe: vec!["*".into()],
            ..Default::default()
        });
    }
    let mut responses = client
        .delta_aggregated_resources(UnboundedReceiverStream::new(outgoing))
        .await?
        .into_inner();
    while let Some(response) = responses.message().await? {
        let resources: Vec<Value> = response
            .resources
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "version": r.version,
                    "resource": r.resource.as_ref().map(|any| resource(printer, any)),
                })
            })
            .collect();
        printer
            .print(&json!({
                "typeUrl": response.type_url,
                "version": response.system_version_info,
                "nonce": response.nonce,
                "resources": resources,
                "removed": response.removed_resources,
            }))
            .map_err(anyhow::Error::msg)?;
        let _ = requests.send(DeltaDiscoveryRequest {
            type_url: response.type_url,
            response_nonce: response.nonce,
            ..Default::default()
        });
    }
    Ok(())
}

/// One entry of a response: a wrapped `istio.mcp.v1alpha1.Resource`, or a
/// bare body (the MeshConfig).
fn resource(printer: &Printer, any: &prost_types::Any) -> Value {
    if any.type_url != RESOURCE_TYPE_URL {
        return printer.body(any);
    }
    match Resource::decode(any.value.as_slice()) {
        Ok(resource) => printer.resource(&resource),
        Err(e) => json!({ "@type": any.type_url, "error": e.to_string() }),
    }
}
