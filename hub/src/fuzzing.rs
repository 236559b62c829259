//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not
//! part of the API): the document parser and the JSON → body codec, each
//! fed arbitrary bytes. The MCP stream engine's is `galleon-mcp`'s own
//! (`server::fuzz_requests`, its feature `fuzzing`).

pub use galleon_sources::file::fuzz_parse;

use galleon_pipeline::{BodyCodec, StructCodec};

/// Parses `bytes` as JSON and, when it is, encodes it as a body.
pub fn fuzz_body(bytes: &[u8]) {
    if let Ok(body) = serde_json::from_slice(bytes) {
        let _ = StructCodec.encode(&body);
    }
}
