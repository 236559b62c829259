//! Hot loading: replacing a bound `.wasm` swaps the plugin in without a
//! restart or a dropped stream; a sink sees a push only if outputs change.

use galleon_proto::mcp::Resources;
use galleon_tests::hub::{Hub, vs};
use galleon_tests::*;
use tempfile::TempDir;

use crate::support::start_staged;

const BINDING: &str = "  - {name: add-label, file: \"{dir}/add_label.wasm\", kind: transformer}\n";
const LABEL: &str = "galleon.io/transformed";

fn label(push: &Resources) -> String {
    let resources = push.decode_resources().unwrap();
    resources[0].metadata.as_ref().unwrap().labels[LABEL].clone()
}

/// A hub with the example transformer bound, a sink, and its first push
/// (ACKed).
async fn labelled() -> (Hub, TempDir, RawSink, Resources) {
    let components = [(galleon_plugin_artifacts::ADD_LABEL, "add_label.wasm")];
    let reviews = vs("reviews", "reviews");
    let files = [("reviews.yaml", reviews.as_str())];
    let (hub, staged) = start_staged(&files, &components, BINDING).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    assert_eq!(label(&first), "true", "the sink sees transformed output");
    sink.ack(&first).await;
    (hub, staged, sink, first)
}

#[tokio::test]
async fn replacing_the_wasm_swaps_the_plugin_on_the_same_stream() {
    let (hub, staged, mut sink, first) = labelled().await;

    // A different build whose outputs are identical: swapped in, no push.
    write_atomically(
        staged.path(),
        "add_label.wasm",
        read(galleon_plugin_artifacts::ADD_LABEL_SAME_OUTPUT),
    );
    hub.galleon
        .wait_for_log(&["plugin swapped in", "changes=0"])
        .await;
    sink.expect_silence().await;

    // A changed build: the new output arrives on the same stream.
    write_atomically(
        staged.path(),
        "add_label.wasm",
        read(galleon_plugin_artifacts::ADD_LABEL_CHANGED),
    );
    let changed = sink.recv().await;
    assert_eq!(label(&changed), "changed");
    assert!(
        changed.nonce.parse::<u64>().unwrap() > first.nonce.parse::<u64>().unwrap(),
        "same stream, later nonce"
    );
    sink.ack(&changed).await;
    // The history says why the version changed.
    let history = hub
        .galleon
        .wait_for_admin(
            &format!("/debug/history/versions?collection={VS}"),
            &[&changed.system_version_info],
        )
        .await;
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(
        history["versions"][0]["version"],
        changed.system_version_info.as_str()
    );
    let causes = history["versions"][0]["causes"].to_string();
    assert!(causes.contains("plugin add-label reloaded"), "{causes}");

    // The identical build again: nothing at all.
    write_atomically(
        staged.path(),
        "add_label.wasm",
        read(galleon_plugin_artifacts::ADD_LABEL_CHANGED),
    );
    sink.expect_silence().await;
    assert_eq!(
        hub.galleon
            .log()
            .matches("new plugin version loaded")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_broken_replacement_keeps_the_old_plugin_running() {
    let (hub, staged, mut sink, _) = labelled().await;

    std::fs::write(staged.path().join("add_label.wasm"), b"\0asm not really").unwrap();
    hub.galleon
        .wait_for_log(&[
            "new plugin version rejected, the previous one keeps running",
            "cannot compile plugin",
        ])
        .await;
    hub.write("ratings.yaml", &vs("ratings", "ratings"));
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/ratings", "default/reviews"]);
    assert_eq!(label(&push), "true", "still the old plugin");
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).expect("built component")
}
