//! A hub with plugins bound, for the plugin tests.

use std::path::{Path, PathBuf};

use galleon_tests::hub::{FAST, Hub};

/// Where every test run shares precompiled plugins (compiled once per run).
pub(crate) fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")
}

/// Copies a built component into the hub's directory (so a test may
/// replace it) and returns the path as the configuration should name it.
pub(crate) fn install(hub_dir: &Path, component: &str, name: &str) -> String {
    let dest = hub_dir.join(name);
    std::fs::copy(component, &dest).expect("copy component");
    dest.display().to_string()
}

/// Starts a hub with `bindings` (YAML list items under `plugins.bindings`,
/// with `{dir}` replaced by the directory the `components` are staged in)
/// over `files`.
pub(crate) async fn start(
    files: &[(&str, &str)],
    components: &[(&str, &str)],
    bindings: &str,
) -> Hub {
    start_staged(files, components, bindings).await.0
}

/// Like [`start`], also returning the staging directory of the components.
pub(crate) async fn start_staged(
    files: &[(&str, &str)],
    components: &[(&str, &str)],
    bindings: &str,
) -> (Hub, tempfile::TempDir) {
    let staging = tempfile::tempdir().expect("staging dir");
    for (component, name) in components {
        install(staging.path(), component, name);
    }
    let staged = staging.path().display().to_string();
    let config = format!(
        "{FAST}plugins:\n  cacheDir: {}\n  bindings:\n{}",
        cache_dir().display(),
        bindings.replace("{dir}", &staged)
    );
    (Hub::start_with(files, &config, "").await, staging)
}

/// A DestinationRule document (served through the direct mapping, to show
/// the rest of the hub keeps working while a plugin misbehaves).
pub(crate) fn dr(name: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {{name: {name}}}\nspec: {{host: {name}}}\n"
    )
}

/// A sink of `collections` on `hub` that has received and ACKed its first
/// push.
pub(crate) async fn settled_sink(hub: &Hub, collections: &[&str]) -> galleon_tests::RawSink {
    let mut sink = hub.sink(collections).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    sink
}
