//! The server side of MCP: serves the snapshot cache to sinks that dial in
//! (`ResourceSource`, [`McpServer::serve`]) and to sinks the hub dials out to
//! (`ResourceSink`, [`McpServer::callout`]). Both run the same per-stream
//! protocol engine.

mod access;
mod admission;
mod body;
mod callout;
mod capped;
mod connection;
#[cfg(feature = "fuzzing")]
mod fuzzing;
mod grpc;
mod listener;
mod mcp;
mod push;
mod resource_source;
mod services;
mod session;
mod stats;
mod subscription;
mod xds;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use access::{AccessList, AccessRule};
pub use admission::{DEFAULT_STREAM_RATE, StreamRate};
pub use callout::{CalloutError, CalloutOptions};
#[cfg(feature = "fuzzing")]
pub use fuzzing::{fuzz_requests, fuzz_xds_requests};
pub use listener::{LISTEN_BACKLOG, bind};
use stats::Stats;
pub use stats::{Answer, ServerStats};

use crate::cache::SnapshotCache;
use crate::tls::ServerTls;

/// How the server serves its sinks.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Every collection a sink may subscribe to; others end the stream with
    /// `InvalidArgument`.
    pub collections: BTreeSet<String>,
    /// Extra response header key/values sent on every stream, next to
    /// `config.source.version`.
    pub metadata: Vec<(String, String)>,
    /// Concurrent streams allowed on one HTTP/2 connection.
    pub max_concurrent_streams: u32,
    /// How long a sink may leave a push unanswered before its stream is
    /// dropped (a sink that stopped reading holds one push at most, and not
    /// for ever).
    pub stall_timeout: Duration,
    /// The largest request a sink may send, in bytes; a larger one ends the
    /// stream with `ResourceExhausted`.
    pub max_request_size: usize,
    /// The most resource names one request may carry (names asked for, or
    /// versions held); a stream also holds at most this many names per
    /// type. More ends the stream with `ResourceExhausted`.
    pub max_names: usize,
    /// The most collections or type URLs one stream may subscribe to.
    pub max_types_per_stream: usize,
    /// Connections open at once; one more is closed at once.
    pub max_connections: usize,
    /// How long a connection may live before it is asked to go (HTTP/2
    /// GOAWAY), so sinks spread over replicas added since; `None`: for ever.
    pub max_connection_age: Option<Duration>,
    /// How long a connection asked to go may take before it is closed.
    pub max_connection_age_grace: Duration,
    /// How long a new connection may take to send its first bytes.
    pub handshake_timeout: Duration,
    /// MCP over xDS: what each type URL serves. A type not listed is
    /// answered with an empty response.
    pub xds_types: BTreeMap<String, XdsType>,
    /// How fast one peer address may open streams; one more is refused
    /// with `ResourceExhausted`.
    pub stream_rate: StreamRate,
    /// TLS on the listener; plaintext when `None`.
    pub tls: Option<ServerTls>,
    /// The client identities allowed to stream; any client when `None`.
    pub access: Option<AccessList>,
}

/// What one xDS type URL serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdsType {
    /// The collection behind it.
    pub collection: String,
    /// Each resource is its body alone rather than wrapped in
    /// `istio.mcp.v1alpha1.Resource` (how istiod reads its MeshConfig).
    pub bare: bool,
}

/// Default [`ServerOptions::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Default [`ServerOptions::max_connection_age_grace`].
pub const DEFAULT_MAX_CONNECTION_AGE_GRACE: Duration = Duration::from_secs(10);

/// Default [`ServerOptions::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default [`ServerOptions::max_request_size`]: 16 MiB (a resuming sink's
/// versions of 100,000 resources fit).
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 16 << 20;

/// Default [`ServerOptions::max_names`].
pub const DEFAULT_MAX_NAMES: usize = 100_000;

/// Default [`ServerOptions::max_types_per_stream`] (Istio asks for about 30).
pub const DEFAULT_MAX_TYPES_PER_STREAM: usize = 256;

/// Default [`ServerOptions::stall_timeout`]: five minutes.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(300);

impl ServerOptions {
    /// Serves `collections` with default settings.
    pub fn new(collections: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            collections: collections.into_iter().map(Into::into).collect(),
            metadata: Vec::new(),
            max_concurrent_streams: 1024,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
            max_names: DEFAULT_MAX_NAMES,
            max_types_per_stream: DEFAULT_MAX_TYPES_PER_STREAM,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connection_age: None,
            max_connection_age_grace: DEFAULT_MAX_CONNECTION_AGE_GRACE,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            xds_types: BTreeMap::new(),
            stream_rate: DEFAULT_STREAM_RATE,
            tls: None,
            access: None,
        }
    }
}

/// The MCP server. Cheap to clone; clones share streams and counters.
#[derive(Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
}

struct Shared {
    cache: SnapshotCache,
    options: ServerOptions,
    stats: Stats,
    shutdown: CancellationToken,
    next_stream: AtomicU64,
    /// Whether the hub has published everything once (gRPC health).
    ready: tokio::sync::watch::Sender<bool>,
    /// Whether the hub is draining (readiness withdrawn before shutdown).
    draining: AtomicBool,
    admission: admission::Admission,
}

impl McpServer {
    /// A server serving `cache`.
    pub fn new(cache: SnapshotCache, options: ServerOptions) -> Self {
        Self {
            shared: Arc::new(Shared {
                admission: admission::Admission::new(options.stream_rate),
                cache,
                options,
                stats: Stats::default(),
                shutdown: CancellationToken::new(),
                next_stream: AtomicU64::new(1),
                ready: tokio::sync::watch::Sender::new(false),
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// The cache being served.
    pub fn cache(&self) -> &SnapshotCache {
        &self.shared.cache
    }

    /// Protocol counters since start.
    pub fn stats(&self) -> ServerStats {
        self.shared.stats.snapshot()
    }

    /// ACKs and NACKs so far, by collection (and a NACK's code).
    pub fn answers(&self) -> BTreeMap<Answer, u64> {
        self.shared.stats.answers()
    }

    /// Ends every stream with `UNAVAILABLE` (reconnect, to another replica)
    /// and stops [`McpServer::serve`]
    /// and [`McpServer::callout`].
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    /// Marks the server ready (every group published its first snapshot):
    /// gRPC health reports `SERVING` from then on, `NOT_SERVING` before.
    pub fn set_ready(&self) {
        if !self.is_draining() {
            self.shared.ready.send_replace(true);
        }
    }

    /// Starts a drain: gRPC health reports `NOT_SERVING` (and the admin
    /// server's `/readyz` not ready), so load balancers and new sinks go
    /// elsewhere while the open streams are still served.
    pub fn drain(&self) {
        self.shared.draining.store(true, Ordering::Release);
        self.shared.ready.send_replace(false);
    }

    /// Whether [`McpServer::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::Acquire)
    }

    /// Resolves once [`McpServer::shutdown`] was called.
    pub async fn stopped(&self) {
        self.shared.shutdown.cancelled().await;
    }

    fn next_stream_id(&self) -> u64 {
        self.shared.next_stream.fetch_add(1, Ordering::Relaxed)
    }
}
