//! JSON introspection: the published snapshots, the connected sinks and
//! their sync state (`istioctl proxy-status` for galleon), and every
//! current problem with the input.

use axum::Json;
use axum::extract::State;

use super::AdminState;
use super::api::{BuildInfo, PublishedCollection, ScopedProblem, SinkStatus};
use crate::config::HubConfig;
use galleon_plugin_host::PluginStatus;

/// `/debug/snapshots`: every published collection, by group.
pub(super) async fn snapshots(State(state): State<AdminState>) -> Json<Vec<PublishedCollection>> {
    let mut views = Vec::new();
    for group in state.cache.groups() {
        let Some(snapshot) = state.cache.snapshot(&group) else {
            continue;
        };
        for collection in snapshot.collections() {
            views.push(PublishedCollection {
                group: group.clone(),
                collection: collection.collection().to_owned(),
                version: collection.version().to_string(),
                resources: collection.len(),
                published_at: humantime::format_rfc3339_seconds(collection.made_at()).to_string(),
            });
        }
    }
    Json(views)
}

/// `/debug/sinks`: every connected sink, and per collection (or xDS type)
/// the version it ACKed, the one pending, and its last NACK.
pub(super) async fn sinks(State(state): State<AdminState>) -> Json<Vec<SinkStatus>> {
    let mut sinks = state.cache.sinks();
    sinks.sort_by_key(|s| s.stream);
    Json(sinks)
}

/// `/debug/diagnostics`: every current problem with the input.
pub(super) async fn diagnostics(State(state): State<AdminState>) -> Json<Vec<ScopedProblem>> {
    let problems = state
        .diagnostics
        .current()
        .into_iter()
        .flat_map(|(scope, problems)| {
            let scope = scope.to_string();
            problems.into_iter().map(move |problem| ScopedProblem {
                scope: scope.clone(),
                problem,
            })
        })
        .collect();
    Json(problems)
}

/// `/debug/plugins`: every binding, the version it runs, its limits and
/// what it did since start.
pub(super) async fn plugins(State(state): State<AdminState>) -> Json<Vec<PluginStatus>> {
    Json(state.plugins.map(|p| p.status()).unwrap_or_default())
}

/// `/debug/config`: the configuration in effect, defaults filled in and
/// secrets (metadata values not marked public, URL passwords) redacted.
pub(super) async fn config(State(state): State<AdminState>) -> Json<HubConfig> {
    Json(state.config.redacted())
}

/// `/debug/version`: the hub's build, since when it runs, where, and with
/// which configuration file.
pub(super) async fn version(State(state): State<AdminState>) -> Json<BuildInfo> {
    let uptime = state.started.elapsed().unwrap_or_default();
    let host = std::env::var("POD_NAME").ok().or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_owned())
    });
    Json(BuildInfo {
        started_at: Some(humantime::format_rfc3339_seconds(state.started).to_string()),
        uptime_seconds: Some(uptime.as_secs()),
        host,
        config: state
            .config
            .source
            .as_ref()
            .map(|p| p.display().to_string()),
        ..BuildInfo::this_binary()
    })
}
