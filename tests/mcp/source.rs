//! One test per rule the MCP server follows as the source of a stream
//! (`istio.mcp.v1alpha1`'s `ResourceSource`, as istio/api's `mcp.proto`
//! states the rules): the first request pushes the current state, a NACK is
//! not answered with the same version, stale nonces are ignored and counted,
//! one push is in flight per collection, incremental sinks get deltas.

use std::collections::BTreeMap;

use galleon_mcp::cache::CollectionGroups;
use galleon_mcp::server::ServerOptions;
use galleon_proto::mcp::SinkNode;
use galleon_tests::*;

const A1: &str = r#"{"hosts":["a"],"v":1}"#;
const A2: &str = r#"{"hosts":["a"],"v":2}"#;
const A3: &str = r#"{"hosts":["a"],"v":3}"#;
const B1: &str = r#"{"hosts":["b"],"v":1}"#;

#[tokio::test]
async fn initial_request_pushes_current_state() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1), ("ns/b", B1)]);
    let mut sink = source.sink(&[VS]).await;
    let push = sink.recv().await;
    assert_eq!(push.collection, VS);
    assert!(!push.incremental);
    assert_eq!(names(&push), ["ns/a", "ns/b"]);
    assert!(!push.nonce.is_empty());
}

#[tokio::test]
async fn subscription_before_any_snapshot_waits_for_the_first() {
    let source = TestServer::start(&[VS]).await;
    let mut sink = source.sink(&[VS]).await;
    sink.expect_silence().await;
    source.publish(VS, &[("ns/a", A1)]);
    assert_eq!(names(&sink.recv().await), ["ns/a"]);
}

#[tokio::test]
async fn every_push_carries_a_fresh_nonce() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1)]);
    let mut sink = source.sink(&[VS]).await;
    let mut nonces = std::collections::HashSet::new();
    for body in [A2, A3, A1] {
        let push = sink.recv().await;
        assert!(
            nonces.insert(push.nonce.clone()),
            "nonce {} reused",
            push.nonce
        );
        sink.ack(&push).await;
        source.publish(VS, &[("ns/a", body)]);
    }
    // The fourth push proves the third ACK was processed.
    assert!(nonces.insert(sink.recv().await.nonce));
    assert_eq!(source.server.stats().acks, 3);
}

#[tokio::test]
async fn one_push_in_flight_and_changes_coalesce_to_the_latest() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1)]);
    let mut sink = source.sink(&[VS]).await;
    let first = sink.recv().await;
    // Two changes while the first push is unanswered: nothing is sent.
    source.publish(VS, &[("ns/a", A2)]);
    source.publish(VS, &[("ns/a", A3), ("ns/b", B1)]);
    sink.expect_silence().await;
    // After the ACK, one push with the latest state, not the intermediate one.
    sink.ack(&first).await;
    let latest = sink.recv().await;
    assert_eq!(latest.system_version_info, version_of(&source, VS));
    assert_eq!(names(&latest), ["ns/a", "ns/b"]);
    sink.ack(&latest).await;
    sink.expect_silence().await;
    assert_eq!(source.server.stats().pushes, 2);
}

#[tokio::test]
async fn stale_or_unknown_nonce_is_ignored_and_counted() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1)]);
    let mut sink = source.sink(&[VS]).await;
    let first = sink.recv().await;
    source.publish(VS, &[("ns/a", A2)]);
    let mut bogus = first.clone();
    bogus.nonce = "not-a-nonce".into();
    sink.ack(&bogus).await;
    sink.expect_silence().await;
    assert_eq!(source.server.stats().stale_requests, 1);
    assert_eq!(source.server.stats().acks, 0);

    sink.ack(&first).await;
    let second = sink.recv().await;
    // Answering the first push again is now stale too.
    sink.ack(&first).await;
    sink.expect_silence().await;
    assert_eq!(source.server.stats().stale_requests, 2);
    sink.ack(&second).await;
}

#[tokio::test]
async fn unknown_collection_ends_the_stream_with_invalid_argument() {
    let source = TestServer::start(&[VS]).await;
    let mut sink = RawSink::connect(&source.url(), "pilot").await;
    sink.subscribe("istio/not/a/collection").await;
    let status = sink.next().await.expect_err("stream must fail");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("istio/not/a/collection"));
}

