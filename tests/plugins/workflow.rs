//! `galleon plugin new`, `build`, `test` and `inspect`, typed exactly as a
//! user types them, with the real binary, in a fresh directory outside the
//! repository: for every language and every kind the scaffolded project
//! builds and passes its own golden fixtures. A broken edit fails `test`; a
//! missing toolchain is an error naming the install command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use galleon_tests::galleon_binary;

/// Runs `galleon ARGS` in `dir`.
fn galleon(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(galleon_binary());
    command.args(args).current_dir(dir);
    // Rust projects share one target directory across runs (the SDK's
    // dependencies build once).
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    command.env("CARGO_TARGET_DIR", scratch.join("scaffolded-rust"));
    // The precompile cache of `plugin test` and `inspect` too, not the
    // user's.
    command.env("XDG_CACHE_HOME", scratch.join("xdg-cache"));
    command.output().expect("run galleon")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `galleon plugin new demo --lang LANG --kind KIND && cd demo && galleon
/// plugin build && galleon plugin test`; returns the project directory.
fn new_build_test(workspace: &Path, lang: &str, kind: &str) -> PathBuf {
    let created = galleon(
        workspace,
        &["plugin", "new", "demo", "--lang", lang, "--kind", kind],
    );
    assert!(created.status.success(), "new: {}", text(&created));
    let project = workspace.join("demo");
    for file in [
        "galleon-plugin.yaml",
        "wit/plugin.wit",
        "README.md",
        "fixtures/basic.yaml",
    ] {
        assert!(project.join(file).exists(), "{lang} {kind}: {file} missing");
    }
    let built = galleon(&project, &["plugin", "build"]);
    assert!(
        built.status.success(),
        "{lang} {kind} build: {}",
        text(&built)
    );
    if lang == "python" {
        // componentize-py takes seconds: the build is not silent meanwhile.
        assert!(text(&built).contains("still building"), "{}", text(&built));
    }
    let tested = galleon(&project, &["plugin", "test"]);
    assert!(
        tested.status.success(),
        "{lang} {kind} test: {}",
        text(&tested)
    );
    assert!(
        text(&tested).contains("1 fixtures passed"),
        "{}",
        text(&tested)
    );
    let inspected = galleon(&project, &["plugin", "inspect", "target/demo.wasm"]);
    assert!(inspected.status.success(), "inspect: {}", text(&inspected));
    assert!(
        text(&inspected).contains(&format!(
            "galleon:plugin/{kind}@0.2.0 (served by this galleon)"
        )),
        "{}",
        text(&inspected)
    );
    // The same as data, for scripts.
    let json = galleon(
        &project,
        &["plugin", "inspect", "target/demo.wasm", "-o", "json"],
    );
    assert!(json.status.success(), "inspect -o json: {}", text(&json));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["contract"], format!("galleon:plugin/{kind}@0.2.0"));
    assert_eq!(json["served"], true);
    let yaml = galleon(
        &project,
        &["plugin", "inspect", "target/demo.wasm", "-o", "yaml"],
    );
    let yaml: serde_json::Value =
        serde_saphyr::from_str(&String::from_utf8(yaml.stdout).unwrap()).unwrap();
    assert_eq!(yaml["contract"], json["contract"]);
    project
}

fn every_kind(lang: &str) {
    for kind in ["transformer", "validator", "analyzer"] {
        let workspace = tempfile::tempdir().unwrap();
        new_build_test(workspace.path(), lang, kind);
    }
}

#[test]
fn a_new_rust_plugin_builds_and_passes_its_fixtures() {
    every_kind("rust");
}

#[test]
fn a_new_c_plugin_builds_and_passes_its_fixtures() {
    every_kind("c");
}

#[test]
fn a_new_js_plugin_builds_and_passes_its_fixtures() {
    every_kind("js");
}

#[test]
fn a_new_python_plugin_builds_and_passes_its_fixtures() {
    every_kind("python");
}

#[test]
fn a_changed_output_fails_the_fixtures_until_blessed() {
    let workspace = tempfile::tempdir().unwrap();
    let project = new_build_test(workspace.path(), "js", "transformer");
    let source = project.join("src/plugin.js");
    let code = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, code.replace("'add-label'", "'my-plugin'")).unwrap();
    assert!(galleon(&project, &["plugin", "build"]).status.success());

    let failed = galleon(&project, &["plugin", "test"]);
    assert!(!failed.status.success());
    assert!(text(&failed).contains("FAILED"), "{}", text(&failed));
    assert!(
        text(&failed).contains("my-plugin"),
        "the difference is shown: {}",
        text(&failed)
    );

    assert!(
        galleon(&project, &["plugin", "test", "--bless"])
            .status
            .success()
    );
    assert!(galleon(&project, &["plugin", "test"]).status.success());
}

#[test]
fn a_missing_toolchain_names_its_install_command() {
    let workspace = tempfile::tempdir().unwrap();
    assert!(
        galleon(
            workspace.path(),
            &["plugin", "new", "demo", "--lang", "python"]
        )
        .status
        .success()
    );
    let mut build = Command::new(galleon_binary());
    build
        .args(["plugin", "build"])
        .current_dir(workspace.path().join("demo"))
        .env("PATH", "/nonexistent");
    let output = build.output().unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("componentize-py is not installed")
            && text(&output).contains("pip install componentize-py==0.25.1"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_rust_compile_error_prints_the_compiler_s_diagnostics_not_cargo_s_json() {
    let workspace = tempfile::tempdir().unwrap();
    let created = galleon(
        workspace.path(),
        &["plugin", "new", "broken", "--lang", "rust"],
    );
    assert!(created.status.success(), "new: {}", text(&created));
    let project = workspace.path().join("broken");
    let source = project.join("src/lib.rs");
    let code = std::fs::read_to_string(&source).unwrap();
    std::fs::write(
        &source,
        format!("{code}\nfn broken() -> u8 {{ \"not a number\" }}\n"),
    )
    .unwrap();
    let built = galleon(&project, &["plugin", "build"]);
    assert!(!built.status.success());
    let printed = text(&built);
    assert!(
        printed.contains("error[E0308]: mismatched types"),
        "{printed}"
    );
    assert!(printed.contains("src/lib.rs"), "{printed}");
    assert!(
        !printed.contains("\"reason\""),
        "cargo's JSON messages: {printed}"
    );
    assert!(printed.len() < 4_000, "{} bytes: {printed}", printed.len());
}
