//! The Ingress as the plugin sees it: both API versions
//! (`extensions/v1beta1`, `networking.k8s.io/v1`) read into one model of
//! hosts, routes and backends, with the errors that make an Ingress unusable.

use std::collections::BTreeMap;

use galleon_plugin_sdk::Resource;
use galleon_plugin_sdk::serde_json::{self, Value, json};
use serde::Deserialize;

/// The annotation that names an Ingress's class.
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// Which API version an Ingress came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    /// `extensions/v1beta1`.
    V1beta1,
    /// `networking.k8s.io/v1`.
    V1,
}

/// One Ingress, version-independent.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingress {
    /// `namespace/name`.
    pub name: String,
    /// Labels, copied to its Gateway.
    pub labels: BTreeMap<String, String>,
    /// Annotations without the class annotation, copied to its Gateway.
    pub annotations: BTreeMap<String, String>,
    /// The class annotation, or for v1 `spec.ingressClassName`.
    pub class: Option<String>,
    /// The hosts of `tls[0]` (`*` when it lists none), if it has TLS.
    pub tls_hosts: Option<Vec<String>>,
    /// Rules; a rule without a host has host `*`.
    pub rules: Vec<Rule>,
}

/// The routes of one host.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The host, or `*`.
    pub host: String,
    /// One per path, in order.
    pub routes: Vec<Route>,
}

/// One path of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// `HTTPMatchRequest`s; empty matches every request.
    pub matches: Vec<Value>,
    /// The backend Service's name (in the Ingress's namespace).
    pub service: String,
    /// Its port.
    pub port: Port,
}

/// A backend port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Port {
    /// A port number.
    Number(u32),
    /// A Service port name, resolved against the Service (v1 only).
    Name(String),
}

impl Ingress {
    /// Reads an Ingress of `version`; an `Err` names what is wrong with it.
    pub fn parse(resource: &Resource, version: ApiVersion) -> Result<Self, String> {
        let mut annotations = resource.annotations.clone();
        let annotated_class = annotations.remove(CLASS_ANNOTATION);
        let body = match &resource.body {
            Value::Null => Value::Object(Default::default()),
            body => body.clone(),
        };
        let (class, tls, rules) = match version {
            ApiVersion::V1beta1 => {
                let spec: Spec<v1beta1::Path> = serde_json::from_value(body).map_err(spec_error)?;
                (None, spec.tls, read_rules(spec.rules)?)
            }
            ApiVersion::V1 => {
                let spec: Spec<v1::Path> = serde_json::from_value(body).map_err(spec_error)?;
                (spec.ingress_class_name, spec.tls, read_rules(spec.rules)?)
            }
        };
        Ok(Self {
            name: resource.name.clone(),
            labels: resource.labels.clone(),
            annotations,
            class: annotated_class.or(class),
            tls_hosts: tls.into_iter().next().map(|tls| {
                if tls.hosts.is_empty() {
                    vec!["*".into()]
                } else {
                    tls.hosts
                }
            }),
            rules,
        })
    }

    /// The namespace part of the name.
    pub fn namespace(&self) -> &str {
        self.name.split_once('/').map_or("", |(ns, _)| ns)
    }

    /// The name without its namespace.
    pub fn short_name(&self) -> &str {
        self.name.split_once('/').map_or(&self.name, |(_, n)| n)
    }

    /// Every host its rules name, de-duplicated.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        let mut hosts: Vec<&str> = self.rules.iter().map(|r| r.host.as_str()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        hosts.into_iter()
    }
}

fn spec_error(error: serde_json::Error) -> String {
    format!("not an Ingress spec: {error}")
}

/// The spec of either API version; they differ in their paths.
#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase", bound = "P: Deserialize<'de>")]
struct Spec<P> {
    /// v1 only.
    ingress_class_name: Option<String>,
    tls: Vec<Tls>,
    rules: Vec<RuleSpec<P>>,
}

