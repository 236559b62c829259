//! Load errors are clear: the wrong kind of component, a file that is not a
//! component, and settings the plugin refuses.

use std::process::Stdio;

use galleon_tests::hub::{FAST, vs};
use galleon_tests::*;

use crate::support::{cache_dir, install, start};

/// Runs `galleon serve` with plugin `bindings`, expecting it to refuse to
/// start; returns its stderr.
pub(crate) async fn refused(component: &[u8], bindings: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plugin.wasm"), component).unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nsources: [{{files: {{paths: [resources]}}}}]\n{FAST}plugins:\n  cacheDir: {}\n  bindings:\n{bindings}",
        cache_dir().display()
    );
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let output = tokio::process::Command::new(galleon_binary())
        .args([
            "serve",
            "--config",
            dir.path().join("galleon.yaml").to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .expect("exits")
        .unwrap();
    assert!(!output.status.success(), "must refuse to start");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_validator_bound_as_a_transformer_is_refused_naming_the_world() {
    let component = std::fs::read(galleon_plugin_artifacts::REQUIRE_HOSTS).unwrap();
    let stderr = refused(&component, "  - {file: plugin.wasm, kind: transformer}\n").await;
    assert!(
        stderr.contains("exports galleon:plugin/validator@0.2.0, but it is bound as a transformer"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_component_is_refused() {
    let stderr = refused(
        b"not wasm at all",
        "  - {file: plugin.wasm, kind: transformer}\n",
    )
    .await;
    assert!(
        stderr.contains("cannot compile plugin") && stderr.contains("plugin.wasm"),
        "{stderr}"
    );
}

#[tokio::test]
async fn refused_settings_are_reported_and_the_hub_serves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let component = install(
        dir.path(),
        galleon_plugin_artifacts::ADD_LABEL,
        "add_label.wasm",
    );
    let binding =
        format!("  - {{file: \"{component}\", kind: transformer, settings: {{label: 7}}}}\n");
    let hub = start(
        &[("reviews.yaml", vs("reviews", "reviews").as_str())],
        &[],
        &binding,
    )
    .await;
    hub.galleon
        .wait_for_log(&[
            "rejected its configuration",
            "settings.label must be a non-empty string",
        ])
        .await;
    let mut sink = hub.sink(&[DR]).await;
    assert!(names(&sink.recv().await).is_empty());
}

#[tokio::test]
async fn a_component_built_against_another_contract_version_is_refused_naming_both() {
    let component = std::fs::read(galleon_plugin_artifacts::FUTURE_VERSION).unwrap();
    let stderr = refused(&component, "  - {file: plugin.wasm, kind: transformer}\n").await;
    assert!(
        stderr.contains(
            "built against galleon:plugin@0.3.0, but this host serves galleon:plugin@0.2.0"
        ),
        "{stderr}"
    );
}
