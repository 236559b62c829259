//! `serviceentry.Analyzer`: a ServiceEntry whose ports need addresses to be
//! routed (TCP, or no protocol) but that has none.

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::SERVICE_ENTRIES;
use crate::messages::{Finding, SERVICE_ENTRY_ADDRESSES_REQUIRED, finding};
use crate::store::{Store, strings};

const ANALYZER: &str = "serviceentry.Analyzer";

pub(crate) fn addresses(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for entry in store.all(SERVICE_ENTRIES) {
        if !strings(entry.body.get("addresses")).is_empty() {
            continue;
        }
        let ports = entry.body.get("ports").and_then(Value::as_array);
        for (i, port) in ports.into_iter().flatten().enumerate() {
            let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("");
            if protocol.is_empty() || protocol.eq_ignore_ascii_case("tcp") {
                found.push(finding(
                    ANALYZER,
                    &SERVICE_ENTRY_ADDRESSES_REQUIRED,
                    entry,
                    Some(format!("spec.ports[{i}].protocol")),
                    "ServiceEntry addresses are required for this protocol.".into(),
                    Vec::new(),
                ));
            }
        }
    }
    found
}
