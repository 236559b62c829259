//! `galleon watch`: a sink on the command line, over MCP ([`mcp`]) or MCP
//! over xDS ([`xds`], `--xds`: what istiod receives). Prints one JSON object
//! per push on stdout, then ACKs it. With `--proto-path` typed bodies are
//! shown as their fields.

mod mcp;
mod xds;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use clap::Args;
use galleon_proto::mcp::Resource;
use galleon_schemas::{DescriptorPool, SchemaSources, body_to_json};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use clap_complete::engine::ArgValueCompleter;
use galleon_mcp::sink::DEFAULT_MAX_MESSAGE_SIZE;
use galleon_mcp::tls::ClientTls;
use tonic::transport::Endpoint;

#[derive(Debug, Args)]
pub(super) struct WatchArgs {
    /// The hub's MCP address: host:port (a scheme allowed; https:// or a
    /// TLS option dials TLS).
    #[arg(long, env = "GALLEON_ADDR", default_value = "127.0.0.1:9901")]
    addr: String,
    /// Collection to subscribe to over MCP (repeatable).
    #[arg(
        long = "collection",
        short = 'c',
        required_unless_present = "xds",
        add = ArgValueCompleter::new(super::complete::collections)
    )]
    collections: Vec<String>,
    /// Speak MCP over xDS (Envoy's ADS) as istiod does, instead of MCP.
    #[arg(long, requires = "types")]
    xds: bool,
    /// xDS type URL to subscribe to, e.g.
    /// networking.istio.io/v1/VirtualService (repeatable; with --xds).
    #[arg(long = "type", short = 't', value_name = "TYPE_URL")]
    types: Vec<String>,
    /// Istio revision to present (xDS node metadata `ISTIO_REVISION`).
    #[arg(long)]
    revision: Option<String>,
    /// Ask for incremental pushes (MCP incremental, or xDS delta).
    #[arg(long)]
    incremental: bool,
    /// Exit after this many pushes.
    #[arg(long)]
    count: Option<u64>,
    /// Node id to present to the source.
    #[arg(long, default_value = "galleon-watch")]
    node_id: String,
    /// Largest push accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_SIZE)]
    max_message_size: usize,
    /// An include root of `.proto` files, to show typed bodies' fields
    /// (repeatable).
    #[arg(long = "proto-path", value_name = "DIR")]
    proto_paths: Vec<PathBuf>,
    /// Dial TLS, trusting the CAs in this PEM file (an `https://` --addr).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Present this certificate (PEM), for mutual TLS; with --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
}

impl WatchArgs {
    /// The source's endpoint, over TLS when --ca or --cert is given.
    fn endpoint(&self) -> anyhow::Result<Endpoint> {
        let tls = self.ca.is_some() || self.cert.is_some();
        let uri = super::address::uri("--addr", &self.addr, tls)?;
        let endpoint = Endpoint::from_shared(uri.clone())
            .with_context(|| format!("invalid --addr {uri:?}"))?;
        if !tls {
            return Ok(endpoint);
        }
        let tls = ClientTls {
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            server_name: None,
        };
        Ok(endpoint.tls_config(tls.config()?)?)
    }
}

pub(super) async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let schemas = SchemaSources {
        proto_paths: args.proto_paths.clone(),
        descriptor_sets: Vec::new(),
    };
    let pool = galleon_schemas::load(&schemas, |package| package.starts_with("istio."))
        .context("loading --proto-path")?
        .pool;
    let done = CancellationToken::new();
    let printer = Printer {
        out: Mutex::new(std::io::stdout()),
        printed: AtomicU64::new(0),
        limit: args.count,
        done: done.clone(),
        pool,
    };
    let watching = async {
        if args.xds {
            xds::run(&args, &printer).await
        } else {
            mcp::run(&args, printer, done.clone()).await
        }
    };
    tokio::select! {
        result = watching => result?,
        () = done.cancelled() => {}
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
    }
    Ok(())
}

/// Writes pushes to stdout, one JSON line each, until the limit.
struct Printer {
    out: Mutex<std::io::Stdout>,
    printed: AtomicU64,
    limit: Option<u64>,
    done: CancellationToken,
    pool: DescriptorPool,
}

impl Printer {
    /// Prints one push; `Err` when stdout is gone.
    fn print(&self, push: &Value) -> Result<(), String> {
        if self.done.is_cancelled() {
            return Err("watch is exiting".into());
        }
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writeln!(out, "{push}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
        let printed = self.printed.fetch_add(1, Ordering::Relaxed) + 1;
        if self.limit.is_some_and(|limit| printed >= limit) {
            self.done.cancel();
        }
        Ok(())
    }

    /// A body as JSON, as far as the schemas this printer has read go.
    fn body(&self, any: &prost_types::Any) -> Value {
        body_to_json(&self.pool, any)
    }

    /// A resource as JSON: metadata, and the body as its fields when its
    /// message is known.
    fn resource(&self, resource: &Resource) -> Value {
        let metadata = resource.metadata.clone().unwrap_or_default();
        json!({
            "name": metadata.name,
            "version": metadata.version,
            "createTime": metadata.create_time.map(|t| t.to_string()),
            "labels": metadata.labels,
            "annotations": metadata.annotations,
            "body": resource.body.as_ref().map(|any| self.body(any)),
        })
    }
}
