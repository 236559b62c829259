//! `galleon watch --xds`: one ADS stream, as istiod opens it for
//! `configSources: xds://…`: a request per type URL, every response printed
//! and ACKed. `--incremental` speaks delta xDS (wildcard) instead.

use std::collections::HashMap;

use anyhow::Context;
use galleon_mcp::ads::{self, AdsOptions, AdsResource, AdsStream};
use serde_json::{Value, json};

use super::{Printer, WatchArgs};

pub(super) async fn run(args: &WatchArgs, printer: &Printer) -> anyhow::Result<()> {
    let channel = args
        .endpoint()?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    let options = AdsOptions {
        node: ads::node(&args.node_id, args.revision.as_deref()),
        types: args.types.clone(),
        incremental: args.incremental,
        max_message_size: args.max_message_size,
    };
    let mut stream = AdsStream::open(channel, &options, &HashMap::new()).await?;
    while let Some(response) = stream.next().await? {
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
            break;
        }
    }
    Ok(())
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
