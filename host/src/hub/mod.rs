//! Assembles a hub from its configuration — registry, sources, plugins,
//! pipeline, snapshot cache, MCP server and callouts — and starts it, one
//! named step at a time ([`Hub::start`]).

mod codecs;
mod groups;
mod running;
mod security;

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

use crate::admin::{self, AdminState};
use crate::config::{HubConfig, SourceConfig};
use crate::source::upstream::UpstreamOptions;
use crate::source::{
    Aggregate, EtcdSource, FileSource, KubernetesOptions, KubernetesSource, McpUpstream,
    MeshSource, Source, XdsUpstream,
};
use galleon_mcp::BackoffOptions;
use galleon_mcp::cache::SnapshotCache;
use galleon_mcp::server::{CalloutOptions, McpServer, ServerOptions, StreamRate, XdsType};
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::Collection;
use galleon_pipeline::registry::{MESH_CONFIG, Registry, Schema};
use galleon_pipeline::{
    BodyCodec, DirectMapping, PipelineSpec, Runtime, TransformerFactory, ValidatorFactory,
};
use galleon_plugin_host::PluginHost;
use galleon_schemas::DescriptorPool;
use groups::{group_index, resolve_groups};
use running::spawn_pipeline;
use security::Security;

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
    /// A file source's path does not exist (and the source is not optional).
    #[error(
        "file source path {} does not exist (mark the source `optional: true` to serve it once it appears)",
        .0.display()
    )]
    MissingPath(std::path::PathBuf),
    /// The configured schemas could not be loaded.
    #[error("schemas: {0}")]
    Schemas(#[from] galleon_schemas::LoadError),
    /// TLS or the access list could not be set up, or plaintext was
    /// refused.
    #[error(transparent)]
    Security(#[from] security::SecurityError),
    /// An upstream source cannot be set up as configured.
    #[error(transparent)]
    Upstream(#[from] crate::source::upstream::UpstreamError),
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
    codecs: HashMap<Collection, Arc<dyn BodyCodec>>,
}

impl Hub {
    /// A hub with the sources its configuration names.
    pub fn new(config: HubConfig) -> Self {
        let mut registry = Registry::builtin();
        for kind in &config.kinds {
            registry.add(Schema::from(kind));
        }
        let registry = Arc::new(registry);
        let diagnostics = Diagnostics::default();
        let mut sources: Vec<Arc<dyn Source>> = vec![Arc::new(MeshSource::new(
            config.mesh_config.clone(),
            diagnostics.clone(),
        ))];
        for source in &config.sources {
            match source {
                SourceConfig::Files(files) => {
                    let source =
                        FileSource::new(files.paths.clone(), registry.clone(), diagnostics.clone())
                            .with_max_file_size(files.max_file_size)
                            .with_watch(files.watch)
                            .with_external_symlinks(files.follow_external_symlinks);
                    sources.push(Arc::new(source));
                }
                SourceConfig::Etcd(etcd) => sources.push(Arc::new(EtcdSource::new(
                    etcd.endpoints.clone(),
                    etcd.prefix.clone(),
                    registry.clone(),
                    diagnostics.clone(),
                ))),
                SourceConfig::Kubernetes(kubernetes) => {
                    let options = KubernetesOptions {
                        kubeconfig: kubernetes.kubeconfig.clone(),
                        namespaces: kubernetes.namespaces.clone(),
                        label_selector: kubernetes.label_selector.clone(),
                    };
                    let source =
                        KubernetesSource::new(options, registry.clone(), diagnostics.clone());
                    sources.push(Arc::new(source));
                }
                // Built once the schemas are loaded (they read typed bodies).
                SourceConfig::Mcp(_) | SourceConfig::Xds(_) => {}
            }
        }
        Self {
            config,
            registry,
            diagnostics,
            sources,
            transformers: Vec::new(),
            validators: Vec::new(),
            codecs: HashMap::new(),
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
    pub fn pipeline_spec(&self) -> PipelineSpec {
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
        PipelineSpec {
            groups: resolve_groups(&self.config, &outputs),
            transformers,
            codecs: self.codecs.clone(),
            validators: self.validators.clone(),
        }
    }

    /// Starts the hub, one step after another: checks the sources' paths,
    /// loads the schemas and the plugins, builds the pipeline and the
    /// snapshot cache, binds the MCP and admin addresses, then starts the
    /// pipeline, the servers, the readiness watch and the callouts.
    pub async fn start(mut self) -> Result<RunningHub, HubError> {
        self.check_paths()?;
        let (codecs, pool) = codecs::load(&self.config.schemas, &self.registry)?;
        self.codecs = codecs;
        self.add_upstreams(pool)?;
        let stop = CancellationToken::new();
        let refresh = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        let plugins = self.load_plugins().await?;
        if let Some(plugins) = &plugins {
            tasks.push(tokio::spawn(
                plugins.clone().watch(refresh.clone(), stop.clone()),
            ));
        }
        let spec = self.pipeline_spec();
        let groups: Arc<[String]> = spec.groups.iter().map(|g| g.name.clone()).collect();
        let cache = SnapshotCache::new(group_index(&spec));
        let security = Security::load(&self.config.mcp)?;
        let options = self.source_options(&spec, &security);
        let served = options.collections.len();
        let mcp = McpServer::new(cache.clone(), options);
        let (listener, addr) = self.bind().await?;
        let (admin_listener, admin_addr) = self.bind_admin().await?;
        let callouts = self.callouts()?;
        let config = Arc::new(self.config.clone());
        let diagnostics = self.diagnostics.clone();
        let source_events = Arc::new(AtomicU64::new(0));
        let pipeline = self.start_pipeline(
            spec,
            cache.clone(),
            refresh,
            source_events.clone(),
            stop.clone(),
        )?;
        tasks.push(serve(mcp.clone(), listener));
        tasks.push(tokio::spawn(security.watch(stop.clone())));
        let admin = AdminState {
            cache: cache.clone(),
            mcp: mcp.clone(),
            diagnostics: diagnostics.clone(),
            groups: groups.clone(),
            plugins,
            config,
            source_events,
        };
        tasks.push(tokio::spawn(admin::serve(
            admin_listener,
            admin,
            stop.clone(),
        )));
        let ready = mark_ready(cache.clone(), groups, mcp.clone());
        tasks.push(tokio::spawn(until(stop.clone(), ready)));
        tasks.extend(
            callouts
                .into_iter()
                .map(|options| call_out(mcp.clone(), options)),
        );
        info!(address = %addr, admin = %admin_addr, collections = served, "galleon is serving MCP");
        Ok(RunningHub {
            addr,
            admin_addr,
            mcp,
            cache,
            diagnostics,
            stop,
            tasks,
            pipeline: Some(pipeline),
        })
    }
}

/// How an upstream source at `address` dials, as configured.
fn upstream_options(
    address: &str,
    node_id: &str,
    tls: Option<&crate::config::DialTlsConfig>,
) -> Result<UpstreamOptions, HubError> {
    Ok(UpstreamOptions {
        node_id: node_id.to_owned(),
        tls: tls
            .map(|tls| security::dial_tls(address, tls))
            .transpose()?,
        ..UpstreamOptions::default()
    })
}

impl Hub {
    /// Every path of a file source that is not optional must exist: a
    /// mistyped path would otherwise serve an empty world.
    fn check_paths(&self) -> Result<(), HubError> {
        let required = self.config.sources.iter().flat_map(|source| match source {
            SourceConfig::Files(files) if !files.optional => files.paths.as_slice(),
            _ => &[],
        });
        for path in required {
            if let Err(error) = std::fs::metadata(path)
                && error.kind() == std::io::ErrorKind::NotFound
            {
                return Err(HubError::MissingPath(path.clone()));
            }
        }
        Ok(())
    }

    /// The configured upstream hubs, as sources reading typed bodies with
    /// `pool`.
    fn add_upstreams(&mut self, pool: DescriptorPool) -> Result<(), HubError> {
        let (registry, diagnostics) = (&self.registry, &self.diagnostics);
        let mut upstreams: Vec<Arc<dyn Source>> = Vec::new();
        for source in &self.config.sources {
            match source {
                SourceConfig::Mcp(mcp) => {
                    let options = upstream_options(&mcp.address, &mcp.node_id, mcp.tls.as_ref())?;
                    upstreams.push(Arc::new(McpUpstream::new(
                        &mcp.address,
                        &mcp.collections,
                        options,
                        registry,
                        pool.clone(),
                        diagnostics.clone(),
                    )?));
                }
                SourceConfig::Xds(xds) => {
                    let options = upstream_options(&xds.address, &xds.node_id, xds.tls.as_ref())?;
                    upstreams.push(Arc::new(XdsUpstream::new(
                        &xds.address,
                        &xds.types,
                        options,
                        registry,
                        pool.clone(),
                        diagnostics.clone(),
                    )?));
                }
                SourceConfig::Files(_) | SourceConfig::Etcd(_) | SourceConfig::Kubernetes(_) => {}
            }
        }
        self.sources.extend(upstreams);
        Ok(())
    }

    /// Loads the built-in and configured plugins (off the async workers:
    /// compiling is CPU-bound) and adds their transformers and validators.
    async fn load_plugins(&mut self) -> Result<Option<Arc<PluginHost>>, HubError> {
        if !galleon_plugin_host::binds_any(&self.config.plugins) {
            return Ok(None);
        }
        let (config, registry, diagnostics) = (
            self.config.plugins.clone(),
            self.registry.clone(),
            self.diagnostics.clone(),
        );
        let plugins =
            tokio::task::spawn_blocking(move || PluginHost::load(&config, registry, diagnostics))
                .await
                .map_err(|error| HubError::Thread(std::io::Error::other(error)))??;
        let plugins = Arc::new(plugins);
        self.transformers.extend(plugins.transformer_factories());
        self.validators.extend(plugins.validator_factories());
        Ok(Some(plugins))
    }

    /// The MCP server's options: the collections `spec` serves and the
    /// configured limits.
    fn source_options(&self, spec: &PipelineSpec, security: &Security) -> ServerOptions {
        let mcp = &self.config.mcp;
        ServerOptions {
            collections: spec
                .served_collections()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            metadata: pairs(&mcp.metadata),
            max_concurrent_streams: mcp.max_concurrent_streams,
            stall_timeout: mcp.stall_timeout,
            max_request_size: mcp.max_request_size,
            max_connections: mcp.max_connections.unwrap_or_else(default_max_connections),
            handshake_timeout: mcp.handshake_timeout,
            xds_types: self.xds_types(spec),
            stream_rate: StreamRate {
                burst: mcp.stream_rate.burst,
                per_second: mcp.stream_rate.per_second,
            },
            tls: security.tls.clone(),
            access: security.access.clone(),
        }
    }

    /// MCP over xDS: every GVK of every served kind (each of its API
    /// versions), and the mesh config as istiod asks for it.
    fn xds_types(&self, spec: &PipelineSpec) -> BTreeMap<String, XdsType> {
        let served = spec.served_collections();
        let kinds = self.registry.schemas().into_iter().filter_map(|schema| {
            let output = schema.output.as_ref().filter(|o| served.contains(o))?;
            let target = XdsType {
                collection: output.to_string(),
                bare: false,
            };
            Some(schema.gvks().map(move |gvk| (gvk, target.clone())))
        });
        let mesh = XdsType {
            collection: MESH_CONFIG.to_owned(),
            bare: true,
        };
        kinds
            .flatten()
            .chain([(MESH_CONFIG_GVK.to_owned(), mesh)])
            .collect()
    }

    /// Binds the MCP address (with a backlog for a fleet reconnecting).
    async fn bind(&self) -> Result<(TcpListener, SocketAddr), HubError> {
        let address = self.config.mcp.address;
        let bind_error = |source| HubError::Bind { address, source };
        let listener = galleon_mcp::server::bind(address).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok((listener, addr))
    }

    /// Binds the admin address.
    async fn bind_admin(&self) -> Result<(TcpListener, SocketAddr), HubError> {
        let address = self.config.admin.address;
        let bind_error = |source| HubError::Bind { address, source };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok((listener, addr))
    }

    /// The configured callouts.
    fn callouts(&self) -> Result<Vec<CalloutOptions>, HubError> {
        let callouts = &self.config.mcp.callouts;
        callouts
            .iter()
            .map(|callout| {
                let tls = callout
                    .tls
                    .as_ref()
                    .map(|tls| security::dial_tls(&callout.address, tls))
                    .transpose()?;
                Ok(CalloutOptions {
                    address: callout.address.clone(),
                    metadata: pairs(&callout.metadata),
                    backoff: BackoffOptions::default(),
                    tls,
                })
            })
            .collect()
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

/// Configured key/value pairs, as the MCP options take them.
fn pairs(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// 10,000, or half the open-file limit if that is lower: the sources keep
/// descriptors to read with however many sinks connect.
fn default_max_connections() -> usize {
    let files = rlimit::Resource::NOFILE
        .get()
        .map_or(u64::MAX, |(soft, _)| soft);
    usize::try_from(files / 2)
        .unwrap_or(usize::MAX)
        .min(galleon_mcp::server::DEFAULT_MAX_CONNECTIONS)
}