#[tokio::test]
async fn nacked_version_is_not_resent_until_the_collection_changes() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1)]);
    let mut sink = source.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.nack(&first, "cannot apply ns/a").await;
    sink.expect_silence().await;
    // Publishing identical content does not count as a change either.
    source.publish(VS, &[("ns/a", A1)]);
    sink.expect_silence().await;

    let status = &source.cache().sinks()[0].collections[VS];
    let nack = status.nack.as_ref().expect("status shows the NACK");
    assert_eq!(nack.message, "cannot apply ns/a");
    assert_eq!(nack.version, first.system_version_info);
    assert_eq!(source.server.stats().nacks, 1);

    source.publish(VS, &[("ns/a", A2)]);
    let next = sink.recv().await;
    assert_ne!(next.system_version_info, first.system_version_info);
}

#[tokio::test]
async fn incremental_pushes_carry_changes_and_removals_against_the_ack() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1), ("ns/b", B1)]);
    let mut sink = RawSink::connect(&source.url(), "pilot").await;
    sink.subscribe_with(VS, true, BTreeMap::new()).await;
    let first = sink.recv().await;
    assert!(
        !first.incremental,
        "the first push of a stream is full state"
    );
    sink.ack(&first).await;

    source.publish(VS, &[("ns/a", A2), ("ns/c", B1)]);
    let delta = sink.recv().await;
    assert!(delta.incremental);
    assert_eq!(names(&delta), ["ns/a", "ns/c"]);
    assert_eq!(delta.removed_resources, ["ns/b"]);

    // NACK it: the next delta is still computed against the first (acked) push.
    sink.nack(&delta, "no").await;
    source.publish(VS, &[("ns/a", A1), ("ns/b", B1), ("ns/d", A3)]);
    let after_nack = sink.recv().await;
    assert!(after_nack.incremental);
    assert_eq!(names(&after_nack), ["ns/d"]);
    assert!(after_nack.removed_resources.is_empty());
}

#[tokio::test]
async fn full_state_sink_gets_full_state_every_time() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1), ("ns/b", B1)]);
    let mut sink = source.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    source.publish(VS, &[("ns/a", A2), ("ns/b", B1)]);
    let second = sink.recv().await;
    assert!(!second.incremental);
    assert_eq!(names(&second), ["ns/a", "ns/b"]);
    assert!(second.removed_resources.is_empty());
}

#[tokio::test]
async fn resume_with_initial_versions_is_a_delta_not_a_resend() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1), ("ns/b", B1)]);
    let mut first_sink = RawSink::connect(&source.url(), "pilot").await;
    first_sink.subscribe_with(VS, true, BTreeMap::new()).await;
    let full = first_sink.recv().await;
    let held = versions(&full);
    drop(first_sink);

    // Nothing changed: the resumed stream's first push is an empty delta.
    let mut resumed = RawSink::connect(&source.url(), "pilot").await;
    resumed.subscribe_with(VS, true, held.clone()).await;
    let empty = resumed.recv().await;
    assert!(empty.incremental);
    assert!(empty.resources.is_empty() && empty.removed_resources.is_empty());
    drop(resumed);

    // One change and one removal while away: exactly those come back.
    source.publish(VS, &[("ns/a", A2)]);
    let mut resumed = RawSink::connect(&source.url(), "pilot").await;
    resumed.subscribe_with(VS, true, held).await;
    let delta = resumed.recv().await;
    assert!(delta.incremental);
    assert_eq!(names(&delta), ["ns/a"]);
    assert_eq!(delta.removed_resources, ["ns/b"]);
}

