//! The MCP server's settings (`mcp:`): its address, limits, TLS and
//! access list, and the sinks it dials out to.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use galleon_mcp::server::{DEFAULT_STREAM_RATE, StreamRate};
use galleon_mcp::tls::ClientTls;

/// The MCP server's settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpConfig {
    /// Listen address.
    #[serde(default = "default_address")]
    pub address: SocketAddr,
    /// Extra response header key/values on every stream.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The `metadata` keys whose values `/debug/config` and the status page
    /// may show (all others show as `<redacted>`: they may hold tokens).
    #[serde(default)]
    pub public_metadata: Vec<String>,
    /// Remote `ResourceSink`s to dial out to.
    #[serde(default)]
    pub callouts: Vec<CalloutConfig>,
    /// Concurrent streams per HTTP/2 connection.
    #[serde(default = "default_max_streams")]
    pub max_concurrent_streams: u32,
    /// How long a sink may leave a push unanswered before its stream is
    /// dropped (default 5m).
    #[serde(default = "default_stall_timeout", with = "humantime_serde")]
    pub stall_timeout: Duration,
    /// The largest request a sink may send, in bytes (default 16 MiB).
    #[serde(default = "default_max_request_size")]
    pub max_request_size: usize,
    /// How long a connection may live before it is asked to go (HTTP/2
    /// GOAWAY), so sinks spread over replicas added since (istiod's
    /// `MAX_CONNECTION_AGE`): default 30m, jittered by up to ±10% per
    /// process so replicas started together do not move their sinks at
    /// once; `null` keeps connections for ever.
    #[serde(default = "default_connection_age", with = "humantime_serde")]
    pub max_connection_age: Option<Duration>,
    /// How long a connection asked to go may take to leave (default 10s).
    #[serde(default = "default_age_grace", with = "humantime_serde")]
    pub max_connection_age_grace: Duration,
    /// On SIGTERM, how long readiness is withdrawn (gRPC health
    /// `NOT_SERVING`, `/readyz` 503) while streams are still served, before
    /// they end with `UNAVAILABLE` (default 5s).
    #[serde(default = "default_drain", with = "humantime_serde")]
    pub drain_delay: Duration,
    /// After the drain, how long the hub waits for its streams and sources
    /// to end before it exits anyway (default 30s).
    #[serde(default = "default_drain_timeout", with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// The most resource names one request (or one stream's subscriptions)
    /// may carry (default 100,000).
    #[serde(default = "default_max_names")]
    pub max_names_per_request: usize,
    /// The most collections or type URLs one stream may subscribe to
    /// (default 256).
    #[serde(default = "default_max_types")]
    pub max_types_per_stream: usize,
    /// Connections open at once (default: 10,000, or half the open-file
    /// limit if that is lower, so sources always have descriptors left).
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// How long a new connection may take to send its first bytes
    /// (default 10s).
    #[serde(default = "default_handshake_timeout", with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// How fast one peer address may open streams (default: 1,000 at once,
    /// then 100 a second).
    #[serde(default)]
    pub stream_rate: StreamRateConfig,
    /// TLS, and with a client CA, mutual TLS and the access list.
    #[serde(default)]
    pub tls: Option<McpTlsConfig>,
    /// Serve plaintext on an address other than loopback (refused at start
    /// otherwise: anyone who can reach the port reads all configuration).
    #[serde(default)]
    pub insecure: bool,
}

impl McpConfig {
    /// Makes its relative paths (TLS files, access list, callouts' TLS
    /// files) relative to the configuration file, as every other path.
    pub(super) fn resolve_paths(&mut self, resolve: &impl Fn(&mut PathBuf)) {
        if let Some(tls) = &mut self.tls {
            [&mut tls.cert, &mut tls.key].into_iter().for_each(resolve);
            tls.client_ca
                .iter_mut()
                .chain(&mut tls.access_list)
                .for_each(resolve);
        }
        for callout in &mut self.callouts {
            callout
                .tls
                .iter_mut()
                .flat_map(ClientTls::paths_mut)
                .for_each(resolve);
        }
    }

    /// What makes it unusable as written, if anything.
    pub(super) fn check(&self) -> Result<(), String> {
        for callout in &self.callouts {
            if let Some(tls) = &callout.tls {
                tls.check()
                    .map_err(|e| format!("mcp.callouts {}: {e}", callout.address))?;
            }
        }
        Ok(())
    }
}

/// The MCP port's TLS (`mcp.tls`). Every file is re-read when it changes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpTlsConfig {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// CAs (PEM) client certificates must chain to: mutual TLS.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// A YAML file `allowed: [identity, …]` of the client identities (URI
    /// SANs such as SPIFFE IDs, or DNS SANs) that may stream (Galley's
    /// access list); any client the CA verifies when absent.
    #[serde(default)]
    pub access_list: Option<PathBuf>,
}

/// A per-peer rate of new streams.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamRateConfig {
    /// Streams a peer may open at once.
    pub burst: NonZeroU32,
    /// Streams a second after that.
    pub per_second: NonZeroU32,
}

impl Default for StreamRateConfig {
    fn default() -> Self {
        let StreamRate { burst, per_second } = DEFAULT_STREAM_RATE;
        Self { burst, per_second }
    }
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            address: default_address(),
            metadata: BTreeMap::new(),
            public_metadata: Vec::new(),
            callouts: Vec::new(),
            max_concurrent_streams: default_max_streams(),
            stall_timeout: default_stall_timeout(),
            max_request_size: default_max_request_size(),
            max_names_per_request: default_max_names(),
            max_connection_age: default_connection_age(),
            max_connection_age_grace: default_age_grace(),
            drain_delay: default_drain(),
            drain_timeout: default_drain_timeout(),
            max_types_per_stream: default_max_types(),
            max_connections: None,
            handshake_timeout: default_handshake_timeout(),
            stream_rate: StreamRateConfig::default(),
            tls: None,
            insecure: false,
        }
    }
}

fn default_handshake_timeout() -> Duration {
    galleon_mcp::server::DEFAULT_HANDSHAKE_TIMEOUT
}

fn default_max_request_size() -> usize {
    galleon_mcp::server::DEFAULT_MAX_REQUEST_SIZE
}

fn default_age_grace() -> Duration {
    galleon_mcp::server::DEFAULT_MAX_CONNECTION_AGE_GRACE
}

fn default_drain() -> Duration {
    Duration::from_secs(5)
}

fn default_drain_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_connection_age() -> Option<Duration> {
    Some(Duration::from_secs(30 * 60))
}

fn default_max_names() -> usize {
    galleon_mcp::server::DEFAULT_MAX_NAMES
}

fn default_max_types() -> usize {
    galleon_mcp::server::DEFAULT_MAX_TYPES_PER_STREAM
}

fn default_stall_timeout() -> Duration {
    galleon_mcp::server::DEFAULT_STALL_TIMEOUT
}

/// A remote sink to dial.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalloutConfig {
    /// e.g. `http://pilot.istio-system:15010`.
    pub address: String,
    /// Request metadata sent when dialling.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The `metadata` keys whose values may be shown (as `mcp.publicMetadata`).
    #[serde(default)]
    pub public_metadata: Vec<String>,
    /// TLS to dial with (an `https://` address).
    #[serde(default)]
    pub tls: Option<ClientTls>,
}

fn default_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9901))
}

fn default_max_streams() -> u32 {
    1024
}
