//! A Service's Endpoints, read once into what ServiceEntries need: per
//! subset its named ports and its ready and not-ready IPs. Compact, since a
//! large cluster keeps tens of thousands of them in the plugin's memory.

use std::collections::BTreeMap;

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::Value;

/// One Endpoints object.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Endpoints {
    /// Its resource version (for the `endpointsVersion` annotation).
    pub(crate) version: String,
    pub(crate) subsets: Vec<Subset>,
}

/// One subset: addresses sharing a set of ports.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Subset {
    /// Port numbers by name (`""` for an unnamed port).
    pub(crate) ports: BTreeMap<String, u64>,
    pub(crate) ready: Vec<String>,
    pub(crate) not_ready: Vec<String>,
}

impl Endpoints {
    pub(crate) fn read(resource: &Resource) -> Self {
        let subsets = array(&resource.body, "subsets")
            .map(|subset| Subset {
                ports: array(subset, "ports")
                    .filter_map(|p| {
                        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
                        Some((name.to_owned(), p.get("port")?.as_u64()?))
                    })
                    .collect(),
                ready: ips(subset, "addresses"),
                not_ready: ips(subset, "notReadyAddresses"),
            })
            .collect();
        Self {
            version: resource.version.clone(),
            subsets,
        }
    }

    /// The ready IPs: what the IP index holds.
    pub(crate) fn ready_ips(&self) -> impl Iterator<Item = &str> {
        self.subsets
            .iter()
            .flat_map(|s| s.ready.iter().map(String::as_str))
    }
}

fn ips(subset: &Value, field: &str) -> Vec<String> {
    array(subset, field)
        .filter_map(|a| a.get("ip").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The elements of a list field (none if absent or not a list).
pub(crate) fn array<'a>(value: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}
