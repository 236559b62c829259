//! A validator: a VirtualService must name at least one host, and every host
//! must be a non-empty string; `*` is accepted with a warning. Change it to
//! judge what you need, then `galleon plugin build && galleon plugin test`.

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Diagnostic, Resource, Validator, export_validator};

/// The plugin; it has no settings.
#[derive(Default)]
pub struct Plugin;

impl Validator for Plugin {
    fn validate(&self, resource: &Resource) -> Vec<Diagnostic> {
        let hosts = match resource.body.get("hosts") {
            Some(Value::Array(hosts)) if !hosts.is_empty() => hosts,
            Some(Value::Array(_)) | None => {
                return vec![Diagnostic::error(
                    "spec.hosts",
                    "a VirtualService needs at least one host",
                )];
            }
            Some(other) => {
                return vec![Diagnostic::error("spec.hosts", format!("must be a list, found {other}"))];
            }
        };
        let mut found = Vec::new();
        for (i, host) in hosts.iter().enumerate() {
            let field = format!("spec.hosts[{i}]");
            match host.as_str() {
                Some("") | None => {
                    found.push(Diagnostic::error(&field, "a host must be a non-empty string"))
                }
                Some("*") => found.push(Diagnostic::warning(&field, "`*` matches every host")),
                Some(_) => {}
            }
        }
        found
    }
}

export_validator!(Plugin);
