//! Built-in analyzer plugin: Istio's configuration analyzers (what
//! `istioctl analyze` runs), under Istio's analyzer names, with its message
//! codes and levels.
//!
//! Each analyzer is a function of the whole state ([`store::Store`]) to its
//! findings, and declares the collections it reads. A batch re-runs only the
//! analyzers that read a collection it changed, and reports only the
//! resources whose messages changed: one edit re-analyses what it can
//! affect and sends little. The binding's settings may name the analyzers
//! to run (`{"analyzers": ["virtualservice.GatewayAnalyzer"]}`).

mod annotations;
mod auth;
mod collections;
mod deprecation;
mod destinationrule;
mod envoyfilter;
mod gateway;
mod hosts;
mod injection;
mod jwt;
mod messages;
mod pod;
mod protocols;
mod schema;
mod service;
mod serviceentry;
mod sidecar;
mod store;
mod telemetry;
mod tls;
mod virtualservice;

use std::collections::{BTreeMap, BTreeSet};

use galleon_plugin_sdk::serde_json::Value;
use galleon_plugin_sdk::{
    Analyzer, AnalyzerInfo, Analyzers, Event, Mesh, Message, Report, ResourceRef, export_analyzer,
};

use collections::{
    AUTHORIZATION_POLICIES, DEPLOYMENTS, DESTINATION_RULES, ENVOY_FILTERS, GATEWAYS, NAMESPACES,
    NODES, PODS, REQUEST_AUTHENTICATIONS, SECRETS, SERVICE_ENTRIES, SERVICES, SIDECARS,
    TELEMETRIES, VIRTUAL_SERVICES,
};
use messages::Finding;
use store::Store;

/// What analyzers know beyond the resources: from the mesh configuration.
struct Context {
    /// The mesh allocates ServiceEntry addresses (DNS capture).
    addresses_allocated: bool,
    /// The mesh names default access-log providers.
    default_access_logging: bool,
    /// Policies here apply mesh-wide (`rootNamespace`).
    root_namespace: String,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            addresses_allocated: false,
            default_access_logging: false,
            root_namespace: "istio-system".into(),
        }
    }
}

/// The wall clock, in Unix seconds (certificates are judged against it).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// One analyzer: its name, what it finds, what it reads, and the function.
struct Definition {
    name: &'static str,
    description: &'static str,
    inputs: &'static [&'static str],
    run: fn(&Store, &Context) -> Vec<Finding>,
}

