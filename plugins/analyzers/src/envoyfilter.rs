//! `envoyfilter.EnvoyPatchAnalyzer`: EnvoyFilter patches whose effect
//! depends on what other filters did first (relative operations without a
//! priority, worse when another patch of that name is limited to a proxy
//! version), and operations Envoy ignores for the part patched.

use std::collections::BTreeSet;

use galleon_plugin_sdk::serde_json::Value;

use crate::collections::ENVOY_FILTERS;
use crate::messages::{
    Code, ENVOY_FILTER_ADD_IGNORED, ENVOY_FILTER_RELATIVE, ENVOY_FILTER_RELATIVE_PROXY_VERSION,
    ENVOY_FILTER_REMOVE_IGNORED, ENVOY_FILTER_REPLACE_INVALID, Finding, finding,
};
use crate::store::{Store, items};

const ANALYZER: &str = "envoyfilter.EnvoyPatchAnalyzer";

/// The name a patch is about: its value's `name` (as a JSON value), else
/// the listener filter it matches (a plain name, never equal to a value's).
#[derive(PartialEq)]
enum Instance {
    Value(Value),
    Filter(String),
}

fn instance(patch: &Value) -> Instance {
    match patch.pointer("/patch/value") {
        Some(Value::Object(value)) => match value.get("name") {
            Some(name) => Instance::Value(name.clone()),
            None => Instance::Filter(
                patch
                    .pointer("/match/listener/filterChain/filter/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ),
        },
        _ => Instance::Filter(String::new()),
    }
}

const TEXTS: &[(&Code, &str)] = &[
    (
        &ENVOY_FILTER_RELATIVE,
        "This EnvoyFilter does not have a priority and has a relative patch operation set which can cause the EnvoyFilter not to be applied. Using the INSERT_FIRST of ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    ),
    (
        &ENVOY_FILTER_REPLACE_INVALID,
        "The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER.",
    ),
    (
        &ENVOY_FILTER_ADD_IGNORED,
        "The ADD operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
    ),
    (
        &ENVOY_FILTER_REMOVE_IGNORED,
        "The REMOVE operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
    ),
    (
        &ENVOY_FILTER_RELATIVE_PROXY_VERSION,
        "This EnvoyFilter does not have a priority and has a relative patch operation (NSTERT_BEFORE/AFTER, REPLACE, MERGE, DELETE) and proxyVersion set which can cause the EnvoyFilter not to be applied during an upgrade. Using the INSERT_FIRST or ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    ),
];

/// Every EnvoyFilter, in (namespace, name) order: a patch limited to a
/// proxy version makes a later relative patch of the same name IST0155.
pub(crate) fn patches(store: &Store) -> Vec<Finding> {
    let mut versioned: Vec<Instance> = Vec::new();
    let mut found = Vec::new();
    for filter in store.all(ENVOY_FILTERS) {
        let prioritised = filter
            .body
            .get("priority")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            != 0;
        // One message per code and filter, as Istio's output has.
        let mut codes: BTreeSet<&str> = BTreeSet::new();
        for patch in items(filter.body.get("configPatches")) {
            if patch.get("patch").is_none_or(Value::is_null) {
                break;
            }
            let name = instance(patch);
            let operation = patch
                .pointer("/patch/operation")
                .and_then(Value::as_str)
                .unwrap_or("");
            let apply_to = patch.get("applyTo").and_then(Value::as_str).unwrap_or("");
            let routes = matches!(apply_to, "ROUTE_CONFIGURATION" | "HTTP_ROUTE");
            let relative = |codes: &mut BTreeSet<&str>| {
                if !prioritised {
                    let code = match versioned.contains(&name) {
                        true => ENVOY_FILTER_RELATIVE_PROXY_VERSION.code,
                        false => ENVOY_FILTER_RELATIVE.code,
                    };
                    codes.insert(code);
                }
            };
            match operation {
                "ADD" if routes => {
                    codes.insert(ENVOY_FILTER_ADD_IGNORED.code);
                }
                "REMOVE" if routes => {
                    codes.insert(ENVOY_FILTER_REMOVE_IGNORED.code);
                }
                "REPLACE"
                    if !matches!(apply_to, "NETWORK_FILTER" | "HTTP_FILTER" | "VIRTUAL_HOST") =>
                {
                    codes.insert(ENVOY_FILTER_REPLACE_INVALID.code);
                }
                "REMOVE" | "REPLACE" | "INSERT_BEFORE" | "INSERT_AFTER" => relative(&mut codes),
                _ => {}
            }
            let version = patch
                .pointer("/match/proxy/proxyVersion")
                .and_then(Value::as_str);
            if version.is_some_and(|v| !v.is_empty()) {
                versioned.push(name);
            }
        }
        for (code, text) in TEXTS.iter().filter(|(c, _)| codes.contains(c.code)) {
            found.push(finding(
                ANALYZER,
                code,
                filter,
                None,
                (*text).into(),
                Vec::new(),
            ));
        }
    }
    found
}
