//! Fan-out under load, measured from outside the server, as an operator
//! would: the server runs in a child process (this benchmark re-executing
//! itself) and its CPU time and resident memory are read from `/proc`.
//!
//! - P2: a 1 MB collection pushed to 1,000 sinks (one HTTP/2 connection
//!   each), beside a baseline server on the same tonic/hyper stack that
//!   writes one shared, pre-encoded buffer to every stream: wall time until
//!   every sink has the version, and server CPU, as ratios to the baseline.
//! - P5: server memory per idle sink after those pushes.
//! - P8: 1,000 sinks that subscribe and never read while a 5 MB collection
//!   changes twice: server memory while they are connected, and after they
//!   disconnect.
//!
//! `cargo bench -p galleon-tests --bench fanout` prints the figures.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use galleon_mcp::cache::{CachedResource, DefaultGroup, Snapshot, SnapshotCache};
use galleon_mcp::server::{McpServer, ServerOptions};
use galleon_proto::mcp::{RequestResources, Resources};
use galleon_tests::procstat::{cpu_time, rss};
use galleon_tests::{RawSink, VS, resource};
use http_body_util::StreamBody;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{TcpListenerStream, WatchStream};
use tonic::body::Body;
use tonic::codec::{Codec, Streaming};

/// The allocator the `galleon` binary uses, so the server process here
/// holds and returns memory as the hub does.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SINKS: usize = 1_000;
/// Rounds of P2 per server (after one warm-up round).
const ROUNDS: usize = 10;
/// Body size of one resource.
const RESOURCE_BYTES: usize = 1_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return serve_child(&args[i + 1]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let galleon = fan_out(Server::Galleon).await;
        let baseline = fan_out(Server::Baseline).await;
        report_fan_out(&galleon, &baseline);
        let (connected, after, idle) = non_reading_sinks().await;
        print(&format!(
            "P8  1,000 sinks never reading, 5 MB collection changed twice: server RSS {:.1} MB connected, {:.1} MB after they left (idle hub {:.1} MB)",
            mb(connected),
            mb(after),
            mb(idle)
        ));
    });
}

#[derive(Clone, Copy, Debug)]
enum Server {
    Galleon,
    Baseline,
}

/// What one server's P2 run measured.
struct FanOut {
    /// Per round: wall time until every sink had the version.
    walls: Vec<Duration>,
    /// Per round: the server's CPU time.
    cpus: Vec<Duration>,
    /// Server RSS before the sinks connected, and with them idle after the
    /// pushes.
    rss_before: u64,
    rss_idle: u64,
}

async fn fan_out(kind: Server) -> FanOut {
    let mut server = ServerProcess::start(kind);
    // The collection exists before the sinks connect (in both servers).
    server.publish(1 << 20);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss(server.pid());
    let (received, mut receipts) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for i in 0..SINKS {
        let mut sink = RawSink::connect(&server.url(), &format!("sink-{i}")).await;
        sink.subscribe(VS).await;
        let received = received.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok(Some(push)) = sink.next_unbounded().await {
                sink.ack(&push).await;
                let _ = received.send(push.system_version_info);
            }
        }));
    }
    // Everyone holds the first version: the idle state the rounds start from.
    wait_for(&mut receipts, SINKS).await;
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for round in 0..=ROUNDS {
        let cpu = cpu_time(server.pid());
        let start = Instant::now();
        server.publish(1 << 20);
        wait_for(&mut receipts, SINKS).await;
        if round > 0 {
            walls.push(start.elapsed());
            cpus.push(cpu_time(server.pid()) - cpu);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss(server.pid());
    for task in tasks {
        task.abort();
    }
    FanOut {
        walls,
        cpus,
        rss_before,
        rss_idle,
    }
}

async fn wait_for(receipts: &mut mpsc::UnboundedReceiver<String>, n: usize) {
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(60), receipts.recv())
            .await
            .expect("every sink receives the push within a minute")
            .expect("sinks running");
    }
}

fn report_fan_out(galleon: &FanOut, baseline: &FanOut) {
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (name, f) in [("galleon", galleon), ("baseline", baseline)] {
        print(&format!(
            "P2  {name:8} 1 MB to {SINKS} sinks, median of {ROUNDS}: all sinks have it after {:7.1} ms, server CPU {:7.1} ms",
            ms(median(&f.walls)),
            ms(median(&f.cpus)),
        ));
    }
    let total = |v: &[Duration]| ms(v.iter().sum());
    print(&format!(
        "P2  galleon / baseline: wall {:.2}x (medians), server CPU {:.2}x (all {ROUNDS} rounds: {:.0} ms vs {:.0} ms)",
        ms(median(&galleon.walls)) / ms(median(&baseline.walls)),
        total(&galleon.cpus) / total(&baseline.cpus).max(1.0),
        total(&galleon.cpus),
        total(&baseline.cpus),
    ));
    for (name, f) in [("galleon", galleon), ("baseline", baseline)] {
        let per_sink = (f.rss_idle.saturating_sub(f.rss_before)) as f64 / SINKS as f64 / 1024.0;
        print(&format!(
            "P5  {name:8} server RSS {:.1} MB before the sinks, {:.1} MB with {SINKS} idle sinks after the pushes: {per_sink:.1} KiB per sink",
            mb(f.rss_before),
            mb(f.rss_idle),
        ));
    }
}

