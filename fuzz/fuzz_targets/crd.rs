//! CRD loading (first byte even: the rest as CustomResourceDefinitions,
//! rules compiled under their cost limits) and validation (odd: the rest as
//! an object, against the target's own CRD in `fixtures/crds.yaml`).
#![no_main]

const CRDS: &str = include_str!("../fixtures/crds.yaml");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    galleon_hub::fuzzing::fuzz_crd(CRDS, data);
});
