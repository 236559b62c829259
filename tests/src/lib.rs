//! Support for galleon's end-to-end tests: a real MCP source on a loopback
//! port, a raw sink that speaks the protocol message by message, and
//! resource builders, and the real binary as a child process. Everything
//! goes over real gRPC; nothing is mocked.

pub mod admission;
pub mod balancer;
pub mod browser;
pub mod etcd;
mod http;
pub mod hub;
pub mod kube_api;
pub mod pki;
mod process;
pub mod procstat;
pub mod proxy;
mod watch;

pub use http::{http_get, http_get_as, http_post};
pub use process::{
    Galleon, built_galleon, galleon_binary, run_galleon, run_galleon_out, run_galleon_output,
    write_atomically,
};
pub use watch::WatchCli;

use std::net::SocketAddr;
use std::time::Duration;

use galleon_mcp::cache::{CachedResource, DefaultGroup, GroupIndex, Snapshot, SnapshotCache};
use galleon_mcp::server::{McpServer, ServerOptions};
use galleon_proto::json::struct_from_json;
use galleon_proto::mcp::resource_source_client::ResourceSourceClient;
use galleon_proto::mcp::{Metadata, RequestResources, Resource, Resources, SinkNode};
use galleon_proto::{STRUCT_TYPE_URL, rpc};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Status, Streaming};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test watches for something that must not happen.
pub const QUIET: Duration = Duration::from_millis(300);

/// A collection name used across tests.
pub const VS: &str = "istio/networking/v1alpha3/virtualservices";
/// A second collection.
pub const DR: &str = "istio/networking/v1alpha3/destinationrules";

