//! `galleon watch --xds`: one ADS stream, as istiod opens it for
//! `configSources: xds://…`: a request per type URL, every response printed
//! and ACKed. `--incremental` speaks delta xDS (wildcard) instead. As
//! istiod does, it reconnects with backoff when the stream fails or the hub
//! drains (`UNAVAILABLE`), naming in state of the world the versions it
//! holds; a refusal a retry cannot fix ends it.

use std::collections::HashMap;

use galleon_mcp::ads::{self, AdsOptions, AdsResource, AdsStream};
use galleon_mcp::quote::escaped;
use galleon_mcp::sink::SinkError;
use galleon_mcp::{Backoff, BackoffOptions};
use serde_json::{Value, json};
use tonic::transport::Endpoint;
use tracing::warn;

use super::{Printer, WatchArgs};

/// Why one stream ended, when a new one may do better.
struct Retry(String);

pub(super) async fn run(args: &WatchArgs, printer: &Printer) -> anyhow::Result<()> {
    let endpoint = args.endpoint()?;
    let options = AdsOptions {
        node: ads::node(&args.node_id, args.revision.as_deref()),
        types: args.types.clone(),
        incremental: args.incremental,
        max_message_size: args.max_message_size,
    };
    let mut versions = HashMap::new();
    let mut backoff = Backoff::new(BackoffOptions::default());
    loop {
        let mut served = false;
        let Retry(why) =
            watch_once(&endpoint, &options, &mut versions, printer, &mut served).await?;
        if served {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        // The hub's words, escaped: a status message could carry anything.
        let why = escaped(&why, 1_000);
        warn!(addr = %args.addr, "{why}; reconnecting in {delay:?}");
        tokio::time::sleep(delay).await;
    }
}

/// One stream, from dial to end; `served` is set once a response came.
/// `Err` for a refusal a retry cannot fix, or stdout gone.
async fn watch_once(
    endpoint: &Endpoint,
    options: &AdsOptions,
    versions: &mut HashMap<String, String>,
    printer: &Printer,
    served: &mut bool,
) -> anyhow::Result<Retry> {
    let channel = match endpoint.connect().await {
        Ok(channel) => channel,
        Err(error) => return Ok(Retry(format!("cannot connect: {error}"))),
    };
    let refused = |status: tonic::Status| {
        let error = SinkError::from(status);
        if error.is_permanent() {
            Err(anyhow::Error::new(error))
        } else {
            Ok(Retry(format!("the stream ended: {error}")))
        }
    };
    let mut stream = match AdsStream::open(channel, options, versions).await {
        Ok(stream) => stream,
        Err(status) => return refused(status),
    };
    loop {
        let response = match stream.next().await {
            Ok(Some(response)) => response,
            Ok(None) => return Ok(Retry("the hub closed the stream".into())),
            Err(status) => return refused(status),
        };
        *served = true;
        let resources: Vec<Value> = response
            .resources
            .iter()
            .map(|entry| {
                let body = resource(printer, entry);
                if response.incremental {
                    json!({ "name": entry.name, "version": entry.version, "resource": body })
                } else {
                    body
                }
            })
            .collect();
        let mut printed = json!({
            "typeUrl": response.type_url,
            "version": response.version,
            "nonce": response.nonce,
            "resources": resources,
        });
        if response.incremental {
            printed["removed"] = json!(response.removed);
        }
        printer.print(&printed).map_err(anyhow::Error::msg)?;
        if stream.ack(&response).await.is_err() {
            return Ok(Retry("the stream closed before the ACK was sent".into()));
        }
        if !response.incremental {
            versions.insert(response.type_url.clone(), response.version.clone());
        }
    }
}

/// One entry of a response: a wrapped `istio.mcp.v1alpha1.Resource`, or a
/// bare body (the MeshConfig).
fn resource(printer: &Printer, entry: &AdsResource) -> Value {
    let Some(any) = &entry.body else {
        return Value::Null;
    };
    if any.type_url != galleon_mcp::cache::RESOURCE_TYPE_URL {
        return printer.body(any);
    }
    match entry.resource() {
        Ok(resource) => printer.resource(&resource),
        Err(e) => json!({ "@type": any.type_url, "error": e.to_string() }),
    }
}
