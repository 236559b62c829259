//! Plugins in C, JavaScript and Python beside Rust. The examples in
//! `examples/plugins/{c,js,python}` are built by `galleon plugin build`'s
//! library with the real toolchains (`.ci/toolchains` installs them), then:
//! their transcripts equal the Rust examples' on the same fixtures; a
//! changed build is hot-loaded onto an open sink stream; a JavaScript or
//! Python plugin that loops hits the deadline, one that allocates without
//! bound hits the memory cap; analyzers scaffolded in Rust and JavaScript
//! are hot-loaded in turn into a running hub; and for every language a
//! scaffolded project builds and passes its own fixtures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use galleon_plugin_dev::under_test::{HarnessAnalyzer, HarnessTransformer, HarnessValidator};
use galleon_plugin_dev::{Kind, Language, build, fixtures, scaffold};
use galleon_plugin_host::{Limits, PluginEngine};
use galleon_plugin_sdk::harness::{
    Fixture, fixtures as fixture_files, run, run_analyzer, run_validator,
};
use galleon_proto::mcp::Resources;
use galleon_tests::hub::vs;
use galleon_tests::*;

use crate::hostile::contained_in;
use crate::support::{cache_dir, start_staged};

const LANGUAGES: [&str; 3] = ["c", "js", "python"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the project at `project` (relative to the workspace) once per
/// test process; concurrent callers wait for the one build.
fn built(project: &str) -> PathBuf {
    static BUILDS: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let cell = BUILDS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(project.into())
        .or_default()
        .clone();
    cell.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("languages")
            .join(format!("{}.wasm", project.replace('/', "-")));
        let component = build::build(&root().join(project), Some(&out))
            .unwrap_or_else(|e| panic!("building {project}: {e}"))
            .component;
        precompile(&component);
        component
    })
    .clone()
}

/// Compiles `component` into the cache the test hubs share, so a hub
/// starting with it (or swapping it in) loads it in milliseconds: a Python
/// component takes seconds to compile, longer than a hub may take to start.
fn precompile(component: &Path) {
    let bytes = std::fs::read(component).unwrap();
    engine().compile(component, &bytes).unwrap();
}

fn engine() -> PluginEngine {
    PluginEngine::new(Some(cache_dir())).unwrap()
}

#[test]
fn every_language_gives_the_rust_examples_outputs() {
    let transformer_fixtures = root().join("examples/plugins/add-label/fixtures");
    let validator_fixtures = root().join("examples/plugins/require-hosts/fixtures");
    let analyzer_fixtures = root().join("examples/plugins/unused-gateways/fixtures");
    for language in LANGUAGES {
        let transformer = built(&format!("examples/plugins/{language}/add-label"));
        let validator = built(&format!("examples/plugins/{language}/require-hosts"));
        let analyzer = built(&format!("examples/plugins/{language}/unused-gateways"));
        for (fixture, _) in fixture_files(&transformer_fixtures) {
            let fixture = Fixture::load(&fixture).unwrap();
            let mut rust = HarnessTransformer::load_in(
                engine(),
                Path::new(galleon_plugin_artifacts::ADD_LABEL),
                Limits::default(),
            )
            .unwrap();
            let rust = run(&mut rust, &fixture);
            let mut wasm =
                HarnessTransformer::load_in(engine(), &transformer, Limits::default()).unwrap();
            assert_eq!(run(&mut wasm, &fixture), rust, "{language} add-label");
        }
        for (fixture, _) in fixture_files(&validator_fixtures) {
            let fixture = Fixture::load(&fixture).unwrap();
            let mut rust = HarnessValidator::load_in(
                engine(),
                Path::new(galleon_plugin_artifacts::REQUIRE_HOSTS),
                Limits::default(),
            )
            .unwrap();
            let rust = run_validator(&mut rust, &fixture);
            let mut wasm =
                HarnessValidator::load_in(engine(), &validator, Limits::default()).unwrap();
            assert_eq!(
                run_validator(&mut wasm, &fixture),
                rust,
                "{language} require-hosts"
            );
            assert!(
                rust.to_string().contains("\"warning\""),
                "the fixture covers warnings"
            );
        }
        for (fixture, _) in fixture_files(&analyzer_fixtures) {
            let fixture = Fixture::load(&fixture).unwrap();
            let load = |path: &Path| HarnessAnalyzer::load_in(engine(), path, Limits::default());
            let rust = run_analyzer(
                &mut load(Path::new(galleon_plugin_artifacts::UNUSED_GATEWAYS)).unwrap(),
                &fixture,
            );
            let wasm = run_analyzer(&mut load(&analyzer).unwrap(), &fixture);
            assert_eq!(wasm, rust, "{language} unused-gateways");
            assert!(
                rust.to_string().contains("EX0001"),
                "the fixture finds some"
            );
        }
        // And the golden files, as `galleon plugin test` checks them.
        for (component, dir) in [
            (&transformer, &transformer_fixtures),
            (&validator, &validator_fixtures),
            (&analyzer, &analyzer_fixtures),
        ] {
            let outcomes =
                fixtures::test(&engine(), component, dir, Limits::default(), false).unwrap();
            assert!(
                outcomes.iter().all(|o| o.result.is_ok()),
                "{language}: {outcomes:?}"
            );
        }
    }
}

