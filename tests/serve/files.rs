//! The file source through the whole hub: initial state, changes, bursts and
//! bad input.

use std::time::Duration;

use galleon_tests::*;

use galleon_tests::hub::{FAST, Hub, vs};

fn host(push: &galleon_proto::mcp::Resources, name: &str) -> String {
    bodies(push)[name]["hosts"][0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn serves_a_directory_on_the_documented_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let service = "apiVersion: v1\nkind: Service\nmetadata: {name: ratings, namespace: shop}\nspec:\n  ports: [{port: 9080}]\n";
    let rule = "apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: ratings, namespace: shop}\nspec: {host: ratings}\n";
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(dir.path().join("vs.yaml"), vs("reviews", "reviews")).unwrap();
    std::fs::write(
        dir.path().join("nested/more.yml"),
        format!("{service}---\n{rule}"),
    )
    .unwrap();
    let galleon = Galleon::serve_files(dir.path()).await;

    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    for (collection, expected) in [
        (VS, "default/reviews"),
        (DR, "shop/ratings"),
        ("k8s/core/v1/services", "shop/ratings"),
    ] {
        sink.subscribe(collection).await;
        let push = sink.recv().await;
        assert_eq!(push.collection, collection);
        assert_eq!(names(&push), [expected]);
    }
    assert_eq!(
        bodies(&sink_push_services(&galleon).await)["shop/ratings"]["ports"][0]["port"],
        9080
    );
    assert!(galleon.stop().await, "exits cleanly on SIGTERM");
}

#[tokio::test]
async fn a_relative_directory_names_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/a.yaml"), vs("a", "a")).unwrap();
    let galleon = Galleon::serve_in(
        dir.path(),
        &["--files", "conf", "--mcp-addr", "127.0.0.1:0"],
    )
    .await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    // A change arrives through a notification (absolute path); it must be
    // the same file the walk found (relative root), not a duplicate of it.
    write_atomically(&dir.path().join("conf"), "a.yaml", vs("a", "changed"));
    let changed = sink.recv().await;
    assert_eq!(host(&changed, "default/a"), "changed");
    assert!(!galleon.log().contains("duplicate"), "{}", galleon.log());
}

async fn sink_push_services(galleon: &Galleon) -> galleon_proto::mcp::Resources {
    let mut sink = RawSink::connect(&galleon.url(), "pilot-2").await;
    sink.subscribe("k8s/core/v1/services").await;
    sink.recv().await
}

#[tokio::test]
async fn adding_changing_and_deleting_files_push_the_change() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a.example.com"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    assert_eq!(names(&first), ["default/a"]);
    sink.ack(&first).await;

    hub.write("b.yaml", &vs("b", "b.example.com"));
    let added = sink.recv().await;
    assert_eq!(names(&added), ["default/a", "default/b"]);
    sink.ack(&added).await;

    hub.write("a.yaml", &vs("a", "changed.example.com"));
    let changed = sink.recv().await;
    assert_eq!(host(&changed, "default/a"), "changed.example.com");
    assert_eq!(
        versions(&changed)["default/b"],
        versions(&added)["default/b"],
        "b untouched"
    );
    sink.ack(&changed).await;

    hub.remove("b.yaml");
    let deleted = sink.recv().await;
    assert_eq!(names(&deleted), ["default/a"]);
    sink.ack(&deleted).await;
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_burst_of_edits_coalesces_into_few_pushes_of_the_final_state() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "h0"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let initial = sink.recv().await;
    sink.ack(&initial).await;

    for i in 1..=100 {
        hub.write("a.yaml", &vs("a", &format!("h{i}")));
    }
    let mut pushes = 0;
    loop {
        let push = sink.recv().await;
        pushes += 1;
        sink.ack(&push).await;
        if host(&push, "default/a") == "h100" {
            break;
        }
    }
    assert!(pushes <= 5, "100 edits became {pushes} pushes");
    sink.expect_silence().await;
}

#[tokio::test]
async fn a_malformed_document_is_reported_and_loses_nothing() {
    let file = format!("{}---\n{}", vs("a", "a1"), vs("b", "b1"));
    let hub = Hub::start(&[("multi.yaml", &file)]).await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    sink.ack(&first).await;

    // Document 1 breaks while document 0 changes.
    let broken = format!("{}---\n{}  http: [unclosed\n", vs("a", "a2"), vs("b", "b2"));
    hub.write("multi.yaml", &broken);
    let push = sink.recv().await;
    assert_eq!(
        host(&push, "default/a"),
        "a2",
        "the good document's change is served"
    );
    assert_eq!(
        host(&push, "default/b"),
        "b1",
        "the bad document keeps its last good version"
    );
    let line = hub
        .galleon
        .wait_for_log(&["multi.yaml:16:", "(document 1)", "unclosed"])
        .await;
    assert!(line.contains("WARN"), "{line}");
    sink.ack(&push).await;

    hub.write(
        "multi.yaml",
        &format!("{}---\n{}", vs("a", "a2"), vs("b", "b3")),
    );
    let fixed = sink.recv().await;
    assert_eq!(host(&fixed, "default/b"), "b3");
}

#[tokio::test]
async fn duplicate_names_are_reported_and_the_first_path_wins() {
    let hub = Hub::start(&[
        ("1.yaml", &vs("a", "from-one")),
        ("2.yaml", &vs("a", "from-two")),
    ])
    .await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    assert_eq!(host(&first, "default/a"), "from-one");
    hub.galleon
        .wait_for_log(&[
            "2.yaml:1 (document 0)",
            "duplicate",
            "default/a",
            "already defined at",
            "1.yaml",
        ])
        .await;
    sink.ack(&first).await;

    hub.remove("1.yaml");
    let takeover = sink.recv().await;
    assert_eq!(host(&takeover, "default/a"), "from-two");
}

