//! A transformer's canary on the real binary: only the sinks its selector
//! picks receive the candidate's outputs (separate versions, with their own
//! ACKs), a promote moves every sink to it (the canary sinks are sent
//! nothing: their versions agree), an abort puts the current build back.

use galleon_proto::mcp::Resources;
use galleon_tests::hub::{Hub, vs};
use galleon_tests::*;
use serde_json::Value;

use crate::loading::refused;
use crate::support::start_staged;

const LABEL: &str = "galleon.io/transformed";

fn label(push: &Resources) -> String {
    let resources = push.decode_resources().unwrap();
    resources[0].metadata.as_ref().unwrap().labels[LABEL].clone()
}

/// A hub whose add-label binding runs the changed build as a canary for
/// node ids `canary-*`, a stable sink and a canary sink, each having ACKed
/// its first push.
async fn with_canary() -> (Hub, tempfile::TempDir, RawSink, RawSink) {
    let components = [
        (galleon_plugin_artifacts::ADD_LABEL, "add_label.wasm"),
        (
            galleon_plugin_artifacts::ADD_LABEL_CHANGED,
            "candidate.wasm",
        ),
    ];
    let binding = "  - name: add-label\n    file: \"{dir}/add_label.wasm\"\n    kind: transformer\n    canary: {plugin: \"{dir}/candidate.wasm\", sinks: {nodeId: \"canary-*\"}}\n";
    let reviews = vs("reviews", "reviews");
    let (hub, staged) =
        start_staged(&[("reviews.yaml", reviews.as_str())], &components, binding).await;
    let mut sinks = Vec::new();
    for id in ["stable-1", "canary-1"] {
        let mut sink = RawSink::connect(&hub.galleon.url(), id).await;
        sink.subscribe(VS).await;
        let first = sink.recv().await;
        sink.ack(&first).await;
        sinks.push((sink, first));
    }
    let (mut canary, canary_first) = sinks.pop().unwrap();
    let (stable, stable_first) = sinks.pop().unwrap();
    assert_eq!(label(&stable_first), "true", "the current build");
    assert_eq!(label(&canary_first), "changed", "the candidate");
    assert_ne!(
        stable_first.system_version_info, canary_first.system_version_info,
        "two builds' outputs are two versions"
    );
    let _ = &mut canary;
    (hub, staged, stable, canary)
}

async fn canary_view(hub: &Hub) -> Value {
    let (status, body) = hub.galleon.admin_get("/debug/plugins/canary").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn end(hub: &Hub, action: &str) -> (std::process::ExitStatus, String) {
    let admin = hub.galleon.admin.to_string();
    run_galleon_out(&["plugin", action, "add-label", "--admin-addr", &admin]).await
}

#[tokio::test]
async fn only_the_selected_sink_gets_the_canary_and_a_promote_moves_every_sink() {
    let (hub, _staged, mut stable, mut canary) = with_canary().await;
    let view = canary_view(&hub).await;
    assert_eq!(view["state"], "running", "{view}");
    assert_eq!(view["sinks"], serde_json::json!(["canary-1"]), "{view}");
    assert_ne!(view["candidate"], view["current"], "{view}");

    // The status page says which sink runs which build.
    if let Some(chromium) = galleon_tests::browser::chromium_or_skip() {
        let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-canary.png");
        let url = format!("http://{}/", hub.galleon.admin);
        let page = galleon_tests::browser::render_until(
            &chromium,
            &url,
            &shot,
            &["CANARY of plugin add-label", "canary-1", "(canary build)"],
        )
        .await;
        assert!(page.contains("running the candidate"), "{page}");
    }

    // An edit reaches both, each through its own build.
    hub.write("reviews.yaml", &vs("reviews", "reviews.v2"));
    let (edited_stable, edited_canary) = (stable.recv().await, canary.recv().await);
    assert_eq!(label(&edited_stable), "true");
    assert_eq!(label(&edited_canary), "changed");
    stable.ack(&edited_stable).await;
    canary.ack(&edited_canary).await;

    let (status, out) = end(&hub, "promote").await;
    assert!(status.success(), "{out}");
    assert!(out.contains("canary of add-label promoted"), "{out}");
    let promoted = stable.recv().await;
    assert_eq!(
        label(&promoted),
        "changed",
        "the stable sink moves to the candidate"
    );
    assert_eq!(
        promoted.system_version_info, edited_canary.system_version_info,
        "the very version the canary sink ACKed"
    );
    stable.ack(&promoted).await;
    canary.expect_silence().await;
    assert_eq!(canary_view(&hub).await["state"], "promoted");

    // The binding runs the candidate now, for every sink.
    let (_, plugins) = hub.galleon.admin_get("/debug/plugins").await;
    assert!(
        plugins.contains(view["candidate"].as_str().unwrap()),
        "{plugins}"
    );
    hub.write("reviews.yaml", &vs("reviews", "reviews.v3"));
    assert_eq!(label(&stable.recv().await), "changed");
    assert_eq!(label(&canary.recv().await), "changed");

    // The write is in the history, and a second one is refused.
    let (_, history) = hub
        .galleon
        .admin_get(&format!("/debug/history/versions?collection={VS}"))
        .await;
    assert!(
        history.contains("canary of add-label promoted"),
        "{history}"
    );
    let (status, out) = end(&hub, "abort").await;
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("promoted already"), "{out}");
}

#[tokio::test]
async fn an_abort_serves_the_canary_sinks_the_current_build_again() {
    let (hub, _staged, mut stable, mut canary) = with_canary().await;
    let (status, out) = end(&hub, "abort").await;
    assert!(status.success(), "{out}");
    let back = canary.recv().await;
    assert_eq!(label(&back), "true", "the current build's outputs");
    canary.ack(&back).await;
    stable.expect_silence().await;
    let view = canary_view(&hub).await;
    assert_eq!(view["state"], "aborted", "{view}");
    assert!(
        view["endedBy"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{view}"
    );
    // It follows the main pipeline from now on.
    hub.write("reviews.yaml", &vs("reviews", "reviews.v2"));
    let (a, b) = (stable.recv().await, canary.recv().await);
    assert_eq!((label(&a), label(&b)), ("true".into(), "true".into()));
    assert_eq!(a.system_version_info, b.system_version_info);
}

#[tokio::test]
async fn a_canary_that_cannot_run_is_refused_at_start_naming_why() {
    let add_label = std::fs::read(galleon_plugin_artifacts::ADD_LABEL).unwrap();
    let binding = |canary: &str| {
        format!("  - {{name: add-label, file: plugin.wasm, kind: transformer, canary: {canary}}}\n")
    };
    let stderr = refused(&add_label, &binding("{plugin: plugin.wasm, sinks: {}}")).await;
    assert!(stderr.contains("canary.sinks selects no sink"), "{stderr}");
    let other = galleon_plugin_artifacts::AUTHPOLICY_MARKED;
    let stderr = refused(
        &add_label,
        &binding(&format!(
            "{{plugin: \"{other}\", sinks: {{nodeId: canary-*}}}}"
        )),
    )
    .await;
    assert!(
        stderr.contains("reads or writes other collections than the binding"),
        "{stderr}"
    );
    let validator = std::fs::read(galleon_plugin_artifacts::REQUIRE_HOSTS).unwrap();
    let stderr = refused(
        &validator,
        "  - {file: plugin.wasm, kind: validator, collections: [k8s/networking.istio.io/v1alpha3/virtualservices], canary: {plugin: plugin.wasm, sinks: {nodeId: x}}}\n",
    )
    .await;
    assert!(
        stderr.contains("only a transformer takes a `canary`"),
        "{stderr}"
    );
}
