//! A hub on a temporary directory, with short debounce timings so tests
//! run fast.

use std::path::PathBuf;

use galleon_tests::{Galleon, RawSink, write_atomically};
use tempfile::TempDir;

pub(crate) const MESH: &str = "istio/mesh/v1alpha1/MeshConfig";

/// A `galleon serve --config` over `<tmp>/resources` and `<tmp>/mesh.yaml`.
pub(crate) struct Hub {
    pub(crate) dir: TempDir,
    pub(crate) galleon: Galleon,
}

/// Debounce 50 ms quiesce / 300 ms max, so a change lands in well under a
/// second; `extra` is appended to the configuration.
pub(crate) const FAST: &str =
    "groups: [{name: default, strategy: debounce, maxDelay: 300ms, quiesce: 50ms}]\n";

impl Hub {
    pub(crate) async fn start(files: &[(&str, &str)]) -> Self {
        Self::start_with(files, FAST, "").await
    }

    pub(crate) async fn start_with(
        files: &[(&str, &str)],
        groups: &str,
        files_options: &str,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("resources")).unwrap();
        std::fs::write(dir.path().join("mesh.yaml"), "ingressClass: istio\n").unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join("resources").join(name), content).unwrap();
        }
        let config = format!(
            "mcp: {{address: \"127.0.0.1:0\"}}\nmeshConfig: mesh.yaml\nsources: [{{files: {{paths: [resources]{files_options}}}}}]\n{groups}"
        );
        let config_path = dir.path().join("galleon.yaml");
        std::fs::write(&config_path, config).unwrap();
        let galleon = Galleon::serve(&["--config", config_path.to_str().unwrap()]).await;
        Self { dir, galleon }
    }

    pub(crate) fn resources(&self) -> PathBuf {
        self.dir.path().join("resources")
    }

    /// Writes a resource file atomically.
    pub(crate) fn write(&self, name: &str, content: &str) {
        write_atomically(&self.resources(), name, content);
    }

    pub(crate) fn remove(&self, name: &str) {
        std::fs::remove_file(self.resources().join(name)).unwrap();
    }

    /// A sink subscribed to `collections`.
    pub(crate) async fn sink(&self, collections: &[&str]) -> RawSink {
        let sink = RawSink::connect(&self.galleon.url(), "test-sink").await;
        for collection in collections {
            sink.subscribe(collection).await;
        }
        sink
    }
}

/// A VirtualService document.
pub(crate) fn vs(name: &str, host: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  hosts: [{host}]\n"
    )
}