impl<P> Default for Spec<P> {
    fn default() -> Self {
        Self {
            ingress_class_name: None,
            tls: Vec::new(),
            rules: Vec::new(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tls {
    hosts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(bound = "P: Deserialize<'de>")]
struct RuleSpec<P> {
    #[serde(default)]
    host: String,
    #[serde(default)]
    http: Option<HttpSpec<P>>,
}

#[derive(Deserialize)]
#[serde(bound = "P: Deserialize<'de>")]
struct HttpSpec<P> {
    #[serde(default = "Vec::new")]
    paths: Vec<P>,
}

/// A path of either API version, read into a route; `at` locates it for
/// errors.
trait PathSpec {
    fn read(self, at: &str) -> Result<Route, String>;
}

fn read_rules<P: PathSpec>(rules: Vec<RuleSpec<P>>) -> Result<Vec<Rule>, String> {
    rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            let http = rule
                .http
                .ok_or_else(|| format!("rules[{index}] has no http paths"))?;
            let routes = http
                .paths
                .into_iter()
                .enumerate()
                .map(|(p, path)| path.read(&format!("rules[{index}].http.paths[{p}]")))
                .collect::<Result<_, _>>()?;
            let host = if rule.host.is_empty() {
                "*".into()
            } else {
                rule.host
            };
            Ok(Rule { host, routes })
        })
        .collect()
}

/// A path in Galley's form: ending `/*` or `.*` is a prefix, empty matches
/// everything, anything else is exact.
fn implementation_specific(path: &str) -> Vec<Value> {
    if path.is_empty() {
        Vec::new()
    } else if let Some(prefix) = path.strip_suffix("/*").or_else(|| path.strip_suffix(".*")) {
        vec![json!({"uri": {"prefix": prefix}})]
    } else {
        vec![json!({"uri": {"exact": path}})]
    }
}

mod v1beta1 {
    //! `extensions/v1beta1` Ingress paths.

    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Path {
        #[serde(default)]
        path: String,
        backend: Backend,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Backend {
        service_name: String,
        service_port: IntOrString,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(u32),
        String(String),
    }

    impl PathSpec for Path {
        fn read(self, at: &str) -> Result<Route, String> {
            let port = match self.backend.service_port {
                IntOrString::Int(n) => n,
                IntOrString::String(s) => s.parse().map_err(|_| {
                    format!(
                        "{at}: named service port {s:?} is not supported for extensions/v1beta1 \
                         Ingresses; give the number (networking.k8s.io/v1 Ingresses may name ports)"
                    )
                })?,
            };
            Ok(Route {
                matches: implementation_specific(&self.path),
                service: self.backend.service_name,
                port: Port::Number(port),
            })
        }
    }
}

mod v1 {
    //! `networking.k8s.io/v1` Ingress paths.

    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Path {
        #[serde(default)]
        path: String,
        #[serde(default)]
        path_type: Option<String>,
        backend: Backend,
    }

    #[derive(Deserialize)]
    struct Backend {
        service: Option<ServiceBackend>,
    }

    #[derive(Deserialize)]
    struct ServiceBackend {
        name: String,
        port: ServicePort,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ServicePort {
        number: Option<u32>,
        name: Option<String>,
    }

    /// Kubernetes `Prefix` matches whole path elements: `/foo` matches
    /// `/foo` and `/foo/bar`, not `/foobar`. Without regexes that is an
    /// exact match on the path plus a prefix match on the path and `/`.
    fn prefix(path: &str) -> Vec<Value> {
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            return vec![json!({"uri": {"prefix": "/"}})];
        }
        vec![
            json!({"uri": {"exact": path}}),
            json!({"uri": {"prefix": format!("{path}/")}}),
        ]
    }

    impl PathSpec for Path {
        fn read(self, at: &str) -> Result<Route, String> {
            let matches = match self.path_type.as_deref() {
                Some("Exact") => vec![json!({"uri": {"exact": self.path}})],
                Some("Prefix") => prefix(&self.path),
                None | Some("ImplementationSpecific") => implementation_specific(&self.path),
                Some(other) => {
                    return Err(format!(
                        "{at}: unknown pathType {other:?} (Exact, Prefix or ImplementationSpecific)"
                    ));
                }
            };
            let service = self.backend.service.ok_or_else(|| {
                format!("{at}: the backend is not a Service (resource backends are not supported)")
            })?;
            let port = match (service.port.number, service.port.name) {
                (Some(number), None) => Port::Number(number),
                (None, Some(name)) if !name.is_empty() => Port::Name(name),
                _ => {
                    return Err(format!(
                        "{at}: the backend's port needs exactly one of number and name"
                    ));
                }
            };
            Ok(Route {
                matches,
                service: service.name,
                port,
            })
        }
    }
}
