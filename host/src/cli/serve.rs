//! `galleon serve`: runs the hub. With neither `--config` nor `--files` it
//! serves the bundled example (`examples/quickstart/`), read from the source
//! checkout when there is one (so edits show up live), else from the copy
//! built into the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use include_dir::{Dir, include_dir};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use galleon_hub::Hub;
use galleon_hub::config::{FilesConfig, HubConfig, SourceConfig};
use galleon_sources::FileSource;

use super::address;

/// The bundled example, as built into the binary.
static QUICKSTART: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../examples/quickstart");

/// The bundled example in the source checkout the binary was built from.
const QUICKSTART_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/quickstart");

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Hub configuration file (YAML): sources, kinds, groups, MCP settings.
    #[arg(long, env = "GALLEON_CONFIG")]
    config: Option<PathBuf>,
    /// A directory (or file) of YAML/JSON resources to serve; repeatable.
    #[arg(long = "files", value_name = "DIR")]
    files: Vec<PathBuf>,
    /// Istio mesh configuration file (defaults: ingressClass istio, STRICT).
    #[arg(long)]
    mesh_config: Option<PathBuf>,
    /// Cluster DNS suffix.
    #[arg(long)]
    domain: Option<String>,
    /// Address of the MCP server: host:port, a scheme allowed, a hostname
    /// resolved [default: 127.0.0.1:9901].
    #[arg(long, env = "GALLEON_ADDR")]
    mcp_addr: Option<String>,
    /// Serve plaintext MCP on an address other than loopback (refused
    /// otherwise; set `mcp.tls` in the configuration instead).
    #[arg(long)]
    insecure: bool,
    /// Address of the admin HTTP server (probes, metrics, introspection)
    /// (host:port, as --mcp-addr) [default: 127.0.0.1:9902].
    #[arg(long, env = "GALLEON_ADMIN_ADDR")]
    admin_addr: Option<String>,
    /// An include root of `.proto` files for typed bodies (an istio/api
    /// checkout, then its `common-protos`); repeatable.
    #[arg(long = "proto-path", value_name = "DIR")]
    proto_paths: Vec<PathBuf>,
}

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    raise_open_file_limit();
    // Handle the rescan signals from the start: by default SIGHUP ends a
    // process, and one sent while the hub starts must not.
    galleon_sources::install_rescan_signals();
    let mut config = match &args.config {
        Some(path) => HubConfig::load(path)?,
        None => HubConfig::default(),
    };
    let bundled = args.config.is_none() && args.files.is_empty();
    if !args.files.is_empty() {
        config
            .sources
            .push(SourceConfig::Files(FilesConfig::new(args.files.clone())));
    }
    if let Some(mesh) = args.mesh_config {
        config.mesh_config = Some(mesh);
    }
    if let Some(domain) = args.domain {
        config.domain = domain;
    }
    if let Some(addr) = &args.mcp_addr {
        config.mcp.address = address::listen("--mcp-addr", addr)?;
    }
    config.mcp.insecure |= args.insecure;
    if let Some(addr) = &args.admin_addr {
        config.admin.address = address::listen("--admin-addr", addr)?;
    }
    config.schemas.proto_paths.extend(args.proto_paths);
    if bundled {
        let dir = Path::new(QUICKSTART_DIR);
        if dir.is_dir() {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
            info!(path = %dir.display(), "no --config or --files: serving the bundled example (edits are picked up)");
            config
                .sources
                .push(SourceConfig::Files(FilesConfig::new(vec![dir])));
        }
    }
    let mut hub = Hub::new(config)
        .with_builtins(galleon_plugin_artifacts::builtins())
        .with_allocator(crate::allocator::figures);
    if bundled && !Path::new(QUICKSTART_DIR).is_dir() {
        info!("no --config or --files: serving the bundled example built into this binary");
        let source = FileSource::embedded(
            embedded_files(),
            hub.registry().clone(),
            hub.diagnostics().clone(),
        );
        hub.add_source(Arc::new(source));
    }
    let running = hub.start().await?;
    shutdown_signal().await?;
    info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Raises the soft limit on open files to the hard limit (as Go and Envoy
/// do), so a burst of sink connections cannot starve the file sources of
/// descriptors at the usual soft limit of 1,024.
fn raise_open_file_limit() {
    let before = rlimit::Resource::NOFILE.get();
    match (before, rlimit::increase_nofile_limit(u64::MAX)) {
        (Ok((soft, hard)), Ok(now)) => {
            info!(soft = now, was = soft, hard, "open-file limit")
        }
        (_, Err(error)) | (Err(error), _) => {
            warn!("cannot raise the open-file limit: {error}")
        }
    }
}

fn embedded_files() -> Vec<(PathBuf, &'static [u8])> {
    let mut files = Vec::new();
    let mut dirs = vec![&QUICKSTART];
    while let Some(dir) = dirs.pop() {
        for file in dir.files() {
            files.push((
                Path::new("examples/quickstart").join(file.path()),
                file.contents(),
            ));
        }
        dirs.extend(dir.dirs());
    }
    files
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("listening for SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
