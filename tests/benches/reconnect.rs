//! A fleet reconnecting at once: 1,000 sinks, each on its own connection,
//! dial the source together, subscribe and wait for their first push;
//! plaintext, then mutual TLS with the access list (certificates made
//! here, as in the TLS tests). Prints the wall time until every sink has
//! the snapshot and the ratio of the two, from one run. Server and sinks
//! share this process (and its two cores), so the figure is an upper bound
//! on what the server alone needs.
//!
//! `cargo bench -p galleon-tests --bench reconnect` prints the figures.

use std::time::{Duration, Instant};

use galleon_mcp::cache::{DefaultGroup, SnapshotCache};
use galleon_mcp::server::{AccessList, AccessRule, ServerOptions, StreamRate};
use galleon_mcp::tls::{ServerTls, ServerTlsFiles};
use galleon_proto::mcp::SinkNode;
use galleon_tests::pki::{Issued, TestCa, tls_channel};
use galleon_tests::{RawSink, TestServer, VS};
use tokio::task::JoinSet;

const SINKS: usize = 1_000;
const RESOURCES: usize = 100;
const IDENTITY: &str = "spiffe://cluster.local/ns/istio-system/sa/istiod";

#[tokio::main]
async fn main() {
    let ca = TestCa::new("bench CA");
    let dir = tempfile::tempdir().unwrap();
    ca.server().write(dir.path(), "server");
    std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
    let client = ca.client(IDENTITY);

    let plaintext = reconnect(None, &ca, &client).await;
    let tls = ServerTls::load(ServerTlsFiles {
        cert: dir.path().join("server.crt"),
        key: dir.path().join("server.key"),
        client_ca: Some(dir.path().join("ca.crt")),
    })
    .unwrap();
    let mutual = reconnect(Some(tls), &ca, &client).await;
    let per_second = |d: Duration| SINKS as f64 / d.as_secs_f64();
    report(&[
        format!("{SINKS} sinks reconnecting at once, {RESOURCES} resources each:"),
        format!(
            "  plaintext:  {:>7.0} ms  ({:>6.0} sinks/s)",
            plaintext.as_secs_f64() * 1e3,
            per_second(plaintext)
        ),
        format!(
            "  mutual TLS: {:>7.0} ms  ({:>6.0} sinks/s)",
            mutual.as_secs_f64() * 1e3,
            per_second(mutual)
        ),
        format!(
            "  mutual TLS / plaintext: x{:.2}",
            mutual.as_secs_f64() / plaintext.as_secs_f64()
        ),
    ]);
}

/// Prints the figures: a benchmark's output.
#[allow(clippy::print_stdout)]
fn report(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

/// Wall time until every sink has its first push.
async fn reconnect(tls: Option<ServerTls>, ca: &TestCa, client: &Issued) -> Duration {
    let mut options = ServerOptions::new([VS]);
    // The whole fleet at once, as after a hub restart.
    options.stream_rate = StreamRate {
        burst: (SINKS as u32).try_into().unwrap(),
        per_second: 100.try_into().unwrap(),
    };
    let secure = tls.is_some();
    if secure {
        options.access = Some(AccessList::new(AccessRule::allowing([IDENTITY.to_owned()])));
    }
    options.tls = tls;
    let source = TestServer::start_with(SnapshotCache::new(DefaultGroup), options).await;
    source.publish_blobs(VS, RESOURCES, 200, 0);
    let (addr, url, ca) = (source.addr, source.url(), ca.pem());
    let started = Instant::now();
    let mut sinks = JoinSet::new();
    for i in 0..SINKS {
        let (url, ca) = (url.clone(), ca.clone());
        let client = client.clone();
        sinks.spawn(async move {
            let node = SinkNode {
                id: format!("pilot-{i}"),
                ..Default::default()
            };
            let channel = if secure {
                tls_channel(addr, &ca, Some(&client)).await
            } else {
                tonic::transport::Endpoint::from_shared(url)
                    .unwrap()
                    .connect()
                    .await
            };
            let channel = channel.map_err(|e| format!("connect: {e:?}"))?;
            let mut sink = RawSink::try_open(channel, node)
                .await
                .map_err(|e| format!("open: {e}"))?;
            sink.subscribe(VS).await;
            let push = sink.recv().await;
            assert_eq!(push.resources.len(), RESOURCES);
            Ok::<_, String>(sink)
        });
    }
    let mut connected = Vec::with_capacity(SINKS);
    while let Some(sink) = sinks.join_next().await {
        match sink.unwrap() {
            Ok(sink) => connected.push(sink),
            Err(error) => report(&[format!("a sink failed (secure: {secure}): {error}")]),
        }
    }
    assert_eq!(connected.len(), SINKS, "every sink connected");
    let elapsed = started.elapsed();
    drop(connected);
    source.stop().await;
    elapsed
}
