//! A validator that accepts everything except that it traps on a resource
//! whose name ends in `trigger` and runs past any deadline on one whose
//! name ends in `spin` — to test what a failing validator does to the
//! change it was judging (rejected by default, accepted if fail-open).

use galleon_plugin_sdk::{Diagnostic, Resource, Validator, export_validator};

/// The validator.
#[derive(Default)]
pub struct Failing;

impl Validator for Failing {
    fn validate(&self, resource: &Resource) -> Vec<Diagnostic> {
        assert!(
            !resource.name.ends_with("trigger"),
            "failing validator traps on purpose"
        );
        let mut spins = 0_u64;
        while resource.name.ends_with("spin") {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        Vec::new()
    }
}

export_validator!(Failing);
