//! The `galleon` command line itself. (Having an integration test here also
//! makes `cargo test --workspace` build the binary that `tests/` runs.)

use std::process::Command;

fn galleon(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_galleon"))
        .args(args)
        .output()
        .expect("run galleon")
}

#[test]
fn prints_its_version() {
    let out = galleon(&["--version"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("galleon {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn watch_requires_a_collection() {
    let out = galleon(&["watch", "--addr", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit with 2");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--collection"), "{stderr}");
}

#[test]
fn watch_rejects_a_malformed_address() {
    let out = galleon(&["watch", "--addr", "not a url", "--collection", "c"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(r#"--addr "not a url""#), "{stderr}");
}

#[test]
fn version_names_the_plugin_contract_and_the_commit() {
    let out = galleon(&["version"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("galleon {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(lines[1], "plugin contract galleon:plugin@0.2.0");
    let commit = lines[2].strip_prefix("git commit ").unwrap();
    assert!(
        commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{commit}"
    );
}

#[test]
fn completions_are_printed_for_a_shell() {
    let out = galleon(&["completions", "bash"]);
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("_galleon()"), "{script}");
    assert!(
        script.contains("--admin-addr"),
        "serve's flags are completed"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let out = galleon(&[
        "--log-format",
        "json",
        "serve",
        "--files",
        "/nonexistent/galleon",
        "--mcp-addr",
        "127.0.0.1:0",
        "--admin-addr",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success(), "a missing path stops the hub");
    let stderr = String::from_utf8(out.stderr).unwrap();
    for line in stderr.lines() {
        let record: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(record["level"].is_string(), "{line}");
    }
    assert!(stderr.contains("/nonexistent/galleon"), "{stderr}");
}

#[test]
fn settings_that_would_disarm_the_hub_stop_it_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (settings, refused) in [
        (
            "mcp: {stallTimeout: 18446744073709551615s}",
            "mcp.stallTimeout",
        ),
        (
            "mcp: {maxConnections: 0}",
            "mcp.maxConnections: 0 is out of range",
        ),
        (
            "groups: [{name: default, strategy: debounce, quiesce: 18446744073709551615s}]",
            "groups[default].quiesce",
        ),
        (
            "kinds: [{apiVersion: networking.istio.io/v1, kind: VirtualService, plural: virtualservices}]",
            "replaceBuiltin",
        ),
    ] {
        let config = dir.path().join("galleon.yaml");
        std::fs::write(&config, settings).unwrap();
        let out = galleon(&[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--admin-addr",
            "127.0.0.1:0",
        ]);
        assert!(!out.status.success(), "{settings}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(refused), "{settings}: {stderr}");
    }
}

#[test]
fn a_proto_path_that_does_not_exist_stops_the_hub() {
    let out = galleon(&[
        "serve",
        "--proto-path",
        "/nonexistent/istio-api",
        "--mcp-addr",
        "127.0.0.1:0",
        "--admin-addr",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("/nonexistent/istio-api is not a directory"),
        "{stderr}"
    );
}

#[test]
fn a_misspelled_group_collection_stops_the_hub_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("galleon.yaml");
    std::fs::write(
        &config,
        "groups: [{name: default, strategy: immediate, collections: [istio/networking/v1alpha3/virtualservice]}]\n",
    )
    .unwrap();
    let out = galleon(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--admin-addr",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("did you mean \"istio/networking/v1alpha3/virtualservices\"?"),
        "{stderr}"
    );
}

#[test]
fn analyze_finds_the_examples_three_mistakes_with_file_and_line() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/analysis");
    let out = galleon(&["analyze", dir]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(79), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    // Istio's GatewayAnalyzer also says a missing Gateway serves none of
    // the hosts (IST0132): four lines for three mistakes.
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with("Error [IST0101] (VirtualService frontdoor.bookinfo "),
        "{stdout}"
    );
    assert!(
        lines[0].contains("frontdoor.yaml:10) Referenced gateway not found: \"bookinfo-gatway\""),
        "{stdout}"
    );
    assert!(
        lines[1].contains(
            "reviews.yaml:10) Referenced host+subset in destinationrule not found: \"reviews+v2\""
        ),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("Warning [IST0132] (VirtualService frontdoor.bookinfo "),
        "{stdout}"
    );
    assert!(
        lines[3].starts_with("Info [IST0118] (Service ratings.bookinfo "),
        "{stdout}"
    );
    // Below the threshold, suppressed, or filtered: exit 0.
    let info_only = galleon(&["analyze", dir, "--analyzer", "service.PortNameAnalyzer"]);
    assert_eq!(info_only.status.code(), Some(0));
    let suppressed = galleon(&[
        "analyze",
        dir,
        "-S",
        "IST0101=VirtualService *.bookinfo",
        "-S",
        "IST0132=*",
    ]);
    assert_eq!(suppressed.status.code(), Some(0));
    let failing = galleon(&[
        "analyze",
        dir,
        "--analyzer",
        "service.PortNameAnalyzer",
        "--failure-threshold",
        "info",
    ]);
    assert_eq!(failing.status.code(), Some(79));
}

#[test]
fn analyze_prints_json_and_refuses_unknown_analyzers() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/analysis");
    let out = galleon(&[
        "analyze",
        dir,
        "-o",
        "json",
        "--analyzer",
        "virtualservice.GatewayAnalyzer",
    ]);
    let messages: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The missing Gateway (IST0101), and no Gateway serving the host (IST0132).
    assert_eq!(messages.as_array().unwrap().len(), 2, "{messages}");
    let m = &messages[0];
    assert_eq!(m["code"], "IST0101");
    assert_eq!(m["name"], "ReferencedResourceNotFound");
    assert_eq!(m["analyzer"], "virtualservice.GatewayAnalyzer");
    assert_eq!(m["resource"]["kind"], "VirtualService");
    assert_eq!(m["resource"]["namespace"], "bookinfo");
    assert_eq!(m["origin"]["line"], 10);
    let unknown = galleon(&["analyze", dir, "--analyzer", "nope.Analyzer"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8(unknown.stderr).unwrap();
    assert!(
        stderr.contains("no analyzer \"nope.Analyzer\"") && stderr.contains("--list-analyzers"),
        "{stderr}"
    );
    let missing = galleon(&["analyze", "/no/such/dir"]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A port already taken: one line, its OS error said once (it once read
/// `…(os error 98): Address already in use (os error 98)`).
#[test]
fn a_port_in_use_is_said_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = std::env::temp_dir();
    let out = galleon(&[
        "serve",
        "--files",
        dir.to_str().unwrap(),
        "--mcp-addr",
        &addr,
        "--admin-addr",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let error = stderr
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| panic!("an error line: {stderr}"));
    assert!(error.contains(&addr), "{error}");
    assert_eq!(error.matches("os error 98").count(), 1, "{error}");
    assert_eq!(
        error.matches("Address already in use").count(),
        1,
        "{error}"
    );
}
