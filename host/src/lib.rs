//! galleon: a WebAssembly-extensible configuration hub serving the Mesh
//! Configuration Protocol.
//!
//! This crate is the hub's top layer: its [`config`]uration, the [`hub`]
//! that assembles sources (`galleon-sources`), pipeline
//! (`galleon-pipeline`), plugin host (`galleon-plugin-host`) and MCP server
//! (`galleon-mcp`), and the [`admin`] HTTP server. The `galleon` binary's
//! command line sits on top (`src/cli/`). See `ARCHITECTURE.md` for the
//! data path hop by hop.

pub mod admin;
pub mod config;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hub;
