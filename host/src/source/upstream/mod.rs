//! Sources that subscribe to another hub: [`McpUpstream`] over MCP (any
//! `ResourceSource`, with galleon's sink library) and [`XdsUpstream`] over
//! MCP over xDS (another galleon, Nacos, Higress), as istiod would. Both
//! unwrap the upstream's resources into this hub's pipeline through one
//! [`mirror::Mirror`], so a reconnect that re-sends everything becomes only
//! what changed, and keep the last state served while the upstream is away.

mod mcp;
mod mirror;
mod resource;
mod xds;

use std::collections::BTreeMap;

use galleon_mcp::tls::ClientTls;
use galleon_pipeline::event::Collection;
use tonic::transport::Endpoint;

pub use mcp::McpUpstream;
pub use xds::XdsUpstream;

/// Why an upstream source cannot be set up as configured.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The address is not a URI tonic can dial.
    #[error("upstream {address:?}: {reason}")]
    Address {
        /// The configured address.
        address: String,
        /// Why it cannot be dialled.
        reason: String,
    },
    /// A collection or type this hub has no kind for.
    #[error("upstream {address}: {name} is not {what}; declare its kind under `kinds`")]
    Unrouted {
        /// The configured address.
        address: String,
        /// The collection or type URL.
        name: String,
        /// What it should have been.
        what: &'static str,
    },
    /// Two subscriptions feed one local collection.
    #[error("upstream {address}: {first} and {second} both feed {local}; subscribe to one")]
    Overlap {
        /// The configured address.
        address: String,
        /// The first subscription.
        first: String,
        /// The second.
        second: String,
        /// The local collection both feed.
        local: Collection,
    },
}

/// Checks that each upstream name routes to a local collection of its own.
fn routes(
    address: &str,
    names: &[String],
    route: impl Fn(&str) -> Option<Collection>,
    what: &'static str,
) -> Result<BTreeMap<String, Collection>, UpstreamError> {
    let mut routes = BTreeMap::new();
    let mut feeders: BTreeMap<Collection, String> = BTreeMap::new();
    for name in names {
        let local = route(name).ok_or_else(|| UpstreamError::Unrouted {
            address: address.to_owned(),
            name: name.clone(),
            what,
        })?;
        if let Some(first) = feeders.insert(local.clone(), name.clone()) {
            return Err(UpstreamError::Overlap {
                address: address.to_owned(),
                first,
                second: name.clone(),
                local,
            });
        }
        routes.insert(name.clone(), local);
    }
    Ok(routes)
}

/// The endpoint to dial, over TLS when configured.
fn endpoint(address: &str, tls: Option<&ClientTls>) -> Result<Endpoint, UpstreamError> {
    let bad = |reason: String| UpstreamError::Address {
        address: address.to_owned(),
        reason,
    };
    let endpoint = Endpoint::from_shared(address.to_owned()).map_err(|e| bad(e.to_string()))?;
    let Some(tls) = tls else {
        return Ok(endpoint);
    };
    let config = tls.config().map_err(|e| bad(e.to_string()))?;
    endpoint.tls_config(config).map_err(|e| bad(e.to_string()))
}
