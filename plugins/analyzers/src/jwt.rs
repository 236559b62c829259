//! `virtualservice.JWTClaimRouteAnalyzer`: a VirtualService that routes on
//! a JWT claim (`@request.auth.claims.…` headers) through a Gateway whose
//! pods no RequestAuthentication applies to, so the claim is never there.

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::{GATEWAYS, REQUEST_AUTHENTICATIONS, VIRTUAL_SERVICES};
use crate::messages::{Finding, JWT_CLAIM_ROUTE_WITHOUT_AUTHN, finding};
use crate::store::{Labels, Store, items, matches, string_map, strings};

const ANALYZER: &str = "virtualservice.JWTClaimRouteAnalyzer";
const PREFIX: &str = "@request.auth.claims";
/// RequestAuthentications here apply to every gateway pod, as Istio reads
/// them (its root namespace, fixed).
const ISTIO_SYSTEM: &str = "istio-system";

/// Whether header name `name` routes on a claim (`.key` or `[key]` after
/// the prefix, which is matched without regard to case).
fn routes_on_claim(name: &str) -> bool {
    let Some(head) = name.get(..PREFIX.len()) else {
        return false;
    };
    let rest = &name[PREFIX.len()..];
    head.eq_ignore_ascii_case(PREFIX)
        && ((rest.starts_with('.') && rest.len() > 1)
            || (rest.starts_with('[') && rest.ends_with(']') && rest.len() > 2))
}

/// The first claim a VirtualService's HTTP matches route on.
fn claim_key(body: &Value) -> Option<&str> {
    items(body.get("http"))
        .flat_map(|route| items(route.get("match")))
        .flat_map(|m| {
            ["headers", "withoutHeaders"]
                .into_iter()
                .filter_map(|field| m.get(field).and_then(Value::as_object))
                .flat_map(|headers| headers.keys())
        })
        .map(String::as_str)
        .find(|name| routes_on_claim(name))
}

pub(crate) fn claim_routes(store: &Store) -> Vec<Finding> {
    // namespace → the pod selectors of its RequestAuthentications.
    let mut authn: std::collections::BTreeMap<&str, Vec<Labels>> = Default::default();
    for ra in store.all(REQUEST_AUTHENTICATIONS) {
        authn
            .entry(ra.namespace())
            .or_default()
            .push(string_map(ra.body.pointer("/selector/matchLabels")));
    }
    let covered = |namespace: &str, labels: &Labels| {
        [ISTIO_SYSTEM, namespace]
            .iter()
            .filter_map(|ns| authn.get(ns))
            .flatten()
            .any(|selector| matches(selector, labels))
    };
    let mut found = Vec::new();
    for vs in store.all(VIRTUAL_SERVICES) {
        let Some(key) = claim_key(&vs.body) else {
            continue;
        };
        for gateway in strings(vs.body.get("gateways")) {
            if gateway == "mesh" {
                continue;
            }
            let full = match gateway.contains('/') {
                true => gateway.to_owned(),
                false => format!("{}/{gateway}", vs.namespace()),
            };
            let Some(gw) = store.get(GATEWAYS, &full) else {
                continue;
            };
            let selector = string_map(gw.body.get("selector"));
            for pod in store.pods(None) {
                let (namespace, labels) = (pod.namespace(), pod.labels());
                let pod = pod.short_name();
                if matches(&selector, labels) && !covered(namespace, labels) {
                    found.push(finding(
                        ANALYZER,
                        &JWT_CLAIM_ROUTE_WITHOUT_AUTHN,
                        vs,
                        None,
                        format!("The virtual service uses the JWT claim based routing (key: {key}) but found no request authentication for the gateway ({full}) pod ({pod}). The request authentication must first be applied for the gateway pods to validate the JWT token and make the claims available for routing."),
                        vec![gw.into()],
                    ));
                }
            }
        }
    }
    found
}
