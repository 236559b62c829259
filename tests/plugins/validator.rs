//! A validator plugin rejects bad changes before they enter the pipeline;
//! the previous valid version keeps being served.

use galleon_tests::hub::vs;
use galleon_tests::*;

use crate::support::{settled_sink, start};

const BINDING: &str = "  - name: require-hosts\n    file: \"{dir}/require_hosts.wasm\"\n    kind: validator\n    collections: [k8s/networking.istio.io/v1alpha3/virtualservices]\n";

const NO_HOSTS: &str = "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: reviews}\nspec: {http: []}\n";

#[tokio::test]
async fn a_rejected_change_keeps_the_previous_version_served() {
    let reviews = vs("reviews", "reviews.v1");
    let files = [("reviews.yaml", reviews.as_str())];
    let hub = start(
        &files,
        &[(
            galleon_plugin_artifacts::REQUIRE_HOSTS,
            "require_hosts.wasm",
        )],
        BINDING,
    )
    .await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    assert_eq!(bodies(&first)["default/reviews"]["hosts"][0], "reviews.v1");
    sink.ack(&first).await;

    // The change loses its hosts: rejected with the validator's diagnostic
    // and the source location; the sink keeps the valid version.
    hub.write("reviews.yaml", NO_HOSTS);
    hub.galleon
        .wait_for_log(&[
            "reviews.yaml:1 (document 0)",
            "rejected by validator require-hosts",
            "needs at least one host",
            "spec.hosts",
        ])
        .await;
    sink.expect_silence().await;

    // A new resource that is invalid never enters.
    hub.write("bad.yaml", &NO_HOSTS.replace("reviews", "bad"));
    hub.galleon
        .wait_for_log(&[
            "bad.yaml:1 (document 0)",
            "rejected by validator require-hosts",
        ])
        .await;
    sink.expect_silence().await;

    // Fixed: accepted and served.
    hub.write("reviews.yaml", &vs("reviews", "reviews.v2"));
    let fixed = sink.recv().await;
    assert_eq!(bodies(&fixed)["default/reviews"]["hosts"][0], "reviews.v2");
    assert_eq!(names(&fixed), ["default/reviews"]);
}

const FAILING: &str = "  - name: failing\n    file: \"{dir}/failing.wasm\"\n    kind: validator\n    collections: [k8s/networking.istio.io/v1alpha3/virtualservices]\n";

#[tokio::test]
async fn a_failing_validator_rejects_by_default() {
    let ok = vs("ok", "ok");
    let hub = start(
        &[("ok.yaml", ok.as_str())],
        &[(galleon_plugin_artifacts::FAILING_VALIDATOR, "failing.wasm")],
        FAILING,
    )
    .await;
    let mut sink = settled_sink(&hub, &[VS]).await;
    hub.write("trigger.yaml", &vs("trigger", "t"));
    hub.galleon
        .wait_for_log(&[
            "trigger.yaml:1 (document 0)",
            "failing failed in validate",
            "rejected (fail-closed)",
        ])
        .await;
    sink.expect_silence().await;
    // The validator is restarted for the next change and accepts it.
    hub.write("other.yaml", &vs("other", "o"));
    assert_eq!(names(&sink.recv().await), ["default/ok", "default/other"]);
}

#[tokio::test]
async fn a_failing_fail_open_validator_accepts_with_a_warning() {
    let ok = vs("ok", "ok");
    let binding = FAILING.replace("kind: validator\n", "kind: validator\n    failOpen: true\n");
    let hub = start(
        &[("ok.yaml", ok.as_str())],
        &[(galleon_plugin_artifacts::FAILING_VALIDATOR, "failing.wasm")],
        &binding,
    )
    .await;
    let mut sink = settled_sink(&hub, &[VS]).await;
    hub.write("trigger.yaml", &vs("trigger", "t"));
    let accepted = sink.recv().await;
    assert_eq!(names(&accepted), ["default/ok", "default/trigger"]);
    hub.galleon
        .wait_for_log(&["failing failed in validate", "accepted (fail-open)"])
        .await;
}

#[tokio::test]
async fn galleon_validate_runs_the_validator_plugins_a_config_binds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::copy(
        galleon_plugin_artifacts::REQUIRE_HOSTS,
        root.join("require_hosts.wasm"),
    )
    .unwrap();
    let config = format!(
        "plugins:\n  bindings:\n{}",
        BINDING.replace("\"{dir}/require_hosts.wasm\"", "require_hosts.wasm")
    );
    std::fs::write(root.join("galleon.yaml"), config).unwrap();
    std::fs::create_dir(root.join("config")).unwrap();
    std::fs::write(root.join("config/good.yaml"), vs("good", "good")).unwrap();
    let validate = || {
        std::process::Command::new(galleon_binary())
            .current_dir(root)
            .args(["validate", "--config", "galleon.yaml", "config"])
            .output()
            .unwrap()
    };
    let good = validate();
    assert_eq!(good.status.code(), Some(0), "{good:?}");

    std::fs::write(root.join("config/bad.yaml"), NO_HOSTS).unwrap();
    let bad = validate();
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    let text = String::from_utf8(bad.stdout).unwrap();
    let line = text.lines().next().unwrap();
    for expected in [
        "bad.yaml:1",
        "rejected by validator require-hosts",
        "needs at least one host",
    ] {
        assert!(line.contains(expected), "{expected}\n{text}");
    }
}
