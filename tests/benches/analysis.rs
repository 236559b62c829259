//! Analysis, measured and checked against Istio's own grid:
//!
//! - with `ISTIO_SRC=<an istio/istio checkout>`: every case of Istio's
//!   analyzer test grid (`pkg/config/analysis/analyzers/analyzers_test.go`
//!   and its `testdata/`) whose analyzer galleon's built-in plugin holds
//!   runs as `galleon analyze --analyzer NAME [--mesh-config F] FILES -o
//!   json`; a case is exact when the (code, resource) multiset equals the
//!   grid's. Prints the figures per analyzer, and the cases that differ.
//! - always: bookinfo scaled to about 10,000 resources as files, served by
//!   the release binary: time from start to the first full analysis, time
//!   from one file edit to its message, and the process's RSS.
//!
//! `cargo bench -p galleon-tests --bench analysis`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use galleon_tests::Galleon;
use serde_json::Value;

/// Go type names in the grid that differ from the analyzers' metadata names.
const RENAMED: &[(&str, &str)] = &[
    (
        "destinationrule.PodNotSelectedAnalyzer",
        "destinationrule.SubsetSelectPodAnalyzer",
    ),
    (
        "serviceentry.ProtocolAddressesAnalyzer",
        "serviceentry.Analyzer",
    ),
    (
        "authz.AuthorizationPoliciesAnalyzer",
        "auth.AuthorizationPoliciesAnalyzer",
    ),
    (
        "deprecation.FieldAnalyzer",
        "deprecation.DeprecationAnalyzer",
    ),
    (
        "schemaValidation.CollectionValidationAnalyzer(collections.VirtualService),",
        "schema.ValidationAnalyzer.VirtualService",
    ),
];

#[derive(Debug, Default)]
struct GridCase {
    name: String,
    files: Vec<String>,
    mesh: Option<String>,
    analyzer: String,
    expected: Vec<(String, String)>,
}

/// Kinds without a namespace among those the grid names.
const CLUSTER_SCOPED: &[&str] = &["Namespace", "Node"];

#[tokio::main]
async fn main() {
    let galleon = galleon_tests::built_galleon();
    match std::env::var_os("ISTIO_SRC") {
        Some(src) => conformance(&galleon, Path::new(&src)),
        None => print("ISTIO_SRC not set: Istio's analyzer grid not run"),
    }
    // `-- --grid-only`: Istio's grid alone.
    if !std::env::args().any(|a| a == "--grid-only") {
        scaled().await;
    }
}

