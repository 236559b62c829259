//! `sidecar.SelectorAnalyzer`: Sidecars whose selector matches no pod of
//! their namespace, several selecting the same pod, several in a namespace
//! without one, and Sidecars that cannot apply (ambient mode).

use std::collections::{BTreeMap, BTreeSet};

use galleon_plugin_sdk::{Resource, ResourceRef};

use crate::collections::{NAMESPACES, SIDECARS};
use crate::messages::{
    CONFLICTING_SIDECAR_SELECTORS, Finding, INEFFECTIVE_POLICY,
    MULTIPLE_SIDECARS_WITHOUT_SELECTORS, finding, selector_not_found,
};
use crate::store::{Store, string_map};

const ANALYZER: &str = "sidecar.SelectorAnalyzer";

fn ambient_namespace(store: &Store, namespace: &str) -> bool {
    let Some(ns) = store.get(NAMESPACES, namespace) else {
        return false;
    };
    let labels = &ns.labels;
    labels.get("istio-injection").map(String::as_str) != Some("enabled")
        && labels.get("istio.io/rev").is_none_or(String::is_empty)
        && labels.get("istio.io/dataplane-mode").map(String::as_str) == Some("ambient")
}

fn ambient_pod(store: &Store, name: &str) -> bool {
    store
        .pod(name)
        .is_some_and(|pod| pod.annotation("ambient.istio.io/redirection") == Some("enabled"))
}

pub(crate) fn selectors(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut without: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    let mut by_pod: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
    let mut ineffective = BTreeSet::new();
    for sidecar in store.all(SIDECARS) {
        let selector = string_map(sidecar.body.pointer("/workloadSelector/labels"));
        if selector.is_empty() {
            without
                .entry(sidecar.namespace())
                .or_default()
                .push(sidecar);
            continue;
        }
        let pods = store.pods_matching(Some(sidecar.namespace()), &selector);
        if pods.is_empty() {
            found.push(selector_not_found(
                ANALYZER,
                sidecar,
                "spec.workloadSelector.labels",
                &selector,
            ));
        }
        for pod in pods {
            by_pod.entry(pod).or_default().push(sidecar);
        }
    }
    let mut ineffective_policy = |sidecar: &Resource, reason: &str, found: &mut Vec<Finding>| {
        if ineffective.insert(sidecar.name.clone()) {
            found.push(finding(
                ANALYZER,
                &INEFFECTIVE_POLICY,
                sidecar,
                None,
                format!("The policy has no impact: {reason}."),
                Vec::new(),
            ));
        }
    };
    for (pod, sidecars) in &by_pod {
        if ambient_pod(store, pod) {
            for sidecar in sidecars {
                ineffective_policy(
                    sidecar,
                    "selected workload is in ambient mode, the policy has no impact",
                    &mut found,
                );
            }
            continue;
        }
        if sidecars.len() < 2 {
            continue;
        }
        let (namespace, pod_name) = pod.split_once('/').unwrap_or(("", pod));
        let names = names(sidecars);
        for sidecar in sidecars {
            found.push(finding(
                ANALYZER,
                &CONFLICTING_SIDECAR_SELECTORS,
                sidecar,
                None,
                format!(
                    "The Sidecars [{names}] in namespace {namespace:?} select the same workload pod {pod_name:?}, which can lead to undefined behavior."
                ),
                refs(sidecars, sidecar),
            ));
        }
    }
    for (namespace, sidecars) in &without {
        if ambient_namespace(store, namespace) {
            for sidecar in sidecars {
                ineffective_policy(
                    sidecar,
                    "namespace is in ambient mode, the policy has no impact",
                    &mut found,
                );
            }
            continue;
        }
        if sidecars.len() < 2 {
            continue;
        }
        let names = names(sidecars);
        for sidecar in sidecars {
            found.push(finding(
                ANALYZER,
                &MULTIPLE_SIDECARS_WITHOUT_SELECTORS,
                sidecar,
                None,
                format!(
                    "The Sidecars [{names}] in namespace {namespace:?} have no workload selector, which can lead to undefined behavior."
                ),
                refs(sidecars, sidecar),
            ));
        }
    }
    found
}

fn names(sidecars: &[&Resource]) -> String {
    let mut names: Vec<&str> = sidecars.iter().map(|s| s.short_name()).collect();
    names.sort_unstable();
    names.join(" ")
}

fn refs(sidecars: &[&Resource], this: &Resource) -> Vec<ResourceRef> {
    sidecars
        .iter()
        .filter(|s| s.name != this.name)
        .map(|s| ResourceRef::from(*s))
        .collect()
}
