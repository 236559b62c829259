//! Fan-out: one snapshot pushed to 1,000 concurrent streams encodes each
//! resource once. Its own test binary, so the process-wide encode counter
//! sees no other test's work.

use galleon_mcp::cache::{CachedResource, Snapshot, resources_encoded};
use galleon_proto::mcp::SinkNode;
use galleon_tests::*;
use tonic::transport::Endpoint;

const STREAMS: usize = 1_000;
const CONNECTIONS: usize = 10;
const RESOURCES: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_snapshot_to_a_thousand_streams_encodes_each_resource_once() {
    let source = TestSource::start(&[VS]).await;
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
    let snapshot = Snapshot::builder()
        .collection(
            VS,
            (0..RESOURCES)
                .map(|i| CachedResource::new(resource(&format!("ns/r{i}"), r#"{"hosts":["x"]}"#))),
        )
        .build();
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
        source.source.stats().resources_sent,
        (STREAMS * RESOURCES) as u64
    );
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