#[tokio::test]
async fn collections_on_one_stream_are_independent() {
    let source = TestServer::start(&[VS, DR]).await;
    source.cache().set_snapshot(
        "default",
        snapshot(&[(VS, &[("ns/a", A1)]), (DR, &[("ns/d", B1)])]),
    );
    let mut sink = source.sink(&[VS]).await;
    sink.subscribe(DR).await;
    let mut first = [sink.recv().await, sink.recv().await];
    first.sort_by(|a, b| a.collection.cmp(&b.collection));
    let [dr, _vs_unacked] = first;
    assert_eq!(dr.collection, DR);
    sink.ack(&dr).await;
    // VS stays un-ACKed; a DR change is pushed all the same.
    source.cache().set_snapshot(
        "default",
        snapshot(&[(VS, &[("ns/a", A2)]), (DR, &[("ns/d", A1)])]),
    );
    let next = sink.recv().await;
    assert_eq!(next.collection, DR);
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_stuck_sink_does_not_slow_others() {
    let source = TestServer::start(&[VS]).await;
    let publish = |i: usize| source.publish_blobs(VS, 16, 64 * 1024, i);
    publish(0);
    // Subscribes and never reads nor answers: its HTTP/2 window fills up.
    let stuck = RawSink::connect(&source.url(), "stuck").await;
    stuck.subscribe(VS).await;
    let mut healthy = RawSink::connect(&source.url(), "healthy").await;
    healthy.subscribe(VS).await;
    for i in 1..=20 {
        let push = healthy.recv().await;
        healthy.ack(&push).await;
        publish(i);
    }
    let last = healthy.recv().await;
    assert_eq!(last.system_version_info, version_of(&source, VS));
    drop(stuck);
}

#[tokio::test]
async fn response_headers_carry_the_hub_version_and_configured_metadata() {
    let mut options = ServerOptions::new([VS]);
    options.metadata.push(("cluster".into(), "east-1".into()));
    let source =
        TestServer::start_with(cache_with(galleon_mcp::cache::DefaultGroup), options).await;
    let sink = RawSink::connect(&source.url(), "pilot").await;
    let version = sink
        .headers
        .get("config.source.version")
        .expect("version header");
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        sink.headers.get("cluster").unwrap().to_str().unwrap(),
        "east-1"
    );
}

#[tokio::test]
async fn shutdown_ends_streams_unavailable_so_sinks_reconnect_elsewhere() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1)]);
    let mut sink = source.sink(&[VS]).await;
    sink.recv().await;
    source.stop().await;
    let ended = sink
        .next()
        .await
        .expect_err("the stream ends with a status");
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended}");
}

#[tokio::test]
async fn sink_status_shows_acked_versions_per_collection() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1)]);
    let mut sink = RawSink::connect(&source.url(), "pilot-7").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(
        source.cache().sinks()[0].collections[VS]
            .pending_version
            .as_deref(),
        Some(push.system_version_info.as_str())
    );
    sink.ack(&push).await;
    sink.expect_silence().await;
    let sinks = source.cache().sinks();
    assert_eq!(sinks.len(), 1);
    assert_eq!(sinks[0].node_id, "pilot-7");
    let status = &sinks[0].collections[VS];
    assert_eq!(
        status.acked_version.as_deref(),
        Some(push.system_version_info.as_str())
    );
    assert_eq!(status.pending_version, None);
    drop(sink);
    tokio::time::timeout(PATIENCE, async {
        while !source.cache().sinks().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a closed stream leaves the status board");
}

#[tokio::test]
async fn group_index_picks_the_group_from_collection_and_node() {
    let index = CollectionGroups::new()
        .assign(DR, "synthetic")
        .node_annotation("galleon.io/group");
    let source = TestServer::start_with(cache_with(index), ServerOptions::new([VS, DR])).await;
    source
        .cache()
        .set_snapshot("default", snapshot(&[(VS, &[("ns/default", A1)])]));
    source
        .cache()
        .set_snapshot("synthetic", snapshot(&[(DR, &[("ns/synthetic", A1)])]));
    source
        .cache()
        .set_snapshot("canary", snapshot(&[(VS, &[("ns/canary", A1)])]));

    let mut plain = RawSink::connect(&source.url(), "pilot").await;
    plain.subscribe(VS).await;
    assert_eq!(names(&plain.recv().await), ["ns/default"]);
    plain.subscribe(DR).await;
    assert_eq!(names(&plain.recv().await), ["ns/synthetic"]);

    let node = SinkNode {
        id: "pilot-canary".into(),
        annotations: [("galleon.io/group".to_string(), "canary".to_string())].into(),
    };
    let mut canary = RawSink::connect_as(&source.url(), node).await;
    canary.subscribe(VS).await;
    assert_eq!(names(&canary.recv().await), ["ns/canary"]);
}
