//! Signals: SIGHUP and SIGUSR1 force a rescan; SIGTERM ends sink streams
//! cleanly and exits 0.

use galleon_tests::*;

use galleon_tests::hub::{FAST, Hub, vs};

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
async fn sigterm_ends_sink_streams_cleanly() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a1"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    sink.recv().await;
    let Hub { galleon, dir: _dir } = hub;
    assert!(galleon.stop().await, "exit status 0");
    assert!(
        matches!(sink.next().await, Ok(None)),
        "the stream ended with status OK"
    );
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
