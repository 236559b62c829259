//! galleon: a WebAssembly-extensible configuration hub serving the Mesh
//! Configuration Protocol.
//!
//! The data path, one direction: sources → event router → validators →
//! transformers → accumulator → snapshot groups → [`cache`] → [`mcp`] server
//! → sinks. See `ARCHITECTURE.md` for the walk hop by hop.

pub mod cache;
pub mod cli;
pub mod mcp;
