//! Host names as Istio's analyzers compare them: short names made fully
//! qualified in a namespace, wildcards, and the services and service
//! entries a host names.

use galleon_plugin_sdk::Resource;

use crate::collections::{SERVICES, SERVICE_ENTRIES};
use crate::store::{Store, strings};

/// The cluster's DNS suffix Istio's analyzers assume.
pub(crate) const CLUSTER_LOCAL: &str = "svc.cluster.local";

/// `host` as a fully qualified name: a name without dots is a Service of
/// `namespace`; any other is taken as written.
pub(crate) fn fqdn(namespace: &str, host: &str) -> String {
    if host.contains('.') || host.contains('*') {
        host.to_owned()
    } else {
        format!("{host}.{namespace}.{CLUSTER_LOCAL}")
    }
}

/// Whether `pattern` (which may start with `*`) covers `host` (which may
/// too): `*.example.com` covers `a.example.com` and `*.a.example.com`.
pub(crate) fn covers(pattern: &str, host: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => host.ends_with(suffix),
        None => pattern == host,
    }
}

/// Whether two host patterns can name a common host.
pub(crate) fn overlap(a: &str, b: &str) -> bool {
    covers(a, b) || covers(b, a)
}

/// A Service's fully qualified name.
pub(crate) fn service_fqdn(service: &Resource) -> String {
    format!(
        "{}.{}.{CLUSTER_LOCAL}",
        service.short_name(),
        service.namespace()
    )
}

/// What a destination host names.
pub(crate) enum Target<'a> {
    /// A Kubernetes Service.
    Service(&'a Resource),
    /// A ServiceEntry host.
    Entry,
}

/// The Service or ServiceEntry `host` (fully qualified) names, seen from
/// `namespace`: a Service by its name, a ServiceEntry exported there whose
/// hosts cover it.
pub(crate) fn resolve<'a>(store: &'a Store, namespace: &str, host: &str) -> Option<Target<'a>> {
    let service = store
        .all(SERVICES)
        .find(|s| service_fqdn(s) == host || (host.contains('*') && covers(host, &service_fqdn(s))));
    if let Some(service) = service {
        return Some(Target::Service(service));
    }
    store
        .all(SERVICE_ENTRIES)
        .find(|entry| {
            exported_to(entry, namespace)
                && strings(entry.body.get("hosts"))
                    .iter()
                    .any(|h| overlap(&fqdn(entry.namespace(), h), host))
        })
        .map(|_| Target::Entry)
}

/// Whether `resource` (with `exportTo`) is visible in `namespace`.
pub(crate) fn exported_to(resource: &Resource, namespace: &str) -> bool {
    let export = strings(resource.body.get("exportTo"));
    export.is_empty()
        || export
            .iter()
            .any(|e| *e == "*" || *e == namespace || (*e == "." && resource.namespace() == namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_services_of_the_namespace_and_wildcards_cover_suffixes() {
        assert_eq!(fqdn("bookinfo", "reviews"), "reviews.bookinfo.svc.cluster.local");
        assert_eq!(fqdn("bookinfo", "reviews.other"), "reviews.other");
        assert!(covers("*.example.com", "a.example.com"));
        assert!(covers("*", "anything"));
        assert!(!covers("a.example.com", "b.example.com"));
        assert!(overlap("a.example.com", "*.example.com"));
    }
}
