//! What was published, when, why and who has it, and the operators' writes
//! to it: `/debug/history` (every collection's kept versions),
//! `/debug/history/versions` (one collection's, with causes and answers),
//! `/debug/history/diff` (two versions, resource by resource, field by
//! field) and the privileged (see `writer`) `POST /debug/rollback` and
//! `/debug/release`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use galleon_mcp::cache::{CachedResource, CollectionHistory, CollectionSnapshot, PinStatus, short};
use galleon_mcp::quote::quote;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::warn;

use super::AdminState;
use super::api::{HistoryDiff, HistorySummary, ResourceDiff};
use super::resource_diff::{Refusal, readable_form, refusal, resource_diff};
use super::writer::Writer;

/// The collection (and optionally group) a request is about.
#[derive(Deserialize)]
pub(super) struct Target {
    collection: String,
    group: Option<String>,
}

impl Target {
    fn group(&self, state: &AdminState) -> Result<String, Refusal> {
        state
            .cache
            .history()
            .group_of(&self.collection, self.group.as_deref())
            .map_err(|e| refusal(StatusCode::NOT_FOUND, e))
    }
}

/// `/debug/history`: every collection with a history, newest version
/// first.
pub(super) async fn summary(State(state): State<AdminState>) -> Json<Vec<HistorySummary>> {
    let history = state.cache.history();
    let pins = state.cache.pins();
    let summaries = history
        .collections()
        .into_iter()
        .filter_map(|(group, collection)| {
            let kept = history.of(&group, &collection)?;
            let newest = kept.versions.first()?.clone();
            let pinned = pins
                .iter()
                .find(|p| p.group == group && p.collection == collection)
                .map(|p| p.version.clone());
            Some(HistorySummary {
                group,
                collection,
                versions: kept.versions.len(),
                newest,
                pinned,
            })
        })
        .collect();
    Json(summaries)
}

/// `/debug/pins`: the rollbacks in force.
pub(super) async fn pins(State(state): State<AdminState>) -> Json<Vec<PinStatus>> {
    Json(state.cache.pins())
}

/// `/debug/history/versions?collection=…`: one collection's kept versions
/// and the writes to it.
pub(super) async fn versions(
    State(state): State<AdminState>,
    Query(target): Query<Target>,
) -> Result<Json<CollectionHistory>, Refusal> {
    let group = target.group(&state)?;
    let kept = state.cache.history().of(&group, &target.collection);
    kept.map(Json).ok_or_else(|| {
        let message = format!("no history of {}", quote(&target.collection));
        refusal(StatusCode::NOT_FOUND, message)
    })
}

/// The query of `/debug/history/diff`.
#[derive(Deserialize)]
pub(super) struct DiffQuery {
    #[serde(flatten)]
    target: Target,
    /// Defaults to the version before `to`'s default, `@-1`.
    from: Option<String>,
    /// Defaults to the newest, `@0`.
    to: Option<String>,
}

