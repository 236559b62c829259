//! Configuration turned into the MCP server's and the callouts' options:
//! the one place where the `mcp:` section becomes `galleon-mcp`'s terms
//! (the sources' own translation is `galleon_sources::factory`).

use std::collections::BTreeMap;
use std::time::Duration;

use galleon_mcp::BackoffOptions;
use galleon_mcp::server::{CalloutOptions, ServerOptions, StreamRate, XdsType};
use galleon_pipeline::PipelineSpec;
use galleon_pipeline::registry::{MESH_CONFIG, Registry};

use super::MESH_CONFIG_GVK;
use super::security::Security;
use crate::config::McpConfig;

/// The MCP server's options: the collections `spec` serves, their xDS
/// types, the configured limits, TLS and access list.
pub(super) fn server_options(
    mcp: &McpConfig,
    spec: &PipelineSpec,
    registry: &Registry,
    security: &Security,
) -> ServerOptions {
    ServerOptions {
        collections: spec
            .served_collections()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        metadata: pairs(&mcp.metadata),
        max_concurrent_streams: mcp.max_concurrent_streams,
        stall_timeout: mcp.stall_timeout,
        max_request_size: mcp.max_request_size,
        max_names: mcp.max_names_per_request,
        max_connection_age: mcp.max_connection_age.map(jittered),
        max_connection_age_grace: mcp.max_connection_age_grace,
        max_types_per_stream: mcp.max_types_per_stream,
        max_connections: mcp.max_connections.unwrap_or_else(default_max_connections),
        handshake_timeout: mcp.handshake_timeout,
        xds_types: xds_types(spec, registry),
        stream_rate: StreamRate {
            burst: mcp.stream_rate.burst,
            per_second: mcp.stream_rate.per_second,
        },
        tls: security.tls.clone(),
        access: security.access.clone(),
    }
}

/// MCP over xDS: every GVK of every served kind (each of its API
/// versions), and the mesh config as istiod asks for it.
fn xds_types(spec: &PipelineSpec, registry: &Registry) -> BTreeMap<String, XdsType> {
    let served = spec.served_collections();
    let kinds = registry.schemas().into_iter().filter_map(|schema| {
        let output = schema.output.as_ref().filter(|o| served.contains(o))?;
        let target = XdsType {
            collection: output.to_string(),
            bare: false,
        };
        Some(schema.gvks().map(move |gvk| (gvk, target.clone())))
    });
    let mesh = XdsType {
        collection: MESH_CONFIG.to_owned(),
        bare: true,
    };
    kinds
        .flatten()
        .chain([(MESH_CONFIG_GVK.to_owned(), mesh)])
        .collect()
}

/// The configured callouts.
pub(super) fn callouts(mcp: &McpConfig) -> Vec<CalloutOptions> {
    mcp.callouts
        .iter()
        .map(|callout| CalloutOptions {
            address: callout.address.clone(),
            metadata: pairs(&callout.metadata),
            backoff: BackoffOptions::default(),
            tls: callout.tls.clone(),
        })
        .collect()
}

/// Configured key/value pairs, as the MCP options take them.
fn pairs(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// 10,000, or half the open-file limit if that is lower: the sources keep
/// descriptors to read with however many sinks connect.
fn default_max_connections() -> usize {
    let files = rlimit::Resource::NOFILE
        .get()
        .map_or(u64::MAX, |(soft, _)| soft);
    usize::try_from(files / 2)
        .unwrap_or(usize::MAX)
        .min(galleon_mcp::server::DEFAULT_MAX_CONNECTIONS)
}

/// `age` moved by up to ±10%, differently in each process.
fn jittered(age: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    // A factor in [0.9, 1.1].
    let factor = 0.9 + 0.2 * (random % 10_001) as f64 / 10_000.0;
    age.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_age_is_jittered_within_a_tenth() {
        let age = Duration::from_secs(1800);
        let ages: Vec<Duration> = (0..64).map(|_| jittered(age)).collect();
        assert!(ages.iter().all(|a| (1620..=1980).contains(&a.as_secs())));
        assert!(ages.iter().any(|a| *a != ages[0]), "not jittered: {ages:?}");
    }
}
