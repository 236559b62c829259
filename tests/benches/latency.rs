//! Time from a file write to the sink's push, through the whole hub (file
//! watcher → pipeline → snapshot group → cache → MCP over loopback), for the
//! `immediate` and `debounce` (Galley's 1 s / 0.5 s) strategies; and from
//! replacing a bound plugin's `.wasm` to the push of its new output (watch,
//! compile without cache, replay, diff, swap).
//!
//! P1 of `docs/benchmarks.md` too: 1,000 resources, 100 sinks (one
//! connection each), `immediate`: a file renamed into place → every sink
//! has the change.
//!
//! `cargo bench -p galleon-tests --bench latency` prints the figures.

use std::time::{Duration, Instant};

use galleon_hub::Hub;
use galleon_hub::config::{FilesConfig, GroupConfig, HubConfig, SourceConfig, StrategyKind};
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
    let hub = Hub::new(config)
        .with_builtins(galleon_plugin_artifacts::builtins())
        .start()
        .await
        .unwrap();
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

/// P1's shape: 10 files of 100 VirtualServices, 100 sinks.
const FILES: usize = 10;
const PER_FILE: usize = 100;
const SINKS: usize = 100;
const RENAMES: usize = 50;

fn vs_file(file: usize, generation: usize) -> String {
    (0..PER_FILE)
        .map(|i| {
            // One resource of the file changes per generation.
            let host = if i == generation % PER_FILE {
                format!("g{generation}")
            } else {
                format!("h{file}-{i}")
            };
            format!(
                "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {{name: vs-{file}-{i}, namespace: default}}\nspec: {{hosts: [{host}]}}\n---\n"
            )
        })
        .collect()
}

/// Per-sink latencies and all-sinks latencies of `RENAMES` renames, with
/// full-state or incremental sinks.
async fn measure_fan_out(incremental: bool) -> (Vec<Duration>, Vec<Duration>) {
    let dir = tempfile::tempdir().unwrap();
    for file in 0..FILES {
        write_atomically(dir.path(), &format!("f{file}.yaml"), vs_file(file, 0));
    }
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nsources: [{{files: {{paths: [{}]}}}}]\ngroups: [{{name: default, strategy: immediate}}]\n",
        dir.path().display()
    );
    let hub = Hub::new(HubConfig::parse(&config).unwrap())
        .with_builtins(galleon_plugin_artifacts::builtins())
        .start()
        .await
        .unwrap();
    let (received, mut receipts) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for i in 0..SINKS {
        let mut sink = RawSink::connect(&format!("http://{}", hub.addr()), &format!("s{i}")).await;
        sink.subscribe_with(VS, incremental, Default::default())
            .await;
        let received = received.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok(Some(push)) = sink.next_unbounded().await {
                let _ = received.send(Instant::now());
                sink.ack(&push).await;
            }
        }));
    }
    for _ in 0..SINKS {
        receipts.recv().await.unwrap();
    }
    let (mut per_sink, mut all) = (Vec::new(), Vec::new());
    for generation in 1..=RENAMES {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Whatever else arrived meanwhile is not this rename's.
        while receipts.try_recv().is_ok() {}
        let file = generation % FILES;
        let content = vs_file(file, generation);
        let start = Instant::now();
        write_atomically(dir.path(), &format!("f{file}.yaml"), content);
        let mut last = start;
        for _ in 0..SINKS {
            let at = receipts.recv().await.unwrap();
            per_sink.push(at - start);
            last = last.max(at);
        }
        all.push(last - start);
    }
    for task in tasks {
        task.abort();
    }
    hub.shutdown().await;
    per_sink.sort();
    all.sort();
    (per_sink, all)
}

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
    for (kind, incremental) in [("full-state", false), ("incremental", true)] {
        let (per_sink, all) = measure_fan_out(incremental).await;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let pct = |v: &[Duration], p: usize| v[(v.len() * p / 100).min(v.len() - 1)];
        print(&format!(
            "P1  rename -> each of {SINKS} {kind:11} sinks ({} resources, immediate, n={}): p50 {:6.2} ms  p99 {:6.2} ms",
            FILES * PER_FILE,
            per_sink.len(),
            ms(pct(&per_sink, 50)),
            ms(pct(&per_sink, 99)),
        ));
        print(&format!(
            "P1  rename -> all {SINKS} {kind:11} sinks have it (n={RENAMES}): p50 {:6.2} ms  p99 {:6.2} ms  max {:6.2} ms",
            ms(pct(&all, 50)),
            ms(pct(&all, 99)),
            ms(all[all.len() - 1]),
        ));
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
