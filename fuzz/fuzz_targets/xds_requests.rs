//! Arbitrary request sequences through both MCP-over-xDS stream engines.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_mcp::server::fuzz_xds_requests(data);
});
