//! The admission webhook's judging of arbitrary bytes as an AdmissionReview
//! (read, turned into a resource, checked against `fixtures/crds.yaml`,
//! answered), as the API server or anyone reaching the port could send.
#![no_main]

const CRDS: &str = include_str!("../fixtures/crds.yaml");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_hub::fuzzing::fuzz_admission(CRDS, data);
});
