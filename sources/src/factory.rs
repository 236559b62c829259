//! Every configured source built in one pass: [`build`] turns the
//! `sources:` entries (and the mesh-config file) into running sources, the
//! one place where source configuration becomes source options.

use std::path::PathBuf;
use std::sync::Arc;

use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::registry::Registry;
use galleon_schemas::DescriptorPool;

use galleon_mcp::tls::ClientTls;

use crate::config::SourceConfig;
use crate::health::SourceHealth;
use crate::upstream::{UpstreamError, UpstreamOptions};
use crate::{
    EtcdSource, FileSource, KubernetesSource, McpUpstream, MeshSource, Source, XdsUpstream,
};

/// What every source is built with.
pub struct SourceContext {
    /// The kinds the hub understands.
    pub registry: Arc<Registry>,
    /// The ledger of bad input.
    pub diagnostics: Diagnostics,
    /// The schemas typed bodies are read with (upstream resources).
    pub pool: DescriptorPool,
    /// Where every source reports its links' health.
    pub health: SourceHealth,
}

/// Why the configured sources cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A file source's path does not exist (and the source is not optional).
    #[error(
        "file source path {} does not exist (mark the source `optional: true` to serve it once it appears)",
        .0.display()
    )]
    MissingPath(PathBuf),
    /// An upstream source cannot be set up as configured.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// The mesh-config source (over `mesh_config`, or Galley's defaults), then
/// one source per entry of `configs`, in order.
pub fn build(
    configs: &[SourceConfig],
    mesh_config: Option<PathBuf>,
    context: &SourceContext,
) -> Result<Vec<Arc<dyn Source>>, BuildError> {
    let mesh = MeshSource::new(mesh_config, context.diagnostics.clone());
    let mut sources: Vec<Arc<dyn Source>> = vec![Arc::new(mesh)];
    for config in configs {
        sources.push(source(config, context)?);
    }
    Ok(sources)
}

/// The source `config` describes.
fn source(config: &SourceConfig, context: &SourceContext) -> Result<Arc<dyn Source>, BuildError> {
    let SourceContext {
        registry,
        diagnostics,
        pool,
        health,
    } = context;
    Ok(match config {
        SourceConfig::Files(files) => {
            if !files.optional {
                check_paths(&files.paths)?;
            }
            let source =
                FileSource::new(files.paths.clone(), registry.clone(), diagnostics.clone())
                    .with_max_file_size(files.max_file_size)
                    .with_watch(files.watch)
                    .with_external_symlinks(files.follow_external_symlinks)
                    .with_health(health.clone());
            Arc::new(source)
        }
        SourceConfig::Etcd(etcd) => Arc::new(
            EtcdSource::new(
                etcd.endpoints.clone(),
                etcd.prefix.clone(),
                registry.clone(),
                diagnostics.clone(),
            )
            .with_max_value_size(usize::try_from(etcd.max_value_size).unwrap_or(usize::MAX))
            .with_health(health.clone()),
        ),
        SourceConfig::Kubernetes(kubernetes) => Arc::new(
            KubernetesSource::new(kubernetes.clone(), registry.clone(), diagnostics.clone())
                .with_health(health.clone()),
        ),
        SourceConfig::Mcp(mcp) => Arc::new(McpUpstream::new(
            &mcp.address,
            &mcp.collections,
            upstream_options(
                &mcp.node_id,
                mcp.tls.as_ref(),
                mcp.max_resource_size,
                health,
            ),
            registry,
            pool.clone(),
            diagnostics.clone(),
        )?),
        SourceConfig::Xds(xds) => Arc::new(XdsUpstream::new(
            &xds.address,
            &xds.types,
            upstream_options(
                &xds.node_id,
                xds.tls.as_ref(),
                xds.max_resource_size,
                health,
            ),
            registry,
            pool.clone(),
            diagnostics.clone(),
        )?),
    })
}

/// How an upstream dials, as configured.
fn upstream_options(
    node_id: &str,
    tls: Option<&ClientTls>,
    max_size: u64,
    health: &SourceHealth,
) -> UpstreamOptions {
    UpstreamOptions {
        health: health.clone(),
        node_id: node_id.to_owned(),
        tls: tls.cloned(),
        max_resource_size: usize::try_from(max_size).unwrap_or(usize::MAX),
        ..UpstreamOptions::default()
    }
}

/// Each of `paths` must exist: a mistyped path would otherwise serve an
/// empty world.
fn check_paths(paths: &[PathBuf]) -> Result<(), BuildError> {
    for path in paths {
        if let Err(error) = std::fs::metadata(path)
            && error.kind() == std::io::ErrorKind::NotFound
        {
            return Err(BuildError::MissingPath(path.clone()));
        }
    }
    Ok(())
}