const ANALYZERS: &[Definition] = &[
    Definition {
        name: "virtualservice.GatewayAnalyzer",
        description: "Checks the gateways associated with each virtual service",
        inputs: &[VIRTUAL_SERVICES, GATEWAYS],
        run: |store, _| virtualservice::gateways(store),
    },
    Definition {
        name: "virtualservice.DestinationHostAnalyzer",
        description: "Checks the destination hosts associated with each virtual service",
        inputs: &[VIRTUAL_SERVICES, SERVICE_ENTRIES, SERVICES],
        run: |store, _| virtualservice::destination_hosts(store),
    },
    Definition {
        name: "virtualservice.DestinationRuleAnalyzer",
        description: "Checks the destination rules associated with each virtual service",
        inputs: &[VIRTUAL_SERVICES, DESTINATION_RULES],
        run: |store, _| virtualservice::destination_rules(store),
    },
    Definition {
        name: "virtualservice.ConflictingMeshGatewayHostsAnalyzer",
        description: "Checks if multiple virtual services associated with the mesh gateway have conflicting hosts",
        inputs: &[VIRTUAL_SERVICES],
        run: |store, _| virtualservice::mesh_gateway_hosts(store),
    },
    Definition {
        name: "virtualservice.JWTClaimRouteAnalyzer",
        description: "Checks the VirtualService using JWT claim based routing has corresponding RequestAuthentication",
        inputs: &[VIRTUAL_SERVICES, REQUEST_AUTHENTICATIONS, GATEWAYS, PODS],
        run: |store, _| jwt::claim_routes(store),
    },
    Definition {
        name: "gateway.IngressGatewayPortAnalyzer",
        description: "Checks a gateway's ports against the gateway's Kubernetes service ports",
        inputs: &[GATEWAYS, PODS, SERVICES],
        run: |store, _| gateway::ports(store),
    },
    Definition {
        name: "gateway.ConflictingGatewayAnalyzer",
        description: "Checks a gateway's selector, port number and hosts",
        inputs: &[GATEWAYS, PODS],
        run: |store, _| gateway::conflicts(store),
    },
    Definition {
        name: "gateway.SecretAnalyzer",
        description: "Checks a gateway's referenced secrets for correctness",
        inputs: &[GATEWAYS, PODS, SECRETS],
        run: |store, _| tls::credentials(store, unix_now()),
    },
    Definition {
        name: "gateway.CertificateAnalyzer",
        description: "Checks a gateway certificate",
        inputs: &[GATEWAYS],
        run: |store, _| tls::duplicate_certificates(store),
    },
    Definition {
        name: "sidecar.SelectorAnalyzer",
        description: "Validates that sidecars that define a workload selector match at least one pod, and that there aren't multiple sidecar resources that select overlapping pods",
        inputs: &[SIDECARS, PODS, NAMESPACES],
        run: |store, _| sidecar::selectors(store),
    },
    Definition {
        name: "service.PortNameAnalyzer",
        description: "Checks the port names associated with each service",
        inputs: &[SERVICES],
        run: |store, _| service::port_names(store),
    },
    Definition {
        name: "destinationrule.SubsetSelectPodAnalyzer",
        description: "Checks that the subsets of a destination rule select pods",
        inputs: &[DESTINATION_RULES, PODS, SERVICES, SERVICE_ENTRIES, NODES],
        run: |store, _| destinationrule::subsets(store),
    },
    Definition {
        name: "destinationrule.CaCertificateAnalyzer",
        description: "Checks if caCertificates is set when TLS mode is SIMPLE/MUTUAL",
        inputs: &[DESTINATION_RULES],
        run: |store, _| tls::ca_certificates(store),
    },
    Definition {
        name: "serviceentry.Analyzer",
        description: "Checks the validity of ServiceEntry",
        inputs: &[SERVICE_ENTRIES],
        run: |store, context| serviceentry::addresses(store, context.addresses_allocated),
    },
    Definition {
        name: "serviceentry.ConflictingServiceEntryProtocolAnalyzer",
        description: "Checks if multiple ServiceEntries define the same host and port with different protocols",
        inputs: &[SERVICE_ENTRIES],
        run: |store, _| protocols::conflicting_protocols(store),
    },
    Definition {
        name: "envoyfilter.EnvoyPatchAnalyzer",
        description: "Checks an envoyFilters ",
        inputs: &[ENVOY_FILTERS],
        run: |store, _| envoyfilter::patches(store),
    },
    Definition {
        name: "auth.AuthorizationPoliciesAnalyzer",
        description: "Checks the validity of authorization policies",
        inputs: &[AUTHORIZATION_POLICIES, NAMESPACES, PODS],
        run: |store, context| auth::policies(store, &context.root_namespace),
    },
    Definition {
        name: "telemetry.ProviderAnalyzer",
        description: "Validates that providers in telemetry resource is valid",
        inputs: &[TELEMETRIES],
        run: |store, context| telemetry::providers(store, context.default_access_logging),
    },
    Definition {
        name: "telemetry.SelectorAnalyzer",
        description: "Validates that telemetries that define a selector match at least one pod, and that there aren't multiple telemetry resources that select overlapping pods",
        inputs: &[TELEMETRIES, PODS],
        run: |store, _| telemetry::selectors(store),
    },
    Definition {
        name: "telemetry.DefaultSelectorAnalyzer",
        description: "Validates that there aren't multiple telemetry resources that have no selector",
        inputs: &[TELEMETRIES],
        run: |store, _| telemetry::default_selectors(store),
    },
    Definition {
        name: "annotations.K8sAnalyzer",
        description: "Checks for misplaced and invalid Istio annotations in Kubernetes resources",
        inputs: &[NAMESPACES, SERVICES, PODS, DEPLOYMENTS],
        run: |store, _| annotations::annotations(store),
    },
    Definition {
        name: "injection.Analyzer",
        description: "Checks conditions related to Istio sidecar injection",
        inputs: &[NAMESPACES, PODS],
        run: |store, _| injection::injection(store),
    },
    Definition {
        name: "schema.ValidationAnalyzer.VirtualService",
        description: "Runs schema validation as an analyzer on 'VirtualService' resources",
        inputs: &[VIRTUAL_SERVICES],
        run: |store, _| schema::validate(store),
    },
    Definition {
        name: "deprecation.DeprecationAnalyzer",
        description: "Checks for deprecated Istio types and fields",
        inputs: &[VIRTUAL_SERVICES, SIDECARS],
        run: |store, _| deprecation::fields(store),
    },
];

