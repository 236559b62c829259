//! A transformer's canary as the hub runs it: the twin pipeline with the
//! candidate in place of the binding's build, and the routing that serves
//! the sinks its selector picks from the twin's groups.

use std::sync::Arc;

use galleon_mcp::cache::{CollectionGroups, NodeSelector};
use galleon_pipeline::canary::CANARY_SUFFIX;
use galleon_pipeline::{CanarySpec, PipelineSpec};
use galleon_plugin_host::PluginHost;

use super::HubError;

/// The canary pipeline of `spec`, when a binding has a canary: `spec`'s
/// transformers with the plugin host's (from `offset` on) replaced by the
/// canary's.
pub(super) fn spec(plugins: &PluginHost, spec: &PipelineSpec, offset: usize) -> Option<CanarySpec> {
    let (_, ended) = plugins.canary()?;
    let canary = plugins.canary_factories()?;
    let mut transformers = spec.transformers.clone();
    transformers.splice(offset..offset + canary.len(), canary);
    Some(CanarySpec {
        transformers,
        suffix: CANARY_SUFFIX.into(),
        ended: Arc::clone(&ended),
    })
}

/// `index`, with the canary's sinks served from the twin groups.
pub(super) fn route(
    plugins: Option<&PluginHost>,
    index: CollectionGroups,
) -> Result<CollectionGroups, HubError> {
    let Some((sinks, _)) = plugins.and_then(PluginHost::canary) else {
        return Ok(index);
    };
    let selector = NodeSelector::new(sinks.node_id.as_deref(), sinks.metadata.clone())
        .map_err(|e| HubError::CanarySelector(e.to_string()))?;
    Ok(index.canary(selector, CANARY_SUFFIX))
}
