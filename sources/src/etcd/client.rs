//! The two calls the etcd source makes, over galleon's own bindings of
//! etcd's v3 gRPC API (`galleon_proto::etcd`, generated and checked in like
//! the MCP code, so building galleon needs no protobuf compiler): every key
//! under a prefix at one revision, read in pages, and a watch of the prefix
//! from a revision on.

use std::time::Duration;

use galleon_proto::etcd::kv_client::KvClient;
use galleon_proto::etcd::watch_client::WatchClient;
use galleon_proto::etcd::watch_request::RequestUnion;
use galleon_proto::etcd::{
    KeyValue, RangeRequest, WatchCreateRequest, WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::{Channel, Endpoint};

/// Keys read per page of the initial read.
const PAGE: i64 = 1000;

/// Largest response accepted (etcd's own request limit is 1.5 MiB per value;
/// a page of them can be far larger).
const MAX_MESSAGE: usize = 256 << 20;

/// Why talking to etcd failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EtcdError {
    /// The endpoint is not a valid URI.
    #[error("invalid endpoint {endpoint:?}: {source}")]
    Endpoint {
        endpoint: String,
        source: tonic::transport::Error,
    },
    /// The endpoint could not be reached.
    #[error("cannot connect: {0}")]
    Connect(tonic::transport::Error),
    /// A call failed.
    #[error("{0}")]
    Call(#[from] tonic::Status),
    /// The watch stream ended.
    #[error("the watch stream ended")]
    WatchEnded,
}

/// One connection to one etcd member.
pub(crate) struct EtcdClient {
    kv: KvClient<Channel>,
    watch: WatchClient<Channel>,
}

/// A snapshot of a prefix: its keys, the revision they were read at and
/// the cluster that holds them.
pub(crate) struct Range {
    pub(crate) revision: i64,
    pub(crate) cluster: u64,
    pub(crate) kvs: Vec<KeyValue>,
}

/// An open watch; the request half stays open while it is held.
pub(crate) struct Watch {
    _requests: mpsc::Sender<WatchRequest>,
    pub(crate) responses: Streaming<WatchResponse>,
}

impl EtcdClient {
    /// Connects to `endpoint` (`http://host:port`).
    pub(crate) async fn connect(endpoint: &str) -> Result<Self, EtcdError> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|source| EtcdError::Endpoint {
                endpoint: endpoint.to_owned(),
                source,
            })?
            .connect_timeout(Duration::from_secs(5))
            // A member that stops answering is noticed on an idle watch too.
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true)
            .connect()
            .await
            .map_err(EtcdError::Connect)?;
        Ok(Self {
            kv: KvClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE),
            watch: WatchClient::new(channel).max_decoding_message_size(MAX_MESSAGE),
        })
    }

    /// Every key under `prefix`, read in pages at one revision.
    pub(crate) async fn range(&mut self, prefix: &[u8]) -> Result<Range, EtcdError> {
        let range_end = prefix_end(prefix);
        let mut from = prefix.to_vec();
        let mut revision = 0;
        let mut cluster = 0;
        let mut kvs = Vec::new();
        loop {
            let page = self
                .kv
                .range(RangeRequest {
                    key: from.clone(),
                    range_end: range_end.clone(),
                    limit: PAGE,
                    revision,
                    ..RangeRequest::default()
                })
                .await?
                .into_inner();
            if revision == 0 {
                let header = page.header.unwrap_or_default();
                (revision, cluster) = (header.revision, header.cluster_id);
            }
            let more = page.more;
            if let Some(last) = page.kvs.last() {
                from = last.key.clone();
                from.push(0);
            }
            kvs.extend(page.kvs);
            if !more {
                return Ok(Range {
                    revision,
                    cluster,
                    kvs,
                });
            }
        }
    }

    /// Watches `prefix` from `start_revision` on, with progress
    /// notifications (so an idle prefix still learns the store's revision).
    pub(crate) async fn watch(
        &mut self,
        prefix: &[u8],
        start_revision: i64,
    ) -> Result<Watch, EtcdError> {
        let (requests, outgoing) = mpsc::channel(1);
        let create = WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: prefix.to_vec(),
                range_end: prefix_end(prefix),
                start_revision,
                progress_notify: true,
                ..WatchCreateRequest::default()
            })),
        };
        requests
            .send(create)
            .await
            .map_err(|_| EtcdError::WatchEnded)?;
        let responses = self
            .watch
            .watch(ReceiverStream::new(outgoing))
            .await?
            .into_inner();
        Ok(Watch {
            _requests: requests,
            responses,
        })
    }
}

/// The end of the range holding every key that starts with `prefix`: the
/// prefix with its last byte below 0xff incremented (`\0`, every key, for
/// an empty or all-0xff prefix).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_its_successor() {
        assert_eq!(prefix_end(b"/galleon/"), b"/galleon0");
        assert_eq!(prefix_end(b"a\xff\xff"), b"b");
        assert_eq!(prefix_end(b""), b"\0");
        assert_eq!(prefix_end(b"\xff"), b"\0");
    }
}
