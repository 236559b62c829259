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

use galleon_mcp::BackoffOptions;
use galleon_mcp::tls::ClientTls;

use crate::health::SourceHealth;
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::Collection;
use galleon_schemas::DescriptorPool;
use tonic::transport::Endpoint;

use self::mirror::Mirror;

pub use mcp::McpUpstream;
pub use xds::XdsUpstream;

/// What stays served while an upstream is away.
const SERVED: &str = "serving the last state it sent";

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

/// How an upstream source dials.
#[derive(Clone, Debug)]
pub struct UpstreamOptions {
    /// The node id presented upstream.
    pub node_id: String,
    /// TLS to dial with (an `https://` address).
    pub tls: Option<ClientTls>,
    /// Reconnect delays.
    pub backoff: BackoffOptions,
    /// The largest resource body taken in (as `maxFileSize` for files).
    pub max_resource_size: usize,
    /// Where its link's health is reported.
    pub health: SourceHealth,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        Self {
            node_id: "galleon".into(),
            tls: None,
            backoff: crate::RECONNECT,
            max_resource_size: crate::file::DEFAULT_MAX_FILE_SIZE as usize,
            health: SourceHealth::default(),
        }
    }
}

/// What both upstream sources hold: where they dial, as whom, and which
/// local collection each subscription feeds.
struct Dial {
    address: String,
    endpoint: Endpoint,
    node_id: String,
    routes: BTreeMap<String, Collection>,
    pool: DescriptorPool,
    diagnostics: Diagnostics,
    backoff: BackoffOptions,
    max_resource_size: usize,
    health: SourceHealth,
}

impl Dial {
    /// Routes `names` with `route` (each must name `what`); typed bodies
    /// are read with `pool`.
    fn new(
        address: &str,
        names: &[String],
        route: impl Fn(&str) -> Option<Collection>,
        what: &'static str,
        options: UpstreamOptions,
        pool: DescriptorPool,
        diagnostics: Diagnostics,
    ) -> Result<Self, UpstreamError> {
        // Shown in names, logs and errors without its password, if any.
        let shown = galleon_mcp::redact::url(address);
        Ok(Self {
            endpoint: endpoint(address, &shown, options.tls.as_ref())?,
            node_id: options.node_id,
            routes: routes(&shown, names, route, what)?,
            address: shown,
            pool,
            diagnostics,
            backoff: options.backoff,
            max_resource_size: options.max_resource_size,
            health: options.health,
        })
    }

    /// An empty mirror for a new start of source `name`.
    fn mirror(&self, name: String) -> Mirror {
        Mirror::new(
            name,
            self.routes.clone(),
            self.pool.clone(),
            self.diagnostics.clone(),
            self.max_resource_size,
        )
    }

    /// The link to the upstream, reporting as source `name`.
    fn link(&self, name: String) -> crate::link::Link {
        crate::link::Link::new(
            name.clone(),
            name,
            self.diagnostics.clone(),
            self.health.clone(),
        )
    }

    /// The local collections fed.
    fn collections(&self) -> Vec<Collection> {
        self.routes.values().cloned().collect()
    }
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

/// The endpoint dialling `address`, over TLS when configured (`shown` in
/// errors).
fn endpoint(
    address: &str,
    shown: &str,
    tls: Option<&ClientTls>,
) -> Result<Endpoint, UpstreamError> {
    let bad = |reason: String| UpstreamError::Address {
        address: shown.to_owned(),
        reason,
    };
    let endpoint = Endpoint::from_shared(address.to_owned()).map_err(|e| bad(e.to_string()))?;
    let Some(tls) = tls else {
        return Ok(endpoint);
    };
    let config = tls.config().map_err(|e| bad(e.to_string()))?;
    endpoint.tls_config(config).map_err(|e| bad(e.to_string()))
}
