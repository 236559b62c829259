//! Galley's `serviceentry` transform as a plugin: one synthetic
//! ServiceEntry per Kubernetes Service, with endpoints from its Endpoints
//! and, from the Pods behind them, labels, localities (from their Nodes) and
//! SPIFFE identities.
//!
//! Incremental: the plugin keeps an index from Pod IP to the Services whose
//! ready endpoints hold it, so a Pod or Node change regenerates only those
//! Services' entries. A ServiceEntry is emitted only when its content
//! changed, and its `metadata.version` is a hash of that content (Galley
//! used a counter), so replicas and restarts agree.

mod convert;
mod endpoints;
mod pods;
mod protocol;

use std::collections::{BTreeSet, HashMap};

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Description, Event, Mesh, Resource, Transformer, export_transformer};

pub use convert::{
    ENDPOINTS_VERSION, EXPORT_TO, NOT_READY_ENDPOINTS, SERVICE_ENTRIES, SERVICE_VERSION,
};

use convert::service_entry;
use endpoints::Endpoints;
use pods::Pods;

/// Services.
pub const SERVICES: &str = "k8s/core/v1/services";
/// Endpoints.
pub const ENDPOINTS: &str = "k8s/core/v1/endpoints";
/// Pods.
pub const PODS: &str = "k8s/core/v1/pods";
/// Nodes.
pub const NODES: &str = "k8s/core/v1/nodes";

/// The transform's state.
#[derive(Default)]
pub struct ServiceEntries {
    domain: String,
    services: HashMap<String, Resource>,
    endpoints: HashMap<String, Endpoints>,
    /// Service names by the ready endpoint IPs of their Endpoints.
    by_ip: HashMap<String, BTreeSet<String>>,
    pods: Pods,
    /// The version of each ServiceEntry emitted, by name.
    emitted: HashMap<String, String>,
}

impl Transformer for ServiceEntries {
    fn describe() -> Description {
        Description::new(
            [SERVICES, ENDPOINTS, PODS, NODES],
            [SERVICE_ENTRIES],
            "synthetic ServiceEntries from Services, Endpoints, Pods and Nodes",
        )
    }

    fn configure(&mut self, _settings: &Value, mesh: &Mesh) -> Result<(), String> {
        let trust_domain = mesh
            .config
            .get("trustDomain")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .unwrap_or("cluster.local");
        self.pods = Pods::new(trust_domain);
        self.domain = mesh.domain_suffix.clone();
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<Vec<Event>, String> {
        let (collection, name, resource) = match event {
            Event::Added(r) | Event::Updated(r) => (r.collection.clone(), r.name.clone(), Some(r)),
            Event::Deleted { collection, name } => (collection, name, None),
            Event::Reset => {
                let mut fresh = Self {
                    domain: std::mem::take(&mut self.domain),
                    ..Self::default()
                };
                fresh.pods = std::mem::take(&mut self.pods).emptied();
                *self = fresh;
                return Ok(Vec::new());
            }
            Event::FullSync(_) => return Ok(Vec::new()),
        };
        let affected = self.apply(&collection, name, resource);
        Ok(affected
            .iter()
            .filter_map(|service| self.regenerate(service))
            .collect())
    }
}

impl ServiceEntries {
    /// Records a change to an input and returns the Services whose entries
    /// it may change: the Service itself, or for a Pod or Node only the
    /// Services whose ready endpoints hold the affected Pod IPs.
    fn apply(
        &mut self,
        collection: &str,
        name: String,
        resource: Option<Resource>,
    ) -> BTreeSet<String> {
        match collection {
            SERVICES => {
                match resource {
                    Some(service) => self.services.insert(name.clone(), service),
                    None => self.services.remove(&name),
                };
                BTreeSet::from([name])
            }
            ENDPOINTS => {
                self.endpoints_changed(&name, resource);
                BTreeSet::from([name])
            }
            PODS => {
                let ips = self.pods.pod_changed(&name, resource.as_ref());
                self.services_at(&ips)
            }
            NODES => {
                let node = resource
                    .as_ref()
                    .map_or_else(|| name.clone(), |r| r.short_name().to_owned());
                let ips = self
                    .pods
                    .node_changed(&node, resource.as_ref().map(|r| &r.labels));
                self.services_at(&ips)
            }
            _ => BTreeSet::new(),
        }
    }