fn label(push: &Resources) -> String {
    let resources = push.decode_resources().unwrap();
    resources[0].metadata.as_ref().unwrap().labels["galleon.io/transformed"].clone()
}

/// Scaffolds the `language` add-label project, with its default label value
/// changed to `changed` when asked, and builds it.
fn scaffold_add_label(language: Language, changed: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    scaffold::new(&project, "demo", language, Kind::Transformer).unwrap();
    if changed {
        let source = project.join(match language {
            Language::C => "src/plugin.c",
            Language::Js => "src/plugin.js",
            Language::Python => "src/app.py",
            Language::Rust => "src/lib.rs",
        });
        let code = std::fs::read_to_string(&source).unwrap();
        let edited = code
            .replacen("\"true\"", "\"changed\"", 1)
            .replacen("'true'", "'changed'", 1);
        assert_ne!(code, edited, "the default value is in {}", source.display());
        std::fs::write(&source, edited).unwrap();
    }
    let component = build::build(&project, None).unwrap().component;
    precompile(&component);
    (dir, component)
}

/// Scaffolds the `language` analyzer project with its message code changed
/// to `code`, and builds it.
fn scaffold_analyzer(language: Language, code: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("finder");
    scaffold::new(&project, "finder", language, Kind::Analyzer).unwrap();
    let source = project.join(match language {
        Language::C => "src/plugin.c",
        Language::Js => "src/plugin.js",
        Language::Python => "src/app.py",
        Language::Rust => "src/lib.rs",
    });
    let source_code = std::fs::read_to_string(&source).unwrap();
    let edited = source_code.replacen("EX0001", code, 1);
    assert_ne!(source_code, edited, "the code is in {}", source.display());
    std::fs::write(&source, edited).unwrap();
    // As a user builds it; Rust projects share the workflow tests' target
    // directory (the SDK's dependencies build once).
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffolded-rust");
    let built = std::process::Command::new(galleon_binary())
        .args(["plugin", "build"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", scratch)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{language} analyzer build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let component = project.join("target/finder.wasm");
    precompile(&component);
    (dir, component)
}

/// An analyzer made by `galleon plugin new --kind analyzer` in Rust, then
/// one in JavaScript, each hot-loaded over the file a running hub's binding
/// names: each build's messages replace the last one's in
/// `/debug/analysis`, with no restart.
#[tokio::test]
async fn scaffolded_analyzers_in_rust_and_javascript_are_hot_loaded() {
    let (_rust_project, rust) = scaffold_analyzer(Language::Rust, "EX0101");
    let (_js_project, js) = scaffold_analyzer(Language::Js, "EX0102");
    let gateway = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: idle, namespace: shop}\nspec:\n  selector: {istio: ingressgateway}\n  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [shop.example.com]}]\n";
    let (hub, staged) = start_staged(
        &[("gateway.yaml", gateway)],
        &[(galleon_plugin_artifacts::UNUSED_GATEWAYS, "finder.wasm")],
        "  - {name: finder, file: \"{dir}/finder.wasm\", kind: analyzer}\n",
    )
    .await;
    let g = &hub.galleon;
    let messages = |code: &str| format!("/debug/analysis?code={code}");
    g.wait_for_admin(
        &messages("EX0001"),
        &["No VirtualService is bound to Gateway", "gateway.yaml"],
    )
    .await;
    for (component, code) in [(&rust, "EX0101"), (&js, "EX0102")] {
        write_atomically(
            staged.path(),
            "finder.wasm",
            std::fs::read(component).unwrap(),
        );
        g.wait_for_admin(&messages(code), &["shop/idle", "gateway.yaml"])
            .await;
        let (_, all) = g.admin_get("/debug/analysis?kind=Gateway").await;
        assert_eq!(
            all.matches("\"EX0").count(),
            1,
            "only the new build's message: {all}"
        );
    }
}

