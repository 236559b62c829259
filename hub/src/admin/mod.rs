//! The admin HTTP server, on an address of its own (`--admin-addr`,
//! default `127.0.0.1:9902`): liveness and readiness probes, Prometheus
//! metrics ([`metrics`]) and JSON introspection of what the hub serves and
//! what is wrong with its input ([`debug`]), the history of what was
//! published with its diffs and rollbacks ([`history`]), a candidate plugin
//! build's preview on live inputs ([`preview`]), a transformer's canary
//! with its promote and abort ([`canary`]), and a status page
//! (`/`) showing the same in a browser. [`api`] holds the JSON's types.

pub mod api;
mod canary;
mod debug;
mod history;
mod memory;
mod metrics;
mod preview;
mod resource_diff;
mod server;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use galleon_mcp::cache::SnapshotCache;
use galleon_mcp::server::McpServer;
use galleon_mcp::tls::ServerTls;
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_plugin_host::PluginHost;
use galleon_sources::SourceHealth;

pub use memory::{AllocatorFigures, AllocatorReader};

use crate::admission::AdmissionStats;
use crate::config::HubConfig;

/// What the admin endpoints read: the hub's live state, shared.
#[derive(Clone)]
pub struct AdminState {
    /// The snapshot cache (groups, snapshots, sinks).
    pub cache: SnapshotCache,
    /// The MCP and xDS server (its counters).
    pub mcp: McpServer,
    /// The ledger of bad input.
    pub diagnostics: Diagnostics,
    /// The analyzers' current messages.
    pub findings: galleon_pipeline::analysis::Findings,
    /// Every snapshot group the hub publishes.
    pub groups: Arc<[String]>,
    /// The plugin host, when any plugin is bound.
    pub plugins: Option<Arc<PluginHost>>,
    /// The effective configuration (file, flags and defaults).
    pub config: Arc<HubConfig>,
    /// Events the sources delivered to the pipeline.
    pub source_events: Arc<AtomicU64>,
    /// When the hub started.
    pub started: SystemTime,
    /// Every source's links.
    pub health: SourceHealth,
    /// The admission webhook's counters, when it is configured.
    pub admission: Option<AdmissionStats>,
    /// The allocator's figures, when the binary reports them.
    pub allocator: Option<AllocatorReader>,
    /// Where this admin server listens (writes need loopback).
    pub admin_addr: SocketAddr,
    /// The schemas bodies are shown with (diffs).
    pub pool: galleon_schemas::DescriptorPool,
}

impl AdminState {
    /// The groups that have not published their first snapshot yet.
    fn unpublished(&self) -> Vec<&str> {
        let published = self.cache.groups();
        self.groups
            .iter()
            .filter(|g| !published.contains(g))
            .map(String::as_str)
            .collect()
    }
}

/// Serves the admin endpoints on `listener` until `stop`, within the
/// limits of `state`'s configuration (`admin:`), over HTTPS with `tls`.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    tls: Option<ServerTls>,
    stop: CancellationToken,
) {
    let config = state.config.admin.clone();
    server::serve(listener, router(state), &config, tls, stop).await;
}

fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/debug/snapshots", get(debug::snapshots))
        .route("/debug/sinks", get(debug::sinks))
        .route("/debug/diagnostics", get(debug::diagnostics))
        .route("/debug/analysis", get(debug::analysis))
        .route("/debug/plugins", get(debug::plugins))
        .route("/debug/config", get(debug::config))
        .route("/debug/version", get(debug::version))
        .route("/debug/sources", get(debug::sources))
        .route("/debug/resources", get(debug::resources))
        .route("/debug/memory", get(memory::memory))
        .route("/debug/history", get(history::summary))
        .route("/debug/pins", get(history::pins))
        .route("/debug/history/versions", get(history::versions))
        .route("/debug/history/diff", get(history::diff))
        .route("/debug/rollback", post(history::rollback))
        .route("/debug/release", post(history::release))
        .route("/debug/plugins/preview", post(preview::preview))
        .route("/debug/plugins/canary", get(canary::canary))
        .route("/debug/plugins/promote", post(canary::promote))
        .route("/debug/plugins/abort", post(canary::abort))
        .route("/debug", get(debug::index))
        .with_state(state)
}

/// The status page: one self-contained HTML page (no external scripts,
/// styles or fonts) that reads the JSON endpoints and refreshes itself.
async fn status_page() -> Html<&'static str> {
    Html(include_str!("status.html"))
}

/// The process is alive and answering.
async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once every source has synced and every group published its first
/// snapshot (a group publishes only once all its collections synced); 503
/// with the groups still waiting before.
async fn readyz(State(state): State<AdminState>) -> (StatusCode, String) {
    if state.mcp.is_draining() {
        let reason = "not ready: draining before shutdown (open streams still served)\n";
        return (StatusCode::SERVICE_UNAVAILABLE, reason.into());
    }
    let waiting = state.unpublished();
    if waiting.is_empty() {
        (StatusCode::OK, "ready\n".into())
    } else {
        let reason = format!(
            "not ready: waiting for the first snapshot of group {}\n",
            waiting.join(", ")
        );
        (StatusCode::SERVICE_UNAVAILABLE, reason)
    }
}
