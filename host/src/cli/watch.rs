//! `galleon watch`: a sink on the command line. Prints one JSON object per
//! push on stdout, then ACKs it.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use clap::Args;
use galleon_proto::STRUCT_TYPE_URL;
use galleon_proto::json::struct_to_json;
use galleon_proto::mcp::{Resource, SinkNode};
use prost::Message;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

use galleon_mcp::sink::{ApplyError, Change, DEFAULT_MAX_MESSAGE_SIZE, SinkClient, SinkOptions};

#[derive(Debug, Args)]
pub(super) struct WatchArgs {
    /// Address of the MCP source, e.g. http://127.0.0.1:9901.
    #[arg(long, default_value = "http://127.0.0.1:9901")]
    addr: String,
    /// Collection to subscribe to (repeatable).
    #[arg(long = "collection", short = 'c', required = true)]
    collections: Vec<String>,
    /// Ask for incremental pushes.
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
}

pub(super) async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let endpoint = Endpoint::from_shared(args.addr.clone())
        .with_context(|| format!("invalid --addr {:?}", args.addr))?;
    let done = CancellationToken::new();
    let printer = Printer {
        out: Mutex::new(std::io::stdout()),
        printed: AtomicU64::new(0),
        limit: args.count,
        done: done.clone(),
    };
    let options = SinkOptions {
        node: SinkNode {
            id: args.node_id,
            ..Default::default()
        },
        collections: args.collections,
        incremental: args.incremental,
        max_message_size: args.max_message_size,
    };
    let sink = SinkClient::new(endpoint, options, move |change: &Change| {
        printer.print(change)
    });
    tokio::select! {
        result = sink.run(done.clone()) => result?,
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
    }
    Ok(())
}

struct Printer {
    out: Mutex<std::io::Stdout>,
    printed: AtomicU64,
    limit: Option<u64>,
    done: CancellationToken,
}

impl Printer {
    fn print(&self, change: &Change) -> Result<(), ApplyError> {
        if self.done.is_cancelled() {
            return Err(ApplyError("watch is exiting".into()));
        }
        let line = push_json(change).to_string();
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| ApplyError(format!("cannot write to stdout: {e}")))?;
        let printed = self.printed.fetch_add(1, Ordering::Relaxed) + 1;
        if self.limit.is_some_and(|limit| printed >= limit) {
            self.done.cancel();
        }
        Ok(())
    }
}

/// The JSON form of one push.
fn push_json(change: &Change) -> Value {
    json!({
        "collection": change.collection,
        "nonce": change.nonce,
        "version": change.system_version_info,
        "incremental": change.incremental,
        "resources": change.resources.iter().map(resource_json).collect::<Vec<_>>(),
        "removed": change.removed,
    })
}

fn resource_json(resource: &Resource) -> Value {
    let metadata = resource.metadata.clone().unwrap_or_default();
    let body = resource.body.as_ref().map(|any| {
        if any.type_url == STRUCT_TYPE_URL {
            match prost_types::Struct::decode(any.value.as_slice()) {
                Ok(body) => Value::Object(struct_to_json(&body)),
                Err(e) => json!({ "@type": any.type_url, "error": e.to_string() }),
            }
        } else {
            json!({ "@type": any.type_url, "bytes": any.value.len() })
        }
    });
    json!({
        "name": metadata.name,
        "version": metadata.version,
        "createTime": metadata.create_time.map(|t| t.to_string()),
        "labels": metadata.labels,
        "annotations": metadata.annotations,
        "body": body,
    })
}
