//! The Kubernetes source at scale: 10,000 Services (with their Endpoints)
//! and 100,000 Pods on 100 Nodes, listed from the fake API server
//! (`galleon_tests::kube_api`, in this process) by the real `galleon serve`
//! (release build: `cargo build --release -p galleon` first).
//!
//! Printed per run: the time from start until every object was delivered
//! to the pipeline, events per second, and the hub's resident memory; a
//! run without Pods gives what the Pods cost each. A last run adds the
//! ServiceEntry plugin, timed until its 10,000 entries reach a sink.

use std::time::{Duration, Instant};

use galleon_tests::kube_api::FakeApiServer;
use galleon_tests::procstat::rss;
use galleon_tests::{Galleon, RawSink};
use serde_json::json;

const SERVICES: usize = 10_000;
const PODS_PER_SERVICE: usize = 10;
const NODES: usize = 100;

async fn cluster(pods: bool) -> (FakeApiServer, u64) {
    let api =
        FakeApiServer::start(&["/v1/services", "/v1/endpoints", "/v1/pods", "/v1/nodes"]).await;
    let mut objects = 0;
    for n in 0..NODES {
        api.apply(
            "/v1/nodes",
            json!({"metadata": {"name": format!("node-{n}"), "labels": {
                "topology.kubernetes.io/region": "eu", "topology.kubernetes.io/zone": format!("eu-{}", n % 3)}}}),
        );
        objects += 1;
    }
    for s in 0..SERVICES {
        let (namespace, name) = (format!("ns-{}", s % 100), format!("svc-{s}"));
        api.apply(
            "/v1/services",
            json!({"metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{s}")},
                   "spec": {"clusterIP": format!("10.96.{}.{}", s / 250, s % 250),
                            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                            "selector": {"app": name}}}),
        );
        let ips: Vec<String> = (0..PODS_PER_SERVICE)
            .map(|p| format!("10.{}.{}.{p}", s / 250, s % 250))
            .collect();
        api.apply(
            "/v1/endpoints",
            json!({"metadata": {"name": name, "namespace": namespace},
                   "subsets": [{"addresses": ips.iter().map(|ip| json!({"ip": ip})).collect::<Vec<_>>(),
                                "ports": [{"name": "http", "port": 8080}]}]}),
        );
        objects += 2;
        if !pods {
            continue;
        }
        for (p, ip) in ips.iter().enumerate() {
            // A Pod as the API serves it: containers, conditions and managed
            // fields the source drops.
            api.apply(
                "/v1/pods",
                json!({"metadata": {"name": format!("{name}-{p}"), "namespace": namespace,
                                    "labels": {"app": name, "version": "v1"},
                                    "uid": format!("pod-{s}-{p}"),
                                    "ownerReferences": [{"kind": "ReplicaSet", "name": format!("{name}-rs")}],
                                    "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
                       "spec": {"nodeName": format!("node-{}", (s + p) % NODES), "serviceAccountName": name,
                                "containers": [{"name": "app", "image": "registry.example/app:1.2.3",
                                                "ports": [{"containerPort": 8080}],
                                                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
                       "status": {"phase": "Running", "podIP": ip, "hostIP": "192.168.0.1",
                                  "conditions": [{"type": "Ready", "status": "True"}],
                                  "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0}]}}),
            );
            objects += 1;
        }
    }
    (api, objects)
}

struct Run {
    objects: u64,
    delivered: Duration,
    rss: u64,
}

/// Serves the cluster with the built-in plugins `enabled`; until every
/// object reached the pipeline.
async fn run(pods: bool, plugins: bool) -> (Run, Galleon, tempfile::TempDir, FakeApiServer) {
    let (api, objects) = cluster(pods).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let builtins = if plugins {
        String::new()
    } else {
        "plugins: {builtins: {ingress: {enabled: false}, serviceentry: {enabled: false}, authpolicy: {enabled: false}}}\n".into()
    };
    std::fs::write(
        dir.path().join("galleon.yaml"),
        format!(
            "mcp: {{address: \"127.0.0.1:0\"}}\nsources: [{{kubernetes: {{kubeconfig: \"{}\"}}}}]\n{builtins}",
            kubeconfig.display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let galleon = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    while galleon.metric("galleon_source_events_total").await < objects {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = rss(galleon.pid());
    (
        Run {
            objects,
            delivered,
            rss,
        },
        galleon,
        dir,
        api,
    )
}

/// A benchmark's output is its figures.
#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() {
    let mb = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    let (without, galleon, _dir, _api) = run(false, false).await;
    drop(galleon);
    let (with, galleon, _dir, _api) = run(true, false).await;
    drop(galleon);
    for (label, run) in [
        ("services+endpoints+nodes", &without),
        ("… + 100,000 pods", &with),
    ] {
        println!(
            "kubernetes source, {label:24}: {:7} objects delivered in {:6.2} s ({:8.0} events/s), RSS {:6.1} MB",
            run.objects,
            run.delivered.as_secs_f64(),
            run.objects as f64 / run.delivered.as_secs_f64(),
            mb(run.rss),
        );
    }
    let pods = (SERVICES * PODS_PER_SERVICE) as f64;
    println!(
        "memory per pod held: {:.0} bytes",
        with.rss.saturating_sub(without.rss) as f64 / pods
    );

    // With the ServiceEntry plugin: until a sink holds every entry.
    let (_, galleon, _dir, _api) = run(true, true).await;
    let started = Instant::now();
    let mut sink = RawSink::connect(&galleon.url(), "bench").await;
    sink.subscribe("istio/networking/v1alpha3/synthetic/serviceentries")
        .await;
    loop {
        let push = sink.recv().await;
        sink.ack(&push).await;
        if push.resources.len() >= SERVICES {
            break;
        }
    }
    println!(
        "with the serviceentry plugin: {} ServiceEntries at a sink {:.2} s after every object was delivered, RSS {:.1} MB",
        SERVICES,
        started.elapsed().as_secs_f64(),
        mb(rss(galleon.pid())),
    );
}
