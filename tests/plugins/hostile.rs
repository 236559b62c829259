//! Hostile plugins are contained: the instance is discarded, the inputs are
//! replayed into a fresh one (which fails again while the trigger is there,
//! and backs off), the plugin's last good outputs stay served, the rest of
//! the hub keeps working, and once the trigger is gone the plugin recovers.

use galleon_tests::hub::vs;
use galleon_tests::*;

use crate::support::{dr, settled_sink, start};

const BINDING: &str = "  - {name: hostile, file: \"{dir}/hostile.wasm\", kind: transformer, settings: {mode: MODE}}\n";

/// A hub serving `ok.yaml` through the hostile plugin `component` in `mode`.
async fn hostile_hub(component: &str, mode: &str) -> galleon_tests::hub::Hub {
    let components = [(component, "hostile.wasm")];
    start(
        &[("ok.yaml", vs("ok", "ok.example.com").as_str())],
        &components,
        &BINDING.replace("MODE", mode),
    )
    .await
}

async fn contained(mode: &str, expected: &[&str]) {
    contained_in(galleon_plugin_artifacts::HOSTILE, mode, expected).await;
}

/// The hostile plugin `component` (in any language) misbehaves in `mode`:
/// the hub logs `expected`, keeps serving, and recovers.
pub(crate) async fn contained_in(component: &str, mode: &str, expected: &[&str]) {
    let hub = hostile_hub(component, mode).await;
    let mut sink = hub.sink(&[VS, DR]).await;
    for _ in 0..2 {
        let push = sink.recv().await;
        if push.collection == VS {
            assert_eq!(names(&push), ["default/ok"]);
        }
        sink.ack(&push).await;
    }

    hub.write("trigger.yaml", &vs("trigger", "t"));
    let mut needles = vec!["plugin hostile failed in handle"];
    needles.extend(expected);
    hub.galleon.wait_for_log(&needles).await;

    // The rest of the hub keeps serving.
    hub.write("dr.yaml", &dr("reviews"));
    let push = sink.recv().await;
    assert_eq!(
        (push.collection.as_str(), names(&push)),
        (DR, vec!["default/reviews".to_string()])
    );
    sink.ack(&push).await;
    // The plugin's outputs keep their last good state: no push for it.
    sink.expect_silence().await;

    // Without the trigger the plugin recovers, inputs replayed.
    hub.remove("trigger.yaml");
    hub.write("other.yaml", &vs("other", "other.example.com"));
    let recovered = sink.recv().await;
    assert_eq!(recovered.collection, VS);
    assert_eq!(names(&recovered), ["default/ok", "default/other"]);
}

#[tokio::test]
async fn an_infinite_loop_hits_the_deadline() {
    contained("loop", &["ran past its 100 ms deadline"]).await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_cap() {
    contained("memory", &["exceeded its 64 MiB memory limit"]).await;
}

#[tokio::test]
async fn a_trap_is_contained() {
    contained("trap", &["trapped", "unreachable"]).await;
}

#[tokio::test]
async fn an_undeclared_output_collection_is_refused() {
    contained(
        "wrong-collection",
        &["emitted undeclared output collection", "istio/not/declared"],
    )
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused() {
    contained("bad-json", &["body that is not JSON"]).await;
}

#[tokio::test]
async fn sleeping_traps() {
    contained("sleep", &["plugins may not sleep"]).await;
}

#[tokio::test]
async fn a_plugin_cannot_open_files() {
    let hub = hostile_hub(galleon_plugin_artifacts::HOSTILE, "open-file").await;
    let mut sink = settled_sink(&hub, &[VS]).await;
    hub.write("trigger.yaml", &vs("trigger", "t"));
    // The plugin got an error from WASI (no preopened directories) and said
    // so; it is a rejection of that one resource, not a crash.
    hub.galleon
        .wait_for_log(&[
            "trigger.yaml",
            "rejected default/trigger",
            "could not open /etc/passwd",
        ])
        .await;
    hub.write("other.yaml", &vs("other", "o"));
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/ok", "default/other"]);
    assert!(!hub.galleon.log().contains("leaked"));
}

#[tokio::test]
async fn a_plugin_cannot_forge_a_log_line() {
    let hub = hostile_hub(galleon_plugin_artifacts::HOSTILE, "forge-log").await;
    let _sink = settled_sink(&hub, &[VS]).await;
    hub.write("trigger.yaml", &vs("trigger", "t"));
    hub.galleon.wait_for_log(&["look\\n2026-11-29"]).await;
    let log = hub.galleon.log();
    assert!(
        !log.lines()
            .any(|line| line.starts_with("2026-11-29T00:00:00.000000Z")),
        "a forged line: {log}"
    );
}
