//! Signals: SIGHUP and SIGUSR1 force a rescan; SIGTERM drains (not ready,
//! still serving), ends sink streams with UNAVAILABLE and exits 0.

use galleon_tests::*;

use galleon_tests::hub::{FAST, Hub, serve_with_mcp, vs};

#[tokio::test]
async fn sighup_and_sigusr1_rescan_a_source_that_does_not_watch() {
    let hub = Hub::start_with(&[("a.yaml", &vs("a", "a1"))], FAST, ", watch: false").await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;

    hub.write("b.yaml", &vs("b", "b1"));
    sink.expect_silence().await;
    hub.galleon.signal("HUP");
    let rescanned = sink.recv().await;
    assert_eq!(names(&rescanned), ["default/a", "default/b"]);
    sink.ack(&rescanned).await;

    hub.remove("b.yaml");
    sink.expect_silence().await;
    hub.galleon.signal("USR1");
    assert_eq!(names(&sink.recv().await), ["default/a"]);
}

#[tokio::test]
async fn sigterm_ends_sink_streams_with_unavailable_and_exits_0() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a1"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    sink.recv().await;
    let Hub { galleon, dir: _dir } = hub;
    assert!(galleon.stop().await, "exit status 0");
    let ended = sink
        .next()
        .await
        .expect_err("the stream ends with a status");
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended}");
}

#[tokio::test]
async fn a_changed_configuration_is_named_on_sighup_not_ignored() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a1"))]).await;
    let config = hub.dir.path().join("galleon.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("plugins: {bindings: [{file: new.wasm, kind: transformer}]}\n");
    std::fs::write(&config, text).unwrap();
    hub.galleon.signal("HUP");
    hub.galleon
        .wait_for_log(&[
            "the configuration file changed",
            "plugins.bindings",
            "restart galleon",
        ])
        .await;
}

#[tokio::test]
async fn sigterm_withdraws_readiness_keeps_serving_for_the_drain_then_ends_streams_unavailable() {
    let (dir, galleon) = serve_with_mcp("drainDelay: 2s").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    assert_eq!(galleon.admin_get("/readyz").await.0, 200);

    galleon.signal("TERM");
    galleon.wait_for_log(&["draining: not ready"]).await;
    let (status, body) = galleon.admin_get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("draining"), "{body}");
    // gRPC health says so too (what a gRPC-probing balancer reads).
    let channel = tonic::transport::Endpoint::from_shared(galleon.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    };
    let health = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
    );
    // Still served during the drain.
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    sink.ack(&push).await;
    let ended = tokio::time::timeout(PATIENCE, sink.next())
        .await
        .expect("the stream ends after the drain");
    let status = ended.expect_err("ended with a status");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
    assert!(status.message().contains("reconnect"), "{status}");
    assert!(galleon.stop().await, "exit status 0");
}

#[tokio::test]
async fn a_connection_past_max_connection_age_is_asked_to_go_and_the_sink_comes_back() {
    let (_dir, galleon) = serve_with_mcp("maxConnectionAge: 1s, maxConnectionAgeGrace: 1s").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    let ended = tokio::time::timeout(PATIENCE, sink.next())
        .await
        .expect("the old stream is ended at its age");
    // Ended as a drain ends it, so the sink reconnects (to any replica),
    // not cut when the grace runs out.
    let status = ended.expect_err("no push, an end");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("maxConnectionAge"), "{status:?}");
    // A sink dialling again is served.
    let mut again = RawSink::connect(&galleon.url(), "pilot").await;
    again.subscribe(VS).await;
    assert_eq!(names(&again.recv().await), ["default/a"]);
}

#[tokio::test]
async fn galleon_watch_xds_reconnects_when_its_hub_drains_and_is_served_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    std::fs::write(dir.path().join("resources/a.yaml"), vs("a", "a")).unwrap();
    // The next hub takes the same port, as a restarted pod keeps its Service.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "mcp: {{address: \"127.0.0.1:{port}\", drainDelay: 200ms}}\nsources: [{{files: {{paths: [resources]}}}}]\n"
    );
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let first = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let url = first.url();
    let mut watch = WatchCli::start_with(&[
        "--addr",
        &url,
        "--xds",
        "--type",
        "networking.istio.io/v1/VirtualService",
    ]);
    assert_eq!(watch.next_names().await, ["default/a"]);

    assert!(first.stop().await, "exit status 0");
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    let _next = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    assert_eq!(watch.next_names().await, ["default/a", "default/b"]);
}

/// A sink that never reads (its HTTP/2 window full, so not even its
/// stream's end can be sent) does not hold up the exit: the hub ends it
/// with the others and exits 0, so a rollout is not held up by one sink.
#[tokio::test]
async fn a_sink_that_never_reads_does_not_hold_up_the_exit() {
    let (dir, galleon) =
        serve_with_mcp("drainDelay: 100ms, drainTimeout: 3s, stallTimeout: 1h").await;
    // Far more than one HTTP/2 window: the push cannot be sent in full.
    let big: String = (0..400)
        .map(|i| {
            let host = format!("h{i}-{}", "x".repeat(2_000));
            format!("{}---\n", vs(&format!("big-{i}"), &host))
        })
        .collect();
    write_atomically(&dir.path().join("resources"), "big.yaml", big);
    let mut watch = WatchCli::start(&galleon.url(), VS);
    while watch.next_names().await.len() < 401 {}
    let stuck = RawSink::connect(&galleon.url(), "stuck").await;
    stuck.subscribe(VS).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (clean, log) = galleon.stop_logged().await;
    assert!(clean, "exit status 0: {log}");
    assert!(
        !log.contains("still running after mcp.drainTimeout"),
        "nothing had to be waited for: {log}"
    );
    drop(stuck);
}
