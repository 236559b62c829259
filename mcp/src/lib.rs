//! The Mesh Configuration Protocol (`istio.mcp.v1alpha1`) for galleon, with
//! no WebAssembly runtime and no file watching in its dependency tree:
//!
//! - [`cache`]: immutable, versioned snapshots per group and the [`Watch`]
//!   seam between whoever produces snapshots and the streams that serve them;
//! - [`server`]: the `ResourceSource` server that serves the cache to sinks,
//!   and the callouts that dial sinks (`ResourceSink`);
//! - [`sink`]: the sink library a Rust control plane uses to consume MCP;
//! - [`tls`]: TLS for the listener (reloadable, mutual) and the callouts.
//!
//! [`Watch`]: cache::Watch

pub mod ads;
pub mod backoff;
pub mod cache;
pub mod quote;
pub mod redact;
pub mod server;
pub mod sink;
pub mod tls;

pub use backoff::{Backoff, BackoffOptions};
/// The protocol's messages, so a sink needs no other galleon crate.
pub use galleon_proto as proto;

/// Header carrying the hub's version on every stream galleon serves.
pub const VERSION_HEADER: &str = "config.source.version";
