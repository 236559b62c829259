//! `galleon analyze` without a server: the paths read as a file source
//! reads them, the analyzer plugins (the built-in Istio analyzers and any
//! bound with `kind: analyzer`) built for the mesh configuration given, and
//! the whole state handed to them as one batch, as `serve` does for its
//! first analysis, with the ingress gateway istioctl assumes (see
//! `default_ingress`). What they report comes back as the same messages
//! `/debug/analysis` shows.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use galleon_pipeline::analysis::{AnalysisSession, AnalyzerFactory, Findings};
use galleon_pipeline::diagnostics::{Diagnostics, Problem};
use galleon_pipeline::event::{Entry, Event};
use galleon_pipeline::mesh::MeshSettings;
use galleon_pipeline::source::Source;
use galleon_plugin_host::{Builtin, PluginHost, PluginKind, PluginsConfig};
use galleon_sources::FileSource;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::HubError;

const PODS: &str = "k8s/core/v1/pods";
const SERVICES: &str = "k8s/core/v1/services";
use crate::admin::api::{AnalysisMessage, AnalyzerListing, analysis_messages};
use crate::config::HubConfig;

/// What `analyze` was asked to do.
#[derive(Debug, Default)]
pub struct AnalyzeRequest {
    /// Files and directories to read.
    pub paths: Vec<PathBuf>,
    /// A mesh configuration file (YAML), laid over the defaults.
    pub mesh_config: Option<PathBuf>,
    /// Run only these analyzers (by name); all when empty.
    pub analyzers: Vec<String>,
}

/// What analyzing found.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Resources read.
    pub resources: usize,
    /// Documents that are not resources (not analyzed).
    pub problems: Vec<Problem>,
    /// The analyzers' messages, by resource.
    pub messages: Vec<AnalysisMessage>,
}

/// Every analyzer `config` and `builtins` bind, by plugin.
pub async fn list_analyzers(
    config: &HubConfig,
    builtins: &[Builtin],
) -> Result<Vec<AnalyzerListing>, HubError> {
    let host = load(config, builtins, &[], &Diagnostics::default()).await?;
    Ok(listing(&host))
}

fn listing(host: &PluginHost) -> Vec<AnalyzerListing> {
    host.analyzers()
        .into_iter()
        .map(|(plugin, name, description, inputs)| AnalyzerListing {
            plugin,
            name,
            description,
            inputs,
        })
        .collect()
}

/// Analyzes the files of `request` with `config`'s kinds and analyzers.
pub async fn analyze(
    config: &HubConfig,
    builtins: &[Builtin],
    request: &AnalyzeRequest,
) -> Result<Analysis, HubError> {
    if let Some(missing) = request
        .paths
        .iter()
        .chain(&request.mesh_config)
        .find(|p| !p.exists())
    {
        return Err(HubError::Missing(missing.clone()));
    }
    let mesh = mesh_settings(request.mesh_config.as_deref(), &config.domain)?;
    let diagnostics = Diagnostics::default();
    let host = load(config, builtins, &request.analyzers, &diagnostics).await?;
    let registry = Arc::new(config.registry());
    let source = Arc::new(
        FileSource::new(request.paths.clone(), registry.clone(), diagnostics.clone())
            .with_watch(false),
    );
    let mut events = read_all(source).await;
    let resources = events
        .iter()
        .filter(|e| matches!(e, Event::Added(..) | Event::Updated(..)))
        .count();
    events.extend(default_ingress(&events));
    let factories: Vec<Arc<dyn AnalyzerFactory>> = host.analyzer_factories();
    // Collections no file holds are complete as they are: empty.
    let inputs: BTreeSet<_> = factories.iter().flat_map(|f| f.inputs()).collect();
    events.extend(inputs.into_iter().map(Event::FullSync));
    let findings = Findings::default();
    let run = {
        let findings = findings.clone();
        move || AnalysisSession::new(&factories, &mesh, findings).feed(&events)
    };
    tokio::task::spawn_blocking(run)
        .await
        .map_err(|error| HubError::Thread(std::io::Error::other(error)))?;
    Ok(Analysis {
        resources,
        problems: diagnostics.problems(),
        messages: analysis_messages(&findings, &registry),
    })
}

/// The ingress gateway every Istio installation runs, as `istioctl
/// analyze` assumes it when it reads files: the Pod and Service
/// `istio-system/istio-ingressgateway…` (selector `istio: ingressgateway`,
/// ports 80, 443, 31400, 15443), unless the files define them.
fn default_ingress(events: &[Event]) -> Vec<Event> {
    let defined = |collection: &str, name: &str| {
        events.iter().any(
            |e| matches!(e, Event::Added(c, entry) if &**c == collection && entry.name == name),
        )
    };
    let entry = |name: &str, body: Value| Entry {
        name: name.to_owned(),
        labels: Default::default(),
        annotations: Default::default(),
        create_time: None,
        version: "default".into(),
        body: body.into(),
        origin: None,
    };
    let mut added = Vec::new();
    const POD: &str = "istio-system/istio-ingressgateway-dummypod";
    const SERVICE: &str = "istio-system/istio-ingressgateway";
    if !defined(PODS, POD) {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "istio-ingressgateway-dummypod", "namespace": "istio-system",
                         "labels": {"istio": "ingressgateway"}},
            "spec": {"containers": [{"name": "istio-proxy"}]},
        });
        added.push(Event::Added(PODS.into(), entry(POD, pod).into()));
    }
    if !defined(SERVICES, SERVICE) {
        let port = |name: &str, number: u16| json!({"name": name, "port": number, "targetPort": number, "protocol": "TCP"});
        let service = json!({
            "selector": {"istio": "ingressgateway"},
            "ports": [port("http2", 80), port("https", 443), port("tcp", 31400), port("tls", 15443)],
        });
        added.push(Event::Added(
            SERVICES.into(),
            entry(SERVICE, service).into(),
        ));
    }
    added
}

