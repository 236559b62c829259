//! `serviceentry.Analyzer`: a ServiceEntry whose ports need addresses to be
//! routed (TCP, or no protocol) but that has none, unless the mesh
//! allocates them (DNS capture with auto-allocation).

use galleon_plugin_sdk::Mesh;
use galleon_plugin_sdk::serde_json::Value;

use crate::collections::SERVICE_ENTRIES;
use crate::messages::{Finding, SERVICE_ENTRY_ADDRESSES_REQUIRED, finding};
use crate::store::{Store, items, strings};

const ANALYZER: &str = "serviceentry.Analyzer";

/// Whether the mesh gives ServiceEntries addresses itself.
pub(crate) fn auto_allocated(mesh: &Mesh) -> bool {
    let meta = |key: &str| {
        mesh.config
            .pointer(&format!("/defaultConfig/proxyMetadata/{key}"))
            .and_then(Value::as_str)
            == Some("true")
    };
    meta("ISTIO_META_DNS_CAPTURE")
        && (meta("ISTIO_META_DNS_AUTO_ALLOCATE") || meta("PILOT_ENABLE_IP_AUTOALLOCATE"))
}

pub(crate) fn addresses(store: &Store, allocated: bool) -> Vec<Finding> {
    let mut found = Vec::new();
    if allocated {
        return found;
    }
    for entry in store.all(SERVICE_ENTRIES) {
        if !strings(entry.body.get("addresses")).is_empty() {
            continue;
        }
        for (i, port) in items(entry.body.get("ports")).enumerate() {
            let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("");
            if protocol.is_empty() || protocol.eq_ignore_ascii_case("tcp") {
                found.push(finding(
                    ANALYZER,
                    &SERVICE_ENTRY_ADDRESSES_REQUIRED,
                    entry,
                    Some(format!("spec.ports[{i}].name")),
                    "ServiceEntry addresses are required for this protocol.".into(),
                    Vec::new(),
                ));
            }
        }
    }
    found
}