/// `/debug/history/diff?collection=…&from=…&to=…`: what changed between
/// two kept versions.
pub(super) async fn diff(
    State(state): State<AdminState>,
    Query(query): Query<DiffQuery>,
) -> Result<Json<HistoryDiff>, Refusal> {
    let group = query.target.group(&state)?;
    let collection = &query.target.collection;
    let history = state.cache.history();
    let resolve = |reference: &str| {
        history
            .resolve(&group, collection, reference)
            .map_err(|e| refusal(StatusCode::NOT_FOUND, e))
    };
    let from = resolve(query.from.as_deref().unwrap_or("@-1"))?;
    let to = resolve(query.to.as_deref().unwrap_or("@0"))?;
    let at = |version: &str| {
        history.at(&group, collection, version).ok_or_else(|| {
            let message = format!("version {} is no longer kept", short(version));
            refusal(StatusCode::NOT_FOUND, message)
        })
    };
    let (before, after) = (at(&from)?, at(&to)?);
    let pool = state.pool.clone();
    let changes = tokio::task::spawn_blocking(move || changes(&pool, &before, &after))
        .await
        .map_err(|e| refusal(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(Json(HistoryDiff {
        group,
        collection: collection.clone(),
        from,
        to,
        changes,
    }))
}

/// Every resource that differs between `before` and `after`.
fn changes(
    pool: &galleon_schemas::DescriptorPool,
    before: &CollectionSnapshot,
    after: &CollectionSnapshot,
) -> Vec<ResourceDiff> {
    let delta = after.changes_from(before);
    let changed = delta.changed.iter().map(|now| {
        let old = before.get(now.name());
        (now.name().to_string(), old, Some(now))
    });
    let removed = delta
        .removed
        .iter()
        .map(|name| (name.to_string(), before.get(name), None));
    let mut changes: Vec<ResourceDiff> = changed
        .chain(removed)
        .map(|(name, old, new)| {
            let origin = new.or(old).and_then(|r| r.origin()).map(str::to_owned);
            let readable =
                |r: Option<&CachedResource>| r.map_or(Value::Null, |r| readable(pool, r));
            resource_diff(name, origin, &readable(old), &readable(new))
        })
        .collect();
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    changes
}

/// A resource as people read it: its metadata (not its content-hash
/// version, which changes with everything) and its body's fields.
fn readable(pool: &galleon_schemas::DescriptorPool, resource: &CachedResource) -> Value {
    let decoded = resource.decode();
    let metadata = decoded.metadata.unwrap_or_default();
    readable_form(
        &metadata.name,
        json!(metadata.labels),
        json!(metadata.annotations),
        decoded
            .body
            .as_ref()
            .map_or(Value::Null, |any| galleon_schemas::body_to_json(pool, any)),
    )
}

/// The query of `POST /debug/rollback`.
#[derive(Deserialize)]
pub(super) struct RollbackQuery {
    #[serde(flatten)]
    target: Target,
    /// The version to serve (any reference `/debug/history/diff` takes).
    to: String,
    /// How long, e.g. `10m`; until released when absent.
    #[serde(default, rename = "for", with = "humantime_serde")]
    duration: Option<Duration>,
}

/// `POST /debug/rollback?collection=…&to=…[&for=…]`: serves an earlier
/// kept version of a collection while its sources go on being read.
pub(super) async fn rollback(
    State(state): State<AdminState>,
    Writer(by): Writer,
    Query(query): Query<RollbackQuery>,
) -> Result<Json<PinStatus>, Refusal> {
    let group = query.target.group(&state)?;
    let collection = &query.target.collection;
    let version = state
        .cache
        .history()
        .resolve(&group, collection, &query.to)
        .map_err(|e| refusal(StatusCode::NOT_FOUND, e))?;
    let pin = state
        .cache
        .pin(&group, collection, &version, query.duration, &by)
        .map_err(|e| refusal(StatusCode::NOT_FOUND, e))?;
    warn!(collection = %quote(collection), %group, version = %pin.version, hides = ?pin.hides, until = ?pin.until, %by,
        "rollback: the collection is pinned to an earlier version; `galleon rollback --release` resumes");
    Ok(Json(pin))
}

/// `POST /debug/release?collection=…`: serves the newest version again.
pub(super) async fn release(
    State(state): State<AdminState>,
    Writer(by): Writer,
    Query(target): Query<Target>,
) -> Result<Json<Value>, Refusal> {
    let group = target.group(&state)?;
    if !state.cache.release(&group, &target.collection, &by) {
        let message = format!("{} is not pinned", quote(&target.collection));
        return Err(refusal(StatusCode::CONFLICT, message));
    }
    warn!(collection = %quote(&target.collection), %group, %by, "release: the collection serves its newest version again");
    Ok(Json(
        json!({ "released": target.collection, "group": group }),
    ))
}
