//! JSON introspection: the published snapshots, the connected sinks and
//! their sync state (`istioctl proxy-status` for galleon), and every
//! current problem with the input.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AdminState;
use super::api::{
    AnalysisMessage, BuildInfo, Endpoint, LinkHealth, PublishedCollection, ResourcePage,
    ScopedProblem, ServedResource, SinkStatus,
};
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

/// The query of `/debug/analysis`: every field optional, each narrowing.
#[derive(Deserialize)]
pub(super) struct AnalysisQuery {
    code: Option<String>,
    level: Option<String>,
    namespace: Option<String>,
    kind: Option<String>,
}

/// `/debug/analysis`: the analyzers' current messages, by level then
/// resource; `?code=IST0101&level=Error&namespace=bookinfo&kind=VirtualService`
/// narrow them (levels compare without case).
pub(super) async fn analysis(
    State(state): State<AdminState>,
    Query(query): Query<AnalysisQuery>,
) -> Json<Vec<AnalysisMessage>> {
    let registry = state.config.registry();
    let wanted = |value: &str, filter: &Option<String>| {
        filter
            .as_deref()
            .is_none_or(|f| f.eq_ignore_ascii_case(value))
    };
    let messages = super::api::analysis_messages(&state.findings, &registry)
        .into_iter()
        .filter(|m| {
            wanted(&m.code, &query.code)
                && wanted(&m.level, &query.level)
                && wanted(&m.resource.namespace, &query.namespace)
                && wanted(&m.resource.kind, &query.kind)
        })
        .collect();
    Json(messages)
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

/// `/debug/sources`: every source's links, up or down since when, and
/// while down why and what stays served.
pub(super) async fn sources(State(state): State<AdminState>) -> Json<Vec<LinkHealth>> {
    Json(state.health.links())
}

/// The endpoints `/debug` lists, with what each answers.
pub(super) const ENDPOINTS: &[(&str, &str)] = &[
    ("/", "the status page"),
    ("/healthz", "200 while the process answers"),
    ("/readyz", "200 once every snapshot group has published"),
    ("/metrics", "Prometheus metrics"),
    (
        "/debug/version",
        "build, uptime, host and configuration file",
    ),
    (
        "/debug/config",
        "the configuration in effect, secrets redacted",
    ),
    (
        "/debug/sources",
        "every source's links: up or down, since when, why",
    ),
    (
        "/debug/snapshots",
        "every published collection: version, size, age",
    ),
    (
        "/debug/resources?collection=…&offset=0&limit=100",
        "one page of a served collection: names, versions, origins, sizes",
    ),
    (
        "/debug/sinks",
        "every connected sink and what it has of each collection",
    ),
    ("/debug/diagnostics", "every current problem with the input"),
    (
        "/debug/analysis",
        "the analyzers' messages (?code=, level=, namespace=, kind=)",
    ),
    (
        "/debug/plugins",
        "every plugin binding: version, limits, calls, failures",
    ),
    (
        "/debug/memory",
        "where the bytes are: resident set, allocator, plugin instances, cache",
    ),
    (
        "/debug/history",
        "every collection's kept versions: newest, count, pin",
    ),
    (
        "/debug/history/versions?collection=…",
        "one collection's versions: when, caused by what, ACKed or NACKed by whom; writes",
    ),
    (
        "/debug/history/diff?collection=…&from=@-1&to=@0",
        "two versions compared: resources added, changed, removed, field by field",
    ),
    (
        "/debug/pins",
        "the rollbacks in force: version served, version hidden, by whom, until when",
    ),
    (
        "POST /debug/rollback?collection=…&to=…&for=…",
        "serve an earlier version (loopback admin only)",
    ),
    (
        "POST /debug/release?collection=…",
        "serve the newest version again (loopback admin only)",
    ),
    (
        "/debug/plugins/canary",
        "the canary: its binding, current and candidate builds, selector, state, and the sinks served the candidate",
    ),
    (
        "POST /debug/plugins/promote?binding=…",
        "make the canary's candidate the binding's build for every sink (loopback admin only)",
    ),
    (
        "POST /debug/plugins/abort?binding=…",
        "drop the canary: its sinks get the current build's outputs again (loopback admin only)",
    ),
    (
        "POST /debug/plugins/preview?binding=…",
        "run a candidate transformer build (the body, a .wasm) on the binding's live inputs: the output diff, its log and cost; nothing served changes (loopback admin only)",
    ),
];

/// `/debug`: the index of endpoints.
pub(super) async fn index() -> Json<Vec<Endpoint>> {
    Json(
        ENDPOINTS
            .iter()
            .map(|(path, description)| Endpoint {
                path: (*path).to_owned(),
                description: (*description).to_owned(),
            })
            .collect(),
    )
}

/// The query of `/debug/resources`.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    collection: String,
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// The most resources one page holds.
const MAX_PAGE: usize = 1_000;

/// `/debug/resources`: one page of a served collection, by name.
pub(super) async fn resources(
    State(state): State<AdminState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<ResourcePage>, (StatusCode, String)> {
    let collection = state
        .cache
        .groups()
        .into_iter()
        .filter_map(|group| state.cache.snapshot(&group))
        .find_map(|snapshot| snapshot.collection(&query.collection).cloned())
        .ok_or_else(|| {
            let message = format!(
                "no published collection {} (see /debug/snapshots)\n",
                galleon_mcp::quote::quote(&query.collection)
            );
            (StatusCode::NOT_FOUND, message)
        })?;
    let resources = collection
        .resources()
        .skip(query.offset)
        .take(query.limit.min(MAX_PAGE))
        .map(|r| ServedResource {
            name: r.name().to_string(),
            version: r.version().to_string(),
            origin: r.origin().map(str::to_owned),
            size: r.encoded().len(),
        })
        .collect();
    Ok(Json(ResourcePage {
        collection: collection.collection().to_owned(),
        version: collection.version().to_string(),
        total: collection.len(),
        offset: query.offset,
        resources,
    }))
}
