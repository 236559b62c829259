//! Fan-out: one snapshot pushed to 1,000 concurrent streams encodes each
//! resource once, over MCP and over xDS. Its own test binary, so the
//! process-wide encode counter sees no other test's work (and the two tests
//! take turns).

use galleon_mcp::cache::{
    CachedResource, DefaultGroup, Snapshot, SnapshotCache, resources_encoded,
};
use galleon_mcp::server::{ServerOptions, XdsType};
use galleon_proto::mcp::SinkNode;
use galleon_proto::xds::DiscoveryRequest;
use galleon_proto::xds::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use galleon_tests::*;
use tokio::sync::Mutex;
use tonic::transport::Endpoint;

/// One test at a time reads the encode counter.
static COUNTER: Mutex<()> = Mutex::const_new(());

const STREAMS: usize = 1_000;
const CONNECTIONS: usize = 10;
const RESOURCES: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_snapshot_to_a_thousand_streams_encodes_each_resource_once() {
    let _turn = COUNTER.lock().await;
    let source = TestServer::start(&[VS]).await;
    let endpoint = Endpoint::from_shared(source.url()).unwrap();
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(endpoint.connect().await.expect("dial"));
    }
    let mut sinks = Vec::new();
    for i in 0..STREAMS {
        let node = SinkNode {
            id: format!("sink-{i}"),
            ..Default::default()
        };
        let sink = RawSink::open(channels[i % CONNECTIONS].clone(), node).await;
        sink.subscribe(VS).await;
        sinks.push(sink);
    }

    let before = resources_encoded();
    let snapshot = snapshot_of_resources();
    let built = resources_encoded();
    assert_eq!(
        built - before,
        RESOURCES as u64,
        "building the snapshot encodes each resource once"
    );
    source.cache().set_snapshot("default", snapshot);

    let receivers = sinks.into_iter().map(|mut sink| {
        tokio::spawn(async move {
            let push = sink.recv().await;
            assert_eq!(push.resources.len(), RESOURCES);
            sink.ack(&push).await;
            push.system_version_info
        })
    });
    let versions: Vec<String> = futures_join(receivers).await;
    assert_eq!(versions.len(), STREAMS);
    assert!(
        versions.windows(2).all(|w| w[0] == w[1]),
        "every stream got the same version"
    );
    assert_eq!(
        resources_encoded(),
        built,
        "pushing to {STREAMS} streams encoded nothing more"
    );
    assert_eq!(
        source.server.stats().resources_sent,
        (STREAMS * RESOURCES) as u64
    );
}

const GVK: &str = "networking.istio.io/v1/VirtualService";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xds_streams_share_one_encoding_of_each_resource() {
    let _turn = COUNTER.lock().await;
    let mut options = ServerOptions::new([VS]);
    let target = XdsType {
        collection: VS.into(),
        bare: false,
    };
    options.xds_types.insert(GVK.into(), target);
    let source = TestServer::start_with(SnapshotCache::new(DefaultGroup), options).await;
    let before = resources_encoded();
    let snapshot = snapshot_of_resources();
    source.cache().set_snapshot("default", snapshot);
    let channel = Endpoint::from_shared(source.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let streams = (0..STREAMS / 5).map(|_| {
        let mut client = AggregatedDiscoveryServiceClient::new(channel.clone());
        tokio::spawn(async move {
            let request = DiscoveryRequest {
                type_url: GVK.into(),
                ..Default::default()
            };
            let mut responses = client
                .stream_aggregated_resources(
                    // Keep the request side open, as istiod does.
                    tokio_stream::StreamExt::chain(
                        tokio_stream::iter([request]),
                        tokio_stream::pending(),
                    ),
                )
                .await
                .expect("stream opens")
                .into_inner();
            let response = responses.message().await.unwrap().expect("a response");
            assert_eq!(response.resources.len(), RESOURCES);
            response.version_info
        })
    });
    let versions = futures_join(streams).await;
    assert!(versions.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        resources_encoded() - before,
        2 * RESOURCES as u64,
        "each resource encoded once for the snapshot and once for xDS, whatever the streams"
    );
    assert_eq!(
        source.server.stats().resources_sent,
        (STREAMS / 5 * RESOURCES) as u64,
        "resources are counted, not buffers"
    );
}

/// `RESOURCES` small VirtualServices, encoded once each.
fn snapshot_of_resources() -> Snapshot {
    Snapshot::builder()
        .collection(
            VS,
            (0..RESOURCES)
                .map(|i| CachedResource::new(resource(&format!("ns/r{i}"), r#"{"hosts":["x"]}"#))),
        )
        .build()
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("receiver task"));
    }
    out
}
