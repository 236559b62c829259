//! The etcd source against a real etcd: the initial read and the watch,
//! bad values, a resume that etcd compacted away, and etcd killed and
//! restarted while keys change.

use std::time::Duration;

use galleon_tests::etcd::Etcd;
use galleon_tests::hub::{FAST, vs};
use galleon_tests::proxy::Proxy;
use galleon_tests::*;

use super::hosts;

/// `galleon serve` with an etcd source at `endpoint`, prefix `/galleon/`,
/// publishing a burst of changes as one push.
async fn serve(dir: &std::path::Path, endpoint: &str) -> Galleon {
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\n\
         sources: [{{etcd: {{endpoints: [\"{endpoint}\"], prefix: /galleon/}}}}]\n\
         {FAST}"
    );
    std::fs::write(dir.join("galleon.yaml"), config).unwrap();
    Galleon::serve_in(dir, &["--config", "galleon.yaml"]).await
}

#[tokio::test]
async fn keys_are_read_then_watched_and_a_bad_value_keeps_its_last_good_version() {
    let etcd = Etcd::start();
    etcd.put("/galleon/a.yaml", &vs("a", "a.example"));
    etcd.put(
        "/galleon/bc",
        &format!("{}---\n{}", vs("b", "b.example"), vs("c", "c.example")),
    );
    etcd.put("/elsewhere/d.yaml", &vs("d", "outside.example"));
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &etcd.endpoint()).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(
        hosts(&push),
        [
            ("default/a".into(), "a.example".into()),
            ("default/b".into(), "b.example".into()),
            ("default/c".into(), "c.example".into()),
        ]
    );
    sink.ack(&push).await;

    // A change, through the watch.
    etcd.put("/galleon/a.yaml", &vs("a", "edited.example"));
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/a"]["hosts"][0], "edited.example");
    sink.ack(&push).await;

    // A bad value: reported with the key; what it held stays served.
    etcd.put(
        "/galleon/bc",
        &format!("{}---\nkind: [unclosed\n", vs("b", "b2.example")),
    );
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/b"]["hosts"][0], "b2.example");
    assert_eq!(
        bodies(&push)["default/c"]["hosts"][0],
        "c.example",
        "last good c kept"
    );
    sink.ack(&push).await;
    let diagnostics = galleon
        .wait_for_admin("/debug/diagnostics", &["/galleon/bc"])
        .await;
    assert!(diagnostics.contains("document 1"), "{diagnostics}");

    // Fixed, then deleted.
    etcd.put("/galleon/bc", &vs("b", "b3.example"));
    let push = sink.recv().await;
    assert_eq!(
        hosts(&push),
        [
            ("default/a".into(), "edited.example".into()),
            ("default/b".into(), "b3.example".into()),
        ]
    );
    sink.ack(&push).await;
    let (_, diagnostics) = galleon.admin_get("/debug/diagnostics").await;
    assert!(!diagnostics.contains("/galleon/bc"), "{diagnostics}");
    etcd.delete("/galleon/a.yaml");
    let push = sink.recv().await;
    assert_eq!(hosts(&push), [("default/b".into(), "b3.example".into())]);
    sink.ack(&push).await;
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_compacted_resume_reads_again_and_sends_only_the_difference() {
    let etcd = Etcd::start();
    for name in ["a", "b", "c"] {
        etcd.put(&format!("/galleon/{name}"), &vs(name, "v1"));
    }
    let target = etcd
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = Proxy::start(target).await;
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &proxy.url()).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe_with(VS, true, Default::default()).await;
    let push = sink.recv().await;
    assert_eq!(names(&push).len(), 3);
    sink.ack(&push).await;

    // Cut off, the hub misses a change, a delete and an add, and the
    // history it would resume from is compacted away.
    proxy.cut();
    galleon
        .wait_for_admin(
            "/debug/diagnostics",
            &["serving what was read up to revision"],
        )
        .await;
    etcd.put("/galleon/a", &vs("a", "v2"));
    etcd.delete("/galleon/b");
    etcd.put("/galleon/d", &vs("d", "v1"));
    etcd.compact();
    proxy.restore();
    galleon
        .wait_for_log(&["the resume revision was compacted"])
        .await;

    // One incremental push with exactly the difference.
    let push = sink.recv().await;
    assert!(push.incremental);
    let mut changed = names(&push);
    changed.sort();
    assert_eq!(changed, ["default/a", "default/d"]);
    assert_eq!(push.removed_resources, ["default/b"]);
    sink.ack(&push).await;
    let read = galleon.wait_for_log(&["read", "events=3"]).await;
    assert!(read.contains("keys=3"), "{read}");
    sink.expect_silence().await;
    let (_, diagnostics) = galleon.admin_get("/debug/diagnostics").await;
    assert!(
        !diagnostics.contains("serving what was read"),
        "{diagnostics}"
    );
}

#[tokio::test]
async fn etcd_killed_and_restarted_while_keys_change_loses_and_repeats_nothing() {
    let mut etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &etcd.endpoint()).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert!(names(&push).is_empty());
    sink.ack(&push).await;
    let settled = galleon.metric("galleon_source_events_total").await;

    // Keys written one after another; etcd is killed partway and the
    // writes that fail meanwhile are not counted. (On a blocking thread:
    // the sink's stream stays served meanwhile.)
    let (_etcd, written) = tokio::task::spawn_blocking(move || {
        let mut written = Vec::new();
        for i in 0..60 {
            if i == 20 {
                etcd.kill();
            }
            if i == 30 {
                etcd.restart();
            }
            let name = format!("k{i:03}");
            if etcd
                .try_put(&format!("/galleon/{name}"), &vs(&name, "h"))
                .is_ok()
            {
                written.push(format!("default/{name}"));
            }
            // Every tenth write also edits the first key.
            let edit = vs("k000", &format!("h{i}"));
            if i % 10 == 9 && etcd.try_put("/galleon/k000", &edit).is_ok() {
                written.push("edit".into());
            }
        }
        (etcd, written)
    })
    .await
    .unwrap();
    let keys: Vec<&String> = written.iter().filter(|w| *w != "edit").collect();
    assert_eq!(
        keys.len(),
        50,
        "writes while etcd was down fail: {written:?}"
    );

    // The sink ends up with exactly the keys written, and every write was
    // one event into the pipeline: none lost, none sent twice.
    let expected = written.len() as u64;
    let started = std::time::Instant::now();
    loop {
        let push = sink.recv().await;
        sink.ack(&push).await;
        let served = names(&push);
        if served.len() == keys.len() && bodies(&push)["default/k000"]["hosts"][0] == "h59" {
            let mut served = served;
            served.sort();
            assert_eq!(served.iter().collect::<Vec<_>>(), keys);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{served:?}");
    }
    assert_eq!(
        galleon.metric("galleon_source_events_total").await - settled,
        expected
    );
    galleon.wait_for_log(&["link back up"]).await;
}

/// What etcd holds under `/galleon/`, as the hub should serve it: each
/// key's VirtualService (written with `vs`) by name, with its host.
fn held_by(etcd: &Etcd) -> Vec<(String, String)> {
    let mut held: Vec<(String, String)> = etcd
        .get_prefix("/galleon/")
        .into_iter()
        .map(|(key, value)| {
            let field = |prefix: &str| {
                value
                    .lines()
                    .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned))
                    .unwrap_or_else(|| panic!("{} holds no {prefix}", key.escape_ascii()))
            };
            let host = field("hosts: [");
            (
                format!("default/{}", field("name: ")),
                host.trim_end_matches(']').to_owned(),
            )
        })
        .collect();
    held.sort();
    held
}

/// Receives (and ACKs) pushes until the sink holds exactly what etcd holds,
/// compared key by key.
async fn until_served_as_held(sink: &mut RawSink, etcd: &Etcd) {
    let held = held_by(etcd);
    let started = std::time::Instant::now();
    loop {
        let push = sink.recv().await;
        sink.ack(&push).await;
        if hosts(&push) == held {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "served {:?}, etcd holds {held:?}",
            hosts(&push)
        );
    }
}

#[tokio::test]
async fn etcd_replaced_by_a_new_cluster_is_read_anew_and_served_as_it_holds() {
    let mut etcd = Etcd::start();
    for name in ["a", "b", "c"] {
        etcd.put(&format!("/galleon/{name}"), &vs(name, "old"));
    }
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &etcd.endpoint()).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    until_served_as_held(&mut sink, &etcd).await;

    // A new cluster at the same address (a snapshot restore, a rebuild),
    // written past the old revision so only its id tells it apart.
    etcd.replace_with_new_cluster();
    for name in ["a", "d", "e", "f", "g"] {
        etcd.put(&format!("/galleon/{name}"), &vs(name, "new"));
    }
    etcd.delete("/galleon/g");
    galleon
        .wait_for_log(&["another cluster", "reading the prefix again"])
        .await;
    until_served_as_held(&mut sink, &etcd).await;

    // And it is followed from there.
    etcd.put("/galleon/h", &vs("h", "new"));
    until_served_as_held(&mut sink, &etcd).await;
}

#[tokio::test]
async fn keys_that_are_not_utf8_are_reported_and_never_merged() {
    let etcd = Etcd::start();
    etcd.put("/galleon/ok.yaml", &vs("ok", "ok.example"));
    etcd.put_bytes(b"/galleon/x\xff.yaml", &vs("x1", "x1.example"));
    etcd.put_bytes(b"/galleon/x\xfe.yaml", &vs("x2", "x2.example"));
    let dir = tempfile::tempdir().unwrap();
    let galleon = serve(dir.path(), &etcd.endpoint()).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(hosts(&push), [("default/ok".into(), "ok.example".into())]);
    sink.ack(&push).await;
    let diagnostics = galleon
        .wait_for_admin("/debug/diagnostics", &[r"x\\xff.yaml", r"x\\xfe.yaml"])
        .await;
    assert!(diagnostics.contains("not valid UTF-8"), "{diagnostics}");

    // Deleting one withdraws nothing served and clears only its report.
    etcd.delete_bytes(b"/galleon/x\xff.yaml");
    let started = std::time::Instant::now();
    loop {
        let (_, diagnostics) = galleon.admin_get("/debug/diagnostics").await;
        if !diagnostics.contains(r"x\\xff") {
            assert!(diagnostics.contains(r"x\\xfe"), "{diagnostics}");
            break;
        }
        assert!(started.elapsed() < PATIENCE, "{diagnostics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_value_over_max_value_size_keeps_its_previous_content() {
    let etcd = Etcd::start();
    etcd.put("/galleon/a.yaml", &vs("a", "small.example"));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\n\
         sources: [{{etcd: {{endpoints: [\"{}\"], prefix: /galleon/, maxValueSize: 400}}}}]\n\
         {FAST}",
        etcd.endpoint()
    );
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;

    let padded = format!("{}  # {}\n", vs("a", "large.example"), "x".repeat(1000));
    etcd.put("/galleon/a.yaml", &padded);
    let diagnostics = galleon
        .wait_for_admin("/debug/diagnostics", &["/galleon/a.yaml", "maxValueSize"])
        .await;
    assert!(
        diagnostics.contains("previous content stays served"),
        "{diagnostics}"
    );
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_key_the_crd_refuses_is_kept_out_with_its_key_and_the_last_good_stays() {
    let etcd = Etcd::start();
    etcd.put("/galleon/a.yaml", &vs("a", "a.example"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("crds")).unwrap();
    std::fs::write(dir.path().join("crds/vs.yaml"), galleon_tests::hub::VS_CRD).unwrap();
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nschemas: {{crds: [crds]}}\n\
         sources: [{{etcd: {{endpoints: [\"{}\"], prefix: /galleon/}}}}]\n{FAST}",
        etcd.endpoint()
    );
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(hosts(&push), [("default/a".into(), "a.example".into())]);
    sink.ack(&push).await;

    // Four hosts where the CRD allows three: refused, a.example kept.
    let four = vs("a", "a.example").replace("hosts: [a.example]", "hosts: [a, b, c, d]");
    etcd.put("/galleon/a.yaml", &four);
    galleon
        .wait_for_admin(
            "/debug/diagnostics",
            &[
                "/galleon/a.yaml",
                "spec.hosts: Too many: 4: must have at most 3 items",
            ],
        )
        .await;
    etcd.put("/galleon/b.yaml", &vs("b", "b.example"));
    let push = sink.recv().await;
    assert_eq!(
        hosts(&push),
        [
            ("default/a".into(), "a.example".into()),
            ("default/b".into(), "b.example".into()),
        ]
    );
    sink.ack(&push).await;
}
