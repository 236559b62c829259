//! ServiceEntry synthesis at scale: a generated cluster of 10,000 Services
//! with 100,000 Pods (10 per Service) on 200 Nodes, loaded, then churned
//! (Pod IP changes with their Endpoints updates, endpoints going not-ready,
//! Pod relabels, the odd Node moving zone). Run on the `serviceentry`
//! plugin built natively and as the sandboxed component, with the same
//! events; prints events per second, per-event latency and the wasm/native
//! ratio of each phase.
//!
//! `cargo bench --manifest-path plugins/Cargo.toml -p plugin-bench --bench serviceentry` (set
//! `GALLEON_BENCH_MEMORY_MIB` to try the component under another memory cap;
//! default 1024).

use std::path::Path;
use std::time::{Duration, Instant};

use galleon_plugin_dev::under_test::HarnessTransformer;
use galleon_plugin_host::Limits;
use galleon_plugin_sdk::harness::{Native, UnderTest};
use galleon_plugin_sdk::serde_json::{Value, json};
use galleon_plugin_sdk::{Event, Mesh, Resource};
use serviceentry::{ENDPOINTS, NODES, PODS, SERVICES, ServiceEntries};

const SERVICES_COUNT: usize = 10_000;
const PODS_PER_SERVICE: usize = 10;
const NODES_COUNT: usize = 200;
const CHURN: usize = 20_000;