/// The plugin: the resources, which analyzers run, and each one's last
/// messages by resource.
#[derive(Default)]
pub struct IstioAnalyzers {
    store: Store,
    context: Context,
    /// Indices into [`ANALYZERS`] of those that run (all unless configured).
    enabled: Option<Vec<usize>>,
    /// Per analyzer, its messages by resource.
    results: BTreeMap<usize, BTreeMap<ResourceRef, Vec<Message>>>,
    /// Every analyzer ran once.
    primed: bool,
    /// How many times an analyzer ran (what a batch cost).
    runs: usize,
}

impl IstioAnalyzers {
    fn enabled(&self) -> Vec<usize> {
        self.enabled
            .clone()
            .unwrap_or_else(|| (0..ANALYZERS.len()).collect())
    }

    /// Re-runs analyzer `index`; returns the resources whose messages from
    /// it changed.
    fn rerun(&mut self, index: usize) -> BTreeSet<ResourceRef> {
        self.runs += 1;
        let mut now: BTreeMap<ResourceRef, Vec<Message>> = BTreeMap::new();
        for finding in (ANALYZERS[index].run)(&self.store, &self.context) {
            now.entry(finding.subject)
                .or_default()
                .push(finding.message);
        }
        let before = self.results.remove(&index).unwrap_or_default();
        let changed = before
            .iter()
            .filter(|(subject, messages)| now.get(*subject) != Some(*messages))
            .map(|(subject, _)| subject.clone())
            .chain(
                now.iter()
                    .filter(|(subject, messages)| before.get(*subject) != Some(*messages))
                    .map(|(subject, _)| subject.clone()),
            )
            .collect();
        self.results.insert(index, now);
        changed
    }

    /// Every message about `subject`, across analyzers.
    fn messages(&self, subject: &ResourceRef) -> Vec<Message> {
        self.results
            .values()
            .filter_map(|by_subject| by_subject.get(subject))
            .flatten()
            .cloned()
            .collect()
    }
}

impl Analyzer for IstioAnalyzers {
    fn describe() -> Analyzers {
        let mut inputs: Vec<String> = ANALYZERS
            .iter()
            .flat_map(|a| a.inputs.iter().map(|c| (*c).to_owned()))
            .collect();
        inputs.sort();
        inputs.dedup();
        Analyzers {
            inputs,
            analyzers: ANALYZERS
                .iter()
                .map(|a| AnalyzerInfo {
                    name: a.name.into(),
                    description: a.description.into(),
                    inputs: a.inputs.iter().map(|c| (*c).to_owned()).collect(),
                })
                .collect(),
            summary: "Istio's configuration analyzers (istioctl analyze)".into(),
        }
    }