    /// Replaces a Service's Endpoints and their IPs in the index.
    fn endpoints_changed(&mut self, name: &str, endpoints: Option<Resource>) {
        let new = endpoints.as_ref().map(Endpoints::read);
        if let Some(new) = &new {
            for ip in new.ready_ips() {
                self.by_ip
                    .entry(ip.to_owned())
                    .or_default()
                    .insert(name.into());
            }
        }
        let old = match new {
            Some(new) => self.endpoints.insert(name.into(), new),
            None => self.endpoints.remove(name),
        };
        let Some(old) = old else { return };
        let current = self.endpoints.get(name);
        let still: BTreeSet<&str> = current.map(|e| e.ready_ips().collect()).unwrap_or_default();
        for ip in old.ready_ips().filter(|ip| !still.contains(ip)) {
            if let Some(services) = self.by_ip.get_mut(ip) {
                services.remove(name);
                if services.is_empty() {
                    self.by_ip.remove(ip);
                }
            }
        }
    }

    fn services_at(&self, ips: &[String]) -> BTreeSet<String> {
        ips.iter()
            .filter_map(|ip| self.by_ip.get(ip))
            .flatten()
            .cloned()
            .collect()
    }

    /// The event that brings sinks up to date with `service`'s entry, if it
    /// changed.
    fn regenerate(&mut self, service: &str) -> Option<Event> {
        let Some(svc) = self.services.get(service) else {
            return self.emitted.remove(service).map(|_| Event::Deleted {
                collection: SERVICE_ENTRIES.into(),
                name: service.into(),
            });
        };
        let entry = service_entry(svc, self.endpoints.get(service), &self.pods, &self.domain);
        if self.emitted.get(service) == Some(&entry.version) {
            return None;
        }
        self.emitted.insert(service.into(), entry.version.clone());
        Some(Event::Updated(entry))
    }
}

export_transformer!(ServiceEntries);

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::harness::{Native, check_fixtures};
    use galleon_plugin_sdk::serde_json::json;

    use super::*;

    fn object(collection: &str, name: &str, body: Value) -> Option<Resource> {
        Some(Resource::new(collection, name, body))
    }

    #[test]
    fn pod_and_node_changes_touch_only_the_services_behind_their_ips() {
        let mut entries = ServiceEntries::default();
        entries.configure(&Value::Null, &Mesh::default()).unwrap();
        for (service, ip) in [
            ("a/one", "10.0.0.1"),
            ("a/two", "10.0.0.2"),
            ("a/both", "10.0.0.1"),
        ] {
            entries.apply(
                SERVICES,
                service.into(),
                object(SERVICES, service, json!({})),
            );
            let body = json!({"subsets": [{"addresses": [{"ip": ip}]}]});
            entries.apply(ENDPOINTS, service.into(), object(ENDPOINTS, service, body));
        }
        let pod = |ip: &str, node: &str| json!({"spec": {"nodeName": node}, "status": {"phase": "Running", "podIP": ip}});
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();

        let affected = entries.apply(
            PODS,
            "a/p".into(),
            object(PODS, "a/p", pod("10.0.0.1", "n1")),
        );
        assert_eq!(affected, set(&["a/both", "a/one"]));
        let moved = entries.apply(
            PODS,
            "a/p".into(),
            object(PODS, "a/p", pod("10.0.0.2", "n1")),
        );
        assert_eq!(moved, set(&["a/both", "a/one", "a/two"]));
        let mut node = Resource::new(NODES, "n1", json!({}));
        node.labels
            .insert("topology.kubernetes.io/zone".into(), "z".into());
        assert_eq!(
            entries.apply(NODES, "n1".into(), Some(node)),
            set(&["a/two"])
        );
        assert!(
            entries
                .apply(NODES, "n2".into(), object(NODES, "n2", json!({})))
                .is_empty()
        );
        assert_eq!(entries.apply(PODS, "a/p".into(), None), set(&["a/two"]));
    }

    #[test]
    fn golden_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        check_fixtures(&dir, || Box::new(Native::<ServiceEntries>::default()));
    }
}
