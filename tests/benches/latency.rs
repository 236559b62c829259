//! Time from a file write to the sink's push, through the whole hub (file
//! watcher → pipeline → snapshot group → cache → MCP over loopback), for the
//! `immediate` and `debounce` (Galley's 1 s / 0.5 s) strategies; and from
//! replacing a bound plugin's `.wasm` to the push of its new output (watch,
//! compile without cache, replay, diff, swap).
//!
//! `cargo bench -p galleon-tests --bench latency` prints the figures.

use std::time::{Duration, Instant};

use galleon::config::{FilesConfig, GroupConfig, HubConfig, SourceConfig, StrategyKind};
use galleon::hub::Hub;
use galleon_tests::{RawSink, VS, write_atomically};

const SAMPLES: usize = 20;

fn vs(host: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {{name: a}}\nspec: {{hosts: [{host}]}}\n"
    )
}

async fn measure(strategy: StrategyKind) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    write_atomically(dir.path(), "a.yaml", vs("h0"));
    let mut config = HubConfig::default();
    config.mcp.address = "127.0.0.1:0".parse().unwrap();
    config
        .sources
        .push(SourceConfig::Files(FilesConfig::new(vec![
            dir.path().to_owned(),
        ])));
    config.groups = vec![GroupConfig {
        name: "default".into(),
        strategy,
        max_delay: None,
        quiesce: None,
        collections: vec![],
    }];
    // Pause between samples so the previous write's notifications settle.
    time_pushes(config, SAMPLES, Duration::from_millis(100), |i| {
        write_atomically(dir.path(), "a.yaml", vs(&format!("h{i}")));
    })
    .await
}

/// Starts a hub from `config` and a sink of VirtualServices; `n` times,
/// `pause` apart, makes `change(i)` and times the sink's next push. Sorted.
async fn time_pushes(
    config: HubConfig,
    n: usize,
    pause: Duration,
    mut change: impl FnMut(usize),
) -> Vec<Duration> {
    let hub = Hub::new(config).start().await.unwrap();
    let mut sink = RawSink::connect(&format!("http://{}", hub.addr()), "bench").await;
    sink.subscribe(VS).await;
    let first = sink.recv().await;
    sink.ack(&first).await;
    let mut samples = Vec::new();
    for i in 1..=n {
        tokio::time::sleep(pause).await;
        let start = Instant::now();
        change(i);
        let push = sink.recv().await;
        samples.push(start.elapsed());
        sink.ack(&push).await;
    }
    hub.shutdown().await;
    samples.sort();
    samples
}

async fn measure_swap() -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    write_atomically(dir.path(), "a.yaml", vs("h0"));
    let plugin = tempfile::tempdir().unwrap();
    let builds = [
        galleon_plugin_artifacts::ADD_LABEL,
        galleon_plugin_artifacts::ADD_LABEL_CHANGED,
    ];
    write_atomically(
        plugin.path(),
        "add_label.wasm",
        std::fs::read(builds[0]).unwrap(),
    );
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nsources: [{{files: {{paths: [{}]}}}}]\ngroups: [{{name: default, strategy: immediate}}]\nplugins: {{bindings: [{{file: {}/add_label.wasm, kind: transformer}}]}}\n",
        dir.path().display(),
        plugin.path().display()
    );
    let config = HubConfig::parse(&config).unwrap();
    time_pushes(config, SWAPS, Duration::from_millis(200), |i| {
        write_atomically(
            plugin.path(),
            "add_label.wasm",
            std::fs::read(builds[i % 2]).unwrap(),
        );
    })
    .await
}

const SWAPS: usize = 6;

#[tokio::main]
async fn main() {
    for (name, strategy) in [
        ("immediate", StrategyKind::Immediate),
        ("debounce 1s/0.5s", StrategyKind::Debounce),
    ] {
        let samples = measure(strategy).await;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let line = format!(
            "file write -> sink push, {name:17} n={SAMPLES}  min {:7.1} ms  median {:7.1} ms  p90 {:7.1} ms  max {:7.1} ms",
            ms(samples[0]),
            ms(samples[SAMPLES / 2]),
            ms(samples[SAMPLES * 9 / 10]),
            ms(samples[SAMPLES - 1]),
        );
        print(&line);
    }
    let swaps = measure_swap().await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    print(&format!(
        "plugin .wasm replaced -> sink push     n={SWAPS}   min {:7.1} ms  median {:7.1} ms  max {:7.1} ms",
        ms(swaps[0]),
        ms(swaps[SWAPS / 2]),
        ms(swaps[SWAPS - 1]),
    ));
}

/// A benchmark's output is its figures.
#[allow(clippy::print_stdout)]
fn print(line: &str) {
    println!("{line}");
}