    fn configure(&mut self, settings: &Value, mesh: &Mesh) -> Result<(), String> {
        self.context.addresses_allocated = serviceentry::auto_allocated(mesh);
        self.context.default_access_logging = telemetry::default_access_logging(mesh);
        if let Some(root) = mesh.config.get("rootNamespace").and_then(Value::as_str) {
            self.context.root_namespace = root.to_owned();
        }
        let Some(names) = settings.get("analyzers") else {
            return Ok(());
        };
        let names = names
            .as_array()
            .ok_or("settings.analyzers must be a list of analyzer names")?;
        let mut enabled = Vec::new();
        for name in names {
            let name = name.as_str().ok_or("settings.analyzers must list names")?;
            let index = ANALYZERS
                .iter()
                .position(|a| a.name == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = ANALYZERS.iter().map(|a| a.name).collect();
                    format!("no analyzer {name:?}; this plugin has {}", known.join(", "))
                })?;
            enabled.push(index);
        }
        self.enabled = Some(enabled);
        Ok(())
    }

    fn handle_batch(&mut self, events: Vec<Event>) -> Result<Vec<Report>, String> {
        self.handle_events(&mut events.into_iter())
    }

    /// Each event goes into the store as it is read (a Pod as what the
    /// analyzers read of it), so the initial sync's bodies are never all
    /// parsed at once.
    fn handle_events(
        &mut self,
        events: &mut dyn Iterator<Item = Event>,
    ) -> Result<Vec<Report>, String> {
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut reset = !self.primed;
        for event in events {
            reset |= matches!(event, Event::Reset);
            changed.extend(self.store.apply(event));
        }
        let mut touched = BTreeSet::new();
        for index in self.enabled() {
            let reads = ANALYZERS[index].inputs;
            if reset || reads.iter().any(|c| changed.contains(*c)) {
                touched.extend(self.rerun(index));
            }
        }
        self.primed = true;
        Ok(touched
            .into_iter()
            .map(|subject| Report {
                messages: self.messages(&subject),
                subject,
            })
            .collect())
    }
}

export_analyzer!(IstioAnalyzers);

#[cfg(test)]
mod tests {
    use galleon_plugin_sdk::harness::{NativeAnalyzer, check_analyzer_fixtures};
    use galleon_plugin_sdk::serde_json::json;
    use galleon_plugin_sdk::{Analyzer, Event, Resource};

    use super::IstioAnalyzers;
    use crate::collections::{PODS, VIRTUAL_SERVICES};

    fn vs(gateway: &str) -> Event {
        Event::Updated(Resource::new(
            VIRTUAL_SERVICES,
            "shop/front",
            json!({"hosts": ["shop.example.com"], "gateways": [gateway]}),
        ))
    }

    #[test]
    fn a_batch_reports_only_the_resources_whose_messages_changed() {
        let mut analyzers = IstioAnalyzers::default();
        let first = analyzers.handle_batch(vec![vs("missing")]).unwrap();
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(first[0].messages.iter().any(|m| m.code == "IST0101"));
        assert_eq!(
            analyzers.runs,
            super::ANALYZERS.len(),
            "the first batch runs them all"
        );
        // A change no analyzer of the VirtualService reads: nothing to report,
        // and only the analyzers that read Pods ran.
        let pod = Resource::new(
            PODS,
            "shop/p",
            json!({"metadata": {"labels": {"app": "x"}}}),
        );
        let before = analyzers.runs;
        assert!(
            analyzers
                .handle_batch(vec![Event::Added(pod)])
                .unwrap()
                .is_empty()
        );
        let read_pods = super::ANALYZERS
            .iter()
            .filter(|a| a.inputs.contains(&PODS))
            .count();
        assert_eq!(analyzers.runs - before, read_pods);
        assert!(read_pods < super::ANALYZERS.len());
        // The same VirtualService again: its messages did not change.
        assert!(
            analyzers
                .handle_batch(vec![vs("missing")])
                .unwrap()
                .is_empty()
        );
        // Removing it clears its messages, in one report.
        let removed = Event::Deleted {
            collection: VIRTUAL_SERVICES.into(),
            name: "shop/front".into(),
        };
        let cleared = analyzers.handle_batch(vec![removed]).unwrap();
        assert_eq!(cleared.len(), 1);
        assert!(cleared[0].messages.is_empty());
    }

    #[test]
    fn fixtures_match_their_golden_files() {
        check_analyzer_fixtures(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
            || Box::new(NativeAnalyzer::<IstioAnalyzers>::default()),
        );
    }
}
