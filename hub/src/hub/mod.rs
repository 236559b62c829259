//! Assembles a hub from its configuration — registry, sources, plugins,
//! pipeline, snapshot cache, MCP server and callouts — and starts it, one
//! named step at a time ([`Hub::start`]).

pub(crate) mod analyze;
mod canary;
mod codecs;
mod config_changes;
mod crds;
mod groups;
mod options;
mod running;
mod security;
pub(crate) mod validate;

pub use running::RunningHub;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::admin::{self, AdminState, AllocatorReader};
use crate::admission::{self, AdmissionStats, Webhook};
use crate::checks::Checks;
use crate::config::HubConfig;
use galleon_mcp::cache::SnapshotCache;
use galleon_mcp::server::{CalloutOptions, McpServer};
use galleon_mcp::tls::{HTTPS_ALPN, ServerTls, ServerTlsFiles};
use galleon_pipeline::analysis::{AnalysisFeed, AnalyzerFactory, Findings};
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::Collection;
use galleon_pipeline::registry::{MESH_CONFIG, Registry};
use galleon_pipeline::{
    BodyCodec, DirectMapping, PipelineSpec, Runtime, TransformerFactory, ValidatorFactory,
};
use galleon_plugin_host::{Builtin, PluginHost};
use galleon_sources::{Aggregate, Source, SourceContext, SourceHealth};
use groups::{group_index, resolve_groups};
use running::spawn_pipeline;
use security::Security;

/// The CRD validation stage of `paths` over `registry`'s kinds (for the
/// fuzz targets; `Hub::start` loads it itself).
#[cfg(feature = "fuzzing")]
pub(crate) fn crd_validation(
    paths: &[std::path::PathBuf],
    registry: &Registry,
) -> Result<Option<impl ValidatorFactory>, HubError> {
    crds::load(paths, registry)
}

/// Waits for every group's first snapshot, then marks the MCP server ready
/// (gRPC health `SERVING`).
async fn mark_ready(cache: SnapshotCache, groups: Arc<[String]>, mcp: McpServer) {
    for group in groups.iter() {
        // Fires once the group has a snapshot (any collection will do).
        cache.watch(group, "", None).await;
    }
    info!(
        groups = groups.len(),
        "ready: every snapshot group has published"
    );
    mcp.set_ready();
}

/// Runs `task` until `stop`.
async fn until(stop: CancellationToken, task: impl Future<Output = ()>) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = task => {}
    }
}

/// The type URL istiod asks MCP over xDS for its mesh configuration.
pub const MESH_CONFIG_GVK: &str = "core/v1alpha1/MeshConfig";

