//! galleon's plugins built as WebAssembly components by this crate's build
//! script (into its `OUT_DIR`): the built-in plugins' bytes, bundled into
//! the binary, and the paths of every component built (the example and test
//! plugins only with the `test-plugins` feature).

include!(concat!(env!("OUT_DIR"), "/components.rs"));
