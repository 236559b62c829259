//! The Mesh Configuration Protocol (`istio.mcp.v1alpha1`): the source side
//! that serves snapshots to sinks ([`source`]), and a sink library that
//! consumes them ([`sink`]).

pub(crate) mod backoff;
pub mod sink;
pub mod source;

pub use backoff::BackoffOptions;

/// Header carrying the hub's version on every stream galleon serves.
pub const VERSION_HEADER: &str = "config.source.version";
