//! galleon: a WebAssembly-extensible configuration hub serving the Mesh
//! Configuration Protocol.
//!
//! The data path, one direction: [`source`]s → [`pipeline`] (router →
//! transformers → accumulators → snapshot groups) → [`cache`] → [`mcp`]
//! server → sinks. [`hub`] assembles them from a [`config`]. See
//! `ARCHITECTURE.md` for the walk hop by hop.

pub mod cache;
pub mod cli;
pub mod config;
pub mod diagnostics;
pub mod event;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hub;
pub mod mcp;
pub mod mesh;
pub mod pipeline;
pub mod plugin;
pub mod registry;
pub mod source;
