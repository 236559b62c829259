//! Arbitrary JSON through the body codec (`google.protobuf.Struct`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_hub::fuzzing::fuzz_body(data);
});
