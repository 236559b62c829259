//! Connection limits through the real binary: idle connections past the
//! descriptor limit cannot starve the file sources, connections over
//! `maxConnections` are closed at once, silent ones after the handshake
//! deadline.

use galleon_tests::hub::{serve_with_mcp, vs};
use galleon_tests::procstat;
use galleon_tests::*;
use tokio_stream::StreamExt;

#[tokio::test]
async fn idle_connections_cannot_starve_the_sources_of_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    for name in ["a", "b", "c"] {
        let file = dir.path().join(format!("resources/{name}.yaml"));
        std::fs::write(file, vs(name, name)).unwrap();
    }
    let args = ["--files", "resources", "--mcp-addr", "127.0.0.1:0"];
    let galleon = Galleon::serve_with_file_limit(dir.path(), &args, 128).await;
    galleon.wait_for_log(&["open-file limit", "soft=128"]).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    assert_eq!(names(&push).len(), 3);
    sink.ack(&push).await;

    // More idle connections than descriptors: past half the limit they are
    // closed at once, so reading files still works meanwhile.
    let idle: Vec<std::net::TcpStream> = (0..200)
        .filter_map(|_| std::net::TcpStream::connect(galleon.addr).ok())
        .collect();
    galleon.wait_for_log(&["refusing a connection"]).await;
    galleon.signal("HUP");
    std::fs::write(dir.path().join("resources/d.yaml"), vs("d", "d")).unwrap();
    let push = sink.recv().await;
    assert_eq!(
        names(&push).len(),
        4,
        "nothing withdrawn, the new file read"
    );
    assert!(galleon.log_lines(&["Too many open files"]).is_empty());
    drop(idle);
}

/// Whether the server closes `stream` within the test's patience (reading
/// past what it sends first, such as its HTTP/2 settings).
async fn closed_by_server(stream: std::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    stream.set_nonblocking(true).unwrap();
    let mut stream = tokio::net::TcpStream::from_std(stream).unwrap();
    let mut buffer = [0u8; 1024];
    let closed = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, closed).await.is_ok()
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_and_the_others_served() {
    let (dir, galleon) = serve_with_mcp("maxConnections: 3").await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    let idle: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(galleon.addr).unwrap())
        .collect();
    let over = std::net::TcpStream::connect(galleon.addr).unwrap();
    assert!(
        closed_by_server(over).await,
        "the fourth connection is closed"
    );
    galleon.wait_for_log(&["refusing a connection"]).await;
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    drop(idle);
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_handshake_deadline() {
    let (_dir, galleon) = serve_with_mcp("handshakeTimeout: 300ms").await;
    let silent = std::net::TcpStream::connect(galleon.addr).unwrap();
    assert!(closed_by_server(silent).await);
    // A real sink is unaffected.
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    assert_eq!(names(&sink.recv().await), ["default/a"]);
}

#[tokio::test]
async fn a_burst_of_new_streams_past_the_rate_is_refused_and_counted() {
    use galleon_proto::mcp::RequestResources;
    use galleon_proto::mcp::resource_source_client::ResourceSourceClient;

    let (_dir, galleon) = serve_with_mcp("streamRate: {burst: 3, perSecond: 1}").await;
    let channel = tonic::transport::Endpoint::from_shared(galleon.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut admitted = Vec::new();
    let mut refused = 0;
    for _ in 0..6 {
        let (requests, outgoing) = tokio::sync::mpsc::channel(4);
        let mut client = ResourceSourceClient::new(channel.clone());
        let stream = tokio_stream::wrappers::ReceiverStream::new(outgoing);
        match client.establish_resource_stream(stream).await {
            Ok(pushes) => admitted.push((requests, pushes.into_inner())),
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
                assert!(status.message().contains("stream rate"), "{status}");
                refused += 1;
            }
        }
    }
    assert_eq!((admitted.len(), refused), (3, 3));
    let (_, metrics) = galleon.admin_get("/metrics").await;
    assert!(
        metrics.contains("galleon_refused_streams_total 3"),
        "{metrics}"
    );
    // The admitted streams keep working.
    for (requests, pushes) in &mut admitted {
        let subscribe = RequestResources {
            collection: VS.into(),
            ..Default::default()
        };
        requests.send(subscribe).await.unwrap();
        let push = tokio::time::timeout(PATIENCE, pushes.message()).await;
        let push = push.expect("a push in time").unwrap().expect("a push");
        assert_eq!(push.collection, VS);
    }
}

