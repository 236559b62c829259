//! Arbitrary request sequences through the MCP stream engine.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_mcp::server::fuzz_requests(data);
});