#[tokio::test]
async fn the_api_versions_of_a_kind_are_one_resource() {
    let v1 = |name: &str, host: &str| {
        vs(name, host).replace("networking.istio.io/v1alpha3", "networking.istio.io/v1")
    };
    let hub = Hub::start(&[
        ("1-v1alpha3.yaml", &vs("a", "a-v1alpha3")),
        (
            "2-v1.yaml",
            &format!("{}---\n{}", v1("b", "b-v1"), v1("a", "a-v1")),
        ),
    ])
    .await;
    let mut sink = hub.sink(&[VS]).await;
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    assert_eq!(host(&push, "default/a"), "a-v1alpha3");
    assert_eq!(host(&push, "default/b"), "b-v1");
    hub.galleon
        .wait_for_log(&[
            "2-v1.yaml:",
            "(document 1)",
            "duplicate",
            "default/a",
            "1-v1alpha3.yaml",
        ])
        .await;
}

#[tokio::test]
async fn unreadable_unknown_nameless_and_oversized_files_are_reported_and_lose_nothing() {
    let (good, big) = (vs("a", "a1"), vs("big", "big1"));
    let files = [("good.yaml", good.as_str()), ("big.yaml", big.as_str())];
    let hub = Hub::start_with(&files, FAST, ", maxFileSize: 4096").await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    assert_eq!(names(&first), ["default/a", "default/big"]);
    sink.ack(&first).await;

    hub.write(
        "big.yaml",
        &format!("{}# {}\n", vs("big", "big2"), "x".repeat(8192)),
    );
    std::fs::write(
        hub.resources().join("binary.yaml"),
        [0x61, 0x3a, 0x20, 0xff, 0xfe],
    )
    .unwrap();
    hub.write(
        "unknown.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
    );
    hub.write("nameless.yaml", "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {namespace: x}\n");
    hub.galleon
        .wait_for_log(&["big.yaml", "over the 4096-byte limit"])
        .await;
    hub.galleon
        .wait_for_log(&["binary.yaml", "not UTF-8"])
        .await;
    hub.galleon
        .wait_for_log(&["unknown.yaml:1 (document 0)", "unknown kind Widget"])
        .await;
    hub.galleon
        .wait_for_log(&["nameless.yaml:1 (document 0)", "no metadata.name"])
        .await;
    // Nothing served changed: no push, and a new sink still gets both.
    sink.expect_silence().await;
    let mut late = hub.sink(&[VS]).await;
    let state = late.recv().await;
    assert_eq!(host(&state, "default/big"), "big1");
    assert_eq!(names(&state), ["default/a", "default/big"]);
}

#[tokio::test]
async fn debounce_waits_for_quiet_and_reports_time_to_push() {
    let groups = "groups: [{name: default, strategy: debounce, maxDelay: 2s, quiesce: 400ms}]\n";
    let hub = Hub::start_with(&[("a.yaml", &vs("a", "h0"))], groups, "").await;
    let mut sink = hub.sink(&[VS]).await;
    let initial = sink.recv().await;
    sink.ack(&initial).await;
    let start = tokio::time::Instant::now();
    hub.write("a.yaml", &vs("a", "h1"));
    let push = sink.recv().await;
    let waited = start.elapsed();
    assert_eq!(host(&push, "default/a"), "h1");
    assert!(
        waited >= Duration::from_millis(400),
        "published after {waited:?}, before the quiesce time"
    );
}

#[tokio::test]
async fn a_directory_moved_away_takes_its_problems_with_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("resources/broken")).unwrap();
    std::fs::write(dir.path().join("resources/a.yaml"), vs("a", "a")).unwrap();
    std::fs::write(
        dir.path().join("resources/broken/bad.yaml"),
        "kind: [unclosed\n",
    )
    .unwrap();
    let resources = dir.path().join("resources");
    let galleon = Galleon::serve_files(&resources).await;
    galleon
        .wait_for_admin("/debug/diagnostics", &["broken/bad.yaml"])
        .await;
    assert_eq!(galleon.metric("galleon_input_problems").await, 1);

    // Moved out of the tree whole: one notification, for the directory.
    std::fs::rename(
        dir.path().join("resources/broken"),
        dir.path().join("elsewhere"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    while galleon.metric("galleon_input_problems").await != 0 {
        assert!(started.elapsed() < PATIENCE, "the problem stayed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, diagnostics) = galleon.admin_get("/debug/diagnostics").await;
    assert!(!diagnostics.contains("bad.yaml"), "{diagnostics}");
}

/// A misspelled xDS type is answered empty, as the protocol asks, and the
/// hub says which type was meant; before, only a debug line.
#[tokio::test]
async fn a_misspelled_xds_type_is_answered_empty_and_named_with_the_type_meant() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vs.yaml"), vs("reviews", "reviews")).unwrap();
    let galleon = Galleon::serve_files(dir.path()).await;
    let mut watch = WatchCli::start_with(&[
        "--addr",
        &galleon.url(),
        "--xds",
        "--type",
        "networking.istio.io/v1/VirtualServce",
    ]);
    assert!(watch.next_names().await.is_empty(), "answered empty");
    galleon
        .wait_for_log(&[
            "networking.istio.io/v1/VirtualServce",
            "which this hub does not serve",
            "did you mean \"networking.istio.io/v1/VirtualService\"?",
        ])
        .await;
}
