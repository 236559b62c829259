//! The validation surfaces measured with the CRDs a user loads:
//!
//! - `galleon validate`: documents per second over 1,000 documents, after
//!   the schemas load (the run over no documents is subtracted);
//! - the admission webhook: review latency p50/p99 under 100 concurrent
//!   clients, each on a connection kept open (as the API server keeps
//!   them), and the reviews answered per second.
//!
//! With `ISTIO_API=<an istio/api checkout>` it loads Istio's CRDs
//! (`kubernetes/customresourcedefinitions.gen.yaml`) and uses istio/api's
//! corpus (`tests/testdata/*.yaml`) as the documents, and first runs that
//! corpus through `galleon validate` (each document on its own) and the
//! webhook: each valid document must be accepted, each invalid one
//! (carrying `_err`, the API server's error) refused with a message
//! containing it. Without it, the tests' own VirtualService CRD
//! and documents are used. Builds the release `galleon` binary first:
//! `cargo bench -p galleon-tests --bench validation`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use galleon_tests::Galleon;
use galleon_tests::admission::{Operation, WebhookClient, review};
use galleon_tests::pki::TestCa;
use serde_json::{Value, json};

const DOCUMENTS: usize = 1_000;
const CLIENTS: usize = 100;
const REVIEWS_PER_CLIENT: usize = 50;

/// A corpus document: the object, and the error it must be refused with.
struct Case {
    file: String,
    object: Value,
    error: Option<String>,
}

#[tokio::main]
async fn main() {
    let galleon = galleon_tests::built_galleon();
    let dir = tempfile::tempdir().unwrap();
    let (crds, cases) = match std::env::var_os("ISTIO_API") {
        Some(api) => istio_corpus(Path::new(&api)),
        None => own_corpus(dir.path()),
    };
    print(&format!(
        "CRDs: {}; corpus: {} documents ({} invalid)",
        crds.display(),
        cases.len(),
        cases.iter().filter(|c| c.error.is_some()).count()
    ));

    validate_conformance(&galleon, &crds, &cases);
    validate_throughput(&galleon, &crds, &cases, dir.path());

    let ca = TestCa::new("bench CA");
    ca.server().write(dir.path(), "webhook");
    std::fs::create_dir_all(dir.path().join("resources")).unwrap();
    // 100 connections from one address: over the default per-peer quarter
    // of admission.maxConnections (64), which an API server multiplexing
    // reviews over HTTP/2 never needs.
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nschemas: {{crds: [{}]}}\nsources: [{{files: {{paths: [resources]}}}}]\n\
         admission: {{address: \"127.0.0.1:0\", tls: {{cert: webhook.crt, key: webhook.key}}, maxConnections: 512}}\n",
        crds.display()
    );
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let hub = Galleon::serve_in(dir.path(), &["--config", "galleon.yaml"]).await;
    let addr = hub.admission_addr();

    conformance(&WebhookClient::new(addr, &ca.pem()).keep_alive(), &cases).await;
    latency(addr, &ca.pem(), &cases).await;
}

/// Istio's CRDs and istio/api's corpus.
fn istio_corpus(api: &Path) -> (PathBuf, Vec<Case>) {
    let crds = api.join("kubernetes/customresourcedefinitions.gen.yaml");
    let mut files: Vec<PathBuf> = std::fs::read_dir(api.join("tests/testdata"))
        .expect("tests/testdata in ISTIO_API")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("corpus YAML");
        for mut object in documents.into_iter().filter(|d| !d.is_null()) {
            let error = object
                .as_object_mut()
                .and_then(|o| o.remove("_err"))
                .and_then(|e| e.as_str().map(str::to_owned));
            cases.push(Case {
                file: file.clone(),
                object,
                error,
            });
        }
    }
    (crds, cases)
}

/// The tests' own CRD, and VirtualServices valid and not.
fn own_corpus(dir: &Path) -> (PathBuf, Vec<Case>) {
    let crds = dir.join("vs-crd.yaml");
    std::fs::write(&crds, galleon_tests::hub::VS_CRD).unwrap();
    let cases = (0..20)
        .map(|i| {
            let broken = i % 4 == 0;
            let timeout = if broken { "0s" } else { "1s" };
            Case {
                file: "own".into(),
                object: json!({
                    "apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService",
                    "metadata": {"name": format!("vs-{i}"), "namespace": "default"},
                    "spec": {"hosts": [format!("h{i}")], "http": [{"timeout": timeout, "route": [{"weight": 100}]}]},
                }),
                error: broken.then(|| "must be a valid duration greater than 1ms".to_owned()),
            }
        })
        .collect();
    (crds, cases)
}

