//! Plugins in C, JavaScript and Python beside Rust. The examples in
//! `examples/plugins/{c,js,python}` are built by `galleon plugin build`'s
//! library with the real toolchains (`.ci/toolchains` installs them), then:
//! their transcripts equal the Rust examples' on the same fixtures; a
//! changed build is hot-loaded onto an open sink stream; a JavaScript or
//! Python plugin that loops hits the deadline, one that allocates without
//! bound hits the memory cap; and for every language a scaffolded project
//! builds and passes its own fixtures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use galleon_plugin_dev::under_test::{HarnessTransformer, HarnessValidator};
use galleon_plugin_dev::{Kind, Language, build, fixtures, scaffold};
use galleon_plugin_host::{Limits, PluginEngine};
use galleon_plugin_sdk::harness::{Fixture, fixtures as fixture_files, run, run_validator};
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
    for language in LANGUAGES {
        let transformer = built(&format!("examples/plugins/{language}/add-label"));
        let validator = built(&format!("examples/plugins/{language}/require-hosts"));
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
        // And the golden files, as `galleon plugin test` checks them.
        for (component, dir) in [
            (&transformer, &transformer_fixtures),
            (&validator, &validator_fixtures),
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