/// An MCP server serving a cache on `127.0.0.1:0`; stops when dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server, for stats and shutdown.
    pub server: McpServer,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves `collections` from a cache where every collection is in the
    /// `default` group.
    pub async fn start(collections: &[&str]) -> Self {
        Self::start_with(
            SnapshotCache::new(DefaultGroup),
            ServerOptions::new(collections.iter().copied()),
        )
        .await
    }

    /// Serves `cache` with `options` on a fresh port.
    pub async fn start_with(cache: SnapshotCache, options: ServerOptions) -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let listener = galleon_mcp::server::bind(loopback).expect("bind loopback");
        Self::serve_on(listener, cache, options)
    }

    /// Serves on an already bound listener (to restart on a known port).
    pub fn serve_on(listener: TcpListener, cache: SnapshotCache, options: ServerOptions) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let server = McpServer::new(cache, options);
        let serving = server.clone();
        let task = tokio::spawn(async move {
            serving.serve(listener).await.expect("serve");
        });
        Self {
            addr,
            server,
            task: Some(task),
        }
    }

    /// `http://` URL of the source.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A sink (node `pilot`) subscribed to `collections` for full state.
    pub async fn sink(&self, collections: &[&str]) -> RawSink {
        let sink = RawSink::connect(&self.url(), "pilot").await;
        for collection in collections {
            sink.subscribe(collection).await;
        }
        sink
    }

    /// The served cache.
    pub fn cache(&self) -> &SnapshotCache {
        self.server.cache()
    }

    /// Publishes `collection` with `(name, JSON body)` resources as the
    /// `default` group's whole state.
    pub fn publish(&self, collection: &str, resources: &[(&str, &str)]) {
        self.cache()
            .set_snapshot("default", snapshot(&[(collection, resources)]));
    }

    /// Publishes `collection` with `count` resources of a `bytes`-long blob
    /// each, named after `generation` (so every call changes every name).
    pub fn publish_blobs(&self, collection: &str, count: usize, bytes: usize, generation: usize) {
        let blob = format!(r#"{{"blob":"{}"}}"#, "x".repeat(bytes));
        let names: Vec<String> = (0..count)
            .map(|n| format!("ns/r{n}-{generation}"))
            .collect();
        let items: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), blob.as_str())).collect();
        self.publish(collection, &items);
    }

    /// Shuts down and waits until the server has stopped.
    pub async fn stop(mut self) {
        self.server.shutdown();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(PATIENCE, task).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

/// A resource named `name` with a `google.protobuf.Struct` body parsed from
/// the JSON text `body`.
pub fn resource(name: &str, body: &str) -> Resource {
    let json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(body).expect("test body is a JSON object");
    Resource {
        metadata: Some(Metadata {
            name: name.into(),
            ..Default::default()
        }),
        body: Some(prost_types::Any {
            type_url: STRUCT_TYPE_URL.into(),
            value: struct_from_json(json).encode_to_vec(),
        }),
    }
}

/// A snapshot of several collections.
pub fn snapshot(collections: &[(&str, &[(&str, &str)])]) -> Snapshot {
    collections
        .iter()
        .fold(Snapshot::builder(), |builder, (collection, resources)| {
            builder.collection(
                collection,
                resources
                    .iter()
                    .map(|(n, b)| CachedResource::new(resource(n, b))),
            )
        })
        .build()
}

/// Names of the resources a push carries, in order.
pub fn names(push: &Resources) -> Vec<String> {
    push.decode_resources()
        .expect("push decodes")
        .into_iter()
        .map(|r| r.metadata.unwrap_or_default().name)
        .collect()
}

/// Name → version of the resources a push carries.
pub fn versions(push: &Resources) -> std::collections::BTreeMap<String, String> {
    push.decode_resources()
        .expect("push decodes")
        .into_iter()
        .map(|r| {
            let m = r.metadata.unwrap_or_default();
            (m.name, m.version)
        })
        .collect()
}

/// A sink driven message by message, to test each protocol rule.
pub struct RawSink {
    requests: mpsc::Sender<RequestResources>,
    pushes: Streaming<Resources>,
    /// The node this sink presents.
    pub node: SinkNode,
    /// Response headers the source sent.
    pub headers: MetadataMap,
    /// Whether each subscription asked for incremental pushes; its answers
    /// repeat the flag, as real sinks do.
    incremental: std::sync::Mutex<std::collections::HashMap<String, bool>>,
}

impl RawSink {
    /// Opens a stream to the source at `url` as node `id`.
    pub async fn connect(url: &str, id: &str) -> Self {
        Self::connect_as(
            url,
            SinkNode {
                id: id.into(),
                ..Default::default()
            },
        )
        .await
    }

    /// Opens a stream presenting `node`.
    pub async fn connect_as(url: &str, node: SinkNode) -> Self {
        let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
            .expect("valid url")
            .connect()
            .await
            .expect("dial source");
        Self::open(channel, node).await
    }

    /// Opens a stream on an existing connection (HTTP/2 multiplexes many).
    pub async fn open(channel: tonic::transport::Channel, node: SinkNode) -> Self {
        Self::try_open(channel, node).await.expect("open stream")
    }

    /// Opens a stream, or the status the source refused it with.
    pub async fn try_open(
        channel: tonic::transport::Channel,
        node: SinkNode,
    ) -> Result<Self, Status> {
        let mut client = ResourceSourceClient::new(channel).max_decoding_message_size(usize::MAX);
        let (requests, outgoing) = mpsc::channel(16);
        let response = client
            .establish_resource_stream(ReceiverStream::new(outgoing))
            .await?;
        let headers = response.metadata().clone();
        Ok(Self {
            requests,
            pushes: response.into_inner(),
            node,
            headers,
            incremental: Default::default(),
        })
    }

    /// Subscribes to `collection` for full-state pushes.
    pub async fn subscribe(&self, collection: &str) {
        self.subscribe_with(collection, false, Default::default())
            .await;
    }

    /// Subscribes, optionally incremental and resuming from `initial` versions.
    pub async fn subscribe_with(
        &self,
        collection: &str,
        incremental: bool,
        initial: std::collections::BTreeMap<String, String>,
    ) {
        self.incremental
            .lock()
            .unwrap()
            .insert(collection.to_owned(), incremental);
        self.send(RequestResources {
            sink_node: Some(self.node.clone()),
            collection: collection.into(),
            initial_resource_versions: initial,
            incremental,
            ..Default::default()
        })
        .await;
    }

    /// Acknowledges `push`.
    pub async fn ack(&self, push: &Resources) {
        self.answer(push, None).await;
    }

    /// Rejects `push` with `message`.
    pub async fn nack(&self, push: &Resources, message: &str) {
        let error = rpc::Status {
            code: tonic::Code::InvalidArgument as i32,
            message: message.into(),
            details: vec![],
        };
        self.answer(push, Some(error)).await;
    }

    /// Answers `push`.
    async fn answer(&self, push: &Resources, error_detail: Option<rpc::Status>) {
        let incremental = self
            .incremental
            .lock()
            .unwrap()
            .get(&push.collection)
            .copied()
            .unwrap_or(false);
        self.send(RequestResources {
            sink_node: Some(self.node.clone()),
            collection: push.collection.clone(),
            response_nonce: push.nonce.clone(),
            error_detail,
            incremental,
            ..Default::default()
        })
        .await;
    }

    /// Sends any request.
    pub async fn send(&self, request: RequestResources) {
        self.requests.send(request).await.expect("stream open");
    }

    /// The next push; fails the test if none arrives in time.
    pub async fn recv(&mut self) -> Resources {
        match self.next().await {
            Ok(Some(push)) => push,
            Ok(None) => panic!("stream ended while waiting for a push"),
            Err(status) => panic!("stream failed while waiting for a push: {status}"),
        }
    }

    /// The next event on the stream: a push, its clean end, or its failure.
    pub async fn next(&mut self) -> Result<Option<Resources>, Status> {
        tokio::time::timeout(PATIENCE, self.pushes.message())
            .await
            .expect("no push, end or error within the test's patience")
    }

    /// The next event on the stream, however long it takes (benchmarks).
    pub async fn next_unbounded(&mut self) -> Result<Option<Resources>, Status> {
        self.pushes.message().await
    }

    /// Fails the test if a push arrives within [`QUIET`].
    pub async fn expect_silence(&mut self) {
        if let Ok(event) = tokio::time::timeout(QUIET, self.pushes.message()).await {
            panic!("expected no push, got {event:?}");
        }
    }
}

/// The version of `collection` in the `default` group's current snapshot.
pub fn version_of(source: &TestServer, collection: &str) -> String {
    let snapshot = source.cache().snapshot("default").expect("snapshot set");
    snapshot
        .collection(collection)
        .expect("collection")
        .version()
        .to_string()
}

/// Assigns collections to groups for tests that need more than `default`.
pub fn cache_with(index: impl GroupIndex) -> SnapshotCache {
    SnapshotCache::new(index)
}

/// An [`Updater`](galleon_mcp::sink::Updater) that records every change
/// and can be told to reject resources by name.
#[derive(Clone, Default)]
pub struct Recorder {
    changes: std::sync::Arc<std::sync::Mutex<Vec<galleon_mcp::sink::Change>>>,
    reject: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Recorder {
    /// Rejects (NACKs) any change carrying a resource named `name`.
    pub fn reject(&self, name: &str) {
        *self.reject.lock().unwrap() = Some(name.to_owned());
    }

    /// The changes applied so far.
    pub fn changes(&self) -> Vec<galleon_mcp::sink::Change> {
        self.changes.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the applied changes.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[galleon_mcp::sink::Change]) -> bool) {
        let waited = tokio::time::timeout(PATIENCE, async {
            while !done(&self.changes()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out waiting for {what}; changes: {:#?}",
            self.changes()
        );
    }
}

impl galleon_mcp::sink::Updater for Recorder {
    fn apply(
        &self,
        change: &galleon_mcp::sink::Change,
    ) -> Result<(), galleon_mcp::sink::ApplyError> {
        let reject = self.reject.lock().unwrap().clone();
        if let Some(bad) = reject {
            let names = change
                .resources
                .iter()
                .filter_map(|r| r.metadata.as_ref())
                .map(|m| &m.name);
            if names.clone().any(|n| *n == bad) {
                return Err(galleon_mcp::sink::ApplyError(format!(
                    "{bad} is not acceptable"
                )));
            }
        }
        self.changes.lock().unwrap().push(change.clone());
        Ok(())
    }
}

/// Names carried by a change.
pub fn change_names(change: &galleon_mcp::sink::Change) -> Vec<String> {
    change
        .resources
        .iter()
        .filter_map(|r| r.metadata.as_ref())
        .map(|m| m.name.clone())
        .collect()
}

/// Fast reconnects for tests.
pub fn quick_backoff() -> galleon_mcp::BackoffOptions {
    galleon_mcp::BackoffOptions {
        min: Duration::from_millis(20),
        max: Duration::from_millis(200),
    }
}

/// Name → JSON body of the resources a push carries.
pub fn bodies(push: &Resources) -> std::collections::BTreeMap<String, serde_json::Value> {
    use galleon_proto::json::struct_to_json;
    push.decode_resources()
        .expect("push decodes")
        .into_iter()
        .map(|r| {
            let name = r.metadata.unwrap_or_default().name;
            let any = r.body.expect("body");
            let body = prost_types::Struct::decode(any.value.as_slice()).expect("Struct body");
            (name, serde_json::Value::Object(struct_to_json(&body)))
        })
        .collect()
}
