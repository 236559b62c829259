//! `schemas.crds` through the real binary: a resource the CRD's schema or
//! CEL rules refuse is kept out with its file:line and the API server's
//! words, and the last good version stays served. The CRD is the tests'
//! own, written as istio/api writes them.

use galleon_tests::hub::{VS_CRD as CRD, vs};
use galleon_tests::*;

fn vs_with(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n{spec}"
    )
}

#[tokio::test]
async fn a_resource_the_crd_refuses_is_kept_out_with_its_line_and_the_last_good_stays() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("crds")).unwrap();
    std::fs::create_dir_all(root.join("resources")).unwrap();
    std::fs::write(root.join("crds/vs.yaml"), CRD).unwrap();
    std::fs::write(root.join("resources/a.yaml"), vs("a", "a")).unwrap();
    let config = "mcp: {address: \"127.0.0.1:0\"}\nschemas: {crds: [crds]}\n\
                  sources: [{files: {paths: [resources]}}]\n";
    std::fs::write(root.join("galleon.yaml"), config).unwrap();
    let galleon = Galleon::serve_in(root, &["--config", "galleon.yaml"]).await;
    galleon
        .wait_for_log(&["validating with CustomResourceDefinitions", "kinds=1"])
        .await;
    let mut watch = WatchCli::start(&galleon.url(), VS);
    assert_eq!(watch.next_names().await, ["default/a"]);

    // A CEL rule and a bound, broken in the second document of a file.
    let broken = format!(
        "{}---\n{}",
        vs("b", "b"),
        vs_with(
            "c",
            "  hosts: [c]\n  http:\n  - timeout: 0s\n    route: [{weight: -1}]\n"
        )
    );
    std::fs::write(root.join("resources/b.yaml"), broken).unwrap();
    assert_eq!(watch.next_names().await, ["default/a", "default/b"]);
    let diagnostics = galleon
        .wait_for_admin(
            "/debug/diagnostics",
            &[
                "b.yaml:9 (document 1)",
                "VirtualService default/c",
                "spec.http[0].timeout: Invalid value: \\\"string\\\": must be a valid duration greater than 1ms",
                "spec.http[0].route[0].weight: Invalid value: -1: spec.http[0].route[0].weight in body should be greater than or equal to 0",
            ],
        )
        .await;
    assert!(
        diagnostics.contains("VirtualService.networking.istio.io"),
        "{diagnostics}"
    );

    // A valid resource made invalid keeps its last good version.
    std::fs::write(
        root.join("resources/a.yaml"),
        vs_with("a", "  hosts: [a, b, c, d]\n"),
    )
    .unwrap();
    galleon
        .wait_for_admin(
            "/debug/diagnostics",
            &["spec.hosts: Too many: 4: must have at most 3 items"],
        )
        .await;
    std::fs::write(root.join("resources/b.yaml"), vs("b", "b2")).unwrap();
    let push = watch.next().await;
    let hosts: Vec<_> = push["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["body"]["hosts"].clone(),
            )
        })
        .collect();
    assert_eq!(
        hosts,
        [
            ("default/a".to_owned(), serde_json::json!(["a"])),
            ("default/b".to_owned(), serde_json::json!(["b2"]))
        ]
    );
    // a is refused now (its last good version served); c left with the
    // rewrite of b.yaml, and its refusal with it.
    let (_, metrics) = galleon.admin_get("/metrics").await;
    let line = "galleon_validation_refused_resources{kind=\"VirtualService\",collection=\"k8s/networking.istio.io/v1alpha3/virtualservices\"} 1";
    assert!(metrics.contains(line), "{line}\n{metrics}");
}

#[tokio::test]
async fn crds_that_define_no_known_kind_stop_the_hub_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("crds")).unwrap();
    let crd = CRD
        .replace("group: networking.istio.io", "group: example.com")
        .replace(
            "virtualservices.networking.istio.io",
            "virtualservices.example.com",
        );
    std::fs::write(root.join("crds/other.yaml"), crd).unwrap();
    let config = "mcp: {address: \"127.0.0.1:0\"}\nschemas: {crds: [crds, missing]}\n";
    std::fs::write(root.join("galleon.yaml"), config).unwrap();
    let config = root.join("galleon.yaml");
    let (status, stderr) = run_galleon(&["serve", "--config", config.to_str().unwrap()]).await;
    assert!(!status.success());
    assert!(
        stderr.contains("missing"),
        "the unreadable path is named: {stderr}"
    );
    std::fs::write(
        root.join("galleon.yaml"),
        "mcp: {address: \"127.0.0.1:0\"}\nschemas: {crds: [crds]}\n",
    )
    .unwrap();
    let (status, stderr) = run_galleon(&["serve", "--config", config.to_str().unwrap()]).await;
    assert!(!status.success());
    assert!(
        stderr.contains("defines a kind the hub knows (add it under kinds:)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn galleon_validate_refuses_what_serve_would_with_exit_codes_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("crds")).unwrap();
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(root.join("crds/vs.yaml"), CRD).unwrap();
    std::fs::write(root.join("config/good.yaml"), vs("a", "a")).unwrap();
    let crds = root.join("crds");
    let validate = |paths: Vec<std::path::PathBuf>, output: &str| {
        let mut command = std::process::Command::new(galleon_binary());
        command
            .arg("validate")
            .arg("--crds")
            .arg(&crds)
            .args(["-o", output]);
        command.args(paths).output().unwrap()
    };
    let good = validate(vec![root.join("config")], "text");
    assert_eq!(good.status.code(), Some(0), "{good:?}");

    let broken = format!(
        "{}---\n{}",
        vs("b", "b"),
        vs_with("c", "  hosts: [c]\n  http:\n  - timeout: 0s\n")
    );
    std::fs::write(root.join("config/broken.yaml"), broken).unwrap();
    let bad = validate(vec![root.join("config")], "text");
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8(bad.stdout).unwrap();
    let line = text.lines().next().unwrap();
    assert!(line.contains("broken.yaml:9"), "{text}");
    assert!(line.contains("VirtualService default/c"), "{text}");
    assert!(
        line.contains("spec.http[0].timeout: Invalid value: \"string\": must be a valid duration greater than 1ms"),
        "{text}"
    );
    assert_eq!(
        text.lines().count(),
        2,
        "one line per problem and a summary: {text}"
    );

    let json = validate(vec![root.join("config")], "json");
    let outcome: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(outcome["valid"], false);
    assert_eq!(outcome["resources"], 3);
    assert_eq!(outcome["problems"][0]["severity"], "error");

    let missing = validate(vec![root.join("nothere")], "text");
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("nothere: no such file or directory"),
        "{stderr}"
    );
}
