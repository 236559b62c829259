//! History, diff and rollback on the real binary: each edit is a version
//! with its cause and its sinks' answers, `galleon diff` compares two,
//! a rollback reaches an incremental sink as exactly the difference and a
//! release puts the newest back; writes are refused over an admin port
//! that is not loopback, unless a client certificate `admin.tls.writers`
//! lists comes with them.

use std::time::Duration;

use galleon_tests::hub::{FAST, Hub, vs};
use galleon_tests::*;
use serde_json::Value;

const VS: &str = "istio/networking/v1alpha3/virtualservices";

fn versions_path() -> String {
    format!("/debug/history/versions?collection={VS}")
}

async fn history(hub: &Hub) -> Value {
    let (status, body) = hub.galleon.admin_get(&versions_path()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits until the collection's history holds `count` versions.
async fn versions(hub: &Hub, count: usize) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = hub.galleon.admin_get(&versions_path()).await;
        let kept: Value = serde_json::from_str(&body).unwrap_or_default();
        if status == 200 && kept["versions"].as_array().unwrap().len() == count {
            return kept;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} versions: {kept:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn admin_flag(hub: &Hub) -> String {
    hub.galleon.admin.to_string()
}

#[tokio::test]
async fn each_edit_is_a_version_with_its_cause_and_the_sinks_answers() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a-old"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    hub.write("a.yaml", &vs("a", "a-new"));
    let second = sink.recv().await;
    sink.nack(&second, "host a-new is not allowed here").await;

    let deadline = tokio::time::Instant::now() + PATIENCE;
    let kept = loop {
        let kept = versions(&hub, 2).await;
        if !kept["versions"][0]["answers"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break kept;
        }
        assert!(tokio::time::Instant::now() < deadline, "{kept:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (newest, oldest) = (&kept["versions"][0], &kept["versions"][1]);
    assert_eq!(newest["version"], second.system_version_info.as_str());
    assert_eq!(oldest["version"], first.system_version_info.as_str());
    assert_eq!(
        (newest["changed"].as_u64(), newest["added"].as_u64()),
        (Some(1), Some(0))
    );
    let cause = newest["causes"][0].as_str().unwrap();
    assert!(cause.contains("a.yaml:1"), "the file and line: {cause}");
    let nack = &newest["answers"][0];
    assert_eq!(
        (nack["answer"].as_str(), nack["nodeId"].as_str()),
        (Some("nack"), Some("test-sink"))
    );
    assert_eq!(nack["message"], "host a-new is not allowed here");
    assert_eq!(oldest["answers"][0]["answer"], "ack");
}

#[tokio::test]
async fn galleon_diff_shows_the_changed_fields() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a-old")), ("b.yaml", &vs("b", "b"))]).await;
    versions(&hub, 1).await;
    hub.write("a.yaml", &vs("a", "a-new"));
    hub.remove("b.yaml");
    hub.write("c.yaml", &vs("c", "c"));
    // The debounce may split the edits over several versions: compare the
    // first with the newest.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let admin = admin_flag(&hub);
    let diff: Value = loop {
        let kept = history(&hub).await;
        let oldest = format!("@-{}", kept["versions"].as_array().unwrap().len() - 1);
        let (status, all) = run_galleon_out(&[
            "diff",
            VS,
            &oldest,
            "@0",
            "--admin-addr",
            &admin,
            "-o",
            "json",
        ])
        .await;
        assert!(status.success(), "{all}");
        let diff: Value = serde_json::from_str(&all).unwrap();
        if diff["changes"].as_array().unwrap().len() == 3 {
            break diff;
        }
        assert!(tokio::time::Instant::now() < deadline, "{diff:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (status, refusal) = run_galleon_out(&["diff", VS, "@-99", "--admin-addr", &admin]).await;
    assert_eq!(status.code(), Some(1), "{refusal}");
    assert!(refusal.contains("is not a kept version"), "{refusal}");
    let change = |name: &str| {
        diff["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {diff:#}"))
            .clone()
    };
    assert_eq!(change("default/b")["change"], "removed");
    assert_eq!(change("default/c")["change"], "added");
    let a = change("default/a");
    assert_eq!(a["change"], "changed");
    assert_eq!(
        a["patch"],
        serde_json::json!([{"op": "replace", "path": "/body/hosts/0", "value": "a-new"}])
    );
    let yaml = a["yaml"].as_str().unwrap();
    assert!(
        yaml.contains("-  - a-old") && yaml.contains("+  - a-new"),
        "{yaml}"
    );
    // The text output, as people read it.
    let (status, text) = run_galleon_out(&["diff", VS, "@-1", "--admin-addr", &admin]).await;
    assert!(
        status.success() && text.contains("resources that differ"),
        "{text}"
    );
}

#[tokio::test]
async fn a_rollback_reaches_an_incremental_sink_as_the_difference_and_a_release_undoes_it() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a")), ("b.yaml", &vs("b", "b-old"))]).await;
    let sink = RawSink::connect(&hub.galleon.url(), "delta-sink").await;
    sink.subscribe_with(VS, true, Default::default()).await;
    let mut sink = sink;
    let mut push = sink.recv().await;
    sink.ack(&push).await;
    let original = push.system_version_info.clone();
    hub.write("b.yaml", &vs("b", "b-new"));
    hub.write("c.yaml", &vs("c", "c"));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let newest = loop {
        let kept = history(&hub).await;
        let newest = &kept["versions"][0];
        if newest["resources"] == 3 && newest["causes"].to_string().contains("b.yaml") {
            break newest["version"].as_str().unwrap().to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "{kept:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    while push.system_version_info != newest {
        push = sink.recv().await;
        sink.ack(&push).await;
    }

    let admin = admin_flag(&hub);
    let (status, out) =
        run_galleon_out(&["rollback", VS, "--to", &original, "--admin-addr", &admin]).await;
    assert!(status.success(), "{out}");
    assert!(out.contains("pinned to"), "{out}");
    let rolled = sink.recv().await;
    assert!(rolled.incremental, "a delta, not the whole state");
    assert_eq!(
        rolled.system_version_info, original,
        "the old version, as it was"
    );
    assert_eq!(names(&rolled), ["default/b"]);
    assert_eq!(bodies(&rolled)["default/b"]["hosts"][0], "b-old");
    assert_eq!(rolled.removed_resources, ["default/c"]);
    sink.ack(&rolled).await;
    let (_, metrics) = hub.galleon.admin_get("/metrics").await;
    let pinned = format!("galleon_collection_pinned{{group=\"default\",collection=\"{VS}\"}} 1");
    assert!(metrics.contains(&pinned), "{pinned} in /metrics");

    // Sources are still read while pinned, and recorded, but not served.
    hub.write("a.yaml", &vs("a", "a-hidden"));
    sink.expect_silence().await;
    let (_, status_text) = run_galleon_out(&["status", "--admin-addr", &admin]).await;
    assert!(status_text.contains("ROLLED BACK"), "{status_text}");

    let (status, out) =
        run_galleon_out(&["rollback", VS, "--release", "--admin-addr", &admin]).await;
    assert!(status.success(), "{out}");
    let released = sink.recv().await;
    assert!(released.incremental);
    let mut restored = names(&released);
    restored.sort();
    assert_eq!(restored, ["default/a", "default/b", "default/c"]);
    assert_ne!(
        released.system_version_info, newest,
        "a-hidden is served too"
    );
    let kept = history(&hub).await;
    let writes: Vec<&str> = kept["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["action"].as_str().unwrap())
        .collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[0], "release");
    assert!(writes[1].starts_with("rollback to "), "{writes:?}");
}

#[tokio::test]
async fn writes_are_refused_over_an_admin_port_that_is_not_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve_on_every_address(dir.path(), "").await;
    galleon
        .wait_for_admin(&versions_path(), &["\"version\""])
        .await;
    let (status, body) = galleon
        .admin_post(&format!("/debug/rollback?collection={VS}&to=@0"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("not loopback") && body.contains("admin.address"),
        "{body}"
    );
    let (status, _) = galleon
        .admin_post(&format!("/debug/release?collection={VS}"))
        .await;
    assert_eq!(status, 403);
    let (status, body) = galleon
        .admin_post("/debug/plugins/preview?binding=add-label")
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("plugin preview"), "{body}");
    let (_, pins) = galleon.admin_get("/debug/pins").await;
    assert_eq!(pins.trim(), "[]", "nothing was pinned");
}

#[tokio::test]
async fn over_a_non_loopback_admin_port_writes_need_a_listed_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = galleon_tests::pki::TestCa::new("ops CA");
    std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
    ca.server().write(dir.path(), "admin");
    const WRITER: &str = "spiffe://ops/sa/release-bot";
    ca.client(WRITER).write(dir.path(), "writer");
    ca.client("spiffe://ops/sa/dashboard")
        .write(dir.path(), "reader");
    let tls = format!(
        "admin:\n  tls: {{cert: admin.crt, key: admin.key, clientCa: ca.crt, writers: [\"{WRITER}\"]}}\n"
    );
    let galleon = serve_on_every_address(dir.path(), &tls).await;
    let admin = format!("https://127.0.0.1:{}", galleon.admin.port());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (ca_file, writer, writer_key) = (path("ca.crt"), path("writer.crt"), path("writer.key"));
    let (reader, reader_key) = (path("reader.crt"), path("reader.key"));
    let tls = [
        "--admin-addr",
        admin.as_str(),
        "--admin-ca",
        ca_file.as_str(),
    ];
    let as_writer = [
        &tls[..],
        &["--admin-cert", &writer, "--admin-key", &writer_key],
    ]
    .concat();
    let as_reader = [
        &tls[..],
        &["--admin-cert", &reader, "--admin-key", &reader_key],
    ]
    .concat();

    // Reads need no certificate (once the first version is published).
    let started = std::time::Instant::now();
    loop {
        let (status, out) = run_galleon_out(&[&["history", VS][..], &tls].concat()).await;
        if status.success() && out.contains("@-0") {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "{out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // HTTP/2 (ALPN's first choice) names its host in `:authority`, which
    // the Host check reads: a refusal of the write, not of the host.
    let h2 = galleon_tests::admission::WebhookClient::new(galleon.admin, &ca.pem());
    let (status, body) = h2
        .post(&format!("/debug/release?collection={VS}"), Vec::new())
        .await
        .unwrap();
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));

    // A write: refused without a certificate, or with one not listed.
    let rollback = ["rollback", VS, "--to", "@0"];
    let (status, out) = run_galleon_out(&[&rollback[..], &tls].concat()).await;
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("present a client certificate whose identity admin.tls.writers lists"),
        "{out}"
    );
    let (status, out) = run_galleon_out(&[&rollback[..], &as_reader].concat()).await;
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("are not among admin.tls.writers"), "{out}");

    // A listed writer's is taken, and the history names it.
    let (status, out) = run_galleon_out(&[&rollback[..], &as_writer].concat()).await;
    assert!(status.success(), "{out}");
    let (status, out) =
        run_galleon_out(&[&["rollback", VS, "--release"][..], &as_writer].concat()).await;
    assert!(status.success(), "{out}");
    let (_, history) = run_galleon_out(&[&["history", VS, "-o", "json"][..], &tls].concat()).await;
    let history: Value = serde_json::from_str(&history).unwrap();
    let by: Vec<&str> = history["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["by"].as_str().unwrap())
        .collect();
    assert_eq!(by.len(), 2, "{history}");
    assert!(by.iter().all(|b| b.starts_with(WRITER)), "{by:?}");
}

/// A hub in `dir` serving `a.yaml`, its admin server on every address
/// (not loopback), with `extra` configuration.
async fn serve_on_every_address(dir: &std::path::Path, extra: &str) -> Galleon {
    std::fs::create_dir(dir.join("resources")).unwrap();
    std::fs::write(dir.join("resources/a.yaml"), vs("a", "a")).unwrap();
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nsources: [{{files: {{paths: [resources]}}}}]\n{FAST}{extra}"
    );
    std::fs::write(dir.join("galleon.yaml"), config).unwrap();
    let args = ["--config", "galleon.yaml", "--admin-addr", "0.0.0.0:0"];
    Galleon::serve_in(dir, &args).await
}
