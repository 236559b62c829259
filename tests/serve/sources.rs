//! The file source under load and under loss: it reads each file once (its
//! own reads never wake it), refuses a missing root at start, keeps serving
//! what a vanished root held until it returns, and serves a 100,000-document
//! file without holding up other files' edits.

use std::time::Duration;

use galleon_tests::hub::{FAST, Hub, MESH, vs};
use galleon_tests::*;

/// Log filter that shows every file the hub reads.
const READS: &str = "info,galleon_sources=debug,galleon_plugin_host=debug";

#[tokio::test]
async fn an_idle_hub_reads_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(
            dir.path().join(format!("resources/{name}.yaml")),
            vs(name, name),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("mesh.yaml"), "ingressClass: istio\n").unwrap();
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nmeshConfig: mesh.yaml\nsources: [{{files: {{paths: [resources]}}}}]\nplugins: {{builtinDir: builtin}}\n{FAST}"
    );
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_logged(dir.path(), &["--config", "galleon.yaml"], READS).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(names(&push).len(), 3);
    sink.ack(&push).await;

    // Idle for a few seconds: every read so far was the first one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for name in ["a", "b", "c"] {
        let loads = galleon.log_lines(&["loaded", &format!("{name}.yaml")]);
        assert_eq!(loads.len(), 1, "{name}.yaml loaded {loads:#?}");
    }
    let mesh_reads = galleon.log_lines(&["reading mesh config"]);
    assert_eq!(mesh_reads.len(), 1, "{mesh_reads:#?}");
    let plugin_reads = galleon.log_lines(&["reading plugin file"]);
    assert!(plugin_reads.is_empty(), "{plugin_reads:#?}");
    // Started from a relative `--config`, its re-read resolves paths alike.
    let changed = galleon.log_lines(&["configuration file changed"]);
    assert!(changed.is_empty(), "{changed:#?}");
    sink.expect_silence().await;

    // A real edit is still seen, once.
    write_atomically(&dir.path().join("resources"), "a.yaml", vs("a", "edited"));
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/a"]["hosts"][0], "edited");
    sink.ack(&push).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(galleon.log_lines(&["loaded", "a.yaml"]).len(), 2);
    // As `sed -i` edits: a temporary file without an extension, renamed
    // into place. Only the edited file is read again.
    let resources = dir.path().join("resources");
    std::fs::write(resources.join("sedX1y2Z3"), vs("a", "sed")).unwrap();
    std::fs::rename(resources.join("sedX1y2Z3"), resources.join("a.yaml")).unwrap();
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/a"]["hosts"][0], "sed");
    sink.ack(&push).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(galleon.log_lines(&["loaded", "a.yaml"]).len(), 3);
    assert_eq!(
        galleon.log_lines(&["loaded", "b.yaml"]).len(),
        1,
        "no rescan"
    );
    // Touching a plugin file with the same bytes reads it once, no more.
    let ingress = dir.path().join("builtin/ingress.wasm");
    let bytes = std::fs::read(&ingress).unwrap();
    std::fs::write(&ingress, bytes).unwrap();
    galleon
        .wait_for_log(&["reading plugin file", "ingress"])
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let plugin_reads = galleon.log_lines(&["reading plugin file"]);
    assert_eq!(plugin_reads.len(), 1, "{plugin_reads:#?}");
}

#[tokio::test]
async fn a_missing_root_at_start_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let (status, stderr) = run_galleon(&[
        "serve",
        "--files",
        missing.to_str().unwrap(),
        "--mcp-addr",
        "127.0.0.1:0",
    ])
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains(missing.to_str().unwrap()) && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_optional_root_is_served_once_it_appears() {
    let hub = Hub::start_with(&[], FAST, ", optional: true").await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    std::fs::remove_dir(hub.resources()).unwrap();
    hub.galleon.wait_for_log(&["root is missing"]).await;
    std::fs::create_dir(hub.resources()).unwrap();
    std::fs::write(hub.resources().join("late.yaml"), vs("late", "late")).unwrap();
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/late"]);
}

