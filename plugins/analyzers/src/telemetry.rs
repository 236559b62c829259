//! The Telemetry analyzers: access-log entries with no provider
//! (`telemetry.ProviderAnalyzer`), selectors matching no pod of the
//! Telemetry's namespace or several Telemetries selecting one pod
//! (`telemetry.SelectorAnalyzer`), and several Telemetries without a
//! selector in one namespace (`telemetry.DefaultSelectorAnalyzer`).

use std::collections::BTreeMap;

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{Mesh, Resource};

use crate::collections::TELEMETRIES;
use crate::messages::{
    CONFLICTING_TELEMETRY_SELECTORS, Finding, INVALID_TELEMETRY_PROVIDER,
    MULTIPLE_TELEMETRIES_WITHOUT_SELECTORS, finding, selector_not_found,
};
use crate::store::{Store, items, string_map};

const PROVIDER_ANALYZER: &str = "telemetry.ProviderAnalyzer";
const SELECTOR_ANALYZER: &str = "telemetry.SelectorAnalyzer";
const DEFAULT_SELECTOR_ANALYZER: &str = "telemetry.DefaultSelectorAnalyzer";

/// Whether the mesh names default access-log providers (then an entry
/// without providers uses them).
pub(crate) fn default_access_logging(mesh: &Mesh) -> bool {
    items(mesh.config.pointer("/defaultProviders/accessLogging"))
        .next()
        .is_some()
}

/// Names as Istio lists them: `[a b]`, sorted.
fn names(telemetries: &[&Resource]) -> String {
    let mut names: Vec<&str> = telemetries.iter().map(|t| t.short_name()).collect();
    names.sort_unstable();
    format!("[{}]", names.join(" "))
}

/// An access-log entry that is neither disabled nor names a provider: it
/// is ignored (IST0157), unless the mesh has default providers.
pub(crate) fn providers(store: &Store, defaults: bool) -> Vec<Finding> {
    if defaults {
        return Vec::new();
    }
    store
        .all(TELEMETRIES)
        .filter(|t| {
            items(t.body.get("accessLogging")).any(|entry| {
                entry.get("disabled").and_then(Value::as_bool) != Some(true)
                    && items(entry.get("providers")).next().is_none()
            })
        })
        .map(|t| {
            finding(
                PROVIDER_ANALYZER,
                &INVALID_TELEMETRY_PROVIDER,
                t,
                None,
                format!(
                    "The Telemetry {} in namespace {:?} with empty providers will be ignored.",
                    t.short_name(),
                    t.namespace()
                ),
                Vec::new(),
            )
        })
        .collect()
}

/// Selectors (`selector.matchLabels`) matching no pod of the Telemetry's
/// namespace (IST0101), and pods selected by several (IST0159, on each).
pub(crate) fn selectors(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut by_pod: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
    for t in store.all(TELEMETRIES) {
        let selector = string_map(t.body.pointer("/selector/matchLabels"));
        if selector.is_empty() {
            continue;
        }
        let pods = store.pods_matching(Some(t.namespace()), &selector);
        if pods.is_empty() {
            found.push(selector_not_found(
                SELECTOR_ANALYZER,
                t,
                "spec.selector.matchLabels",
                &selector,
            ));
        }
        for pod in pods {
            by_pod.entry(pod).or_default().push(t);
        }
    }
    for (pod, telemetries) in by_pod.iter().filter(|(_, t)| t.len() > 1) {
        let (namespace, name) = pod.split_once('/').unwrap_or(("", pod));
        for t in telemetries {
            found.push(finding(
                SELECTOR_ANALYZER,
                &CONFLICTING_TELEMETRY_SELECTORS,
                t,
                Some("metadata.name".into()),
                format!(
                    "The Telemetries {} in namespace {namespace:?} select the same workload pod {name:?}, which can lead to undefined behavior.",
                    names(telemetries)
                ),
                telemetries.iter().filter(|o| o.name != t.name).map(|o| (*o).into()).collect(),
            ));
        }
    }
    found
}

/// Several Telemetries without a selector in one namespace (IST0160, on
/// each): which applies is undefined.
pub(crate) fn default_selectors(store: &Store) -> Vec<Finding> {
    let mut by_namespace: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    for t in store.all(TELEMETRIES) {
        if t.body.get("selector").is_none_or(Value::is_null) {
            by_namespace.entry(t.namespace()).or_default().push(t);
        }
    }
    let mut found = Vec::new();
    for (namespace, telemetries) in by_namespace.iter().filter(|(_, t)| t.len() > 1) {
        for t in telemetries {
            found.push(finding(
                DEFAULT_SELECTOR_ANALYZER,
                &MULTIPLE_TELEMETRIES_WITHOUT_SELECTORS,
                t,
                None,
                format!(
                    "The Telemetries {} in namespace {namespace:?} have no workload selector, which can lead to undefined behavior.",
                    names(telemetries)
                ),
                telemetries.iter().filter(|o| o.name != t.name).map(|o| (*o).into()).collect(),
            ));
        }
    }
    found
}
