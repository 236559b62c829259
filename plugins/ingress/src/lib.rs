//! Galley's `ingress` transform as a plugin: Kubernetes Ingresses
//! (`extensions/v1beta1` and `networking.k8s.io/v1`) become one Istio
//! Gateway per Ingress and one VirtualService per host, merged across the
//! Ingresses that name it.
//!
//! Names, ports, certificate paths, match rules and destinations are
//! Galley's. Two of Galley's quirks are fixed: a host an update removes from
//! an Ingress is detached from it (its VirtualService updated or deleted),
//! and a merged VirtualService carries only the rules for its own host.
//! An Ingress that cannot be served (a rule without `http`, a port that is
//! neither number nor name, a non-Service backend) is rejected with the
//! reason, and its last good version stays served.
//!
//! Also an input: Services, to resolve the port names `networking.k8s.io/v1`
//! backends may give.

mod gateway;
mod spec;
mod virtual_service;

use std::collections::{BTreeMap, BTreeSet};

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Description, Event, Mesh, Resource, Transformer, export_transformer};

pub use gateway::GATEWAYS;
pub use spec::{ApiVersion, CLASS_ANNOTATION, Ingress};
pub use virtual_service::VIRTUAL_SERVICES;

use gateway::{gateway, gateway_name};
use virtual_service::{ServicePorts, virtual_service};

/// `extensions/v1beta1` Ingresses.
pub const INGRESSES_V1BETA1: &str = "k8s/extensions/v1beta1/ingresses";
/// `networking.k8s.io/v1` Ingresses.
pub const INGRESSES_V1: &str = "k8s/networking.k8s.io/v1/ingresses";
/// Services, for named ports.
pub const SERVICES: &str = "k8s/core/v1/services";

/// Which Ingresses the mesh's ingress controller serves
/// (`meshConfig.ingressControllerMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// None.
    Off,
    /// Those of the mesh's class and those with no class.
    Default,
    /// Only those of the mesh's class.
    #[default]
    Strict,
}

/// The transform's state: every Ingress received, the ones served, indexes
/// by host and by short name, Service port names, and what was emitted.
#[derive(Default)]
pub struct IngressTransform {
    mode: Mode,
    class: String,
    domain: String,
    /// Every Ingress read, by name and API version (v1 wins when both).
    received: BTreeMap<String, BTreeMap<ApiVersion, Ingress>>,
    /// The Ingresses the class filter admits, by name.
    served: BTreeMap<String, Ingress>,
    /// Served Ingress names by host.
    by_host: BTreeMap<String, BTreeSet<String>>,
    /// Served Ingress names by short name (Gateway names omit namespaces).
    by_short_name: BTreeMap<String, BTreeSet<String>>,
    ports: ServicePorts,
    gateways: BTreeMap<String, Resource>,
    virtual_services: BTreeMap<String, Resource>,
}

impl Transformer for IngressTransform {
    fn describe() -> Description {
        Description::new(
            [INGRESSES_V1BETA1, INGRESSES_V1, SERVICES],
            [GATEWAYS, VIRTUAL_SERVICES],
            "Kubernetes Ingresses as Istio Gateways and VirtualServices",
        )
    }

