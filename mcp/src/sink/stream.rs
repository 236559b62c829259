//! The sink side of one MCP stream: subscribe, then apply and answer every
//! push in order.

use futures_util::Stream;
use galleon_proto::mcp::{RequestResources, Resources};
use galleon_proto::rpc;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::{Code, Status};
use tracing::{debug, warn};

use super::{Change, Shared, Updater};

/// Queues a subscription per collection on `requests` (which has room for
/// them all), before the call is made: a source may send its response
/// headers only once it has read a request.
pub(super) fn subscribe<U: Updater>(shared: &Shared<U>, requests: &mpsc::Sender<RequestResources>) {
    for collection in &shared.options.collections {
        let _ = requests.try_send(subscription(shared, collection));
    }
}

/// The room a stream's request channel needs for its subscriptions.
pub(super) fn room<U>(shared: &Shared<U>) -> usize {
    shared.options.collections.len().max(1)
}

/// Applies and answers every push until the source closes the stream
/// (`Ok`) or fails (`Err`). `served` is set once a push was applied.
pub(super) async fn serve<U, S>(
    shared: &Shared<U>,
    mut pushes: S,
    requests: mpsc::Sender<RequestResources>,
    served: &mut bool,
) -> Result<(), Status>
where
    U: Updater,
    S: Stream<Item = Result<Resources, Status>> + Unpin,
{
    while let Some(push) = pushes.next().await {
        let answer = answer(shared, push?);
        *served |= answer.error_detail.is_none();
        if requests.send(answer).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn subscription<U: Updater>(shared: &Shared<U>, collection: &str) -> RequestResources {
    let incremental = shared.options.incremental;
    RequestResources {
        sink_node: Some(shared.options.node.clone()),
        collection: collection.to_owned(),
        // Only an incremental sink can resume; a full-state one starts over.
        initial_resource_versions: if incremental {
            shared.applied(collection).into_iter().collect()
        } else {
            Default::default()
        },
        incremental,
        ..Default::default()
    }
}

/// Applies a push and builds its ACK, or its NACK with the reason.
fn answer<U: Updater>(shared: &Shared<U>, push: Resources) -> RequestResources {
    let mut reply = RequestResources {
        sink_node: Some(shared.options.node.clone()),
        collection: push.collection.clone(),
        response_nonce: push.nonce.clone(),
        incremental: shared.options.incremental,
        ..Default::default()
    };
    if let Err((code, message)) = apply(shared, push) {
        warn!(collection = %reply.collection, nonce = %reply.response_nonce, "NACK: {message}");
        reply.error_detail = Some(rpc::Status {
            code: code as i32,
            message,
            details: Vec::new(),
        });
    }
    reply
}

fn apply<U: Updater>(shared: &Shared<U>, push: Resources) -> Result<(), (Code, String)> {
    if !shared.options.collections.contains(&push.collection) {
        return Err((
            Code::Unimplemented,
            format!("not subscribed to {:?}", push.collection),
        ));
    }
    let resources = push.decode_resources().map_err(|(index, e)| {
        (
            Code::InvalidArgument,
            format!("resource #{index} does not decode: {e}"),
        )
    })?;
    let change = Change {
        collection: push.collection,
        resources,
        removed: push.removed_resources,
        incremental: push.incremental,
        system_version_info: push.system_version_info,
        nonce: push.nonce,
    };
    shared
        .updater
        .apply(&change)
        .map_err(|e| (Code::InvalidArgument, e.to_string()))?;
    debug!(collection = %change.collection, nonce = %change.nonce, "applied");
    shared.record(&change);
    Ok(())
}
