//! One push as it leaves the engine, and its gRPC framing.
//!
//! A push's per-stream part (nonce, version, collection, removed names, the
//! gRPC length prefix) is a few bytes written for each stream; the resources
//! are the cache's shared bytes, handed to HTTP/2 as they are. A full-state
//! push carries the snapshot's one concatenated buffer ([`CollectionSnapshot::entries`]),
//! so a push to a thousand sinks writes the same allocation a thousand times
//! and copies none of it.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use galleon_proto::mcp::Resources;
use prost::Message;

use crate::cache::{CachedResource, CollectionSnapshot};

/// The resources a push carries.
pub(crate) enum Carried {
    /// The whole collection.
    All(Arc<CollectionSnapshot>),
    /// Some resources (a delta).
    Some(Vec<CachedResource>),
}

/// A push to one stream.
pub(crate) struct Push {
    /// Every field but `resources`.
    pub(crate) header: Resources,
    pub(crate) carried: Carried,
}

impl Push {
    /// Number of resources carried.
    pub(crate) fn len(&self) -> usize {
        match &self.carried {
            Carried::All(state) => state.len(),
            Carried::Some(resources) => resources.len(),
        }
    }

    /// The gRPC message as chunks for the HTTP/2 body: the length-prefixed
    /// header fields (written for this stream), then the shared resource
    /// entries.
    pub(crate) fn frame(&self) -> Vec<Bytes> {
        let entries: Vec<Bytes> = match &self.carried {
            Carried::All(state) if state.is_empty() => Vec::new(),
            Carried::All(state) => vec![state.entries().clone()],
            Carried::Some(resources) => resources.iter().map(|r| r.entry().clone()).collect(),
        };
        grpc_frame(&self.header, entries)
    }

    /// The push as a message, for transports that encode it themselves.
    pub(crate) fn into_message(self) -> Resources {
        let resources = match self.carried {
            Carried::All(state) => state.resources().map(|r| r.encoded().clone()).collect(),
            Carried::Some(resources) => {
                resources.into_iter().map(|r| r.encoded().clone()).collect()
            }
        };
        Resources {
            resources,
            ..self.header
        }
    }
}

/// A gRPC message as chunks for an HTTP/2 body: the length prefix and
/// `header` (the message's own fields, written for one stream), then
/// `entries`, shared bytes that encode its repeated message field.
pub(crate) fn grpc_frame(header: &impl Message, entries: Vec<Bytes>) -> Vec<Bytes> {
    let header_len = header.encoded_len();
    let len = header_len + entries.iter().map(Bytes::len).sum::<usize>();
    let mut head = BytesMut::with_capacity(5 + header_len);
    head.put_u8(0); // not compressed
    head.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    header
        .encode(&mut head)
        .expect("the buffer was sized for the header");
    let mut chunks = Vec::with_capacity(1 + entries.len());
    chunks.push(head.freeze());
    chunks.extend(entries);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::test_support::resource;

    fn state(names: &[&str]) -> Arc<CollectionSnapshot> {
        Arc::new(CollectionSnapshot::new(
            "c",
            names.iter().map(|n| CachedResource::new(resource(n, "1"))),
        ))
    }

    fn header(nonce: &str) -> Resources {
        Resources {
            collection: "c".into(),
            nonce: nonce.into(),
            system_version_info: "v".into(),
            ..Default::default()
        }
    }

    /// The message a frame carries, decoded as any gRPC peer would.
    fn decode(chunks: &[Bytes]) -> Resources {
        let wire: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(wire[0], 0);
        let len = u32::from_be_bytes(wire[1..5].try_into().unwrap()) as usize;
        assert_eq!(len, wire.len() - 5);
        Resources::decode(&wire[5..]).unwrap()
    }

    #[test]
    fn full_pushes_to_many_streams_share_one_buffer() {
        let state = state(&["ns/a", "ns/b", "ns/c"]);
        let first = Push {
            header: header("1"),
            carried: Carried::All(state.clone()),
        };
        let second = Push {
            header: header("2"),
            carried: Carried::All(state.clone()),
        };
        let (a, b) = (first.frame(), second.frame());
        assert_eq!(a.len(), 2, "header, then the shared entries");
        // The same allocation, not an equal copy.
        assert_eq!(a[1].as_ptr(), b[1].as_ptr());
        assert_eq!(a[1].as_ptr(), state.entries().as_ptr());
        let decoded = decode(&a);
        assert_eq!(decoded.nonce, "1");
        assert_eq!(decode(&b).nonce, "2");
        assert_eq!(decoded, first.into_message());
    }

    #[test]
    fn deltas_send_each_resource_s_own_bytes() {
        let state = state(&["ns/a", "ns/b"]);
        let some: Vec<CachedResource> = state.resources().skip(1).cloned().collect();
        let push = Push {
            header: Resources {
                incremental: true,
                removed_resources: vec!["ns/z".into()],
                ..header("3")
            },
            carried: Carried::Some(some.clone()),
        };
        let chunks = push.frame();
        assert_eq!(chunks[1].as_ptr(), some[0].entry().as_ptr());
        let decoded = decode(&chunks);
        assert_eq!(decoded.removed_resources, ["ns/z"]);
        assert_eq!(decoded.resources, [some[0].encoded().clone()]);
    }

    #[test]
    fn an_empty_collection_is_just_the_header() {
        let push = Push {
            header: header("4"),
            carried: Carried::All(state(&[])),
        };
        let chunks = push.frame();
        assert_eq!(chunks.len(), 1);
        assert!(decode(&chunks).resources.is_empty());
    }
}
