//! Example analyzer: reports every Gateway that no VirtualService is bound
//! to (its `spec.gateways` names it, as `name` in the VirtualService's own
//! namespace or as `namespace/name`; `mesh` is not a Gateway).
//!
//! It keeps what it needs of both collections, and after each batch reports
//! only the Gateways whose verdict changed: a message for one that became
//! unused, an empty report (clearing it) for one that is used again or
//! went away.

use std::collections::{BTreeMap, BTreeSet};

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{
    Analyzer, AnalyzerInfo, Analyzers, Event, Message, Report, ResourceRef, Severity,
    export_analyzer,
};

const GATEWAYS: &str = "k8s/networking.istio.io/v1alpha3/gateways";
const VIRTUAL_SERVICES: &str = "k8s/networking.istio.io/v1alpha3/virtualservices";
const ANALYZER: &str = "example.UnusedGatewayAnalyzer";

/// The analyzer's state: the Gateways, and the Gateways each VirtualService
/// is bound to.
#[derive(Default)]
pub struct UnusedGateways {
    gateways: BTreeSet<String>,
    bindings: BTreeMap<String, Vec<String>>,
    /// The Gateways last reported as unused.
    reported: BTreeSet<String>,
}

/// The `namespace/name` of each Gateway a VirtualService in `namespace`
/// with `body` is bound to.
fn bound_gateways(namespace: &str, body: &Value) -> Vec<String> {
    let Some(Value::Array(names)) = body.get("gateways") else {
        return Vec::new();
    };
    names
        .iter()
        .filter_map(Value::as_str)
        .filter(|name| *name != "mesh")
        .map(|name| match name.contains('/') {
            true => name.to_owned(),
            false => format!("{namespace}/{name}"),
        })
        .collect()
}

fn unused(gateway: &str) -> Message {
    Message {
        analyzer: ANALYZER.into(),
        code: "EX0001".into(),
        name: "UnusedGateway".into(),
        severity: Severity::Warning,
        field: None,
        text: format!("No VirtualService is bound to Gateway {gateway:?}"),
        references: Vec::new(),
    }
}

impl UnusedGateways {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Added(resource) | Event::Updated(resource) => {
                if resource.collection == GATEWAYS {
                    self.gateways.insert(resource.name);
                } else {
                    let bound = bound_gateways(resource.namespace(), &resource.body);
                    self.bindings.insert(resource.name, bound);
                }
            }
            Event::Deleted { collection, name } => {
                if collection == GATEWAYS {
                    self.gateways.remove(&name);
                } else {
                    self.bindings.remove(&name);
                }
            }
            Event::FullSync(_) => {}
            Event::Reset => *self = Self::default(),
        }
    }

    /// The Gateways no VirtualService is bound to now.
    fn unused_now(&self) -> BTreeSet<String> {
        let used: BTreeSet<&String> = self.bindings.values().flatten().collect();
        self.gateways
            .iter()
            .filter(|gateway| !used.contains(gateway))
            .cloned()
            .collect()
    }
}

impl Analyzer for UnusedGateways {
    fn describe() -> Analyzers {
        Analyzers {
            inputs: vec![GATEWAYS.into(), VIRTUAL_SERVICES.into()],
            analyzers: vec![AnalyzerInfo {
                name: ANALYZER.into(),
                description: "Reports Gateways no VirtualService is bound to".into(),
                inputs: vec![GATEWAYS.into(), VIRTUAL_SERVICES.into()],
            }],
            summary: "finds Gateways nothing routes through".into(),
        }
    }

    fn handle_batch(&mut self, events: Vec<Event>) -> Result<Vec<Report>, String> {
        for event in events {
            self.apply(event);
        }
        let now = self.unused_now();
        let report = |gateway: &String, messages| Report {
            subject: ResourceRef::new(GATEWAYS, gateway.as_str()),
            messages,
        };
        let reports = now
            .difference(&self.reported)
            .map(|gateway| report(gateway, vec![unused(gateway)]))
            .chain(
                self.reported
                    .difference(&now)
                    .map(|gateway| report(gateway, Vec::new())),
            )
            .collect();
        self.reported = now;
        Ok(reports)
    }
}

export_analyzer!(UnusedGateways);

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::Resource;
    use galleon_plugin_sdk::harness::{NativeAnalyzer, check_analyzer_fixtures};
    use galleon_plugin_sdk::serde_json::json;

    use super::*;

    #[test]
    fn golden_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        check_analyzer_fixtures(&dir, || Box::new(NativeAnalyzer(UnusedGateways::default())));
    }

    fn added(collection: &str, name: &str, body: Value) -> Event {
        Event::Added(Resource::new(collection, name, body))
    }

    fn subjects(reports: &[Report]) -> Vec<(&str, usize)> {
        reports
            .iter()
            .map(|r| (r.subject.name.as_str(), r.messages.len()))
            .collect()
    }

    #[test]
    fn a_batch_reports_only_the_gateways_whose_verdict_changed() {
        let mut analyzer = UnusedGateways::default();
        let first = analyzer
            .handle_batch(vec![
                added(GATEWAYS, "ns/a", json!({})),
                added(GATEWAYS, "ns/b", json!({})),
            ])
            .unwrap();
        assert_eq!(subjects(&first), [("ns/a", 1), ("ns/b", 1)]);
        let bound = added(VIRTUAL_SERVICES, "ns/vs", json!({"gateways": ["a"]}));
        assert_eq!(
            subjects(&analyzer.handle_batch(vec![bound]).unwrap()),
            [("ns/a", 0)]
        );
        let gone = Event::Deleted {
            collection: GATEWAYS.into(),
            name: "ns/b".into(),
        };
        assert_eq!(
            subjects(&analyzer.handle_batch(vec![gone]).unwrap()),
            [("ns/b", 0)]
        );
        assert!(analyzer.handle_batch(Vec::new()).unwrap().is_empty());
    }
}
