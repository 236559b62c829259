//! `sidecar.SelectorAnalyzer`: Sidecars whose selector matches no pod,
//! several selecting the same pod, or several in a namespace without one.

use std::collections::BTreeMap;

use galleon_plugin_sdk::{Resource, ResourceRef};

use crate::collections::SIDECARS;
use crate::messages::{
    CONFLICTING_SIDECAR_SELECTORS, Finding, MULTIPLE_SIDECARS_WITHOUT_SELECTORS,
    REFERENCED_RESOURCE_NOT_FOUND, finding,
};
use crate::store::{Store, selector_text, string_map};

const ANALYZER: &str = "sidecar.SelectorAnalyzer";

pub(crate) fn selectors(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut without: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    let mut by_pod: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    for sidecar in store.all(SIDECARS) {
        let selector = string_map(sidecar.body.pointer("/workloadSelector/labels"));
        if selector.is_empty() {
            without.entry(sidecar.namespace()).or_default().push(sidecar);
            continue;
        }
        let pods = store.pods_matching(sidecar.namespace(), &selector);
        if pods.is_empty() {
            found.push(finding(
                ANALYZER,
                &REFERENCED_RESOURCE_NOT_FOUND,
                sidecar,
                Some("spec.workloadSelector".into()),
                format!("Referenced selector not found: {:?}", selector_text(&selector)),
                Vec::new(),
            ));
        }
        for pod in pods {
            by_pod.entry(pod.name.as_str()).or_default().push(sidecar);
        }
    }
    for (namespace, sidecars) in without.into_iter().filter(|(_, s)| s.len() > 1) {
        let names = names(&sidecars);
        for sidecar in &sidecars {
            found.push(finding(
                ANALYZER,
                &MULTIPLE_SIDECARS_WITHOUT_SELECTORS,
                sidecar,
                None,
                format!(
                    "The Sidecars [{names}] in namespace {namespace:?} have no workload selector, which can lead to undefined behavior."
                ),
                refs(&sidecars, sidecar),
            ));
        }
    }
    for (pod, sidecars) in by_pod.into_iter().filter(|(_, s)| s.len() > 1) {
        let names = names(&sidecars);
        let (namespace, pod_name) = pod.split_once('/').unwrap_or(("", pod));
        for sidecar in &sidecars {
            found.push(finding(
                ANALYZER,
                &CONFLICTING_SIDECAR_SELECTORS,
                sidecar,
                None,
                format!(
                    "The Sidecars [{names}] in namespace {namespace:?} select the same workload pod {pod_name:?}, which can lead to undefined behavior."
                ),
                refs(&sidecars, sidecar),
            ));
        }
    }
    found
}

fn names(sidecars: &[&Resource]) -> String {
    sidecars
        .iter()
        .map(|s| s.short_name())
        .collect::<Vec<_>>()
        .join(" ")
}

fn refs(sidecars: &[&Resource], this: &Resource) -> Vec<ResourceRef> {
    sidecars
        .iter()
        .filter(|s| s.name != this.name)
        .map(|s| ResourceRef::from(*s))
        .collect()
}
