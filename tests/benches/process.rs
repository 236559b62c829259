//! `galleon serve` measured as a process, the way an operator sees it:
//!
//! - P7: process start → a sink has the first snapshot of 10,000 resources,
//!   from one file and from 10,000 files (precompile cache warm).
//! - P6: CPU time of the idle hub over 30 s, serving those 10,000 resources
//!   to one connected sink.
//!
//! Builds the release `galleon` binary first, then
//! `cargo bench -p galleon-tests --bench process` prints the figures.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use galleon_tests::procstat::cpu_time;
use galleon_tests::{RawSink, VS};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const RESOURCES: usize = 10_000;
const IDLE: Duration = Duration::from_secs(30);

fn vs(i: usize) -> String {
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {{name: vs-{i}, namespace: default}}\nspec:\n  hosts: [h{i}.example.com]\n  http:\n  - route:\n    - destination: {{host: h{i}, port: {{number: 9080}}}}\n"
    )
}

#[tokio::main]
async fn main() {
    let galleon = galleon_tests::built_galleon();
    let one = tempfile::tempdir().unwrap();
    let all: String = (0..RESOURCES).map(|i| format!("{}---\n", vs(i))).collect();
    std::fs::write(one.path().join("all.yaml"), all).unwrap();
    let many = tempfile::tempdir().unwrap();
    for i in 0..RESOURCES {
        std::fs::write(many.path().join(format!("vs-{i}.yaml")), vs(i)).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    // Warm the precompile cache of the built-in plugins (first start only).
    let (warm, _, _) = start(&galleon, one.path(), cache.path()).await;
    drop(warm);

    for (name, dir) in [("one file", one.path()), ("10,000 files", many.path())] {
        let mut samples = Vec::new();
        for _ in 0..3 {
            let (child, _, elapsed) = start(&galleon, dir, cache.path()).await;
            samples.push(elapsed);
            drop(child);
        }
        samples.sort();
        print(&format!(
            "P7  start -> sink has {RESOURCES} resources, {name:12}: median {:6.0} ms (min {:.0}, max {:.0}; n=3)",
            ms(samples[1]),
            ms(samples[0]),
            ms(samples[2])
        ));
    }

    let (child, _sink, _) = start(&galleon, one.path(), cache.path()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = child.id().expect("running");
    let before = cpu_time(pid);
    tokio::time::sleep(IDLE).await;
    let used = cpu_time(pid) - before;
    print(&format!(
        "P6  idle CPU of galleon serve with {RESOURCES} resources and one sink over {}s: {:.0} ms in all, {:.2} ms per second",
        IDLE.as_secs(),
        ms(used),
        ms(used) / IDLE.as_secs_f64()
    ));
}

/// Starts `galleon serve` on `dir` and returns it, a sink holding the first
/// full snapshot, and the time from spawn to that push.
async fn start(galleon: &Path, dir: &Path, cache: &Path) -> (Child, RawSink, Duration) {
    let config = dir.with_extension("galleon.yaml");
    std::fs::write(
        &config,
        format!(
            "mcp: {{address: \"127.0.0.1:0\"}}\nsources: [{{files: {{paths: [{}]}}}}]\nplugins: {{cacheDir: {}}}\ngroups: [{{name: default, strategy: immediate}}]\n",
            dir.display(),
            cache.display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut child = Command::new(galleon)
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start galleon");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("galleon logs its address");
        if let Some(rest) = line.split("address=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut sink = RawSink::connect(&format!("http://{address}"), "bench").await;
    sink.subscribe(VS).await;
    loop {
        let push = sink.recv().await;
        sink.ack(&push).await;
        if push.resources.len() == RESOURCES {
            return (child, sink, started.elapsed());
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A benchmark's output is its figures.
#[allow(clippy::print_stdout)]
fn print(line: &str) {
    println!("{line}");
}