fn conformance(galleon: &Path, src: &Path) {
    let dir = src.join("pkg/config/analysis/analyzers");
    let grid = std::fs::read_to_string(dir.join("analyzers_test.go")).expect("analyzers_test.go");
    let messages = std::fs::read_to_string(src.join("pkg/config/analysis/msg/messages.yaml"))
        .expect("messages.yaml");
    let codes = codes(&messages);
    let listed = Command::new(galleon)
        .args(["analyze", "--list-analyzers", "-o", "json"])
        .output()
        .unwrap();
    let held: Vec<String> = serde_json::from_slice::<Vec<Value>>(&listed.stdout)
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    let mut figures: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for case in cases(&grid) {
        let figure = figures.entry(case.analyzer.clone()).or_default();
        figure.1 += 1;
        if !held.contains(&case.analyzer) {
            continue;
        }
        let mut command = Command::new(galleon);
        command
            .current_dir(&dir)
            .args(["analyze", "-o", "json", "--analyzer", &case.analyzer]);
        if let Some(mesh) = &case.mesh {
            command.args(["--mesh-config", mesh]);
        }
        let out = command.args(&case.files).output().unwrap();
        let got: Vec<Value> = match serde_json::from_slice(&out.stdout) {
            Ok(got) => got,
            Err(_) => {
                print(&format!(
                    "  {} ({}): {}",
                    case.name,
                    case.analyzer,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
                continue;
            }
        };
        let mut got: Vec<(String, String)> = got
            .iter()
            .map(|m| {
                let r = &m["resource"];
                let (kind, name) = (r["kind"].as_str().unwrap(), r["name"].as_str().unwrap());
                let resource = match r["namespace"].as_str().unwrap_or("") {
                    // Cluster-scoped: named as the grid names it.
                    "" => format!("{kind} {name}"),
                    namespace => format!("{kind} {namespace}/{name}"),
                };
                (m["code"].as_str().unwrap().to_owned(), resource)
            })
            .collect();
        let mut expected: Vec<(String, String)> = case
            .expected
            .iter()
            .map(|(name, resource)| {
                let code = codes.get(name).cloned().unwrap_or_else(|| name.clone());
                // The grid leaves a file resource without a namespace
                // unqualified; galleon puts it in `default`, as istioctl
                // does, but for cluster-scoped kinds.
                let resource = match resource.split_once(' ') {
                    Some((kind, name))
                        if !name.contains('/') && !CLUSTER_SCOPED.contains(&kind) =>
                    {
                        format!("{kind} default/{name}")
                    }
                    _ => resource.clone(),
                };
                (code, resource)
            })
            .collect();
        got.sort();
        expected.sort();
        if got == expected {
            figure.0 += 1;
        } else {
            print(&format!(
                "  {} ({}): expected {expected:?}, got {got:?}",
                case.name, case.analyzer
            ));
        }
    }
    let (mut exact, mut total) = (0, 0);
    print("| analyzer | exact cases |\n|---|---|");
    for (analyzer, (e, t)) in &figures {
        let note = if held.contains(analyzer) {
            ""
        } else {
            " (not held)"
        };
        print(&format!("| `{analyzer}`{note} | {e}/{t} |"));
        if held.contains(analyzer) {
            exact += e;
            total += t;
        }
    }
    print(&format!("analyzers held: {exact}/{total} grid cases exact"));
}

/// Message names → codes, from messages.yaml.
fn codes(yaml: &str) -> BTreeMap<String, String> {
    let mut codes = BTreeMap::new();
    let mut name = None;
    for line in yaml.lines() {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("- name: ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(code), Some(n)) = (line.strip_prefix("code: "), name.take()) {
            codes.insert(n, code.trim().to_owned());
        }
    }
    codes
}

/// The grid's cases, read from the Go source's literal struct values.
fn cases(grid: &str) -> Vec<GridCase> {
    let quoted = |line: &str| -> Vec<String> {
        line.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut cases = Vec::new();
    let mut case: Option<GridCase> = None;
    let mut in_files = false;
    for line in grid.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("name:") {
            cases.extend(case.take());
            case = Some(GridCase {
                name: quoted(rest).into_iter().next().unwrap_or_default(),
                ..GridCase::default()
            });
            continue;
        }
        let Some(c) = case.as_mut() else { continue };
        if line.starts_with("inputFiles:") {
            in_files = !line.ends_with("},");
            c.files.extend(quoted(line));
        } else if in_files {
            if line.starts_with('}') {
                in_files = false;
            } else {
                c.files.extend(quoted(line));
            }
        } else if let Some(rest) = line.strip_prefix("meshConfigFile:") {
            c.mesh = quoted(rest).into_iter().next();
        } else if let Some(rest) = line.strip_prefix("analyzer:") {
            let go = rest
                .trim()
                .trim_start_matches('&')
                .trim_end_matches("{},")
                .trim_end_matches("{}");
            c.analyzer = RENAMED
                .iter()
                .find(|(from, _)| *from == go)
                .map_or_else(|| go.to_owned(), |(_, to)| (*to).to_owned());
        } else if let Some(rest) = line.strip_prefix("{msg.") {
            let (name, rest) = rest.split_once(',').unwrap_or((rest, ""));
            if let Some(resource) = quoted(rest).into_iter().next() {
                c.expected.push((name.trim().to_owned(), resource));
            }
        }
    }
    cases.extend(case);
    cases.retain(|c| !c.analyzer.is_empty() && !c.files.is_empty());
    cases
}

/// Namespaces of bookinfo in the scaled set (a dozen resources each).
const NAMESPACES: usize = 800;

/// Bookinfo in `ns`: Services, Pods, DestinationRules, VirtualServices, a
/// Gateway; one mistake (a route to subset v9) in every namespace.
fn bookinfo(ns: &str) -> String {
    let mut docs = Vec::new();
    for app in ["productpage", "reviews", "ratings", "details"] {
        docs.push(format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {app}, namespace: {ns}}}\nspec:\n  selector: {{app: {app}}}\n  ports: [{{name: http, port: 9080}}]\n"));
        docs.push(format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {app}-v1, namespace: {ns}, labels: {{app: {app}, version: v1}}}}\nspec:\n  containers: [{{name: {app}, image: {app}:v1}}]\n"));
        docs.push(format!("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {app}, namespace: {ns}}}\nspec:\n  host: {app}\n  subsets: [{{name: v1, labels: {{version: v1}}}}]\n"));
    }
    docs.push(format!("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: gw, namespace: {ns}}}\nspec:\n  selector: {{app: productpage}}\n  servers: [{{port: {{number: 9080, name: http, protocol: HTTP}}, hosts: [\"{ns}.example.com\"]}}]\n"));
    docs.push(format!("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: front, namespace: {ns}}}\nspec:\n  hosts: [\"{ns}.example.com\"]\n  gateways: [gw]\n  http: [{{route: [{{destination: {{host: productpage, subset: v1, port: {{number: 9080}}}}}}]}}]\n"));
    docs.push(format!("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: reviews, namespace: {ns}}}\nspec:\n  hosts: [reviews]\n  http: [{{route: [{{destination: {{host: reviews, subset: v9}}}}]}}]\n"));
    docs.join("---\n")
}

