//! The SDK's native harness and the compiled component give identical
//! transcripts on the example's fixtures (both checked against the same
//! golden files).

use std::path::Path;

use add_label::AddLabel;
use galleon::plugin::WasmUnderTest;
use galleon_plugin_sdk::harness::{Fixture, Native, check_fixtures, fixtures, run};

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/plugins/add-label/fixtures")
}

#[test]
fn the_compiled_example_matches_its_golden_fixtures() {
    check_fixtures(&fixture_dir(), || {
        Box::new(
            WasmUnderTest::load(Path::new(galleon_plugin_artifacts::ADD_LABEL))
                .expect("load component"),
        )
    });
}

#[test]
fn native_and_wasm_transcripts_are_identical() {
    for (fixture, _) in fixtures(&fixture_dir()) {
        let fixture = Fixture::load(&fixture).unwrap();
        let native = run(&mut Native::<AddLabel>::default(), &fixture);
        let mut wasm = WasmUnderTest::load(Path::new(galleon_plugin_artifacts::ADD_LABEL)).unwrap();
        assert_eq!(native, run(&mut wasm, &fixture));
        assert!(
            native
                .as_array()
                .is_some_and(|steps| steps.len() == fixture.events.len())
        );
    }
}
