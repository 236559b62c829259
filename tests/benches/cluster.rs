//! A cluster written as files, served with the built-in `serviceentry`
//! plugin, measured as a process: 100 Nodes, 10,000 Services with their
//! Endpoints (10 addresses each) and 100,000 running Pods, one directory
//! per namespace (100 namespaces).
//!
//! Printed: the time from process start until a sink holds the 10,000
//! synthetic ServiceEntries, the objects per second that makes, the hub's
//! resident memory once served (from `/proc`), what `/debug/memory` says
//! the bytes are, and the time from one Endpoints edit (one address moved,
//! the file rewritten) until the sink is pushed the changed entry (median
//! and max of several edits).
//!
//! `cargo bench -p galleon-tests --bench cluster` (builds the release binary).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use galleon_tests::procstat::rss;
use galleon_tests::{Galleon, RawSink};

const NAMESPACES: usize = 100;
const SERVICES: usize = 10_000;
const PODS_PER_SERVICE: usize = 10;
const NODES: usize = 100;
const EDITS: usize = 9;
const SYNTHETIC: &str = "istio/networking/v1alpha3/synthetic/serviceentries";

fn pod_ip(service: usize, pod: usize, generation: usize) -> String {
    format!(
        "10.{}.{}.{}",
        service / 250,
        service % 250,
        pod + generation * 16
    )
}

fn endpoints(service: usize, generation: usize) -> String {
    let ns = service % NAMESPACES;
    let addresses: Vec<String> = (0..PODS_PER_SERVICE)
        .map(|p| {
            format!(
                "{{ip: \"{}\", nodeName: node-{}, targetRef: {{kind: Pod, name: svc-{service}-{p}, namespace: ns-{ns}}}}}",
                pod_ip(service, p, if p == 0 { generation } else { 0 }),
                (service + p) % NODES
            )
        })
        .collect();
    format!(
        "apiVersion: v1\nkind: Endpoints\nmetadata: {{name: svc-{service}, namespace: ns-{ns}}}\nsubsets:\n- addresses: [{}]\n  ports: [{{name: http, port: 8080, protocol: TCP}}]\n---\n",
        addresses.join(", ")
    )
}

/// The namespace's Endpoints file, with `edited` at `generation`.
fn endpoints_file(ns: usize, edited: Option<(usize, usize)>) -> String {
    (ns..SERVICES)
        .step_by(NAMESPACES)
        .map(|s| match edited {
            Some((e, generation)) if e == s => endpoints(s, generation),
            _ => endpoints(s, 0),
        })
        .collect()
}

fn write_cluster(root: &Path) {
    let mut nodes = String::new();
    for n in 0..NODES {
        let _ = write!(
            nodes,
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-{n}\n  labels: {{topology.kubernetes.io/region: eu, topology.kubernetes.io/zone: eu-{}}}\nspec: {{}}\n---\n",
            n % 3
        );
    }
    std::fs::write(root.join("nodes.yaml"), nodes).unwrap();
    for ns in 0..NAMESPACES {
        let dir = root.join(format!("ns-{ns}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (mut services, mut pods) = (String::new(), String::new());
        for s in (ns..SERVICES).step_by(NAMESPACES) {
            let _ = write!(
                services,
                "apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{s}, namespace: ns-{ns}}}\nspec:\n  clusterIP: 10.96.{}.{}\n  ports: [{{name: http, port: 80, targetPort: 8080, protocol: TCP}}]\n  selector: {{app: svc-{s}}}\n---\n",
                s / 250,
                s % 250
            );
            for p in 0..PODS_PER_SERVICE {
                let _ = write!(
                    pods,
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: svc-{s}-{p}\n  namespace: ns-{ns}\n  labels: {{app: svc-{s}, version: v1}}\nspec:\n  nodeName: node-{}\n  serviceAccountName: svc-{s}\n  containers:\n  - name: app\n    image: registry.example/app:1.2.3\n    ports: [{{containerPort: 8080}}]\nstatus:\n  phase: Running\n  podIP: {}\n  hostIP: 192.168.0.1\n  conditions: [{{type: Ready, status: \"True\"}}]\n---\n",
                    (s + p) % NODES,
                    pod_ip(s, p, 0)
                );
            }
        }
        std::fs::write(dir.join("services.yaml"), services).unwrap();
        std::fs::write(dir.join("pods.yaml"), pods).unwrap();
        std::fs::write(dir.join("endpoints.yaml"), endpoints_file(ns, None)).unwrap();
    }
}

/// Receives (and ACKs) pushes until one satisfies `done`.
async fn until(sink: &mut RawSink, done: impl Fn(&galleon_proto::mcp::Resources) -> bool) {
    loop {
        let push = tokio::time::timeout(Duration::from_secs(300), sink.next_unbounded())
            .await
            .expect("a push within 300 s")
            .expect("the stream stays up")
            .expect("the stream stays open");
        sink.ack(&push).await;
        if done(&push) {
            return;
        }
    }
}

/// A benchmark's output is its figures.
#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() {
    galleon_tests::built_galleon();
    let mb = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster");
    std::fs::create_dir_all(&cluster).unwrap();
    write_cluster(&cluster);
    let objects = NODES + 2 * SERVICES + SERVICES * PODS_PER_SERVICE;
    std::fs::write(
        dir.path().join("galleon.yaml"),
        "mcp: {address: \"127.0.0.1:0\"}\nsources: [{files: {paths: [cluster]}}]\n",
    )
    .unwrap();

    let started = Instant::now();
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let mut sink = RawSink::connect(&galleon.url(), "bench").await;
    sink.subscribe(SYNTHETIC).await;
    until(&mut sink, |push| push.resources.len() >= SERVICES).await;
    let served = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resident = rss(galleon.pid());
    println!(
        "{objects} objects as files → {SERVICES} synthetic ServiceEntries at a sink in {:.2} s ({:.0} objects/s); RSS when served {:.1} MB",
        served.as_secs_f64(),
        objects as f64 / served.as_secs_f64(),
        mb(resident),
    );
    let (status, memory) = galleon.admin_get("/debug/memory").await;
    if status == 200 {
        println!("/debug/memory:\n{memory}");
    }

    let mut latencies = Vec::new();
    for edit in 0..EDITS {
        let service = edit * 1_117 % SERVICES;
        let ns = service % NAMESPACES;
        let path = cluster.join(format!("ns-{ns}/endpoints.yaml"));
        let new_ip = pod_ip(service, 0, edit + 1);
        let edited = Instant::now();
        std::fs::write(&path, endpoints_file(ns, Some((service, edit + 1)))).unwrap();
        until(&mut sink, |push| {
            push.resources
                .iter()
                .any(|r| String::from_utf8_lossy(r).contains(&new_ip))
        })
        .await;
        latencies.push(edited.elapsed());
    }
    latencies.sort();
    println!(
        "one Endpoints edit → its ServiceEntry at the sink: median {:.1} ms, max {:.1} ms ({EDITS} edits)",
        latencies[EDITS / 2].as_secs_f64() * 1e3,
        latencies[EDITS - 1].as_secs_f64() * 1e3,
    );
    println!("RSS after the edits {:.1} MB", mb(rss(galleon.pid())));
}
