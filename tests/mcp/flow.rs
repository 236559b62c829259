//! Flow control and limits: a sink that stops reading is dropped after the
//! stall limit while the others keep receiving; `galleon watch` takes a
//! 16 MB collection, and exits with the server's message when the source
//! refuses it.

use std::time::Duration;

use galleon_mcp::server::ServerOptions;
use galleon_tests::*;
use serde_json::Value;

#[tokio::test]
async fn a_sink_that_stops_reading_is_dropped_after_the_stall_limit() {
    let mut options = ServerOptions::new([VS]);
    options.stall_timeout = Duration::from_millis(500);
    let source =
        TestServer::start_with(cache_with(galleon_mcp::cache::DefaultGroup), options).await;
    let publish = |i: usize| source.publish_blobs(VS, 16, 64 * 1024, i);
    publish(0);
    // Subscribes, then never reads nor answers.
    let stalled = RawSink::connect(&source.url(), "stalled").await;
    stalled.subscribe(VS).await;
    let mut healthy = RawSink::connect(&source.url(), "healthy").await;
    healthy.subscribe(VS).await;

    // The healthy sink keeps receiving every version while the other stalls,
    // before and after the limit.
    let until = tokio::time::Instant::now() + Duration::from_millis(1500);
    let mut i = 0;
    while tokio::time::Instant::now() < until {
        let push = healthy.recv().await;
        assert_eq!(push.system_version_info, version_of(&source, VS));
        healthy.ack(&push).await;
        i += 1;
        publish(i);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(source.server.stats().stalled_sinks, 1);
    let connected: Vec<String> = source
        .cache()
        .sinks()
        .into_iter()
        .map(|s| s.node_id)
        .collect();
    assert_eq!(connected, ["healthy"]);
    drop(stalled);
}

#[tokio::test]
async fn watch_takes_a_16_mb_collection() {
    let source = TestServer::start(&[VS]).await;
    source.publish_blobs(VS, 164, 100 * 1024, 0);
    let output = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::new(galleon_binary())
            .args([
                "watch",
                "--addr",
                &source.url(),
                "--collection",
                VS,
                "--count",
                "1",
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("watch exits after one push")
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.len() > 16 << 20,
        "{} bytes printed",
        output.stdout.len()
    );
    let push: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(push["resources"].as_array().unwrap().len(), 164);
}

#[tokio::test]
async fn watch_exits_with_the_server_s_message_on_a_permanent_error() {
    let source = TestServer::start(&[VS]).await;
    let (status, stderr) = run_galleon(&[
        "watch",
        "--addr",
        &source.url(),
        "--collection",
        "istio/no/such/collection",
    ])
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("unknown collection") && stderr.contains("istio/no/such/collection"),
        "{stderr}"
    );
    assert_eq!(source.server.stats().streams_opened, 1, "no retries");
}

#[tokio::test]
async fn watch_reports_a_push_over_its_size_limit_once() {
    let source = TestServer::start(&[VS]).await;
    source.publish_blobs(VS, 1, 64 * 1024, 0);
    let (status, stderr) = run_galleon(&[
        "watch",
        "--addr",
        &source.url(),
        "--collection",
        VS,
        "--max-message-size",
        "1024",
    ])
    .await;
    assert!(!status.success());
    assert!(stderr.contains("too large"), "{stderr}");
    assert_eq!(
        source.server.stats().streams_opened,
        1,
        "no reconnect storm"
    );
}

#[tokio::test]
async fn a_misspelled_collection_is_refused_with_the_collection_meant() {
    let source = TestServer::start(&[VS]).await;
    let typo = VS.trim_end_matches('s');
    let (status, stderr) =
        run_galleon(&["watch", "--addr", &source.url(), "--collection", typo]).await;
    assert!(!status.success());
    assert!(
        stderr.contains(&format!("did you mean {VS:?}?")),
        "{stderr}"
    );
}
