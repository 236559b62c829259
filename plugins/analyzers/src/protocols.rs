//! `serviceentry.ConflictingServiceEntryProtocolAnalyzer`: ServiceEntries
//! visible in one scope that define the same host and port with different
//! protocols, so which protocol the proxies use is undefined.

use std::collections::{BTreeMap, BTreeSet};

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::Value;

use crate::collections::SERVICE_ENTRIES;
use crate::messages::{CONFLICTING_SERVICE_ENTRY_PROTOCOL, Finding, finding};
use crate::store::{Store, items, strings};

const ANALYZER: &str = "serviceentry.ConflictingServiceEntryProtocolAnalyzer";
const EVERYWHERE: &str = "*";

/// Where a ServiceEntry is visible: everywhere, or the namespaces its
/// `exportTo` names (`.` is its own).
fn scopes(entry: &Resource) -> BTreeSet<String> {
    let export = strings(entry.body.get("exportTo"));
    if export.is_empty() || export.contains(&EVERYWHERE) {
        return BTreeSet::from([EVERYWHERE.to_owned()]);
    }
    export
        .into_iter()
        .map(|scope| match scope {
            "." => entry.namespace().to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

/// One ServiceEntry's port of a host, as seen in one scope.
type Key<'a> = (String, &'a str, u64);

pub(crate) fn conflicting_protocols(store: &Store) -> Vec<Finding> {
    let mut index: BTreeMap<Key<'_>, Vec<(String, &Resource)>> = BTreeMap::new();
    for entry in store.all(SERVICE_ENTRIES) {
        for scope in scopes(entry) {
            for host in strings(entry.body.get("hosts")) {
                for port in items(entry.body.get("ports")) {
                    let number = port.get("number").and_then(Value::as_u64).unwrap_or(0);
                    let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("");
                    index
                        .entry((scope.clone(), host, number))
                        .or_default()
                        .push((protocol.to_ascii_uppercase(), entry));
                }
            }
        }
    }
    let mut reported = BTreeSet::new();
    let mut found = Vec::new();
    for ((scope, host, number), entries) in &index {
        let mut seen: Vec<&(String, &Resource)> = entries.iter().collect();
        if scope != EVERYWHERE
            && let Some(global) = index.get(&(EVERYWHERE.to_owned(), host, *number))
        {
            seen.extend(global);
        }
        let protocols: BTreeSet<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
        if protocols.len() < 2 {
            continue;
        }
        let names: BTreeSet<&str> = seen.iter().map(|(_, e)| e.name.as_str()).collect();
        let names = names.into_iter().collect::<Vec<_>>().join(", ");
        let protocols = protocols.into_iter().collect::<Vec<_>>().join(", ");
        for (_, entry) in seen {
            // Each ServiceEntry is reported once, for its first conflict.
            if !reported.insert(entry.name.as_str()) {
                continue;
            }
            found.push(finding(
                ANALYZER,
                &CONFLICTING_SERVICE_ENTRY_PROTOCOL,
                entry,
                Some("metadata.name".into()),
                format!("Multiple ServiceEntries ({names}) define the same host {host:?} and port {number} with conflicting protocols ({protocols})."),
                Vec::new(),
            ));
        }
    }
    found
}
