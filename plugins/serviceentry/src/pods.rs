//! What ServiceEntry endpoints need from Pods and Nodes: the labels, service
//! account and node of each running or pending Pod by IP, and each Node's
//! locality. Changes report the Pod IPs whose endpoints they affect.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::Value;

/// Node labels naming the region and zone: Galley's, then the newer ones.
const REGION_LABELS: [&str; 2] = [
    "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/region",
];
const ZONE_LABELS: [&str; 2] = [
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/zone",
];

/// One Pod, as endpoints see it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pod {
    /// `namespace/name`.
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) node: String,
    /// `spiffe://<trust domain>/ns/<namespace>/sa/<account>`, if it has one.
    pub(crate) identity: Option<String>,
}

/// Pods by IP and Node localities.
#[derive(Default)]
pub(crate) struct Pods {
    trust_domain: String,
    by_ip: HashMap<String, Pod>,
    ip_of: HashMap<String, String>,
    on_node: HashMap<String, BTreeSet<String>>,
    localities: HashMap<String, String>,
}

impl Pods {
    pub(crate) fn new(trust_domain: &str) -> Self {
        Self {
            trust_domain: trust_domain.into(),
            ..Self::default()
        }
    }

    /// The same trust domain, no Pods or Nodes.
    pub(crate) fn emptied(self) -> Self {
        Self::new(&self.trust_domain)
    }

    /// The Pod with this IP and its Node's locality (empty if unknown).
    pub(crate) fn by_ip(&self, ip: &str) -> Option<(&Pod, &str)> {
        let pod = self.by_ip.get(ip)?;
        let locality = self.localities.get(&pod.node).map_or("", String::as_str);
        Some((pod, locality))
    }

    /// A Pod was added or updated (`Some`) or deleted (`None`); returns the
    /// IPs whose endpoints may have changed: its old and its new one.
    pub(crate) fn pod_changed(&mut self, name: &str, pod: Option<&Resource>) -> Vec<String> {
        let wanted = pod.and_then(|p| self.read(p));
        let mut affected = Vec::new();
        if let Some(old_ip) = self.ip_of.get(name).cloned() {
            let unchanged = wanted
                .as_ref()
                .is_some_and(|(ip, p)| *ip == old_ip && self.by_ip.get(ip) == Some(p));
            if unchanged {
                return Vec::new();
            }
            self.forget(name, &old_ip);
            affected.push(old_ip);
        }
        if let Some((ip, pod)) = wanted {
            if let Some(previous) = self.by_ip.get(&ip).map(|p| p.name.clone()) {
                // Another Pod held this IP: the newer report wins.
                self.forget(&previous, &ip);
            }
            self.on_node
                .entry(pod.node.clone())
                .or_default()
                .insert(ip.clone());
            self.ip_of.insert(name.into(), ip.clone());
            self.by_ip.insert(ip.clone(), pod);
            if !affected.contains(&ip) {
                affected.push(ip);
            }
        }
        affected
    }

    /// A Node was added or updated (its labels) or deleted (`None`); returns
    /// the IPs of its Pods if its locality changed.
    pub(crate) fn node_changed(
        &mut self,
        node: &str,
        labels: Option<&BTreeMap<String, String>>,
    ) -> Vec<String> {
        let locality = labels.map(locality).unwrap_or_default();
        let old = if locality.is_empty() {
            self.localities.remove(node)
        } else {
            self.localities.insert(node.into(), locality.clone())
        };
        if old.unwrap_or_default() == locality {
            return Vec::new();
        }
        self.on_node
            .get(node)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    fn forget(&mut self, name: &str, ip: &str) {
        self.ip_of.remove(name);
        if let Some(pod) = self.by_ip.remove(ip)
            && let Some(ips) = self.on_node.get_mut(&pod.node)
        {
            ips.remove(ip);
            if ips.is_empty() {
                self.on_node.remove(&pod.node);
            }
        }
    }

    /// A Pod's IP and what endpoints need, if it is Pending or Running with
    /// an IP (Galley's pod cache keeps only those).
    fn read(&self, resource: &Resource) -> Option<(String, Pod)> {
        let text = |path: &[&str]| {
            path.iter()
                .try_fold(&resource.body, |value, key| value.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let phase = text(&["status", "phase"])?;
        if phase != "Pending" && phase != "Running" {
            return None;
        }
        let ip = text(&["status", "podIP"])?;
        let account = text(&["spec", "serviceAccountName"]).or(text(&["spec", "serviceAccount"]));
        Some((
            ip.into(),
            Pod {
                name: resource.name.clone(),
                labels: resource.labels.clone(),
                node: text(&["spec", "nodeName"]).unwrap_or_default().into(),
                identity: account.map(|account| {
                    format!(
                        "spiffe://{}/ns/{}/sa/{account}",
                        self.trust_domain,
                        resource.namespace()
                    )
                }),
            },
        ))
    }
}

/// `<region>/<zone>` from a Node's labels, or empty when it has neither.
fn locality(labels: &BTreeMap<String, String>) -> String {
    let first = |keys: [&str; 2]| {
        keys.iter()
            .find_map(|k| labels.get(*k))
            .map_or("", String::as_str)
    };
    let (region, zone) = (first(REGION_LABELS), first(ZONE_LABELS));
    if region.is_empty() && zone.is_empty() {
        String::new()
    } else {
        format!("{region}/{zone}")
    }
}