#[tokio::test]
async fn a_root_that_vanishes_keeps_its_resources_served_until_it_returns() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a")), ("b.yaml", &vs("b", "b"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    assert_eq!(names(&first), ["default/a", "default/b"]);
    sink.ack(&first).await;

    let aside = hub.dir.path().join("aside");
    std::fs::rename(hub.resources(), &aside).unwrap();
    hub.galleon
        .wait_for_log(&["does not exist", "stays served"])
        .await;
    sink.expect_silence().await;

    // Back, with one file changed: served from its new content.
    std::fs::write(aside.join("b.yaml"), vs("b", "b-edited")).unwrap();
    std::fs::rename(&aside, hub.resources()).unwrap();
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    assert_eq!(bodies(&push)["default/b"]["hosts"][0], "b-edited");
    sink.ack(&push).await;

    // Watched again: a later edit is seen.
    hub.write("a.yaml", &vs("a", "a-edited"));
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/a"]["hosts"][0], "a-edited");
    sink.ack(&push).await;

    // Deleting every file of a root that exists is a real deletion.
    hub.remove("a.yaml");
    hub.remove("b.yaml");
    let mut push = sink.recv().await;
    while !names(&push).is_empty() {
        sink.ack(&push).await;
        push = sink.recv().await;
    }
}

#[tokio::test]
async fn a_root_replaced_wholesale_is_watched_again() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;

    // rm -rf DIR; cp -r backup DIR
    let backup = tempfile::tempdir().unwrap();
    std::fs::write(backup.path().join("c.yaml"), vs("c", "c")).unwrap();
    std::fs::remove_dir_all(hub.resources()).unwrap();
    std::fs::create_dir(hub.resources()).unwrap();
    std::fs::copy(backup.path().join("c.yaml"), hub.resources().join("c.yaml")).unwrap();
    let mut push = sink.recv().await;
    while names(&push) != ["default/c"] {
        sink.ack(&push).await;
        push = sink.recv().await;
    }
    sink.ack(&push).await;
    hub.write("d.yaml", &vs("d", "d"));
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/c", "default/d"]);
}

