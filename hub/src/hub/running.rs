//! A hub once started: its address, MCP server, cache and diagnostics, the
//! pipeline on a thread of its own, and a graceful shutdown.

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use galleon_mcp::cache::SnapshotCache;
use galleon_mcp::server::McpServer;
use galleon_pipeline::Runtime;
use galleon_pipeline::diagnostics::Diagnostics;

/// A hub that is running.
pub struct RunningHub {
    pub(super) addr: SocketAddr,
    pub(super) admin_addr: SocketAddr,
    pub(super) mcp: McpServer,
    pub(super) cache: SnapshotCache,
    pub(super) diagnostics: Diagnostics,
    pub(super) stop: CancellationToken,
    pub(super) tasks: Vec<JoinHandle<()>>,
    pub(super) pipeline: Option<std::thread::JoinHandle<()>>,
    /// How long readiness is withdrawn before streams end (`mcp.drainDelay`).
    pub(super) drain_delay: std::time::Duration,
    /// How long streams and sources may take to end after it
    /// (`mcp.drainTimeout`).
    pub(super) drain_timeout: std::time::Duration,
    /// The address the admission webhook listens on, when configured.
    pub(super) admission_addr: Option<SocketAddr>,
}

impl RunningHub {
    /// The address the MCP server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the admin HTTP server listens on.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The address the admission webhook listens on, when configured.
    pub fn admission_addr(&self) -> Option<SocketAddr> {
        self.admission_addr
    }

    /// The MCP source (stats, sink status).
    pub fn mcp(&self) -> &McpServer {
        &self.mcp
    }

    /// The snapshot cache.
    pub fn cache(&self) -> &SnapshotCache {
        &self.cache
    }

    /// The ledger of bad input.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Stops gracefully: readiness is withdrawn for the drain delay while
    /// streams are still served (load balancers and new sinks go to other
    /// replicas), then every stream ends with `UNAVAILABLE` (so its sink
    /// reconnects elsewhere rather than taking it for a normal end) and the
    /// sources stop.
    pub async fn shutdown(mut self) {
        self.mcp.drain();
        if !self.drain_delay.is_zero() {
            info!(delay = ?self.drain_delay, "draining: not ready, still serving open streams");
            tokio::time::sleep(self.drain_delay).await;
        }
        self.mcp.shutdown();
        self.stop.cancel();
        let tasks = std::mem::take(&mut self.tasks);
        let pipeline = self.pipeline.take();
        let ended = async move {
            for task in tasks {
                let _ = task.await;
            }
            if let Some(pipeline) = pipeline {
                let _ = tokio::task::spawn_blocking(move || pipeline.join()).await;
            }
        };
        if tokio::time::timeout(self.drain_timeout, ended)
            .await
            .is_err()
        {
            warn!(timeout = ?self.drain_timeout, "streams or sources still running after mcp.drainTimeout; exiting anyway");
        }
    }
}

/// Runs the pipeline on a thread of its own: plugin calls are synchronous
/// (each bounded by its deadline) and must not hold up the MCP server. The
/// runtime is multi-threaded (one worker, for the sources' tasks) so plugin
/// calls can step out of it with `block_in_place`.
pub(super) fn spawn_pipeline(
    runtime: Runtime,
    stop: CancellationToken,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("galleon-sources")
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("galleon-pipeline".into())
        .spawn(move || {
            tokio.block_on(runtime.run(stop));
            // A file still being parsed must not hold up the exit.
            tokio.shutdown_background();
        })
}
