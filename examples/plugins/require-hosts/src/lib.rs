//! Example validator: a VirtualService must name at least one host, and every
//! host must be a non-empty string. A wildcard-only host is accepted with a
//! warning.

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Diagnostic, Resource, Validator, export_validator};

/// The validator; it has no settings.
#[derive(Default)]
pub struct RequireHosts;

impl Validator for RequireHosts {
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
                return vec![Diagnostic::error(
                    "spec.hosts",
                    format!("must be a list, found {other}"),
                )];
            }
        };
        hosts
            .iter()
            .enumerate()
            .filter_map(|(i, host)| match host.as_str() {
                Some("") | None => Some(Diagnostic::error(
                    &format!("spec.hosts[{i}]"),
                    "a host must be a non-empty string",
                )),
                Some("*") => Some(Diagnostic::warning(
                    &format!("spec.hosts[{i}]"),
                    "`*` matches every host",
                )),
                Some(_) => None,
            })
            .collect()
    }
}

export_validator!(RequireHosts);

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::serde_json::json;
    use galleon_plugin_sdk::{Resource, Severity, Validator};

    use super::RequireHosts;

    fn check(body: Value) -> Vec<(Severity, String)> {
        let resource = Resource::new(
            "k8s/networking.istio.io/v1alpha3/virtualservices",
            "ns/vs",
            body,
        );
        RequireHosts
            .validate(&resource)
            .into_iter()
            .map(|d| (d.severity, d.field.unwrap_or_default()))
            .collect()
    }

    use galleon_plugin_sdk::serde_json::Value;

    #[test]
    fn golden_fixtures() {
        use galleon_plugin_sdk::harness::{
            Fixture, NativeValidator, check_golden, fixtures, run_validator,
        };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for (fixture, golden) in fixtures(&dir) {
            let fixture = Fixture::load(&fixture).unwrap();
            let transcript =
                run_validator(&mut NativeValidator::<RequireHosts>::default(), &fixture);
            check_golden(&transcript, &golden).unwrap();
        }
    }

    #[test]
    fn judges_hosts() {
        assert!(check(json!({"hosts": ["a"]})).is_empty());
        assert_eq!(
            check(json!({})),
            [(Severity::Error, "spec.hosts".to_string())]
        );
        assert_eq!(
            check(json!({"hosts": []})),
            [(Severity::Error, "spec.hosts".to_string())]
        );
        assert_eq!(
            check(json!({"hosts": ["a", ""]})),
            [(Severity::Error, "spec.hosts[1]".to_string())]
        );
        assert_eq!(
            check(json!({"hosts": ["*"]})),
            [(Severity::Warning, "spec.hosts[0]".to_string())]
        );
    }
}
