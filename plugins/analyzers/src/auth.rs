//! `auth.AuthorizationPoliciesAnalyzer`: AuthorizationPolicies that select
//! no workload in the mesh, and `from.source` namespaces (or patterns) that
//! name no namespace.

use std::collections::BTreeMap;

use crate::collections::{AUTHORIZATION_POLICIES, NAMESPACES};
use crate::messages::{Finding, NO_MATCHING_WORKLOADS, REFERENCED_RESOURCE_NOT_FOUND, finding};
use crate::pod::Pod;
use crate::store::{Labels, Store, items, matches, selector_text, string_map, strings};

const ANALYZER: &str = "auth.AuthorizationPoliciesAnalyzer";

/// Whether a pod runs a sidecar or will get one, as Istio decides it.
pub(crate) fn in_mesh(store: &Store, pod: &Pod) -> bool {
    if !pod.proxy_image.is_empty() {
        return true;
    }
    if let Some(inject) = pod.label_or_annotation("sidecar.istio.io/inject") {
        return inject == "true";
    }
    store
        .get(NAMESPACES, pod.namespace())
        .is_some_and(|ns| ns.labels.get("istio-injection").map(String::as_str) == Some("enabled"))
}

fn ambient(pod: &Pod) -> bool {
    pod.annotation("ambient.istio.io/redirection") == Some("enabled")
}

/// Whether namespace `name` matches `pattern` (`*`, `*suffix`, `prefix*`,
/// or a name compared without regard to case).
fn namespace_matches(name: &str, pattern: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        name.ends_with(suffix)
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        name.starts_with(prefix)
    } else {
        name.to_lowercase() == pattern.to_lowercase()
    }
}

pub(crate) fn policies(store: &Store, root_namespace: &str) -> Vec<Finding> {
    // namespace → the labels of its pods in the mesh (sidecar or ambient).
    let mut workloads: BTreeMap<&str, Vec<&Labels>> = BTreeMap::new();
    for pod in store.pods(None) {
        if in_mesh(store, pod) || ambient(pod) {
            workloads
                .entry(pod.namespace())
                .or_default()
                .push(pod.labels());
        }
    }
    let namespaces: Vec<&str> = store.all(NAMESPACES).map(|ns| ns.short_name()).collect();
    let mut found = Vec::new();
    for policy in store.all(AUTHORIZATION_POLICIES) {
        let selector = policy.body.get("selector").filter(|s| !s.is_null());
        let labels = string_map(selector.and_then(|s| s.get("matchLabels")));
        let selects = |l: &&Labels| matches(&labels, l);
        let unmatched = if policy.namespace() == root_namespace {
            selector.is_some() && !workloads.values().flatten().any(selects)
        } else if selector.is_none() {
            workloads.get(policy.namespace()).is_none_or(Vec::is_empty)
        } else {
            !workloads
                .get(policy.namespace())
                .into_iter()
                .flatten()
                .any(selects)
        };
        if unmatched {
            found.push(finding(
                ANALYZER,
                &NO_MATCHING_WORKLOADS,
                policy,
                None,
                format!(
                    "No matching workloads for this resource with the following labels: {}",
                    selector_text(&labels)
                ),
                Vec::new(),
            ));
        }
        for (i, rule) in items(policy.body.get("rules")).enumerate() {
            for (j, from) in items(rule.get("from")).enumerate() {
                for field in ["namespaces", "notNamespaces"] {
                    let patterns = strings(from.pointer(&format!("/source/{field}")));
                    for (k, pattern) in patterns.into_iter().enumerate() {
                        if namespaces.iter().any(|ns| namespace_matches(ns, pattern)) {
                            continue;
                        }
                        found.push(finding(
                            ANALYZER,
                            &REFERENCED_RESOURCE_NOT_FOUND,
                            policy,
                            Some(format!("spec.rules[{i}].from[{j}].source.{field}[{k}]")),
                            format!("Referenced namespace not found: {pattern:?}"),
                            Vec::new(),
                        ));
                    }
                }
            }
        }
    }
    found
}