/// P8: sinks that subscribe and never read.
async fn non_reading_sinks() -> (u64, u64, u64) {
    let mut server = ServerProcess::start(Server::Galleon);
    server.publish(5 << 20);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss(server.pid());
    let mut sinks = Vec::new();
    for i in 0..SINKS {
        let sink = RawSink::connect(&server.url(), &format!("stuck-{i}")).await;
        sink.subscribe(VS).await;
        sinks.push(sink);
    }
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        server.publish(5 << 20);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let connected = rss(server.pid());
    drop(sinks);
    // jemalloc's background threads return freed pages within seconds.
    tokio::time::sleep(Duration::from_secs(20)).await;
    (connected, rss(server.pid()), idle)
}

/// A server in a child process, driven over its standard input.
struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    replies: BufReader<std::process::ChildStdout>,
    port: u16,
}

impl ServerProcess {
    fn start(kind: Server) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--serve", &format!("{kind:?}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let stdin = child.stdin.take().unwrap();
        let mut replies = BufReader::new(child.stdout.take().unwrap());
        let port = read_line(&mut replies).parse().expect("port");
        Self {
            child,
            stdin,
            replies,
            port,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Publishes a new version of a collection of `bytes` (returns once the
    /// server has it).
    fn publish(&mut self, bytes: usize) {
        writeln!(self.stdin, "{bytes}").unwrap();
        self.stdin.flush().unwrap();
        assert_eq!(read_line(&mut self.replies), "published");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a line from the server");
    line.trim().to_owned()
}

/// The child: serves on a free port (printed first), then publishes a new
/// version of the collection for each size read from standard input.
fn serve_child(kind: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        print(&listener.local_addr().unwrap().port().to_string());
        let publish: Box<dyn Fn(Vec<CachedResource>, u64) + Send> = match kind {
            "Galleon" => {
                let cache = SnapshotCache::new(DefaultGroup);
                let source = McpServer::new(cache.clone(), ServerOptions::new([VS]));
                tokio::spawn(async move { source.serve(listener).await.unwrap() });
                Box::new(move |resources, _| {
                    let snapshot = Snapshot::builder().collection(VS, resources).build();
                    cache.set_snapshot("default", snapshot);
                })
            }
            _ => {
                let (versions, current) = watch::channel(None);
                tokio::spawn(baseline_server(listener, current));
                Box::new(move |resources, generation| {
                    let _ = versions.send(Some(pre_encoded(&resources, generation)));
                })
            }
        };
        let (commands, mut sizes) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(size) = line.unwrap_or_default().trim().parse::<usize>() else {
                    break;
                };
                if commands.send(size).is_err() {
                    break;
                }
            }
        });
        let mut generation = 0;
        while let Some(size) = sizes.recv().await {
            generation += 1;
            publish(collection(size, generation), generation);
            print("published");
        }
    });
}

/// A collection of about `bytes`, every resource changed in `generation`.
fn collection(bytes: usize, generation: u64) -> Vec<CachedResource> {
    let blob = "x".repeat(RESOURCE_BYTES);
    (0..bytes / RESOURCE_BYTES)
        .map(|i| {
            let body = format!(r#"{{"generation":{generation},"blob":"{blob}"}}"#);
            CachedResource::new(resource(&format!("ns/r{i}"), &body))
        })
        .collect()
}

/// The whole gRPC message of a full push, encoded once.
fn pre_encoded(resources: &[CachedResource], generation: u64) -> Bytes {
    let message = Resources {
        system_version_info: generation.to_string(),
        collection: VS.into(),
        resources: resources.iter().map(|r| r.encoded().clone()).collect(),
        nonce: generation.to_string(),
        ..Default::default()
    };
    let mut frame = BytesMut::with_capacity(5 + message.encoded_len());
    frame.put_u8(0);
    frame.put_u32(message.encoded_len() as u32);
    message.encode(&mut frame).unwrap();
    frame.freeze()
}

/// The baseline: every stream gets each version's one shared buffer (its
/// requests are read and ignored).
async fn baseline_server(listener: TcpListener, current: watch::Receiver<Option<Bytes>>) {
    tonic::transport::Server::builder()
        .max_concurrent_streams(1024)
        .add_service(Baseline { current })
        // As galleon's listener does.
        .serve_with_incoming(TcpListenerStream::new(listener).map(|accepted| {
            accepted.inspect(|stream| {
                let _ = stream.set_nodelay(true);
            })
        }))
        .await
        .unwrap();
}

#[derive(Clone)]
struct Baseline {
    current: watch::Receiver<Option<Bytes>>,
}

impl tonic::server::NamedService for Baseline {
    const NAME: &'static str = "istio.mcp.v1alpha1.ResourceSource";
}

impl tower_service::Service<http::Request<Body>> for Baseline {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let decoder = tonic_prost::ProstCodec::<Resources, RequestResources>::default().decoder();
        let mut requests = Streaming::new_request(decoder, request.into_body(), None, None);
        tokio::spawn(async move { while let Some(Ok(_)) = requests.next().await {} });
        let pushes = WatchStream::new(self.current.clone())
            .filter_map(|push| push.map(|b| Ok::<_, tonic::Status>(http_body::Frame::data(b))));
        let mut response = http::Response::new(Body::new(StreamBody::new(pushes)));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/grpc"),
        );
        std::future::ready(Ok(response))
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// A benchmark's output is its figures (and the child's replies).
#[allow(clippy::print_stdout)]
fn print(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}
