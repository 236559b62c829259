//! `galleon serve` on a temporary directory (resources, mesh config and a
//! hub configuration), with short debounce timings so tests run fast.

use std::path::PathBuf;

use tempfile::TempDir;

use crate::{Galleon, RawSink, write_atomically};

/// The mesh-config collection.
pub const MESH: &str = "istio/mesh/v1alpha1/MeshConfig";

/// The mesh-config collection.
/// A `galleon serve --config` over `<tmp>/resources` and `<tmp>/mesh.yaml`.
pub struct Hub {
    /// The temporary directory.
    pub dir: TempDir,
    /// The running binary.
    pub galleon: Galleon,
}

/// Debounce 50 ms quiesce / 300 ms max, so a change lands in well under a
/// second.
pub const FAST: &str =
    "groups: [{name: default, strategy: debounce, maxDelay: 300ms, quiesce: 50ms}]\n";

impl Hub {
    /// Serves `(name, content)` resource files.
    pub async fn start(files: &[(&str, &str)]) -> Self {
        Self::start_with(files, FAST, "").await
    }

    /// Serves resource files with extra configuration (`extra`, appended)
    /// and file-source options (`files_options`, e.g. `, watch: false`).
    pub async fn start_with(files: &[(&str, &str)], extra: &str, files_options: &str) -> Self {
        Self::start_meshed(files, "ingressClass: istio\n", extra, files_options).await
    }

    /// Serves resource files with `mesh` as the mesh configuration file.
    pub async fn start_meshed(
        files: &[(&str, &str)],
        mesh: &str,
        extra: &str,
        files_options: &str,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("resources")).unwrap();
        std::fs::write(dir.path().join("mesh.yaml"), mesh).unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join("resources").join(name), content).unwrap();
        }
        let config = format!(
            "mcp: {{address: \"127.0.0.1:0\"}}\nmeshConfig: mesh.yaml\nsources: [{{files: {{paths: [resources]{files_options}}}}}]\n{extra}"
        );
        let config_path = dir.path().join("galleon.yaml");
        std::fs::write(&config_path, config).unwrap();
        let galleon = Galleon::serve(&["--config", config_path.to_str().unwrap()]).await;
        Self { dir, galleon }
    }

    /// Stops it (SIGTERM) and serves the same configuration again, on a new
    /// port.
    pub async fn restart(self) -> Self {
        let Self { dir, galleon } = self;
        assert!(galleon.stop().await, "exits cleanly");
        let config = dir.path().join("galleon.yaml");
        let galleon = Galleon::serve(&["--config", config.to_str().unwrap()]).await;
        Self { dir, galleon }
    }

    /// The resources directory.
    pub fn resources(&self) -> PathBuf {
        self.dir.path().join("resources")
    }

    /// Writes a resource file atomically.
    pub fn write(&self, name: &str, content: &str) {
        write_atomically(&self.resources(), name, content);
    }

    /// Deletes a resource file.
    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.resources().join(name)).unwrap();
    }

    /// A sink subscribed to `collections`.
    pub async fn sink(&self, collections: &[&str]) -> RawSink {
        let sink = RawSink::connect(&self.galleon.url(), "test-sink").await;
        for collection in collections {
            sink.subscribe(collection).await;
        }
        sink
    }
}

/// A VirtualService document.
pub fn vs(name: &str, host: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  hosts: [{host}]\n"
    )
}

/// A VirtualService CRD of the tests' own, written as istio/api writes
/// them: at most 3 hosts, an HTTP timeout of at least 1ms (a CEL rule), a
/// route weight of at least 0.
pub const VS_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: virtualservices.networking.istio.io
spec:
  group: networking.istio.io
  names: {kind: VirtualService, plural: virtualservices, singular: virtualservice, listKind: VirtualServiceList}
  scope: Namespaced
  versions:
  - name: v1alpha3
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              hosts:
                type: array
                maxItems: 3
                items: {type: string}
              http:
                type: array
                items:
                  type: object
                  properties:
                    timeout:
                      type: string
                      x-kubernetes-validations:
                      - rule: "duration(self) >= duration('1ms')"
                        message: must be a valid duration greater than 1ms
                    route:
                      type: array
                      items:
                        type: object
                        properties:
                          weight: {type: integer, format: int32, minimum: 0}
"#;

/// `galleon serve` over `resources/` with `mcp_settings` in its `mcp:` map.
pub async fn serve_with_mcp(mcp_settings: &str) -> (tempfile::TempDir, crate::Galleon) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    std::fs::write(dir.path().join("resources/a.yaml"), vs("a", "a")).unwrap();
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\", {mcp_settings}}}\nsources: [{{files: {{paths: [resources]}}}}]\n"
    );
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let galleon = crate::Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    (dir, galleon)
}
