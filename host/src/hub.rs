//! Assembles a hub from its configuration — registry, sources, pipeline,
//! snapshot cache, MCP server and callouts — and runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{HubConfig, SourceConfig};
use crate::source::{Aggregate, FileSource, MeshSource, Source};
use galleon_mcp::BackoffOptions;
use galleon_mcp::cache::{CollectionGroups, DEFAULT_GROUP, SnapshotCache};
use galleon_mcp::source::{CalloutOptions, McpSource, SourceOptions};
use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::event::Collection;
use galleon_pipeline::registry::{MESH_CONFIG, Registry, Schema};
use galleon_pipeline::{
    DirectMapping, GroupSpec, PipelineSpec, Runtime, Strategy, TransformerFactory, ValidatorFactory,
};
use galleon_plugin_host::PluginHost;

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
        for SourceConfig::Files(files) in &config.sources {
            let source =
                FileSource::new(files.paths.clone(), registry.clone(), diagnostics.clone())
                    .with_max_file_size(files.max_file_size)
                    .with_watch(files.watch)
                    .with_external_symlinks(files.follow_external_symlinks);
            sources.push(Arc::new(source));
        }
        Self {
            config,
            registry,
            diagnostics,
            sources,
            transformers: Vec::new(),
            validators: Vec::new(),
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
            codecs: Default::default(),
            validators: self.validators.clone(),
        }
    }

    /// Loads the plugins, binds the MCP address and starts everything.
    pub async fn start(mut self) -> Result<RunningHub, HubError> {
        self.check_paths()?;
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let refresh = Arc::new(Notify::new());
        if galleon_plugin_host::binds_any(&self.config.plugins) {
            let (config, registry, diagnostics) = (
                self.config.plugins.clone(),
                self.registry.clone(),
                self.diagnostics.clone(),
            );
            let plugins = tokio::task::spawn_blocking(move || {
                PluginHost::load(&config, registry, diagnostics)
            })
            .await
            .expect("plugin loading does not panic")?;
            let plugins = Arc::new(plugins);
            self.transformers.extend(plugins.transformer_factories());
            self.validators.extend(plugins.validator_factories());
            tasks.push(tokio::spawn(plugins.watch(refresh.clone(), stop.clone())));
        }
        let spec = self.pipeline_spec();
        let index = spec
            .groups
            .iter()
            .flat_map(|g| {
                g.collections
                    .iter()
                    .map(move |c| (c.to_string(), g.name.clone()))
            })
            .fold(CollectionGroups::new(), |index, (c, g)| index.assign(c, g));
        let cache = SnapshotCache::new(index);
        let mcp_config = &self.config.mcp;
        let options = SourceOptions {
            collections: spec
                .served_collections()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            metadata: mcp_config
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            max_concurrent_streams: mcp_config.max_concurrent_streams,
            stall_timeout: mcp_config.stall_timeout,
            max_request_size: mcp_config.max_request_size,
            max_connections: mcp_config
                .max_connections
                .unwrap_or_else(default_max_connections),
            handshake_timeout: mcp_config.handshake_timeout,
        };
        let served = options.collections.len();
        let mcp = McpSource::new(cache.clone(), options);
        let address = mcp_config.address;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| HubError::Bind { address, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| HubError::Bind { address, source })?;

        let source: Arc<dyn Source> = Arc::new(Aggregate::new(self.sources));
        info!(sources = %source.name(), "starting the pipeline");
        let runtime = Runtime::new(
            source,
            spec,
            cache.clone(),
            self.diagnostics.clone(),
            self.config.domain.clone(),
        )
        .with_refresh(refresh);
        let pipeline = spawn_pipeline(runtime, stop.clone()).map_err(HubError::Thread)?;
        let server = mcp.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = server.serve(listener).await {
                warn!("MCP server failed: {error}");
            }
        }));
        for callout in &mcp_config.callouts {
            let options = CalloutOptions {
                address: callout.address.clone(),
                metadata: callout
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                backoff: BackoffOptions::default(),
            };
            let source = mcp.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(error) = source.callout(options).await {
                    warn!("callout failed: {error}");
                }
            }));
        }
        info!(address = %addr, collections = served, "galleon is serving MCP");
        Ok(RunningHub {
            addr,
            mcp,
            cache,
            diagnostics: self.diagnostics,
            stop,
            tasks,
            pipeline: Some(pipeline),
        })
    }
}

