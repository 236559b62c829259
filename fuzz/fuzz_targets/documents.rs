//! The file source's parser on arbitrary bytes, as YAML and as JSON.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_hub::fuzzing::fuzz_parse(data);
});
