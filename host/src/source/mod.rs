//! Sources of configuration events: files and the mesh-config file. The
//! [`Source`] seam itself, and [`Aggregate`], live in `galleon-pipeline`.

pub mod file;
mod mesh;

pub use file::FileSource;
pub use galleon_fs_watch::install_rescan_signals;
pub use galleon_pipeline::source::{Aggregate, EventSender, Source, SourceRun};
pub use mesh::MeshSource;