/// Every event of the file set's full state.
async fn read_all(source: Arc<FileSource>) -> Vec<Event> {
    let mut unsynced: BTreeSet<_> = source.collections().into_iter().collect();
    let (sender, mut received) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    let running = tokio::spawn(source.run(sender, stop.clone()));
    let mut events = Vec::new();
    while !unsynced.is_empty() {
        let Some(event) = received.recv().await else {
            break;
        };
        if let Event::FullSync(collection) = &event {
            unsynced.remove(collection);
        }
        events.push(event);
    }
    stop.cancel();
    let _ = running.await;
    events
}

/// The mesh configuration in `path` (YAML, a `MeshConfig`) laid over the
/// defaults, or the defaults.
fn mesh_settings(path: Option<&Path>, domain_suffix: &str) -> Result<MeshSettings, HubError> {
    let mut config = galleon_pipeline::mesh::defaults();
    if let Some(path) = path {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HubError::Analyze(format!("{}: {e}", path.display())))?;
        let given: Value = serde_saphyr::from_str(&text)
            .map_err(|e| HubError::Analyze(format!("{}: {e}", path.display())))?;
        match given {
            Value::Object(given) => config.extend(given),
            Value::Null => {}
            _ => {
                return Err(HubError::Analyze(format!(
                    "{}: a mesh configuration is a mapping (MeshConfig)",
                    path.display()
                )));
            }
        }
    }
    Ok(MeshSettings {
        config: Arc::new(Value::Object(config)),
        domain_suffix: domain_suffix.to_owned(),
    })
}

/// Loads the analyzer plugins only; with `only`, each configured to run
/// those of its analyzers that are named (a name no plugin holds is an
/// error listing the ones there are).
async fn load(
    config: &HubConfig,
    builtins: &[Builtin],
    only: &[String],
    diagnostics: &Diagnostics,
) -> Result<PluginHost, HubError> {
    let builtins: Vec<Builtin> = builtins
        .iter()
        .filter(|b| b.kind == PluginKind::Analyzer)
        .copied()
        .collect();
    let plugins = PluginsConfig {
        bindings: config
            .plugins
            .bindings
            .iter()
            .filter(|b| b.kind == PluginKind::Analyzer)
            .cloned()
            .collect(),
        builtins: config
            .plugins
            .builtins
            .iter()
            .filter(|(name, _)| builtins.iter().any(|b| b.name == name.as_str()))
            .map(|(name, c)| (name.clone(), c.clone()))
            .collect(),
        ..config.plugins.clone()
    };
    let builtin_names: Vec<String> = builtins.iter().map(|b| b.name.to_owned()).collect();
    let registry = Arc::new(config.registry());
    let load = move |plugins: PluginsConfig| {
        let (registry, builtins) = (registry.clone(), builtins.clone());
        let diagnostics = diagnostics.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                PluginHost::load(&plugins, &builtins, registry, diagnostics)
            })
            .await
            .map_err(|error| HubError::Thread(std::io::Error::other(error)))?
            .map_err(HubError::from)
        }
    };
    let host = load(plugins.clone()).await?;
    if only.is_empty() {
        return Ok(host);
    }
    let held = listing(&host);
    if let Some(unknown) = only.iter().find(|n| !held.iter().any(|a| &a.name == *n)) {
        let names: Vec<&str> = held.iter().map(|a| a.name.as_str()).collect();
        return Err(HubError::Analyze(format!(
            "no analyzer {unknown:?} (see --list-analyzers): there are {}",
            names.join(", ")
        )));
    }
    // Each plugin runs the named analyzers it holds; one holding none is
    // not bound at all.
    let selected = |plugin: &str| -> Vec<String> {
        held.iter()
            .filter(|a| a.plugin == plugin && only.contains(&a.name))
            .map(|a| a.name.clone())
            .collect()
    };
    let mut narrowed = plugins;
    for builtin in builtin_names {
        let names = selected(&builtin);
        let entry = narrowed.builtins.entry(builtin).or_default();
        if names.is_empty() {
            entry.enabled = false;
        } else {
            entry.settings = json!({ "analyzers": names });
        }
    }
    narrowed.bindings.retain_mut(|binding| {
        let names = selected(&binding.name());
        if let Value::Object(settings) = &mut binding.settings {
            settings.insert("analyzers".into(), json!(names));
        } else {
            binding.settings = json!({ "analyzers": names });
        }
        !names.is_empty()
    });
    load(narrowed).await
}
