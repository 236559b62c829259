//! Callout: the hub dials a `ResourceSink` server (the sink library's
//! server mode) and serves it with the source logic.

use std::time::Duration;

use galleon_mcp::cache::{DefaultGroup, SnapshotCache};
use galleon_mcp::server::{CalloutOptions, McpServer, ServerOptions};
use galleon_mcp::sink::{SinkOptions, SinkServer};
use galleon_mcp::tls::ClientTls;
use galleon_proto::mcp::SinkNode;
use galleon_tests::*;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

const A1: &str = r#"{"v":1}"#;
const A2: &str = r#"{"v":2}"#;

async fn start_sink_server(
    listener: TcpListener,
    recorder: &Recorder,
) -> tokio::task::JoinHandle<()> {
    start_sink_server_with(listener, recorder, None).await
}

/// A sink server, over `tls` when given.
async fn start_sink_server_with(
    listener: TcpListener,
    recorder: &Recorder,
    tls: Option<tonic::transport::ServerTlsConfig>,
) -> tokio::task::JoinHandle<()> {
    let options = SinkOptions {
        node: SinkNode {
            id: "remote-pilot".into(),
            ..Default::default()
        },
        collections: vec![VS.into()],
        ..SinkOptions::default()
    };
    let service = SinkServer::new(options, recorder.clone()).into_service();
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        server = server.tls_config(tls).expect("sink TLS");
    }
    tokio::spawn(async move {
        server
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .expect("sink server");
    })
}

fn start_callout(address: String) -> McpServer {
    start_callout_with(address, None)
}

fn start_callout_with(address: String, tls: Option<ClientTls>) -> McpServer {
    let cache = SnapshotCache::new(DefaultGroup);
    cache.set_snapshot("default", snapshot(&[(VS, &[("ns/a", A1)])]));
    let source = McpServer::new(cache, ServerOptions::new([VS]));
    let options = CalloutOptions {
        address,
        metadata: vec![("x-hub".into(), "east".into())],
        backoff: quick_backoff(),
        tls,
    };
    let runner = source.clone();
    tokio::spawn(async move { runner.callout(options).await });
    source
}

#[tokio::test]
async fn callout_serves_a_remote_sink_with_the_source_logic() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let recorder = Recorder::default();
    let server = start_sink_server(listener, &recorder).await;
    let source = start_callout(address);

    recorder.wait_for("initial state", |c| c.len() == 1).await;
    assert_eq!(change_names(&recorder.changes()[0]), ["ns/a"]);
    source
        .cache()
        .set_snapshot("default", snapshot(&[(VS, &[("ns/a", A2)])]));
    recorder.wait_for("the change", |c| c.len() == 2).await;
    wait_for_acks(&source, 2).await;
    source.shutdown();
    server.abort();
}

#[tokio::test]
async fn callout_reconnects_with_backoff_until_the_sink_is_up() {
    // Reserve a port, close it, and let the callout fail against it first.
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let source = start_callout(format!("http://{addr}"));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(source.stats().streams_opened, 0);

    let recorder = Recorder::default();
    let server = start_sink_server(TcpListener::bind(addr).await.unwrap(), &recorder).await;
    recorder
        .wait_for("state after reconnect", |c| c.len() == 1)
        .await;
    assert_eq!(source.stats().streams_opened, 1);
    source.shutdown();
    server.abort();
}

#[tokio::test]
async fn callout_dials_a_sink_over_mutual_tls() {
    use galleon_tests::pki::TestCa;
    use tonic::transport::{Certificate, Identity, ServerTlsConfig};

    let ca = TestCa::new("mesh CA");
    let sink_cert = ca.server();
    let sink_tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&sink_cert.cert, &sink_cert.key))
        .client_ca_root(Certificate::from_pem(ca.pem()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("https://{}", listener.local_addr().unwrap());
    let recorder = Recorder::default();
    let server = start_sink_server_with(listener, &recorder, Some(sink_tls)).await;

    let dir = tempfile::tempdir().unwrap();
    ca.client("spiffe://cluster.local/ns/istio-system/sa/galleon")
        .write(dir.path(), "hub");
    std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
    let tls = ClientTls {
        ca: Some(dir.path().join("ca.crt")),
        cert: Some(dir.path().join("hub.crt")),
        key: Some(dir.path().join("hub.key")),
        server_name: Some("localhost".into()),
    };
    let source = start_callout_with(address, Some(tls));
    recorder
        .wait_for("initial state over TLS", |c| c.len() == 1)
        .await;
    assert_eq!(change_names(&recorder.changes()[0]), ["ns/a"]);
    wait_for_acks(&source, 1).await;
    source.shutdown();
    server.abort();
}

async fn wait_for_acks(source: &McpServer, acks: u64) {
    tokio::time::timeout(PATIENCE, async {
        while source.stats().acks < acks {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("acks in time");
}