#[tokio::test]
async fn a_hundred_thousand_documents_in_one_file_are_served_and_other_edits_too() {
    const DOCUMENTS: usize = 100_000;
    let big: String = (0..DOCUMENTS)
        .map(|i| format!("{}---\n", vs(&format!("vs-{i}"), &format!("h{i}"))))
        .collect();
    let hub = Hub::start(&[("big.yaml", &big)]).await;
    let mut sink = hub.sink(&[VS, MESH]).await;
    // Written while the big file may still be loading.
    hub.write("small.yaml", &vs("small", "small"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        // Not `recv`: its patience is shorter than a loaded machine may
        // need for this push.
        let push = tokio::time::timeout_at(deadline, sink.next_unbounded())
            .await
            .expect("the big file is served within two minutes")
            .expect("the stream does not fail")
            .expect("the stream stays open");
        sink.ack(&push).await;
        if push.collection == VS && push.resources.len() == DOCUMENTS + 1 {
            assert!(names(&push).contains(&"default/small".to_string()));
            break;
        }
    }
}

#[tokio::test]
async fn sigterm_during_a_big_load_exits_without_waiting_for_it() {
    let big: String = (0..100_000)
        .map(|i| format!("{}---\n", vs(&format!("vs-{i}"), &format!("h{i}"))))
        .collect();
    let hub = Hub::start(&[("big.yaml", &big)]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let galleon = hub.galleon;
    let still_loading = galleon.log_lines(&["loaded", "source=files"]).is_empty();
    assert!(still_loading, "the load is still under way when stopped");
    assert!(galleon.stop().await, "exits cleanly mid-load");
}

/// Lays out a Kubernetes volume generation as kubelet's atomic writer does:
/// a hidden timestamped directory holding the files.
fn volume_generation(root: &std::path::Path, name: &str, files: &[(&str, String)]) {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    for (file, content) in files {
        std::fs::write(dir.join(file), content).unwrap();
    }
}

#[tokio::test]
async fn a_configmap_volume_swap_is_served_whole() {
    use std::os::unix::fs::symlink;
    let hub = Hub::start(&[]).await;
    let root = hub.resources();
    // The volume as kubelet first writes it.
    volume_generation(
        &root,
        "..2026_11_29_01",
        &[("a.yaml", vs("a", "a-old")), ("b.yaml", vs("b", "b"))],
    );
    symlink("..2026_11_29_01", root.join("..data")).unwrap();
    for file in ["a.yaml", "b.yaml"] {
        symlink(format!("..data/{file}"), root.join(file)).unwrap();
    }
    let mut sink = hub.sink(&[VS]).await;
    let mut push = sink.recv().await;
    while names(&push).len() != 2 {
        sink.ack(&push).await;
        push = sink.recv().await;
    }
    sink.ack(&push).await;

    // An update in kubelet's order: new generation, `..data` swapped by a
    // rename, new visible links, stale links and the old generation removed.
    volume_generation(
        &root,
        "..2026_11_29_02",
        &[("a.yaml", vs("a", "a-new")), ("c.yaml", vs("c", "c"))],
    );
    symlink("..2026_11_29_02", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    symlink("..data/c.yaml", root.join("c.yaml")).unwrap();
    std::fs::remove_file(root.join("b.yaml")).unwrap();
    std::fs::remove_dir_all(root.join("..2026_11_29_01")).unwrap();

    // Every push is old or new content, never both; the last is the new.
    loop {
        let push = sink.recv().await;
        sink.ack(&push).await;
        let hosts = bodies(&push);
        let host = |name: &str| {
            hosts
                .get(name)
                .map(|b| b["hosts"][0].as_str().unwrap().to_owned())
        };
        let a = host("default/a");
        assert_ne!(
            a.as_deref(),
            Some("a-old"),
            "old content after the swap: {hosts:?}"
        );
        assert!(
            !hosts.contains_key("default/b"),
            "a file of the old generation: {hosts:?}"
        );
        if a.as_deref() == Some("a-new") && host("default/c").is_some() {
            break;
        }
    }
}

#[tokio::test]
async fn links_out_of_the_root_are_refused_and_loops_reported_once() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yaml"), vs("secret", "secret")).unwrap();
    let hub = Hub::start(&[("a.yaml", &vs("a", "a"))]).await;
    let root = hub.resources();
    symlink(outside.path().join("secret.yaml"), root.join("secret.yaml")).unwrap();
    symlink(outside.path(), root.join("outside")).unwrap();
    symlink(&root, root.join("loop")).unwrap();
    hub.galleon
        .wait_for_log(&["secret.yaml", "leads out of the root"])
        .await;
    hub.galleon.wait_for_log(&["loops back"]).await;
    let mut sink = hub.sink(&[VS]).await;
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a"], "nothing from outside the root");
    sink.ack(&push).await;
    // Rescans find the same problems: reported once, not every time.
    for _ in 0..3 {
        hub.galleon.signal("HUP");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(hub.galleon.log_lines(&["loops back"]).len(), 1);
    assert_eq!(hub.galleon.log_lines(&["leads out of the root"]).len(), 2);
}

#[tokio::test]
async fn an_unreadable_directory_withdraws_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let open = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    // Run as `nobody`: root reads any directory whatever its mode.
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), 0o755);
    let resources = dir.path().join("resources");
    std::fs::create_dir_all(resources.join("team")).unwrap();
    std::fs::write(resources.join("team/a.yaml"), vs("a", "a")).unwrap();
    std::fs::write(resources.join("b.yaml"), vs("b", "b")).unwrap();
    let config = "mcp: {address: \"127.0.0.1:0\"}\nsources: [{files: {paths: [resources]}}]\nplugins: {builtins: {authpolicy: {enabled: false}, ingress: {enabled: false}, serviceentry: {enabled: false}}}\n";
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_as_nobody(dir.path(), &["--config", "galleon.yaml"]).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    sink.ack(&push).await;

    open(&resources.join("team"), 0o000);
    galleon.signal("HUP");
    galleon
        .wait_for_log(&["team", "Permission denied", "stays served"])
        .await;
    sink.expect_silence().await;

    open(&resources.join("team"), 0o755);
    std::fs::write(resources.join("team/a.yaml"), vs("a", "a2")).unwrap();
    let push = sink.recv().await;
    assert_eq!(bodies(&push)["default/a"]["hosts"][0], "a2");
}
