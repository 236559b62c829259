//! The cost of running a transformer as a sandboxed component versus the
//! same source built natively: per event, per instantiation, and per hot
//! swap (start a fresh instance, configure it, replay its inputs).
//!
//! `cargo bench --manifest-path plugins/Cargo.toml -p plugin-bench --bench plugin` prints the figures.

use std::path::Path;
use std::time::{Duration, Instant};

use add_label::AddLabel;
use galleon_plugin_dev::under_test::HarnessTransformer;
use galleon_plugin_sdk::harness::{Native, UnderTest};
use galleon_plugin_sdk::serde_json::json;
use galleon_plugin_sdk::{Event, Mesh};
use plugin_bench::event;

const EVENTS: usize = 20_000;
const INSTANCES: usize = 200;
const REPLAY: usize = 1_000;

fn per_event(plugin: &mut dyn UnderTest) -> Duration {
    plugin_bench::per_event(plugin, EVENTS)
}

#[allow(clippy::print_stdout)]
fn main() {
    let path = Path::new(galleon_plugin_artifacts::ADD_LABEL);
    let compile = Instant::now();
    let mut wasm = HarnessTransformer::load(path).expect("component loads");
    let compile = compile.elapsed();

    let native = per_event(&mut Native::<AddLabel>::default());
    let sandboxed = per_event(&mut wasm);

    let start = Instant::now();
    for _ in 0..INSTANCES {
        wasm.configure(&json!({}), &Mesh::default()).unwrap();
    }
    let instantiate = start.elapsed() / INSTANCES as u32;

    let replay: Vec<Event> = (0..REPLAY).map(event).collect();
    let start = Instant::now();
    wasm.configure(&json!({}), &Mesh::default()).unwrap();
    wasm.handle(&Event::Reset).unwrap();
    for e in &replay {
        wasm.handle(e).unwrap();
    }
    let swap = start.elapsed();

    println!(
        "add-label, {} bytes component",
        std::fs::metadata(path).unwrap().len()
    );
    println!("  compile (cranelift, no cache)      {:>10.2?}", compile);
    println!("  per event, native                  {:>10.2?}", native);
    println!("  per event, wasm (sandboxed)        {:>10.2?}", sandboxed);
    println!(
        "  wasm / native                      {:>10.1}x",
        sandboxed.as_secs_f64() / native.as_secs_f64()
    );
    println!(
        "  instantiate + configure            {:>10.2?}",
        instantiate
    );
    println!("  swap: instantiate + replay {REPLAY:>5}   {:>10.2?}", swap);
}
