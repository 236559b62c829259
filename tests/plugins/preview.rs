//! `galleon plugin preview`: a candidate build runs on a running hub's live
//! inputs beside the current one; the report names every output it would
//! change, what it logged and its cost, and no sink sees anything.

use galleon_tests::hub::{Hub, vs};
use galleon_tests::*;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::start_staged;

const BINDING: &str = "  - {name: add-label, file: \"{dir}/add_label.wasm\", kind: transformer}\n";

/// A hub with the example transformer bound over two VirtualServices, and a
/// sink that has ACKed its first push.
async fn labelled() -> (Hub, TempDir, RawSink) {
    let components = [(galleon_plugin_artifacts::ADD_LABEL, "add_label.wasm")];
    let (reviews, ratings) = (vs("reviews", "reviews"), vs("ratings", "ratings"));
    let files = [
        ("reviews.yaml", reviews.as_str()),
        ("ratings.yaml", ratings.as_str()),
    ];
    let (hub, staged) = start_staged(&files, &components, BINDING).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    (hub, staged, sink)
}

/// `galleon plugin preview add-label FILE -o json`: its exit status and
/// report (or stderr when it failed).
async fn preview(hub: &Hub, binding: &str, file: &str) -> (std::process::ExitStatus, String) {
    let admin = hub.galleon.admin.to_string();
    let args = ["plugin", "preview", binding, file, "--admin-addr", &admin];
    let output = run_galleon_output(&[&args[..], &["-o", "json"]].concat()).await;
    let shown = if output.status.success() {
        &output.stdout
    } else {
        &output.stderr
    };
    (output.status, String::from_utf8_lossy(shown).into_owned())
}

#[tokio::test]
async fn a_preview_names_each_changed_output_and_changes_nothing_a_sink_sees() {
    let (hub, _staged, mut sink) = labelled().await;
    let (_, plugins_before) = hub.galleon.admin_get("/debug/plugins").await;

    let (status, report) = preview(
        &hub,
        "add-label",
        galleon_plugin_artifacts::ADD_LABEL_CHANGED,
    )
    .await;
    assert!(status.success(), "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_ne!(report["candidate"], report["current"], "{report}");
    // Reset, two inputs, their collection's FullSync.
    assert_eq!(report["replayed"], 4, "{report}");
    assert_eq!(report["unchanged"], 0, "{report}");
    let changes = report["changes"].as_array().unwrap();
    let names: Vec<&str> = changes
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default/ratings", "default/reviews"], "{report}");
    for change in changes {
        assert_eq!(change["collection"], VS);
        assert_eq!(change["change"], "changed");
        assert_eq!(
            change["patch"],
            serde_json::json!([{
                "op": "replace",
                "path": "/metadata/labels/galleon.io~1transformed",
                "value": "changed"
            }]),
            "field level: {change}"
        );
        let yaml = change["yaml"].as_str().unwrap();
        assert!(
            yaml.contains("+    galleon.io/transformed: changed"),
            "{yaml}"
        );
    }
    for build in ["candidateCost", "currentCost"] {
        let cost = &report[build];
        assert!(cost["perEventNs"].as_u64().unwrap() > 0, "{build}: {cost}");
        assert!(cost["peakMemory"].as_u64().unwrap() > 0, "{build}: {cost}");
    }

    // Nothing served changed: no push, the same build, one version.
    sink.expect_silence().await;
    let (_, plugins_after) = hub.galleon.admin_get("/debug/plugins").await;
    let digest = |plugins: &str| {
        let plugins: Value = serde_json::from_str(plugins).unwrap();
        let binding = plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "add-label")
            .cloned()
            .unwrap();
        (binding["digest"].clone(), binding["generation"].clone())
    };
    assert_eq!(digest(&plugins_before), digest(&plugins_after));
    let (_, history) = hub
        .galleon
        .admin_get(&format!("/debug/history/versions?collection={VS}"))
        .await;
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "{history}"
    );
    assert!(
        !hub.galleon.log().contains("plugin swapped in"),
        "{}",
        hub.galleon.log()
    );
}

#[tokio::test]
async fn a_preview_of_a_build_with_the_same_outputs_shows_none_and_its_log() {
    let (hub, _staged, mut sink) = labelled().await;
    let (status, report) = preview(
        &hub,
        "add-label",
        galleon_plugin_artifacts::ADD_LABEL_SAME_OUTPUT,
    )
    .await;
    assert!(status.success(), "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["changes"], serde_json::json!([]), "{report}");
    assert_eq!(report["unchanged"], 2, "{report}");
    // Its `log` lines are the report's, not the hub's.
    let log = report["log"].to_string();
    assert!(
        log.contains("configured (rebuilt binary, same outputs)"),
        "{log}"
    );
    sink.expect_silence().await;

    // The text report says the same.
    let admin = hub.galleon.admin.to_string();
    let file = galleon_plugin_artifacts::ADD_LABEL_SAME_OUTPUT;
    let (status, text) = run_galleon_out(&[
        "plugin",
        "preview",
        "add-label",
        file,
        "--admin-addr",
        &admin,
    ])
    .await;
    assert!(status.success(), "{text}");
    assert!(
        text.contains("outputs that would change: 0, unchanged: 2"),
        "{text}"
    );
    assert!(text.contains("cost per event:"), "{text}");
}

#[tokio::test]
async fn a_preview_names_the_fix_for_a_wrong_binding_or_a_broken_build() {
    let (hub, staged, _sink) = labelled().await;
    let file = galleon_plugin_artifacts::ADD_LABEL_CHANGED;
    let (status, error) = preview(&hub, "add-lable", file).await;
    assert_eq!(status.code(), Some(1), "{error}");
    assert!(
        error.contains("no plugin binding is named \"add-lable\"")
            && error.contains("the transformers are: ")
            && error.contains("add-label")
            && error.contains("404"),
        "{error}"
    );
    let broken = staged.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm not really").unwrap();
    let (status, error) = preview(&hub, "add-label", broken.to_str().unwrap()).await;
    assert_eq!(status.code(), Some(1), "{error}");
    assert!(
        error.contains("the candidate build failed") && error.contains("cannot compile"),
        "{error}"
    );
    let (status, error) = preview(&hub, "add-label", "/no/such/file.wasm").await;
    assert_eq!(status.code(), Some(1), "{error}");
    assert!(error.contains("cannot read /no/such/file.wasm"), "{error}");
}
