//! `destinationrule.SubsetSelectPodAnalyzer`: a subset whose labels,
//! together with its host's Service selector, match no pod.

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::{DESTINATION_RULES, SERVICES};
use crate::hosts::{fqdn, service_fqdn};
use crate::messages::{Finding, SUBSET_SELECTS_NO_PODS, finding};
use crate::store::{Store, string_map};

const ANALYZER: &str = "destinationrule.SubsetSelectPodAnalyzer";

pub(crate) fn subsets(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for dr in store.all(DESTINATION_RULES) {
        let Some(host) = dr.body.get("host").and_then(Value::as_str) else {
            continue;
        };
        let fq = fqdn(dr.namespace(), host);
        // Only a host that is a Service of this cluster has pods to select.
        let Some(service) = store.all(SERVICES).find(|s| service_fqdn(s) == fq) else {
            continue;
        };
        let selector = string_map(service.body.get("selector"));
        let subsets = dr.body.get("subsets").and_then(Value::as_array);
        for (i, subset) in subsets.into_iter().flatten().enumerate() {
            let mut labels = selector.clone();
            labels.extend(string_map(subset.get("labels")));
            if store.pods_matching(service.namespace(), &labels).is_empty() {
                let name = subset.get("name").and_then(Value::as_str).unwrap_or("");
                found.push(finding(
                    ANALYZER,
                    &SUBSET_SELECTS_NO_PODS,
                    dr,
                    Some(format!("spec.subsets[{i}]")),
                    format!(
                        "The Subset {name} defined in the DestinationRule does not select any pods, which may lead to 503 UH (NoHealthyUpstream)."
                    ),
                    Vec::new(),
                ));
            }
        }
    }
    found
}
