//! galleon's sources of configuration events, each a [`Source`] (the seam,
//! and [`Aggregate`], live in `galleon-pipeline`):
//!
//! - [`file`]: YAML/JSON files and directories, watched;
//! - [`etcd`]: keys under a prefix in etcd, each holding what a file would;
//! - [`kubernetes`]: objects of every known kind in a Kubernetes API server;
//! - [`upstream`]: another hub's collections over MCP or MCP over xDS;
//! - [`mesh`]: the mesh-config file, over Galley's defaults.
//!
//! Files and etcd keys share [`documents`] (parsing, names, claims and
//! last-good retention); the sources that dial share `link` (link health
//! and the one reconnect loop). [`config`] is the `sources:` section
//! and [`factory`] builds every configured source from it in one pass.

pub mod config;
mod documents;
pub mod etcd;
pub mod factory;
pub mod file;
pub mod health;
pub mod kubernetes;
mod link;
pub mod mesh;
pub mod upstream;
pub mod yaml;

pub use config::SourceConfig;
pub use documents::resource_of;
pub use etcd::EtcdSource;
pub use factory::{BuildError, SourceContext, build};
pub use file::FileSource;
pub use galleon_fs_watch::install_rescan_signals;
use galleon_pipeline::event::Event;
pub use galleon_pipeline::source::{Aggregate, EventSender, Source, SourceRun};
pub use health::{LinkHealth, LinkState, SourceHealth};
pub use kubernetes::KubernetesSource;
pub use mesh::MeshSource;
pub use upstream::{McpUpstream, XdsUpstream};

/// Reconnect delays of the sources that dial: short, since while one is
/// away its part of the configuration stands still.
const RECONNECT: galleon_mcp::BackoffOptions = galleon_mcp::BackoffOptions {
    min: std::time::Duration::from_millis(100),
    max: std::time::Duration::from_secs(5),
};

/// Sends `batch` in order; `Err` once the pipeline is gone.
async fn send_all(events: &EventSender, batch: impl IntoIterator<Item = Event>) -> Result<(), ()> {
    for event in batch {
        events.send(event).await.map_err(|_| ())?;
    }
    Ok(())
}
