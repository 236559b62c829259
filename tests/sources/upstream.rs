//! Two galleons chained: the downstream's only source is the upstream, over
//! MCP or over MCP over xDS. An edit on the upstream's files reaches a sink
//! of the downstream; while the upstream is down the downstream keeps
//! serving its last state, and what changed meanwhile arrives once it is
//! back.

use galleon_tests::hub::{FAST, vs};
use galleon_tests::*;

use super::hosts;

/// An upstream `galleon serve` over `dir/resources` on a fixed port (so a
/// restart comes back at the same address).
struct Upstream {
    dir: tempfile::TempDir,
    port: u16,
    galleon: Option<Galleon>,
}

impl Upstream {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("resources")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let config = format!(
            "mcp: {{address: \"127.0.0.1:{port}\"}}\n\
             sources: [{{files: {{paths: [resources]}}}}]\n\
             groups: [{{name: default, strategy: immediate}}]\n"
        );
        std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
        let mut upstream = Self {
            dir,
            port,
            galleon: None,
        };
        upstream.write("a.yaml", &vs("a", "a.example"));
        upstream.write("b.yaml", &vs("b", "b.example"));
        upstream.restart().await;
        upstream
    }

    async fn restart(&mut self) {
        self.stop().await;
        let galleon = Galleon::serve_in(self.dir.path(), &["--config", "galleon.yaml"]).await;
        self.galleon = Some(galleon);
    }

    async fn stop(&mut self) {
        if let Some(galleon) = self.galleon.take() {
            assert!(galleon.stop().await, "the upstream exits cleanly");
        }
    }

    fn write(&self, name: &str, content: &str) {
        write_atomically(&self.dir.path().join("resources"), name, content);
    }

    fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir.path().join("resources").join(name)).unwrap();
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A downstream `galleon serve` whose one source is `source` (YAML),
/// publishing a burst of changes as one push.
async fn downstream(dir: &std::path::Path, source: &str) -> Galleon {
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\n\
         sources: [{source}]\n\
         {FAST}"
    );
    std::fs::write(dir.join("galleon.yaml"), config).unwrap();
    Galleon::serve_in(dir, &["--config", "galleon.yaml"]).await
}

async fn chained(source: impl Fn(&str) -> String) {
    let mut upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let galleon = downstream(dir.path(), &source(&upstream.url())).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(
        hosts(&push),
        [
            ("default/a".into(), "a.example".into()),
            ("default/b".into(), "b.example".into()),
        ]
    );
    sink.ack(&push).await;

    // An edit upstream reaches the downstream's sink.
    upstream.write("a.yaml", &vs("a", "edited.example"));
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/a"]["hosts"][0], "edited.example");
    assert_eq!(names(&push).len(), 2);
    sink.ack(&push).await;

    // The upstream goes away: the downstream keeps serving, says why.
    upstream.stop().await;
    galleon
        .wait_for_admin("/debug/diagnostics", &["serving the last state it sent"])
        .await;
    sink.expect_silence().await;

    // What changed while it was down arrives once it is back, once.
    upstream.remove("b.yaml");
    upstream.write("c.yaml", &vs("c", "c.example"));
    upstream.restart().await;
    let push = sink.recv().await;
    assert_eq!(
        hosts(&push),
        [
            ("default/a".into(), "edited.example".into()),
            ("default/c".into(), "c.example".into()),
        ]
    );
    sink.ack(&push).await;
    galleon.wait_for_log(&["link back up"]).await;
    sink.expect_silence().await;
    let (_, diagnostics) = galleon.admin_get("/debug/diagnostics").await;
    assert!(
        !diagnostics.contains("serving the last state"),
        "{diagnostics}"
    );
}

#[tokio::test]
async fn hubs_chained_over_mcp_pass_edits_and_survive_an_upstream_restart() {
    chained(|url| format!("{{mcp: {{address: \"{url}\", collections: [{VS}]}}}}")).await;
}

#[tokio::test]
async fn hubs_chained_over_xds_pass_edits_and_survive_an_upstream_restart() {
    chained(|url| {
        format!(
            "{{xds: {{address: \"{url}\", types: [networking.istio.io/v1alpha3/VirtualService]}}}}"
        )
    })
    .await;
}

#[tokio::test]
async fn an_upstream_collection_no_kind_produces_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("galleon.yaml"),
        "sources: [{mcp: {address: \"http://127.0.0.1:1\", collections: [istio/nothing/v1/things]}}]\n",
    )
    .unwrap();
    let (status, stderr) = run_galleon(&[
        "serve",
        "--config",
        dir.path().join("galleon.yaml").to_str().unwrap(),
    ])
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("istio/nothing/v1/things is not an output collection of a known kind"),
        "{stderr}"
    );
}
