//! `galleon watch`, the real binary, against a real source.

use std::process::Stdio;

use galleon_tests::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn watch_prints_one_json_object_per_push_and_exits_after_count() {
    let source = TestServer::start(&[VS, DR]).await;
    let mut resource = resource(
        "ns/reviews",
        r#"{"hosts":["reviews"],"http":[{"route":[{"destination":{"host":"reviews","port":{"number":9080}}}]}]}"#,
    );
    let metadata = resource.metadata.as_mut().unwrap();
    metadata.labels.insert("app".into(), "reviews".into());
    metadata.annotations.insert("owner".into(), "team-a".into());
    let snapshot = galleon_mcp::cache::Snapshot::builder()
        .collection(VS, [galleon_mcp::cache::CachedResource::new(resource)])
        .build();
    source.cache().set_snapshot("default", snapshot);

    let mut child = Command::new(galleon_binary())
        .args([
            "watch",
            "--addr",
            &source.url(),
            "--collection",
            VS,
            "--count",
            "2",
            "--incremental",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run galleon watch");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let next_line = async |lines: &mut tokio::io::Lines<_>| -> Value {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).expect("each line is JSON")
    };

    let first = next_line(&mut lines).await;
    assert_eq!(first["collection"], VS);
    assert_eq!(first["incremental"], false);
    let printed = &first["resources"][0];
    assert_eq!(printed["name"], "ns/reviews");
    assert_eq!(printed["labels"]["app"], "reviews");
    assert_eq!(printed["annotations"]["owner"], "team-a");
    assert_eq!(printed["body"]["hosts"][0], "reviews");
    assert_eq!(
        printed["body"]["http"][0]["route"][0]["destination"]["port"]["number"],
        9080
    );
    assert_eq!(printed["version"].as_str().unwrap().len(), 32);

    // The second push is a delta (the first was ACKed): a removal.
    source.publish(VS, &[]);
    let second = next_line(&mut lines).await;
    assert_eq!(second["incremental"], true);
    assert_eq!(second["removed"][0], "ns/reviews");
    assert_ne!(second["nonce"], first["nonce"]);

    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("exits after --count")
        .unwrap();
    assert!(status.success());
}