async fn hot_loads(language: Language) {
    let component = built(&format!("examples/plugins/{language}/add-label"));
    let component = component.to_str().unwrap();
    // The changed build is made before any stream opens: a build takes
    // long enough (Python, on a busy machine) that a test runtime blocked
    // in it would miss the server's keepalive pings and lose the stream.
    let (_project, changed) = scaffold_add_label(language, true);
    let reviews = vs("reviews", "reviews");
    let (hub, staged) = start_staged(
        &[("reviews.yaml", reviews.as_str())],
        &[(component, "plugin.wasm")],
        "  - {name: add-label, file: \"{dir}/plugin.wasm\", kind: transformer}\n",
    )
    .await;
    let mut sink = hub.sink(&[VS]).await;
    let first = sink.recv().await;
    assert_eq!(label(&first), "true");
    sink.ack(&first).await;

    write_atomically(
        staged.path(),
        "plugin.wasm",
        std::fs::read(changed).unwrap(),
    );
    let push = sink.recv().await;
    assert_eq!(label(&push), "changed");
    assert!(
        push.nonce.parse::<u64>().unwrap() > first.nonce.parse::<u64>().unwrap(),
        "same stream, later nonce"
    );
}

#[tokio::test]
async fn a_changed_c_build_is_hot_loaded() {
    hot_loads(Language::C).await;
}

#[tokio::test]
async fn a_changed_js_build_is_hot_loaded() {
    hot_loads(Language::Js).await;
}

#[tokio::test]
async fn a_changed_python_build_is_hot_loaded() {
    hot_loads(Language::Python).await;
}

#[tokio::test]
async fn a_looping_js_plugin_hits_the_deadline() {
    let component = built("tests/plugins/hostile-js");
    contained_in(
        component.to_str().unwrap(),
        "loop",
        &["ran past its 100 ms deadline"],
    )
    .await;
}

#[tokio::test]
async fn a_js_memory_bomb_hits_the_memory_cap() {
    let component = built("tests/plugins/hostile-js");
    contained_in(
        component.to_str().unwrap(),
        "memory",
        &["exceeded its 64 MiB memory limit"],
    )
    .await;
}

#[tokio::test]
async fn a_looping_python_plugin_hits_the_deadline() {
    let component = built("tests/plugins/hostile-python");
    contained_in(
        component.to_str().unwrap(),
        "loop",
        &["ran past its 100 ms deadline"],
    )
    .await;
}

#[tokio::test]
async fn a_python_memory_bomb_hits_the_memory_cap() {
    let component = built("tests/plugins/hostile-python");
    contained_in(
        component.to_str().unwrap(),
        "memory",
        &["exceeded its 64 MiB memory limit"],
    )
    .await;
}

#[tokio::test]
async fn a_warning_a_plugin_logs_reaches_the_diagnostics_ledger() {
    let component = built("tests/plugins/hostile-js");
    let trigger = vs("trigger", "t");
    let (hub, _staged) = start_staged(
        &[("trigger.yaml", trigger.as_str())],
        &[(component.to_str().unwrap(), "hostile.wasm")],
        "  - {name: hostile, file: \"{dir}/hostile.wasm\", kind: transformer, settings: {mode: warn}}\n",
    )
    .await;
    hub.galleon
        .wait_for_admin(
            "/debug/diagnostics",
            &[
                "plugin hostile",
                "logged warning: suspicious resource default/trigger",
            ],
        )
        .await;
}
