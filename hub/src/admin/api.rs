//! The JSON the admin server answers with, as types both ends share: the
//! server serialises them and `galleon status` (or any Rust client) reads
//! them back, so the two cannot drift.

use serde::{Deserialize, Serialize};

pub use galleon_mcp::cache::{CollectionStatus, Nack, SinkStatus};
pub use galleon_pipeline::diagnostics::Problem;

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
