//! Host names as Istio's analyzers resolve them: short names made fully
//! qualified in a namespace, wildcards, and the host map of Services and
//! ServiceEntries by the namespaces they are exported to.

use std::collections::HashMap;

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::Value;

use crate::collections::{SERVICE_ENTRIES, SERVICES};
use crate::store::{Labels, Store, items, string_map, strings};

/// The cluster's DNS suffix Istio's analyzers assume.
pub(crate) const CLUSTER_LOCAL: &str = "svc.cluster.local";

/// `host` as a fully qualified name: a name without dots (and not a
/// wildcard) is a Service of `namespace`; any other is taken as written.
pub(crate) fn fqdn(namespace: &str, host: &str) -> String {
    if host.starts_with('*') || host.contains('.') {
        host.to_owned()
    } else {
        format!("{host}.{namespace}.{CLUSTER_LOCAL}")
    }
}

/// (namespace, name) of a host: the Service a cluster-local name names,
/// else `host` itself in `namespace`.
pub(crate) fn resource_name(namespace: &str, host: &str) -> (String, String) {
    let full = fqdn(namespace, host);
    match full.strip_suffix(&format!(".{CLUSTER_LOCAL}")) {
        Some(rest) => match rest.rsplit_once('.') {
            Some((name, ns)) if !name.is_empty() && !ns.is_empty() => {
                (ns.to_owned(), name.to_owned())
            }
            _ => (namespace.to_owned(), host.to_owned()),
        },
        None => (namespace.to_owned(), host.to_owned()),
    }
}

/// Whether two host patterns can name a common host (Istio's symmetric,
/// wildcard-aware match; `*.foo.com` does not match `foo.com`).
pub(crate) fn overlap(a: &str, b: &str) -> bool {
    covers(a, b) || covers(b, a)
}

fn covers(pattern: &str, host: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => host.ends_with(suffix),
        None => pattern == host,
    }
}

/// A Service's fully qualified name.
pub(crate) fn service_fqdn(service: &Resource) -> String {
    format!(
        "{}.{}.{CLUSTER_LOCAL}",
        service.short_name(),
        service.namespace()
    )
}

/// `ns/name`, or `name` without a namespace (Istio's full name).
pub(crate) fn full_name(resource: &Resource) -> String {
    resource.name.trim_start_matches('/').to_owned()
}

/// What a host names: a Service or a ServiceEntry, its ports, and (for a
/// ServiceEntry) the workloads it selects.
pub(crate) struct Target<'a> {
    pub(crate) resource: &'a Resource,
    pub(crate) ports: Vec<i64>,
    pub(crate) selector: Labels,
}

/// Every Service and ServiceEntry host by the scope it is visible in
/// (`*`, or a namespace): Istio's `scope/fqdn` map.
pub(crate) struct HostMap<'a> {
    exact: HashMap<String, Target<'a>>,
    /// (scope, host) of wildcard hosts.
    wildcards: Vec<(String, String, Target<'a>)>,
}

impl<'a> HostMap<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        let mut map = Self {
            exact: HashMap::new(),
            wildcards: Vec::new(),
        };
        for entry in store.all(SERVICE_ENTRIES) {
            let ns = entry.namespace();
            let scopes = scopes(&strings(entry.body.get("exportTo")), ns);
            let ports = numbers(entry.body.get("ports"), "number");
            let selector = string_map(entry.body.pointer("/workloadSelector/labels"));
            for host in strings(entry.body.get("hosts")) {
                for scope in &scopes {
                    let target = Target {
                        resource: entry,
                        ports: ports.clone(),
                        selector: selector.clone(),
                    };
                    map.insert(scope, &fqdn(ns, host), target);
                }
            }
        }
        for service in store.all(SERVICES) {
            let ns = service.namespace();
            let export: Vec<&str> = service
                .annotations
                .get("networking.istio.io/exportTo")
                .map(|e| e.split(',').map(str::trim).collect())
                .unwrap_or_default();
            let ports = numbers(service.body.get("ports"), "port");
            for scope in scopes(&export, ns) {
                let target = Target {
                    resource: service,
                    ports: ports.clone(),
                    selector: Labels::new(),
                };
                map.insert(&scope, &service_fqdn(service), target);
            }
        }
        map
    }

    fn insert(&mut self, scope: &str, host: &str, target: Target<'a>) {
        if host.starts_with('*') {
            self.wildcards
                .push((scope.to_owned(), host.to_owned(), target));
        } else {
            self.exact
                .entry(format!("{scope}/{host}"))
                .or_insert(target);
        }
    }

    /// What `host`, named from `namespace` by a resource exported to
    /// `export_to`, resolves to.
    pub(crate) fn destination(
        &self,
        namespace: &str,
        export_to: &[&str],
        host: &str,
    ) -> Option<&Target<'a>> {
        let full = fqdn(namespace, host);
        if let Some(target) = self.exact.get(&format!("*/{full}")) {
            return Some(target);
        }
        let local: Vec<&str> = if export_to.is_empty() {
            vec![namespace]
        } else {
            export_to
                .iter()
                .map(|e| if *e == "." { namespace } else { *e })
                .collect()
        };
        if let Some(target) = local
            .iter()
            .find_map(|scope| self.exact.get(&format!("{scope}/{full}")))
        {
            return Some(target);
        }
        let wanted = host.strip_prefix('*').unwrap_or(host);
        self.wildcards
            .iter()
            .find(|(scope, entry, _)| {
                (scope == "*" || scope == namespace)
                    && wanted.ends_with(entry.strip_prefix('*').unwrap_or(entry))
            })
            .map(|(_, _, target)| target)
    }
}

/// The scopes of an `exportTo`: `*` when empty.
fn scopes(export_to: &[&str], namespace: &str) -> Vec<String> {
    if export_to.is_empty() {
        return vec!["*".into()];
    }
    export_to
        .iter()
        .map(|e| {
            if *e == "." {
                namespace.to_owned()
            } else {
                (*e).to_owned()
            }
        })
        .collect()
}

fn numbers(ports: Option<&Value>, field: &str) -> Vec<i64> {
    items(ports)
        .filter_map(|p| p.get(field).and_then(Value::as_i64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_services_of_the_namespace_and_wildcards_cover_suffixes() {
        assert_eq!(
            fqdn("bookinfo", "reviews"),
            "reviews.bookinfo.svc.cluster.local"
        );
        assert_eq!(fqdn("bookinfo", "reviews.other"), "reviews.other");
        assert_eq!(
            resource_name("default", "reviews"),
            ("default".into(), "reviews".into())
        );
        assert_eq!(
            resource_name("x", "reviews.default.svc.cluster.local"),
            ("default".into(), "reviews".into())
        );
        assert!(overlap("*.example.com", "a.example.com"));
        assert!(overlap("*", "anything"));
        assert!(!overlap("*.foo.com", "foo.com"));
        assert!(overlap("*.a.example.com", "*.example.com"));
    }
}
