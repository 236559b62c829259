//! The fuzz target's way into the stream engine: any sequence of requests,
//! decoded from arbitrary bytes, against a cache holding two collections.

use std::sync::Arc;

use galleon_proto::mcp::RequestResources;
use prost::Message;
use tokio::sync::mpsc;

use super::stream::{self, Outgoing};
use super::{McpSource, SourceOptions};
use crate::cache::{CachedResource, DefaultGroup, Snapshot, SnapshotCache};

const COLLECTIONS: [&str; 2] = [
    "istio/networking/v1alpha3/virtualservices",
    "istio/networking/v1alpha3/destinationrules",
];

/// Splits `data` into length-prefixed chunks (one byte of length each),
/// decodes those that are requests, and serves them on one stream; every
/// push is framed as it would be for the wire.
pub fn fuzz_requests(data: &[u8]) {
    let mut requests = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (chunk, tail) = tail.split_at(usize::from(len).min(tail.len()));
        if let Ok(request) = RequestResources::decode(chunk) {
            requests.push(Ok(request));
        }
        rest = tail;
    }
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
        let source = McpSource::new(cache, SourceOptions::new(COLLECTIONS));
        let (outbox, mut pushes) = mpsc::channel(COLLECTIONS.len());
        let engine = stream::serve(
            Arc::clone(&source.shared),
            1,
            None,
            tokio_stream::iter(requests),
            outbox,
        );
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
