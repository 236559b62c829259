//! The compiled components give their golden transcripts on each plugin's
//! fixtures. The same plugins built natively are checked against the same
//! golden files by their own tests in the guest workspace
//! (`cargo test --manifest-path plugins/Cargo.toml`), so native and wasm
//! transcripts are identical.

use std::path::{Path, PathBuf};

use galleon_plugin_dev::under_test::{HarnessAnalyzer, HarnessTransformer};
use galleon_plugin_sdk::harness::{UnderTest, check_analyzer_fixtures, check_fixtures};

/// (component, fixture directory relative to the workspace root).
const PLUGINS: &[(&str, &str)] = &[
    (
        galleon_plugin_artifacts::ADD_LABEL,
        "examples/plugins/add-label/fixtures",
    ),
    // add-label as built against the 0.1.0 contract: the same outputs.
    (
        galleon_plugin_artifacts::CONTRACT_0_1,
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

#[test]
fn the_compiled_analyzers_match_their_golden_fixtures() {
    check_analyzer_fixtures(&dir("plugins/analyzers/fixtures"), || {
        Box::new(
            HarnessAnalyzer::load(Path::new(galleon_plugin_artifacts::ANALYZERS))
                .expect("load component"),
        )
    });
}
