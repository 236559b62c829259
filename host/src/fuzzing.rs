//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not
//! part of the API): the document parser, the JSON → body codec and the MCP
//! stream engine, each fed arbitrary bytes.

pub use crate::source::file::fuzz_parse;
pub use galleon_mcp::source::fuzz_requests;

use galleon_pipeline::{BodyCodec, StructCodec};

/// Parses `bytes` as JSON and, when it is, encodes it as a body.
pub fn fuzz_body(bytes: &[u8]) {
    if let Ok(body) = serde_json::from_slice(bytes) {
        let _ = StructCodec.encode(&body);
    }
}
