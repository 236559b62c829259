//! What each plugin language costs: the add-label transformer written in
//! Rust, C, JavaScript and Python (`examples/plugins/`), each scaffolded by
//! `galleon plugin new` into a scratch directory and built with its real
//! toolchain, then measured in the real sandbox in one run: component size,
//! build time (a rebuild after an edit), compile time (Cranelift, no cache),
//! load time of the precompiled code (what a restart pays), instantiate +
//! configure, per-event cost, and linear memory after the events — beside
//! the same transformer built natively.
//!
//! `cargo bench --manifest-path plugins/Cargo.toml -p plugin-bench --bench languages` prints the figures (the
//! toolchains must be installed: `.ci/toolchains`).

use std::time::{Duration, Instant};

use add_label::AddLabel;
use galleon_plugin_dev::under_test::HarnessTransformer;
use galleon_plugin_dev::{Kind, Language, build, scaffold};
use galleon_plugin_host::{Limits, PluginEngine};
use galleon_plugin_sdk::Mesh;
use galleon_plugin_sdk::harness::{Native, UnderTest};
use galleon_plugin_sdk::serde_json::json;

const EVENTS: usize = 5_000;
const INSTANCES: usize = 20;

fn per_event(plugin: &mut dyn UnderTest) -> Duration {
    plugin_bench::per_event(plugin, EVENTS)
}

struct Figures {
    size: u64,
    build: Duration,
    compile: Duration,
    load: Duration,
    instantiate: Duration,
    per_event: Duration,
    memory: usize,
}

fn measure(language: Language, scratch: &std::path::Path) -> Figures {
    let project = scratch.join(language.name());
    scaffold::new(&project, "bench", language, Kind::Transformer).unwrap();
    build::build(&project, None).unwrap();
    // A rebuild after an edit: what an author waits for.
    let source = std::fs::read_dir(project.join("src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();
    let code = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, code + "\n").unwrap();
    let built = build::build(&project, None).unwrap();
    measure_component(&built.component, built.took)
}

/// Measures a built component (`build` is how long its build took).
fn measure_component(component: &std::path::Path, build: Duration) -> Figures {
    let cache = tempfile::tempdir().unwrap();
    let engine = PluginEngine::new(Some(cache.path().to_owned())).unwrap();
    let bytes = std::fs::read(component).unwrap();
    let start = Instant::now();
    engine.compile(component, &bytes).unwrap();
    let compile = start.elapsed();
    let start = Instant::now();
    engine.compile(component, &bytes).unwrap();
    let load = start.elapsed();

    let mut wasm = HarnessTransformer::load_in(engine, component, Limits::default()).unwrap();
    let start = Instant::now();
    for _ in 0..INSTANCES {
        wasm.configure(&json!({}), &Mesh::default()).unwrap();
    }
    let instantiate = start.elapsed() / INSTANCES as u32;
    let per_event = per_event(&mut wasm);
    Figures {
        size: bytes.len() as u64,
        build,
        compile,
        load,
        instantiate,
        per_event,
        memory: wasm.peak_memory().unwrap_or_default(),
    }
}

#[allow(clippy::print_stdout)]
fn main() {
    let scratch = tempfile::tempdir().unwrap();
    let native = per_event(&mut Native::<AddLabel>::default());
    println!(
        "add-label per language ({EVENTS} events; native Rust: {:.2?} per event)",
        native
    );
    println!(
        "{:<8} {:>11} {:>9} {:>9} {:>9} {:>12} {:>10} {:>8} {:>9}",
        "language",
        "component",
        "build",
        "compile",
        "load",
        "instantiate",
        "per event",
        "×native",
        "memory"
    );
    let mut rows: Vec<(String, Figures)> = Language::ALL
        .iter()
        .map(|&language| {
            (
                language.name().to_owned(),
                measure(language, scratch.path()),
            )
        })
        .collect();
    // The JavaScript engine not chosen, for comparison: a component built
    // from the same source by componentize-js (SpiderMonkey), if given.
    if let Some(component) = std::env::var_os("SPIDERMONKEY_COMPONENT") {
        let build = std::env::var("SPIDERMONKEY_BUILD_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(Duration::ZERO, Duration::from_secs_f64);
        rows.push((
            "js (sm)".into(),
            measure_component(component.as_ref(), build),
        ));
    }
    for (language, f) in rows {
        println!(
            "{:<8} {:>9} KB {:>9.2?} {:>9.2?} {:>9.2?} {:>12.2?} {:>10.2?} {:>8.1} {:>6} KB",
            language,
            f.size / 1024,
            f.build,
            f.compile,
            f.load,
            f.instantiate,
            f.per_event,
            f.per_event.as_secs_f64() / native.as_secs_f64(),
            f.memory >> 10,
        );
    }
}
