//! Sources of configuration events: files, etcd, and the mesh-config file.
//! The [`Source`] seam itself, and [`Aggregate`], live in `galleon-pipeline`.

mod documents;
pub mod etcd;
pub mod file;
pub mod kubernetes;
mod link;
mod mesh;
pub mod upstream;

pub use etcd::EtcdSource;
pub use file::FileSource;
pub use galleon_fs_watch::install_rescan_signals;
use galleon_pipeline::event::Event;
pub use galleon_pipeline::source::{Aggregate, EventSender, Source, SourceRun};
pub use kubernetes::{KubernetesOptions, KubernetesSource};
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