/// `galleon validate` over `DOCUMENTS` documents (the corpus cycled, names
/// made unique), less its run over none: the documents per second.
fn validate_throughput(galleon: &Path, crds: &Path, cases: &[Case], dir: &Path) {
    let (empty, documents) = (dir.join("empty"), dir.join("documents"));
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&documents).unwrap();
    for (file, chunk) in (0..DOCUMENTS).collect::<Vec<_>>().chunks(100).enumerate() {
        let text: String = chunk
            .iter()
            .map(|&i| {
                let mut object = cases[i % cases.len()].object.clone();
                object["metadata"]["name"] = json!(format!("doc-{i}"));
                format!("{}\n---\n", serde_json::to_string(&object).unwrap())
            })
            .collect();
        std::fs::write(documents.join(format!("part-{file}.yaml")), text).unwrap();
    }
    let run = |path: &Path| {
        let started = Instant::now();
        let output = std::process::Command::new(galleon)
            .args(["validate", "-o", "json", "--crds"])
            .arg(crds)
            .arg(path)
            .output()
            .unwrap();
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "galleon validate: {output:?}"
        );
        started.elapsed()
    };
    let median = |path: &Path| {
        let mut samples: Vec<Duration> = (0..5).map(|_| run(path)).collect();
        samples.sort();
        samples[2]
    };
    let (setup, all) = (median(&empty), median(&documents));
    let work = all.saturating_sub(setup);
    print(&format!(
        "galleon validate: start + CRDs {:.0} ms; {DOCUMENTS} documents {:.0} ms in all, {:.1} ms beyond start: {:.0} documents/s (medians of 5)",
        ms(setup),
        ms(all),
        ms(work),
        DOCUMENTS as f64 / work.as_secs_f64().max(1e-6)
    ));
}

/// What a conformance run found.
#[derive(Default)]
struct Tally {
    valid: usize,
    valid_accepted: usize,
    invalid: usize,
    refused: usize,
    matched: usize,
}

impl Tally {
    /// Counts `case`, accepted or refused with `message`, and prints each
    /// mismatch.
    fn record(&mut self, case: &Case, accepted: bool, message: &str) {
        let name = case.object["metadata"]["name"].as_str().unwrap_or("?");
        match &case.error {
            None => {
                self.valid += 1;
                if accepted {
                    self.valid_accepted += 1;
                } else {
                    print(&format!(
                        "  {}/{name}: valid, refused: {message}",
                        case.file
                    ));
                }
            }
            Some(error) if accepted => {
                self.invalid += 1;
                print(&format!(
                    "  {}/{name}: invalid, accepted (want {error:?})",
                    case.file
                ));
            }
            Some(error) => {
                self.invalid += 1;
                self.refused += 1;
                if message.contains(error.as_str()) {
                    self.matched += 1;
                } else {
                    print(&format!(
                        "  {}/{name}: want {error:?}, got {message:?}",
                        case.file
                    ));
                }
            }
        }
    }

    fn print(&self, surface: &str) {
        print(&format!(
            "{surface} conformance: valid accepted {}/{}; invalid refused {}/{}; with the API server's message {}/{}",
            self.valid_accepted, self.valid, self.refused, self.invalid, self.matched, self.invalid
        ));
    }
}

/// Every case through `galleon validate -` on its own (the corpus is a set
/// of independent documents): valid ones accepted, invalid ones refused
/// with their error.
fn validate_conformance(galleon: &Path, crds: &Path, cases: &[Case]) {
    let mut tally = Tally::default();
    for case in cases {
        let mut child = std::process::Command::new(galleon)
            .args(["validate", "-o", "json", "--crds"])
            .arg(crds)
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let document = serde_json::to_vec(&case.object).unwrap();
        child.stdin.take().unwrap().write_all(&document).unwrap();
        let output = child.wait_with_output().unwrap();
        let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON findings");
        let message: Vec<&str> = answer["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["severity"] == "error")
            .filter_map(|p| p["message"].as_str())
            .collect();
        tally.record(case, answer["valid"] == true, &message.join("; "));
    }
    tally.print("galleon validate");
}

/// Every case through the webhook: valid ones allowed, invalid ones denied
/// with their error.
async fn conformance(client: &WebhookClient, cases: &[Case]) {
    let mut tally = Tally::default();
    for case in cases {
        let answer = client
            .validate(&review(Operation::Create, &case.object, false))
            .await;
        let message = answer["status"]["message"].as_str().unwrap_or_default();
        tally.record(case, answer["allowed"] == true, message);
    }
    tally.print("webhook");
}

/// `CLIENTS` clients on connections of their own, each sending
/// `REVIEWS_PER_CLIENT` reviews of the corpus one after another.
async fn latency(addr: std::net::SocketAddr, ca: &str, cases: &[Case]) {
    let bodies: Arc<Vec<Value>> = Arc::new(
        cases
            .iter()
            .map(|c| review(Operation::Create, &c.object, false))
            .collect(),
    );
    // Every client's connection is open before the clock starts.
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = WebhookClient::new(addr, ca).keep_alive();
        client.validate(&bodies[0]).await;
        clients.push(client);
    }
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(n, client)| {
            let bodies = bodies.clone();
            tokio::spawn(async move {
                let mut took = Vec::with_capacity(REVIEWS_PER_CLIENT);
                for i in 0..REVIEWS_PER_CLIENT {
                    let body = &bodies[(n * REVIEWS_PER_CLIENT + i) % bodies.len()];
                    let sent = Instant::now();
                    client.validate(body).await;
                    took.push(sent.elapsed());
                }
                took
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| ms(all[((all.len() as f64 * q) as usize).min(all.len() - 1)]);
    print(&format!(
        "webhook under {CLIENTS} concurrent clients ({} reviews): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.0} reviews/s",
        all.len(),
        at(0.50),
        at(0.99),
        ms(*all.last().unwrap()),
        all.len() as f64 / elapsed.as_secs_f64()
    ));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A benchmark's output is its figures.
#[allow(clippy::print_stdout)]
fn print(line: &str) {
    println!("{line}");
}