#[tokio::test]
async fn a_file_written_while_descriptors_ran_out_is_read_once_they_return() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    std::fs::write(dir.path().join("resources/a.yaml"), vs("a", "a")).unwrap();
    // Connections may take every descriptor (the limit is far above them).
    let config = "mcp: {address: \"127.0.0.1:0\", maxConnections: 10000}\nsources: [{files: {paths: [resources]}}]\ngroups: [{name: default, strategy: immediate}]\n";
    std::fs::write(dir.path().join("galleon.yaml"), config).unwrap();
    let args = ["--config", "galleon.yaml"];
    let galleon = Galleon::serve_with_file_limit(dir.path(), &args, 64).await;
    let mut sink = RawSink::connect(&galleon.url(), "pilot").await;
    sink.subscribe(VS).await;
    let push = sink.recv().await;
    sink.ack(&push).await;

    // Every descriptor taken; the file's notification comes while none is
    // left to read it with.
    let idle: Vec<std::net::TcpStream> = (0..100)
        .filter_map(|_| std::net::TcpStream::connect(galleon.addr).ok())
        .collect();
    galleon.wait_for_log(&["Too many open files"]).await;
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    galleon
        .wait_for_log(&["resources/b.yaml", "Too many open files"])
        .await;

    // Descriptors come back; nothing else happens to the file, yet it is
    // read.
    drop(idle);
    let push = sink.recv().await;
    assert_eq!(names(&push), ["default/a", "default/b"]);
    sink.ack(&push).await;
}