    fn configure(&mut self, _settings: &Value, mesh: &Mesh) -> Result<(), String> {
        let text = |field: &str| mesh.config.get(field).and_then(Value::as_str);
        self.mode = match text("ingressControllerMode").map(str::to_ascii_uppercase) {
            None => Mode::default(),
            Some(mode) => match mode.as_str() {
                "OFF" => Mode::Off,
                "DEFAULT" => Mode::Default,
                "STRICT" => Mode::Strict,
                _ => {
                    return Err(format!(
                        "meshConfig.ingressControllerMode {mode:?}: expected OFF, DEFAULT or STRICT"
                    ));
                }
            },
        };
        self.class = text("ingressClass").unwrap_or("istio").into();
        self.domain = mesh.domain_suffix.clone();
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<Vec<Event>, String> {
        match event {
            Event::Added(resource) | Event::Updated(resource) => {
                if resource.collection == SERVICES {
                    return Ok(self.service_changed(&resource.name, service_ports(&resource.body)));
                }
                let Some(version) = api_version(&resource.collection) else {
                    return Ok(Vec::new());
                };
                let ingress = Ingress::parse(&resource, version)
                    .map_err(|e| format!("Ingress {}: {e}", resource.name))?;
                self.received
                    .entry(resource.name.clone())
                    .or_default()
                    .insert(version, ingress);
                Ok(self.refresh(&resource.name))
            }
            Event::Deleted { collection, name } => {
                if collection == SERVICES {
                    return Ok(self.service_changed(&name, BTreeMap::new()));
                }
                let Some(version) = api_version(&collection) else {
                    return Ok(Vec::new());
                };
                if let Some(versions) = self.received.get_mut(&name) {
                    versions.remove(&version);
                    if versions.is_empty() {
                        self.received.remove(&name);
                    }
                }
                Ok(self.refresh(&name))
            }
            Event::Reset => {
                let (mode, class, domain) = (
                    self.mode,
                    std::mem::take(&mut self.class),
                    std::mem::take(&mut self.domain),
                );
                *self = Self {
                    mode,
                    class,
                    domain,
                    ..Self::default()
                };
                Ok(Vec::new())
            }
            Event::FullSync(_) => Ok(Vec::new()),
        }
    }
}

impl IngressTransform {
    fn admits(&self, ingress: &Ingress) -> bool {
        match (self.mode, ingress.class.as_deref()) {
            (Mode::Off, _) => false,
            (Mode::Default, None) => true,
            (Mode::Default | Mode::Strict, Some(class)) => class == self.class,
            (Mode::Strict, None) => false,
        }
    }

    /// Re-derives what Ingress `name` serves after it changed, and emits the
    /// Gateway and VirtualServices that changed with it: those of the hosts
    /// it had before as well as after.
    fn refresh(&mut self, name: &str) -> Vec<Event> {
        let now = self
            .received
            .get(name)
            .and_then(|versions| versions.values().next_back())
            .filter(|ingress| self.admits(ingress))
            .cloned();
        if self.served.get(name) == now.as_ref() {
            return Vec::new();
        }
        let before = match now {
            Some(ingress) => self.served.insert(name.into(), ingress),
            None => self.served.remove(name),
        };
        let mut hosts = BTreeSet::new();
        let mut short_name = String::new();
        if let Some(before) = &before {
            for host in before.hosts() {
                remove_from(&mut self.by_host, host, name);
                hosts.insert(host.to_owned());
            }
            remove_from(&mut self.by_short_name, before.short_name(), name);
            short_name = before.short_name().into();
        }
        if let Some(now) = self.served.get(name) {
            for host in now.hosts() {
                self.by_host
                    .entry(host.into())
                    .or_default()
                    .insert(name.into());
                hosts.insert(host.to_owned());
            }
            short_name = now.short_name().into();
            self.by_short_name
                .entry(short_name.clone())
                .or_default()
                .insert(name.into());
        }
        let mut events = self.emit_gateway(&short_name);
        for host in &hosts {
            events.extend(self.emit_virtual_service(host));
        }
        events
    }

    /// The Gateway of the first served Ingress with this short name.
    fn emit_gateway(&mut self, short_name: &str) -> Vec<Event> {
        let owners = self.by_short_name.get(short_name);
        let wanted = owners
            .and_then(|names| names.first())
            .map(|first| gateway(&self.served[first]));
        if owners.is_some_and(|names| names.len() > 1) {
            galleon_plugin_sdk::log(
                galleon_plugin_sdk::Level::Warn,
                &format!(
                    "Ingresses {:?} share the Gateway name {}; the first one's is served",
                    owners.into_iter().flatten().collect::<Vec<_>>(),
                    gateway_name(short_name)
                ),
            );
        }
        publish(&mut self.gateways, gateway_name(short_name), wanted)
    }