/// Why a hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// A plugin could not be loaded.
    #[error(transparent)]
    Plugin(#[from] galleon_plugin_host::PluginError),
    /// The pipeline thread could not be started.
    #[error("cannot start the pipeline thread: {0}")]
    Thread(std::io::Error),
    /// The configured schemas could not be loaded.
    #[error("schemas: {0}")]
    Schemas(#[from] galleon_schemas::LoadError),
    /// The configured CRDs could not be loaded or match no known kind.
    #[error("{0}")]
    Crds(String),
    /// `galleon analyze` was asked for something it cannot do.
    #[error("{0}")]
    Analyze(String),
    /// A path to validate does not exist.
    #[error("{}: no such file or directory", .0.display())]
    Missing(std::path::PathBuf),
    /// TLS or the access list could not be set up, or plaintext was
    /// refused.
    #[error(transparent)]
    Security(#[from] security::SecurityError),
    /// The admission webhook's certificate or key is unusable.
    #[error("admission.tls: {0}")]
    AdmissionTls(galleon_mcp::tls::TlsError),
    /// The admin server's certificate, key or client CA is unusable.
    #[error("admin.tls: {0}")]
    AdminTls(galleon_mcp::tls::TlsError),
    /// A configured source cannot be set up.
    #[error(transparent)]
    Sources(#[from] galleon_sources::BuildError),
    /// A canary's sink selector is not a valid pattern.
    #[error("canary.sinks.nodeId: {0}")]
    CanarySelector(String),
    /// The configured groups cannot be served.
    #[error(transparent)]
    Groups(#[from] groups::GroupError),
    /// The MCP address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The configured address.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A hub being assembled.
pub struct Hub {
    config: HubConfig,
    registry: Arc<Registry>,
    diagnostics: Diagnostics,
    sources: Vec<Arc<dyn Source>>,
    transformers: Vec<Arc<dyn TransformerFactory>>,
    validators: Vec<Arc<dyn ValidatorFactory>>,
    analyzers: Vec<Arc<dyn AnalyzerFactory>>,
    findings: Findings,
    codecs: HashMap<Collection, Arc<dyn BodyCodec>>,
    builtins: Vec<Builtin>,
    allocator: Option<AllocatorReader>,
    /// Where the plugin host's transformers begin in `transformers`.
    plugin_transformers: usize,
}

impl Hub {
    /// A hub as `config` describes it (its sources are built when it
    /// starts, once the schemas they read with are loaded).
    pub fn new(config: HubConfig) -> Self {
        let registry = Arc::new(config.registry());
        let diagnostics = Diagnostics::default();
        Self {
            config,
            registry,
            diagnostics,
            sources: Vec::new(),
            transformers: Vec::new(),
            validators: Vec::new(),
            analyzers: Vec::new(),
            findings: Findings::default(),
            codecs: HashMap::new(),
            builtins: Vec::new(),
            allocator: None,
            plugin_transformers: 0,
        }
    }

    /// The kinds this hub understands.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The ledger of bad input.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// The analyzers' current messages.
    pub fn findings(&self) -> &Findings {
        &self.findings
    }

    /// Binds `builtins` by default (as `plugins.builtins` configures them):
    /// the plugins the binary bundles.
    pub fn with_builtins(mut self, builtins: Vec<Builtin>) -> Self {
        self.builtins = builtins;
        self
    }

    /// Reports `allocator`'s figures at `/debug/memory` (the binary knows
    /// which allocator it runs; the library does not).
    pub fn with_allocator(mut self, allocator: AllocatorReader) -> Self {
        self.allocator = Some(allocator);
        self
    }

    /// Adds a source (beyond the configured ones).
    pub fn add_source(&mut self, source: Arc<dyn Source>) {
        self.sources.push(source);
    }

    /// Adds a transformer; it replaces the direct mapping for its inputs.
    pub fn add_transformer(&mut self, transformer: Arc<dyn TransformerFactory>) {
        self.transformers.push(transformer);
    }

    /// Adds a validator; it runs before routing for its collections.
    pub fn add_validator(&mut self, validator: Arc<dyn ValidatorFactory>) {
        self.validators.push(validator);
    }

    /// The pipeline this hub runs: the transformers, then the direct mapping
    /// for every mapped input no transformer took over (a transformer takes
    /// an input over when it also produces that input's direct output, as
    /// `authpolicy` does for policies; `ingress` reading Services leaves
    /// them served as they are); groups as configured, with every unlisted
    /// output collection in `default`.
    pub fn pipeline_spec(&self) -> Result<PipelineSpec, HubError> {
        let mapping: BTreeMap<Collection, Collection> = self
            .registry
            .schemas()
            .into_iter()
            .filter_map(|s| {
                s.output
                    .clone()
                    .map(|output| (s.collection.clone(), output))
            })
            .chain([(Collection::from(MESH_CONFIG), Collection::from(MESH_CONFIG))])
            .collect();
        let taken: Vec<Collection> = self
            .transformers
            .iter()
            .flat_map(|t| {
                let outputs = t.outputs();
                t.inputs()
                    .into_iter()
                    .filter(|input| mapping.get(input).is_some_and(|o| outputs.contains(o)))
                    .collect::<Vec<_>>()
            })
            .collect();
        let direct = DirectMapping::new(mapping).without(&taken);
        let mut transformers = self.transformers.clone();
        transformers.push(Arc::new(direct));
        let outputs: BTreeSet<Collection> = transformers.iter().flat_map(|t| t.outputs()).collect();
        Ok(PipelineSpec {
            groups: resolve_groups(&self.config, &outputs)?,
            transformers,
            codecs: self.codecs.clone(),
            validators: self.validators.clone(),
            analysis: None,
            canary: None,
        })
    }

    /// Starts the hub, one step after another: checks the sources' paths,
    /// loads the schemas and the plugins, builds the pipeline and the
    /// snapshot cache, binds the MCP and admin addresses, then starts the
    /// pipeline, the servers, the readiness watch and the callouts.
    pub async fn start(mut self) -> Result<RunningHub, HubError> {
        let started = std::time::SystemTime::now();
        let allocator = self.allocator;
        let (codecs, pool) = codecs::load(&self.config.schemas, &self.registry)?;
        self.codecs = codecs;
        if let Some(validation) = crds::load(&self.config.schemas.crds, &self.registry)? {
            self.validators.insert(0, Arc::new(validation));
        }
        let health = SourceHealth::default();
        let context = SourceContext {
            registry: self.registry.clone(),
            diagnostics: self.diagnostics.clone(),
            pool: pool.clone(),
            health: health.clone(),
        };
        let configured = galleon_sources::build(
            &self.config.sources,
            self.config.mesh_config.clone(),
            &context,
        )?;
        self.sources.splice(0..0, configured);
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let plugins = self.load_plugins().await?;
        let refresh = plugins.as_ref().map_or_else(Default::default, |p| p.wake());
        if let Some(plugins) = &plugins {
            tasks.push(tokio::spawn(plugins.clone().watch(stop.clone())));
        }
        let mut spec = self.pipeline_spec()?;
        spec.analysis = AnalysisFeed::start(self.analyzers.clone(), self.findings.clone());
        spec.canary = plugins
            .as_deref()
            .and_then(|p| canary::spec(p, &spec, self.plugin_transformers));
        let findings = self.findings.clone();
        let checks = Checks::new(self.validators.clone(), &self.codecs, &self.registry);
        let admission = self.start_admission(checks, stop.clone()).await?;
        let groups: Arc<[String]> = spec.groups.iter().map(|g| g.name.clone()).collect();
        let index = canary::route(plugins.as_deref(), group_index(&spec))?;
        let cache = SnapshotCache::with_history(index, self.config.history.limits());
        let security = Security::load(&self.config.mcp)?;
        let options = options::server_options(&self.config.mcp, &spec, &self.registry, &security);
        let served = options.collections.len();
        let mcp = McpServer::new(cache.clone(), options);
        let (listener, addr) = self.bind().await?;
        let (admin_listener, admin_addr) = self.bind_admin().await?;
        let admin_tls = self.admin_tls()?;
        let callouts = options::callouts(&self.config.mcp);
        let config = Arc::new(self.config.clone());
        let diagnostics = self.diagnostics.clone();
        let source_events = Arc::new(AtomicU64::new(0));
        let (drain_delay, drain_timeout) =
            (self.config.mcp.drain_delay, self.config.mcp.drain_timeout);
        let pipeline = self.start_pipeline(
            spec,
            cache.clone(),
            refresh,
            source_events.clone(),
            stop.clone(),
        )?;
        tasks.push(serve(mcp.clone(), listener));
        tasks.push(tokio::spawn(security.watch("MCP port", stop.clone())));
        let (admission_addr, admission_stats) = match admission {
            Some((addr, stats, admission_tasks)) => {
                tasks.extend(admission_tasks);
                (Some(addr), Some(stats))
            }
            None => (None, None),
        };
        if let (Some(path), Some(as_read)) = (&config.source, &config.as_read) {
            tasks.push(tokio::spawn(config_changes::watch(
                path.clone(),
                as_read.clone(),
                stop.clone(),
            )));
        }
        let admin = AdminState {
            cache: cache.clone(),
            mcp: mcp.clone(),
            diagnostics: diagnostics.clone(),
            findings,
            groups: groups.clone(),
            plugins,
            config,
            source_events,
            started,
            health,
            admission: admission_stats,
            allocator,
            admin_addr,
            pool,
        };
        if let Some(tls) = &admin_tls {
            let watch = Security::tls_only(tls.clone()).watch("admin server", stop.clone());
            tasks.push(tokio::spawn(watch));
        }
        tasks.push(tokio::spawn(admin::serve(
            admin_listener,
            admin,
            admin_tls,
            stop.clone(),
        )));
        let ready = mark_ready(cache.clone(), groups, mcp.clone());
        tasks.push(tokio::spawn(until(stop.clone(), ready)));
        tasks.extend(
            callouts
                .into_iter()
                .map(|options| call_out(mcp.clone(), options)),
        );
        let admission = admission_addr.map(tracing::field::display);
        info!(address = %addr, admin = %admin_addr, admission, collections = served, "galleon is serving MCP");
        Ok(RunningHub {
            addr,
            admin_addr,
            mcp,
            cache,
            diagnostics,
            stop,
            tasks,
            pipeline: Some(pipeline),
            drain_delay,
            drain_timeout,
            admission_addr,
        })
    }
}

impl Hub {
    /// Loads the built-in and configured plugins (off the async workers:
    /// compiling is CPU-bound) and adds their transformers and validators.
    async fn load_plugins(&mut self) -> Result<Option<Arc<PluginHost>>, HubError> {
        if !galleon_plugin_host::binds_any(&self.config.plugins, &self.builtins) {
            return Ok(None);
        }
        let (config, builtins, registry, diagnostics) = (
            self.config.plugins.clone(),
            self.builtins.clone(),
            self.registry.clone(),
            self.diagnostics.clone(),
        );
        let plugins = tokio::task::spawn_blocking(move || {
            PluginHost::load(&config, &builtins, registry, diagnostics)
        })
        .await
        .map_err(|error| HubError::Thread(std::io::Error::other(error)))??;
        let plugins = Arc::new(plugins);
        self.plugin_transformers = self.transformers.len();
        self.transformers.extend(plugins.transformer_factories());
        self.validators.extend(plugins.validator_factories());
        self.analyzers.extend(plugins.analyzer_factories());
        Ok(Some(plugins))
    }

    /// Starts the admission webhook when `admission:` is set: its
    /// certificate loaded (and watched), its address bound, its server
    /// running `checks`. Returns the bound address, its counters and tasks.
    async fn start_admission(
        &self,
        checks: Checks,
        stop: CancellationToken,
    ) -> Result<Option<(SocketAddr, AdmissionStats, Vec<JoinHandle<()>>)>, HubError> {
        let Some(config) = self.config.admission.clone() else {
            return Ok(None);
        };
        let files = ServerTlsFiles {
            cert: config.tls.cert.clone(),
            key: config.tls.key.clone(),
            client_ca: None,
        };
        let tls = ServerTls::load_with_alpn(files, HTTPS_ALPN).map_err(HubError::AdmissionTls)?;
        let address = config.address;
        let bind_error = |source| HubError::Bind { address, source };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let stats = AdmissionStats::default();
        let webhook = Webhook::new(checks, self.registry.clone(), &config, stats.clone());
        let watch = Security::tls_only(tls.clone()).watch("admission webhook", stop.clone());
        let tasks = vec![
            tokio::spawn(watch),
            tokio::spawn(async move {
                admission::serve(listener, webhook, tls, &config, stop).await;
            }),
        ];
        info!(address = %addr, "serving the admission webhook (POST /validate)");
        Ok(Some((addr, stats, tasks)))
    }

    /// Binds the MCP address (with a backlog for a fleet reconnecting).
    async fn bind(&self) -> Result<(TcpListener, SocketAddr), HubError> {
        let address = self.config.mcp.address;
        let bind_error = |source| HubError::Bind { address, source };
        let listener = galleon_mcp::server::bind(address).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok((listener, addr))
    }

    /// The admin server's TLS, when `admin.tls` is set (client
    /// certificates verified when presented, not required).
    fn admin_tls(&self) -> Result<Option<ServerTls>, HubError> {
        let Some(config) = &self.config.admin.tls else {
            return Ok(None);
        };
        let files = ServerTlsFiles {
            cert: config.cert.clone(),
            key: config.key.clone(),
            client_ca: config.client_ca.clone(),
        };
        ServerTls::load_https_optional_clients(files)
            .map(Some)
            .map_err(HubError::AdminTls)
    }

    /// Binds the admin address.
    async fn bind_admin(&self) -> Result<(TcpListener, SocketAddr), HubError> {
        let address = self.config.admin.address;
        let bind_error = |source| HubError::Bind { address, source };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok((listener, addr))
    }

    /// Starts the pipeline over every source, on its own thread.
    fn start_pipeline(
        self,
        spec: PipelineSpec,
        cache: SnapshotCache,
        refresh: Arc<Notify>,
        source_events: Arc<AtomicU64>,
        stop: CancellationToken,
    ) -> Result<std::thread::JoinHandle<()>, HubError> {
        let source: Arc<dyn Source> = Arc::new(Aggregate::new(self.sources));
        info!(sources = %source.name(), "starting the pipeline");
        let runtime = Runtime::new(source, spec, cache, self.diagnostics, self.config.domain)
            .with_refresh(refresh)
            .with_event_counter(source_events);
        spawn_pipeline(runtime, stop).map_err(HubError::Thread)
    }
}

/// Serves MCP on `listener` until the server shuts down.
fn serve(mcp: McpServer, listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = mcp.serve(listener).await {
            warn!("MCP server failed: {error}");
        }
    })
}

/// Dials one callout until the server shuts down.
fn call_out(mcp: McpServer, options: CalloutOptions) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = mcp.callout(options).await {
            warn!("callout failed: {error}");
        }
    })
}
