//! Arbitrary JSON through the typed codec (a message with every kind of
//! field Istio's messages use).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_schemas::fuzzing::fuzz_typed(data);
});
