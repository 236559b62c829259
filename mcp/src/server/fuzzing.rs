//! The fuzz targets' way into the stream engines (MCP, and both xDS
//! flavours): any sequence of requests, decoded from arbitrary bytes,
//! against a cache holding two collections.

use std::future::Future;
use std::sync::Arc;

use galleon_proto::mcp::RequestResources;
use galleon_proto::xds::{DeltaDiscoveryRequest, DiscoveryRequest};
use prost::Message;
use tokio::sync::mpsc;

use super::mcp::Mcp;
use super::session::{self, Outbox, Outgoing};
use super::xds::{Delta, Sotw, Xds};
use super::{McpServer, ServerOptions, XdsType};
use crate::cache::{CachedResource, DefaultGroup, Snapshot, SnapshotCache};

const COLLECTIONS: [&str; 2] = [
    "istio/networking/v1alpha3/virtualservices",
    "istio/networking/v1alpha3/destinationrules",
];

/// The type URLs of `COLLECTIONS` over xDS (the second sent bare, as
/// istiod's MeshConfig is).
const XDS_TYPES: [&str; 2] = [
    "networking.istio.io/v1/VirtualService",
    "core/v1alpha1/DestinationRule",
];

/// Splits `data` into length-prefixed chunks (one byte of length each),
/// decodes those that are requests, and serves them on one stream; every
/// push is framed as it would be for the wire.
pub fn fuzz_requests(data: &[u8]) {
    let requests = decoded::<RequestResources>(data);
    run(|source, outbox| {
        let shared = Arc::clone(&source.shared);
        let requests = tokio_stream::iter(requests);
        session::serve(shared, 1, None, requests, outbox, Mcp::default())
    });
}

/// The same for MCP over xDS: the first byte picks state of the world
/// (even) or delta (odd), the rest are that flavour's requests.
pub fn fuzz_xds_requests(data: &[u8]) {
    let Some((&flavour, data)) = data.split_first() else {
        return;
    };
    if flavour % 2 == 0 {
        let requests = decoded::<DiscoveryRequest>(data);
        run(|source, outbox| {
            let shared = Arc::clone(&source.shared);
            let requests = tokio_stream::iter(requests);
            session::serve(shared, 1, None, requests, outbox, Xds::<Sotw>::default())
        });
    } else {
        let requests = decoded::<DeltaDiscoveryRequest>(data);
        run(|source, outbox| {
            let shared = Arc::clone(&source.shared);
            let requests = tokio_stream::iter(requests);
            session::serve(shared, 1, None, requests, outbox, Xds::<Delta>::default())
        });
    }
}

/// The messages of `M` among `data`'s length-prefixed chunks.
fn decoded<M: Message + Default>(data: &[u8]) -> Vec<Result<M, tonic::Status>> {
    let mut messages = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (chunk, tail) = tail.split_at(usize::from(len).min(tail.len()));
        if let Ok(message) = M::decode(chunk) {
            messages.push(Ok(message));
        }
        rest = tail;
    }
    messages
}

/// Runs the engine `serve` makes against a cache with two collections (one
/// with resources, also served over xDS), draining what it sends.
fn run<F, Fut>(serve: F)
where
    F: FnOnce(&McpServer, Outbox) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let cache = SnapshotCache::new(DefaultGroup);
        let resource = |name: &str| {
            CachedResource::new(galleon_proto::mcp::Resource {
                metadata: Some(galleon_proto::mcp::Metadata {
                    name: name.into(),
                    ..Default::default()
                }),
                body: None,
            })
        };
        let snapshot = Snapshot::builder()
            .collection(COLLECTIONS[0], [resource("ns/a"), resource("ns/b")])
            .build();
        cache.set_snapshot("default", snapshot);
        let mut options = ServerOptions::new(COLLECTIONS);
        for (type_url, collection) in XDS_TYPES.into_iter().zip(COLLECTIONS) {
            let target = XdsType {
                collection: collection.into(),
                bare: type_url.starts_with("core/"),
            };
            options.xds_types.insert(type_url.into(), target);
        }
        let source = McpServer::new(cache, options);
        let (outbox, mut pushes) = mpsc::channel(COLLECTIONS.len() * 2);
        let engine = serve(&source, outbox);
        let drain = async {
            while let Some(outgoing) = pushes.recv().await {
                if let Outgoing::Push(push) = outgoing {
                    let _ = push.frame();
                }
            }
        };
        tokio::join!(engine, drain);
    });
}
