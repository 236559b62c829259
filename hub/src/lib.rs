//! galleon's hub: its [`config`]uration file, the [`Hub`] that assembles
//! sources (`galleon-sources`), pipeline (`galleon-pipeline`), plugin host
//! (`galleon-plugin-host`) and MCP server (`galleon-mcp`) and starts them,
//! and the [`admin`] HTTP server. The `galleon` binary (`host/`) puts its
//! command line on top and hands the hub the built-in plugins. See
//! `ARCHITECTURE.md` for the data path hop by hop.

pub mod admin;
pub mod admission;
pub mod analysis;
mod checks;
pub mod config;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod http_server;
mod hub;

pub use hub::analyze::{Analysis, AnalyzeRequest, analyze, list_analyzers};
pub use hub::validate::{Findings, validate};
pub use hub::{Hub, HubError, MESH_CONFIG_GVK, RunningHub};

/// The git commit the hub was built from (`unknown` outside a checkout).
pub const COMMIT: &str = env!("GALLEON_GIT_COMMIT");