fn ip(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn node(n: usize, zone: usize) -> Event {
    let mut r = Resource::new(NODES, format!("node-{n}"), json!({}));
    r.labels.insert(
        "topology.kubernetes.io/region".into(),
        format!("region-{}", n % 3),
    );
    r.labels
        .insert("topology.kubernetes.io/zone".into(), format!("zone-{zone}"));
    Event::Updated(r)
}

fn pod(service: usize, k: usize, ip_index: usize, version: usize) -> Event {
    let n = service * PODS_PER_SERVICE + k;
    let mut r = Resource::new(
        PODS,
        format!("ns-{}/svc-{service}-{k}", service % 100),
        json!({
            "spec": {"nodeName": format!("node-{}", n % NODES_COUNT), "serviceAccountName": format!("sa-{}", service % 50)},
            "status": {"phase": "Running", "podIP": ip(ip_index)},
        }),
    );
    r.labels.insert("app".into(), format!("svc-{service}"));
    r.labels.insert("version".into(), format!("v{version}"));
    Event::Updated(r)
}

fn service(s: usize) -> Event {
    let mut r = Resource::new(
        SERVICES,
        format!("ns-{}/svc-{s}", s % 100),
        json!({
            "clusterIP": format!("172.16.{}.{}", s >> 8, s & 255),
            "ports": [{"name": "http", "port": 80}, {"name": "grpc-api", "port": 9090}],
        }),
    );
    r.version = "1".into();
    Event::Updated(r)
}

/// Endpoints of service `s` over the given pod IP indexes; those in
/// `not_ready` are listed as not ready.
fn endpoints(s: usize, ips: &[usize], not_ready: Option<usize>, version: usize) -> Event {
    let (ready, waiting): (Vec<_>, Vec<_>) = ips
        .iter()
        .enumerate()
        .partition(|(k, _)| Some(*k) != not_ready);
    let addresses = |list: Vec<(usize, &usize)>| -> Value {
        list.into_iter()
            .map(|(_, n)| json!({"ip": ip(*n)}))
            .collect()
    };
    let mut r = Resource::new(
        ENDPOINTS,
        format!("ns-{}/svc-{s}", s % 100),
        json!({"subsets": [{
            "addresses": addresses(ready),
            "notReadyAddresses": addresses(waiting),
            "ports": [{"name": "http", "port": 8080}, {"name": "grpc-api", "port": 9090}],
        }]}),
    );
    r.version = version.to_string();
    Event::Updated(r)
}

/// The initial state: Nodes, Pods, Services, Endpoints.
fn initial() -> (Vec<Event>, Vec<Vec<usize>>) {
    let pod_ips: Vec<Vec<usize>> = (0..SERVICES_COUNT)
        .map(|s| {
            (0..PODS_PER_SERVICE)
                .map(|k| s * PODS_PER_SERVICE + k)
                .collect()
        })
        .collect();
    let mut events: Vec<Event> = (0..NODES_COUNT).map(|n| node(n, n % 6)).collect();
    for (s, ips) in pod_ips.iter().enumerate() {
        events.extend(ips.iter().enumerate().map(|(k, ip)| pod(s, k, *ip, 1)));
    }
    events.extend((0..SERVICES_COUNT).map(service));
    events.extend(
        pod_ips
            .iter()
            .enumerate()
            .map(|(s, ips)| endpoints(s, ips, None, 1)),
    );
    (events, pod_ips)
}

/// Churn: per step one of a Pod IP change (the Pod, then its Endpoints), an
/// endpoint going not-ready, a Pod relabel; every 1,000th step a Node moves
/// zone.
fn churn(mut pod_ips: Vec<Vec<usize>>) -> Vec<Event> {
    let mut next_ip = SERVICES_COUNT * PODS_PER_SERVICE;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = move |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    let mut events = Vec::with_capacity(CHURN);
    let mut step = 0;
    while events.len() < CHURN {
        step += 1;
        let (s, k) = (random(SERVICES_COUNT), random(PODS_PER_SERVICE));
        if step % 1_000 == 0 {
            let n = random(NODES_COUNT);
            events.push(node(n, step % 6));
            continue;
        }
        match random(10) {
            0..=3 => {
                pod_ips[s][k] = next_ip;
                next_ip += 1;
                events.push(pod(s, k, pod_ips[s][k], 1));
                events.push(endpoints(s, &pod_ips[s], None, step));
            }
            4..=6 => events.push(endpoints(s, &pod_ips[s], Some(k), step)),
            _ => events.push(pod(s, k, pod_ips[s][k], step)),
        }
    }
    events
}

struct Phase {
    elapsed: Duration,
    latencies: Vec<Duration>,
    outputs: usize,
}

impl Phase {
    fn run(plugin: &mut dyn UnderTest, events: &[Event]) -> Self {
        let mut latencies = Vec::with_capacity(events.len());
        let mut outputs = 0;
        let start = Instant::now();
        for event in events {
            let t = Instant::now();
            outputs += plugin.handle(event).expect("handled").len();
            latencies.push(t.elapsed());
        }
        let elapsed = start.elapsed();
        latencies.sort_unstable();
        Self {
            elapsed,
            latencies,
            outputs,
        }
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        self.latencies[((self.latencies.len() - 1) as f64 * p) as usize]
    }

    #[allow(clippy::print_stdout)]
    fn print(&self, label: &str) {
        println!(
            "  {label:<22} {:>9.0} events/s  mean {:>9.2?}  p50 {:>9.2?}  p99 {:>9.2?}  max {:>9.2?}  ({} events, {} outputs, {:.2?})",
            self.rate(),
            self.elapsed / self.latencies.len() as u32,
            self.percentile(0.5),
            self.percentile(0.99),
            self.latencies.last().copied().unwrap_or_default(),
            self.latencies.len(),
            self.outputs,
            self.elapsed,
        );
    }
}

fn run(plugin: &mut dyn UnderTest, load: &[Event], churn: &[Event]) -> (Phase, Phase) {
    plugin
        .configure(&Value::Null, &Mesh::default())
        .expect("configured");
    (Phase::run(plugin, load), Phase::run(plugin, churn))
}

const ROUNDS: usize = 3;

#[allow(clippy::print_stdout)]
fn main() {
    let (load, pod_ips) = initial();
    let churn = churn(pod_ips);
    let memory_mib: usize = std::env::var("GALLEON_BENCH_MEMORY_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let limits = Limits {
        deadline: Duration::from_secs(1),
        memory: memory_mib << 20,
    };
    let mut wasm =
        HarnessTransformer::load_with(Path::new(galleon_plugin_artifacts::SERVICEENTRY), limits)
            .expect("component loads");

    println!(
        "serviceentry: {SERVICES_COUNT} services, {} pods, {NODES_COUNT} nodes; wasm memory cap {memory_mib} MiB; {ROUNDS} rounds, native then wasm, fresh instances",
        SERVICES_COUNT * PODS_PER_SERVICE
    );
    let mut ratios = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        println!("round {round}");
        let (native_load, native_churn) =
            run(&mut Native::<ServiceEntries>::default(), &load, &churn);
        native_load.print("load, native");
        native_churn.print("churn, native");
        wasm.configure(&Value::Null, &Mesh::default())
            .expect("instantiated");
        let (wasm_load, wasm_churn) = run(&mut wasm, &load, &churn);
        wasm_load.print("load, wasm");
        wasm_churn.print("churn, wasm");
        assert_eq!(
            (native_load.outputs, native_churn.outputs),
            (wasm_load.outputs, wasm_churn.outputs),
            "both builds emit the same number of outputs"
        );
        ratios
            .0
            .push(wasm_load.elapsed.as_secs_f64() / native_load.elapsed.as_secs_f64());
        ratios
            .1
            .push(wasm_churn.elapsed.as_secs_f64() / native_churn.elapsed.as_secs_f64());
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "wasm / native (time, median of {ROUNDS} rounds): load {:.1}x, churn {:.1}x",
        median(ratios.0),
        median(ratios.1)
    );
}
