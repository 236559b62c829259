//! `galleon watch` over MCP: the sink library subscribes to collections.

use galleon_mcp::sink::{ApplyError, Change, SinkClient, SinkOptions};
use galleon_proto::mcp::SinkNode;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Printer, WatchArgs};

pub(super) async fn run(
    args: &WatchArgs,
    printer: Printer,
    done: CancellationToken,
) -> anyhow::Result<()> {
    let endpoint = args.endpoint()?;
    let options = SinkOptions {
        node: SinkNode {
            id: args.node_id.clone(),
            ..Default::default()
        },
        collections: args.collections.clone(),
        incremental: args.incremental,
        max_message_size: args.max_message_size,
    };
    let sink = SinkClient::new(endpoint, options, move |change: &Change| {
        let push = json!({
            "collection": change.collection,
            "nonce": change.nonce,
            "version": change.system_version_info,
            "incremental": change.incremental,
            "resources": change.resources.iter().map(|r| printer.resource(r)).collect::<Vec<_>>(),
            "removed": change.removed,
        });
        printer.print(&push).map_err(ApplyError)
    });
    sink.run(done).await?;
    Ok(())
}
