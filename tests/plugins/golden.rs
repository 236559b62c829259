//! The SDK's native harness and the compiled components give identical
//! transcripts on each plugin's fixtures (both checked against the same
//! golden files).

use std::path::{Path, PathBuf};

use galleon_plugin_dev::under_test::HarnessTransformer;
use galleon_plugin_sdk::Transformer;
use galleon_plugin_sdk::harness::{Fixture, Native, UnderTest, check_fixtures, fixtures, run};

/// (component, fixture directory relative to the workspace root).
const PLUGINS: &[(&str, &str)] = &[
    (
        galleon_plugin_artifacts::ADD_LABEL,
        "examples/plugins/add-label/fixtures",
    ),
    (
        galleon_plugin_artifacts::AUTHPOLICY,
        "plugins/authpolicy/fixtures",
    ),
    (
        galleon_plugin_artifacts::INGRESS,
        "plugins/ingress/fixtures",
    ),
    (
        galleon_plugin_artifacts::SERVICEENTRY,
        "plugins/serviceentry/fixtures",
    ),
];

fn dir(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn wasm(component: &str) -> Box<dyn UnderTest> {
    Box::new(HarnessTransformer::load(Path::new(component)).expect("load component"))
}

#[test]
fn compiled_plugins_match_their_golden_fixtures() {
    for (component, fixtures) in PLUGINS {
        check_fixtures(&dir(fixtures), || wasm(component));
    }
}

fn native_equals_wasm<T: Transformer>(component: &str, fixtures_dir: &str) {
    for (fixture, _) in fixtures(&dir(fixtures_dir)) {
        let fixture = Fixture::load(&fixture).unwrap();
        let native = run(&mut Native::<T>::default(), &fixture);
        assert_eq!(native, run(wasm(component).as_mut(), &fixture));
        assert!(
            native
                .as_array()
                .is_some_and(|steps| steps.len() == fixture.events.len())
        );
    }
}

#[test]
fn native_and_wasm_transcripts_are_identical() {
    native_equals_wasm::<add_label::AddLabel>(PLUGINS[0].0, PLUGINS[0].1);
    native_equals_wasm::<authpolicy::AuthPolicy>(PLUGINS[1].0, PLUGINS[1].1);
    native_equals_wasm::<ingress::IngressTransform>(PLUGINS[2].0, PLUGINS[2].1);
    native_equals_wasm::<serviceentry::ServiceEntries>(PLUGINS[3].0, PLUGINS[3].1);
}
