//! A validator that accepts everything except that it traps on a resource
//! whose name ends in `trigger` — to test what a failing validator does to
//! the change it was judging (rejected by default, accepted if fail-open).

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
        Vec::new()
    }
}

export_validator!(Failing);
