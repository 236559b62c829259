//! A Rust control plane consuming MCP with galleon's sink library alone:
//! subscribe to VirtualServices on a hub, print each push, ACK it.
//!
//! Run a hub (`cargo run -p galleon -- serve`), then
//! `cargo run -p galleon-mcp --example sink`.

#![allow(clippy::print_stdout, reason = "printing pushes is this example's job")]

use galleon_mcp::sink::{ApplyError, CancellationToken, Change, Endpoint, SinkClient, SinkOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hub = Endpoint::from_static("http://127.0.0.1:9901");
    let options = SinkOptions {
        collections: vec!["istio/networking/v1alpha3/virtualservices".into()],
        incremental: true,
        ..SinkOptions::default()
    };
    let print = |change: &Change| -> Result<(), ApplyError> {
        let names: Vec<&str> = change
            .resources
            .iter()
            .filter_map(|r| r.metadata.as_ref().map(|m| m.name.as_str()))
            .collect();
        println!(
            "{}: {names:?}, removed {:?}",
            change.collection, change.removed
        );
        Ok(()) // an Err here NACKs the push with its message
    };
    // Reconnects with backoff; returns on a refusal retrying cannot fix.
    SinkClient::new(hub, options, print)
        .run(CancellationToken::new())
        .await?;
    Ok(())
}
