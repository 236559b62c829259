//! The sink library in client mode against the real source.

use galleon_mcp::sink::{SinkClient, SinkOptions};
use galleon_proto::mcp::SinkNode;
use galleon_tests::*;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

const A1: &str = r#"{"v":1}"#;
const A2: &str = r#"{"v":2}"#;

fn options(incremental: bool) -> SinkOptions {
    SinkOptions {
        node: SinkNode {
            id: "library-sink".into(),
            ..Default::default()
        },
        collections: vec![VS.into()],
        incremental,
        ..SinkOptions::default()
    }
}

fn start_client(url: &str, incremental: bool, recorder: &Recorder) -> CancellationToken {
    let endpoint = Endpoint::from_shared(url.to_owned()).unwrap();
    let client = SinkClient::new(endpoint, options(incremental), recorder.clone())
        .with_backoff(quick_backoff());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { client.run(token).await });
    stop
}

#[tokio::test]
async fn applies_pushes_and_acks_them() {
    let source = TestServer::start(&[VS]).await;
    source.publish(VS, &[("ns/a", A1)]);
    let recorder = Recorder::default();
    let stop = start_client(&source.url(), false, &recorder);
    recorder.wait_for("first push", |c| c.len() == 1).await;
    source.publish(VS, &[("ns/a", A2), ("ns/b", A1)]);
    recorder.wait_for("second push", |c| c.len() == 2).await;
    let second = &recorder.changes()[1];
    assert_eq!(change_names(second), ["ns/a", "ns/b"]);
    assert!(!second.incremental);
    wait_until(|| source.server.stats().acks == 2).await;
    stop.cancel();
}

#[tokio::test]
async fn a_rejected_change_is_nacked_with_the_updaters_reason() {
    let source = TestServer::start(&[VS]).await;
    let recorder = Recorder::default();
    recorder.reject("ns/bad");
    source.publish(VS, &[("ns/bad", A1)]);
    let stop = start_client(&source.url(), false, &recorder);
    wait_until(|| source.server.stats().nacks == 1).await;
    let status = source.cache().sinks()[0].collections[VS].clone();
    assert_eq!(status.nack.unwrap().message, "ns/bad is not acceptable");
    assert!(recorder.changes().is_empty());

    source.publish(VS, &[("ns/good", A1)]);
    recorder.wait_for("the good push", |c| c.len() == 1).await;
    wait_until(|| source.server.stats().acks == 1).await;
    stop.cancel();
}

#[tokio::test]
async fn an_incremental_sink_resumes_with_a_delta_after_the_source_restarts() {
    let first = TestServer::start(&[VS]).await;
    let addr = first.addr;
    first.publish(VS, &[("ns/a", A1), ("ns/b", A1), ("ns/c", A1)]);
    let recorder = Recorder::default();
    let stop = start_client(&first.url(), true, &recorder);
    recorder.wait_for("the full state", |c| c.len() == 1).await;
    first.stop().await;

    // A new process on the same address with one change and one removal:
    // versions are content hashes, so the new cache agrees on the rest.
    let listener = TcpListener::bind(addr).await.expect("rebind the same port");
    let second = TestServer::serve_on(
        listener,
        cache_with(galleon_mcp::cache::DefaultGroup),
        galleon_mcp::server::ServerOptions::new([VS]),
    );
    second.publish(VS, &[("ns/a", A2), ("ns/b", A1)]);
    recorder
        .wait_for("the resumed delta", |c| c.len() == 2)
        .await;
    let delta = &recorder.changes()[1];
    assert!(delta.incremental);
    assert_eq!(change_names(delta), ["ns/a"]);
    assert_eq!(delta.removed, ["ns/c"]);
    stop.cancel();
}

async fn wait_until(done: impl Fn() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !done() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("condition not reached in time");
}