/// Keeps `count` connections from `local` open to `addr`, each sending
/// `opening` and then nothing, reconnecting as the hub closes them;
/// counts the closes.
fn hold_slots(
    local: &str,
    addr: std::net::SocketAddr,
    count: usize,
    opening: &'static [u8],
) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let local: std::net::SocketAddr = format!("{local}:0").parse().unwrap();
    for _ in 0..count {
        let closed = closed.clone();
        tokio::spawn(async move {
            loop {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(local).unwrap();
                let Ok(mut stream) = socket.connect(addr).await else {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                };
                let _ = stream.write_all(opening).await;
                let mut buffer = [0u8; 1024];
                while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
                closed.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    closed
}

/// The HTTP/2 connection preface and an empty SETTINGS frame: a handshake
/// completed, and then nothing asked.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[tokio::test]
async fn connections_that_never_ask_for_anything_cannot_hold_the_slots() {
    use std::sync::atomic::Ordering;
    let (dir, galleon) = serve_with_mcp("maxConnections: 40, handshakeTimeout: 1s").await;
    // From another address, more silent connections than there are slots:
    // half send one byte, half a complete HTTP/2 handshake.
    let one_byte = hold_slots("127.0.0.2", galleon.addr, 30, b"P");
    let handshake = hold_slots("127.0.0.2", galleon.addr, 30, PREFACE);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut watch = WatchCli::start(&galleon.url(), VS);
    assert_eq!(watch.next_names().await, ["default/a"]);
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    assert_eq!(watch.next_names().await, ["default/a", "default/b"]);
    // Both kinds are closed at the deadline, over and over.
    let waited = tokio::time::timeout(PATIENCE, async {
        while one_byte.load(Ordering::Relaxed) < 10 || handshake.load(Ordering::Relaxed) < 10 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    assert!(waited.await.is_ok(), "silent connections are closed");
    std::fs::write(dir.path().join("resources/c.yaml"), vs("c", "c")).unwrap();
    assert_eq!(
        watch.next_names().await,
        ["default/a", "default/b", "default/c"]
    );
}

/// The hub's peak RSS while `work` runs, sampled every 10 ms.
async fn peak_rss_during<T>(pid: u32, work: impl std::future::Future<Output = T>) -> (u64, T) {
    let mut work = std::pin::pin!(work);
    let mut peak = procstat::rss(pid);
    loop {
        tokio::select! {
            done = &mut work => return (peak.max(procstat::rss(pid)), done),
            () = tokio::time::sleep(std::time::Duration::from_millis(10)) => {
                peak = peak.max(procstat::rss(pid));
            }
        }
    }
}

#[tokio::test]
async fn requests_naming_millions_of_resources_are_refused_before_they_cost_memory() {
    use galleon_proto::xds::DeltaDiscoveryRequest;
    use galleon_proto::xds::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;

    let (dir, galleon) = serve_with_mcp("maxConnections: 100").await;
    let mut watch = WatchCli::start(&galleon.url(), VS);
    assert_eq!(watch.next_names().await, ["default/a"]);
    let idle = procstat::rss(galleon.pid());
    // 1.3 million versions held (15 MB, under maxRequestSize), on four
    // delta streams at once.
    let held: std::collections::BTreeMap<String, String> = (0..1_300_000)
        .map(|i| (format!("{i:x}"), "v".to_owned()))
        .collect();
    let request = DeltaDiscoveryRequest {
        type_url: "networking.istio.io/v1/VirtualService".into(),
        initial_resource_versions: held,
        ..Default::default()
    };
    let channel = tonic::transport::Endpoint::from_shared(galleon.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    // The connection made a valid request first (as istiod's has), so it is
    // off probation however long the large requests take to arrive.
    let proven = RawSink::open(channel.clone(), Default::default()).await;
    proven.subscribe(VS).await;
    let streams = (0..4).map(|_| {
        let mut client = AggregatedDiscoveryServiceClient::new(channel.clone());
        let request = request.clone();
        async move {
            let requests = tokio_stream::iter([request]).chain(tokio_stream::pending());
            let mut responses = client
                .delta_aggregated_resources(requests)
                .await?
                .into_inner();
            responses.message().await
        }
    });
    let (peak, ended) =
        peak_rss_during(galleon.pid(), futures_util::future::join_all(streams)).await;
    for ended in ended {
        let status = ended.expect_err("the stream is refused");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
        assert!(
            status.message().contains("mcp.maxNamesPerRequest"),
            "{status}"
        );
    }
    let grown = peak.saturating_sub(idle);
    assert!(grown < 100 << 20, "RSS grew by {} MB", grown >> 20);

    // Hundreds of distinct type URLs on one stream: the stream ends at the limit.
    let mut client = AggregatedDiscoveryServiceClient::new(channel.clone());
    let unknown = (0..300).map(|i| galleon_proto::xds::DiscoveryRequest {
        type_url: format!("example.com/v1/Unknown{i}"),
        ..Default::default()
    });
    let requests = tokio_stream::iter(unknown).chain(tokio_stream::pending());
    let mut responses = client
        .stream_aggregated_resources(requests)
        .await
        .unwrap()
        .into_inner();
    let ended = loop {
        match responses.message().await {
            Ok(Some(_empty)) => continue,
            ended => break ended,
        }
    };
    let status = ended.expect_err("the stream ends with a status");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
    assert!(
        status.message().contains("mcp.maxTypesPerStream"),
        "{status}"
    );

    // The sink was served throughout.
    std::fs::write(dir.path().join("resources/b.yaml"), vs("b", "b")).unwrap();
    assert_eq!(watch.next_names().await, ["default/a", "default/b"]);
}