impl Hub {
    /// Every path of a file source that is not optional must exist: a
    /// mistyped path would otherwise serve an empty world.
    fn check_paths(&self) -> Result<(), HubError> {
        let required = self.config.sources.iter().flat_map(|source| match source {
            SourceConfig::Files(files) if !files.optional => files.paths.as_slice(),
            SourceConfig::Files(_) => &[],
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
}

/// 10,000, or half the open-file limit if that is lower: the sources keep
/// descriptors to read with however many sinks connect.
fn default_max_connections() -> usize {
    let files = rlimit::Resource::NOFILE
        .get()
        .map_or(u64::MAX, |(soft, _)| soft);
    usize::try_from(files / 2)
        .unwrap_or(usize::MAX)
        .min(galleon_mcp::source::DEFAULT_MAX_CONNECTIONS)
}

/// Runs the pipeline on a thread of its own: plugin calls are synchronous
/// (each bounded by its deadline) and must not hold up the MCP server. The
/// runtime is multi-threaded (one worker, for the sources' tasks) so plugin
/// calls can step out of it with `block_in_place`.
fn spawn_pipeline(
    runtime: Runtime,
    stop: CancellationToken,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("galleon-sources")
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("galleon-pipeline".into())
        .spawn(move || {
            tokio.block_on(runtime.run(stop));
            // A file still being parsed must not hold up the exit.
            tokio.shutdown_background();
        })
}

fn resolve_groups(config: &HubConfig, outputs: &BTreeSet<Collection>) -> Vec<GroupSpec> {
    let mut listed = BTreeSet::new();
    let mut groups: Vec<GroupSpec> = config
        .groups
        .iter()
        .map(|g| {
            let collections = g
                .collections
                .iter()
                .filter(|c| {
                    let first = listed.insert(c.to_string());
                    if !first {
                        warn!(collection = %c, group = %g.name, "collection is already in another group; ignored here");
                    }
                    first
                })
                .map(|c| Collection::from(c.as_str()))
                .collect();
            GroupSpec { name: g.name.clone(), strategy: g.strategy(), collections }
        })
        .collect();
    let unlisted: Vec<Collection> = outputs
        .iter()
        .filter(|c| !listed.contains(&***c))
        .cloned()
        .collect();
    if !unlisted.is_empty() {
        match groups.iter_mut().find(|g| g.name == DEFAULT_GROUP) {
            Some(default) => default.collections.extend(unlisted),
            None => groups.push(GroupSpec {
                name: DEFAULT_GROUP.into(),
                strategy: Strategy::debounce(),
                collections: unlisted,
            }),
        }
    }
    groups
}

/// A hub that is running.
pub struct RunningHub {
    addr: SocketAddr,
    mcp: McpSource,
    cache: SnapshotCache,
    diagnostics: Diagnostics,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    pipeline: Option<std::thread::JoinHandle<()>>,
}

impl RunningHub {
    /// The address the MCP server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The MCP source (stats, sink status).
    pub fn mcp(&self) -> &McpSource {
        &self.mcp
    }

    /// The snapshot cache.
    pub fn cache(&self) -> &SnapshotCache {
        &self.cache
    }

    /// The ledger of bad input.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Stops gracefully: sink streams end cleanly, sources stop.
    pub async fn shutdown(mut self) {
        self.mcp.shutdown();
        self.stop.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some(pipeline) = self.pipeline.take() {
            let _ = tokio::task::spawn_blocking(move || pipeline.join()).await;
        }
    }
}
