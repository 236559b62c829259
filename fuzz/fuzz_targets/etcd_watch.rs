//! Arbitrary etcd watch responses through the resume logic and the
//! document set.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_sources::etcd::fuzz_watch(data);
});
