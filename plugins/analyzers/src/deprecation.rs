//! `deprecation.DeprecationAnalyzer`: fields Istio deprecated or ignores.

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::{SIDECARS, VIRTUAL_SERVICES};
use crate::messages::{DEPRECATED, Finding, finding};
use crate::store::{Store, items};

const ANALYZER: &str = "deprecation.DeprecationAnalyzer";

pub(crate) fn fields(store: &Store) -> Vec<Finding> {
    let mut found = Vec::new();
    for vs in store.all(VIRTUAL_SERVICES) {
        for (i, route) in items(vs.body.get("http")).enumerate() {
            let percent = route
                .pointer("/fault/delay/percent")
                .and_then(Value::as_i64);
            if percent.is_some_and(|p| p > 0) {
                found.push(finding(
                    ANALYZER,
                    &DEPRECATED,
                    vs,
                    Some(format!("spec.http[{i}].fault.delay.percent")),
                    "Deprecated: HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage".into(),
                    Vec::new(),
                ));
            }
        }
    }
    for sidecar in store.all(SIDECARS) {
        if sidecar
            .body
            .pointer("/outboundTrafficPolicy/egressProxy")
            .is_some()
        {
            found.push(finding(
                ANALYZER,
                &DEPRECATED,
                sidecar,
                Some("spec.outboundTrafficPolicy.egressProxy".into()),
                "Deprecated: OutboundTrafficPolicy.EgressProxy ignored".into(),
                Vec::new(),
            ));
        }
    }
    found
}
