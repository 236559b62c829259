//! Hostile input through the real binary: names that break Kubernetes'
//! rules, a newline that would forge a log line, a megabyte nonce, bodies
//! too deep for sinks to decode. Each is refused with where and why, the
//! log stays one line per event and bounded, and everything else is served.

use galleon_proto::mcp::RequestResources;
use galleon_tests::hub::{Hub, vs};
use galleon_tests::*;

fn named(name: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {{name: {name:?}}}\nspec: {{hosts: [h]}}\n"
    )
}

#[tokio::test]
async fn names_that_break_kubernetes_rules_are_refused_with_their_location() {
    let bad: String = [
        "probe/a/b".to_owned(),
        "../../../etc".to_owned(),
        "nul\0byte".to_owned(),
        "Upper".to_owned(),
        "x".repeat(100_000),
    ]
    .iter()
    .map(|name| format!("{}---\n", named(name)))
    .collect();
    let hub = Hub::start(&[("good.yaml", &vs("good", "good")), ("bad.yaml", &bad)]).await;
    let mut sink = hub.sink(&[VS]).await;
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/good"]);
    for document in 0..5 {
        hub.galleon
            .wait_for_log(&[
                &format!("(document {document})"),
                "bad.yaml",
                "metadata.name",
            ])
            .await;
    }
    let longest = hub.galleon.log().lines().map(str::len).max().unwrap();
    assert!(longest < 2_000, "a log line of {longest} bytes");
}

#[tokio::test]
async fn a_newline_in_a_name_cannot_forge_a_log_line() {
    let forged = "2026-11-29T00:00:00.000000Z  INFO galleon::hub: forged";
    let hub = Hub::start(&[("evil.yaml", &named(&format!("evil\n{forged}")))]).await;
    hub.galleon
        .wait_for_log(&["evil.yaml", "metadata.name"])
        .await;
    let log = hub.galleon.log();
    assert!(
        !log.lines().any(|line| line.starts_with(forged)),
        "a forged line: {log}"
    );
    assert!(
        log.contains("\\n2026-11-29"),
        "the newline is shown escaped"
    );
}

#[tokio::test]
async fn a_megabyte_nonce_costs_one_bounded_log_line() {
    let hub = Hub::start(&[("a.yaml", &vs("a", "a"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    for _ in 0..3 {
        sink.send(RequestResources {
            collection: VS.into(),
            response_nonce: "n".repeat(1 << 20),
            ..Default::default()
        })
        .await;
    }
    hub.galleon.wait_for_log(&["stale or unknown nonce"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let lines = hub.galleon.log_lines(&["stale or unknown nonce"]);
    // The 1st and 2nd are logged, the 3rd counted: 4th, 8th… would be next.
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines.iter().all(|l| l.len() < 1_000), "bounded lines");
    assert!(lines[0].contains("more bytes"), "{}", lines[0]);
}

#[tokio::test]
async fn a_body_too_deep_for_sinks_to_decode_is_refused() {
    let deep = (0..40).fold("1".to_owned(), |inner, _| format!("{{a: {inner}}}"));
    let doc = format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {{name: deep}}\nspec: {deep}\n"
    );
    let hub = Hub::start(&[("ok.yaml", &vs("ok", "ok")), ("deep.yaml", &doc)]).await;
    let mut sink = hub.sink(&[VS]).await;
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/ok"]);
    hub.galleon
        .wait_for_log(&["deep.yaml", "protobuf messages deep"])
        .await;
}
