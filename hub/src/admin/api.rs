//! The JSON the admin server answers with, as types both ends share: the
//! server serialises them and `galleon status` (or any Rust client) reads
//! them back, so the two cannot drift.

use serde::{Deserialize, Serialize};

pub use galleon_mcp::cache::{CollectionStatus, Nack, SinkStatus};
pub use galleon_pipeline::diagnostics::Problem;
pub use galleon_sources::{LinkHealth, LinkState};

/// `/debug/snapshots`: one collection of a published snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishedCollection {
    /// The snapshot group it is published in.
    pub group: String,
    /// The collection.
    pub collection: String,
    /// Its content-hash version.
    pub version: String,
    /// How many resources it holds.
    pub resources: usize,
    /// When this version was built (RFC 3339).
    pub published_at: String,
}

/// `/debug/diagnostics`: one current problem and what it belongs to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScopedProblem {
    /// What the problem belongs to (a source, a plugin, a collection).
    pub scope: String,
    /// The problem.
    #[serde(flatten)]
    pub problem: Problem,
}

/// `/debug/version` (and `galleon version`): what a binary is, and for a
/// running hub, since when and where.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The release, e.g. `0.1.0`.
    pub version: String,
    /// The plugin contract it serves, e.g. `galleon:plugin@0.1.0`.
    pub plugin_contract: String,
    /// The git commit it was built from.
    pub commit: String,
    /// A running hub's start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// A running hub's uptime, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<u64>,
    /// The host (or pod) it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The configuration file it was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

impl BuildInfo {
    /// The binary this is compiled into.
    pub fn this_binary() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            plugin_contract: format!(
                "{}@{}",
                galleon_plugin_host::WIT_PACKAGE,
                galleon_plugin_host::WIT_VERSION
            ),
            commit: crate::COMMIT.to_owned(),
            started_at: None,
            uptime_seconds: None,
            host: None,
            config: None,
        }
    }
}

/// `/debug/resources?collection=…`: one page of a served collection.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePage {
    /// The collection.
    pub collection: String,
    /// Its version.
    pub version: String,
    /// How many resources it holds in all.
    pub total: usize,
    /// Where this page starts.
    pub offset: usize,
    /// This page, by name.
    pub resources: Vec<ServedResource>,
}

/// One served resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedResource {
    /// `namespace/name`, or `name`.
    pub name: String,
    /// Its content version.
    pub version: String,
    /// Where it came from (`file:line (document n)`), when known.
    pub origin: Option<String>,
    /// Its encoded size, in bytes.
    pub size: usize,
}

/// `/debug`: every endpoint, with what it answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Endpoint {
    /// The path.
    pub path: String,
    /// What it answers.
    pub description: String,
}