async fn scaled() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir(&resources).unwrap();
    for n in 0..NAMESPACES {
        std::fs::write(
            resources.join(format!("ns{n}.yaml")),
            bookinfo(&format!("ns{n}")),
        )
        .unwrap();
    }
    let documents = NAMESPACES * 14;
    let config = dir.path().join("galleon.yaml");
    std::fs::write(
        &config,
        "mcp: {address: \"127.0.0.1:0\"}\nsources: [{files: {paths: [resources]}}]\n",
    )
    .unwrap();
    let started = Instant::now();
    let hub = Galleon::serve(&["--config", config.to_str().unwrap()]).await;
    let full = wait_count(
        &hub,
        "/debug/analysis?code=IST0101&kind=VirtualService",
        NAMESPACES,
    )
    .await;
    let first = started.elapsed();
    // One edit: namespace 0's route names a gateway that does not exist.
    let edited = bookinfo("ns0").replace("gateways: [gw]", "gateways: [gw-missing]");
    let changed = Instant::now();
    write_atomically(&resources.join("ns0.yaml"), &edited);
    wait_count(
        &hub,
        "/debug/analysis?code=IST0101&kind=VirtualService",
        full + 1,
    )
    .await;
    let reanalysed = changed.elapsed();
    let rss = rss_mib(hub.pid());
    print(&format!(
        "analysis of {documents} resources ({NAMESPACES} namespaces of bookinfo): first full analysis {:.2} s after start; one edit → its message {:.0} ms; RSS {rss:.0} MiB",
        first.as_secs_f64(),
        reanalysed.as_secs_f64() * 1e3
    ));
    assert!(hub.stop().await);
}

fn write_atomically(path: &PathBuf, content: &str) {
    let aside = path.with_extension("tmp~");
    std::fs::write(&aside, content).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

/// Waits until the JSON list at `path` has at least `count` entries.
async fn wait_count(hub: &Galleon, path: &str, count: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, body) = hub.admin_get(path).await;
        if status == 200
            && let Ok(list) = serde_json::from_str::<Vec<Value>>(&body)
            && list.len() >= count
        {
            return list.len();
        }
        assert!(Instant::now() < deadline, "{path} never reached {count}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[allow(clippy::print_stdout)]
fn print(line: &str) {
    println!("{line}");
}