    fn emit_virtual_service(&mut self, host: &str) -> Vec<Event> {
        let attached: Vec<&Ingress> = self
            .by_host
            .get(host)
            .into_iter()
            .flatten()
            .map(|name| &self.served[name])
            .collect();
        let wanted = (!attached.is_empty())
            .then(|| virtual_service(host, &attached, &self.domain, &self.ports));
        publish(&mut self.virtual_services, host.into(), wanted)
    }

    /// Records a Service's port names and re-derives the VirtualServices of
    /// the Ingresses that name one of its ports.
    fn service_changed(&mut self, service: &str, ports: BTreeMap<String, u32>) -> Vec<Event> {
        let previous = if ports.is_empty() {
            self.ports.remove(service)
        } else {
            self.ports.insert(service.into(), ports)
        };
        if previous.as_ref() == self.ports.get(service) {
            return Vec::new();
        }
        let (namespace, name) = service.split_once('/').unwrap_or(("", service));
        let hosts: BTreeSet<String> = self
            .served
            .values()
            .filter(|ingress| ingress.namespace() == namespace)
            .flat_map(|ingress| &ingress.rules)
            .filter(|rule| {
                rule.routes
                    .iter()
                    .any(|r| r.service == name && matches!(r.port, spec::Port::Name(_)))
            })
            .map(|rule| rule.host.clone())
            .collect();
        hosts
            .iter()
            .flat_map(|host| self.emit_virtual_service(host))
            .collect()
    }
}

fn api_version(collection: &str) -> Option<ApiVersion> {
    match collection {
        INGRESSES_V1BETA1 => Some(ApiVersion::V1beta1),
        INGRESSES_V1 => Some(ApiVersion::V1),
        _ => None,
    }
}

/// A ServiceSpec's named ports.
fn service_ports(spec: &Value) -> BTreeMap<String, u32> {
    spec.get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|port| {
            let name = port.get("name")?.as_str()?;
            let number = port.get("port")?.as_u64()?;
            Some((name.to_owned(), u32::try_from(number).ok()?))
        })
        .collect()
}

fn remove_from(index: &mut BTreeMap<String, BTreeSet<String>>, key: &str, name: &str) {
    if let Some(names) = index.get_mut(key) {
        names.remove(name);
        if names.is_empty() {
            index.remove(key);
        }
    }
}

/// Records `wanted` as what is served under `key` and returns the events
/// that get sinks from the old state there: none if nothing changed; a
/// delete and an add when the name changed.
fn publish(
    emitted: &mut BTreeMap<String, Resource>,
    key: String,
    wanted: Option<Resource>,
) -> Vec<Event> {
    let deleted = |r: &Resource| Event::Deleted {
        collection: r.collection.clone(),
        name: r.name.clone(),
    };
    match (emitted.get(&key), wanted) {
        (None, None) => Vec::new(),
        (Some(old), Some(new)) if *old == new => Vec::new(),
        (Some(old), None) => {
            let event = deleted(old);
            emitted.remove(&key);
            vec![event]
        }
        (None, Some(new)) => {
            emitted.insert(key, new.clone());
            vec![Event::Added(new)]
        }
        (Some(old), Some(new)) if old.name != new.name => {
            let event = deleted(old);
            emitted.insert(key, new.clone());
            vec![event, Event::Added(new)]
        }
        (Some(_), Some(new)) => {
            emitted.insert(key, new.clone());
            vec![Event::Updated(new)]
        }
    }
}

export_transformer!(IngressTransform);

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::harness::{Native, check_fixtures};

    use super::*;

    #[test]
    fn golden_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        check_fixtures(&dir, || Box::new(Native::<IngressTransform>::default()));
    }
}
