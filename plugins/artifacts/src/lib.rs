//! Paths of galleon's plugins built as WebAssembly components (by this
//! crate's build script, into its `OUT_DIR`).

include!(concat!(env!("OUT_DIR"), "/components.rs"));
