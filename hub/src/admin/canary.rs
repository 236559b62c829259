//! A transformer's canary on the admin server: `/debug/plugins/canary`
//! (the canary, which sinks it serves) and the privileged `POST
//! /debug/plugins/promote?binding=…` and `/debug/plugins/abort?binding=…`,
//! each written into the history of the binding's output collections.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use galleon_mcp::cache::rfc3339_now;
use galleon_pipeline::canary::CANARY_SUFFIX;
use galleon_plugin_host::{CanaryError, CanaryStatus};
use serde::Deserialize;
use tracing::warn;

use super::AdminState;
use super::api::CanaryView;
use super::resource_diff::{Refusal, refusal};
use super::writer::Writer;

pub(super) async fn canary(State(state): State<AdminState>) -> Result<Json<CanaryView>, Refusal> {
    let canary = state
        .plugins
        .as_ref()
        .and_then(|p| p.canary_status())
        .ok_or_else(|| refusal(StatusCode::NOT_FOUND, "no binding has a canary"))?;
    let mut sinks: Vec<String> = state
        .cache
        .sinks()
        .into_iter()
        .filter(|sink| {
            sink.collections
                .values()
                .any(|c| c.group.ends_with(CANARY_SUFFIX))
        })
        .map(|sink| sink.node_id)
        .collect();
    sinks.sort();
    sinks.dedup();
    Ok(Json(CanaryView { canary, sinks }))
}

/// The query of a promote or abort.
#[derive(Deserialize)]
pub(super) struct BindingQuery {
    binding: String,
}

pub(super) async fn promote(
    state: State<AdminState>,
    by: Writer,
    query: Query<BindingQuery>,
) -> Result<Json<CanaryStatus>, Refusal> {
    end(state, by, query, true).await
}

pub(super) async fn abort(
    state: State<AdminState>,
    by: Writer,
    query: Query<BindingQuery>,
) -> Result<Json<CanaryStatus>, Refusal> {
    end(state, by, query, false).await
}

async fn end(
    State(state): State<AdminState>,
    Writer(by): Writer,
    Query(query): Query<BindingQuery>,
    promote: bool,
) -> Result<Json<CanaryStatus>, Refusal> {
    let Some(plugins) = &state.plugins else {
        return Err(refusal(StatusCode::NOT_FOUND, "no plugin is bound"));
    };
    let ended = plugins
        .end_canary(&query.binding, promote, rfc3339_now(), &by)
        .map_err(|error| {
            let status = match error {
                CanaryError::NoCanary { .. } => StatusCode::NOT_FOUND,
                CanaryError::Ended { .. } => StatusCode::CONFLICT,
            };
            refusal(status, error)
        })?;
    let action = format!(
        "canary of {} {} (candidate {})",
        ended.binding, ended.state, ended.candidate
    );
    let history = state.cache.history();
    for (group, collection) in history.collections() {
        if ended.outputs.contains(&collection) {
            history.wrote(&group, &collection, &by, action.clone());
        }
    }
    warn!(binding = %ended.binding, %by, state = %ended.state, candidate = %ended.candidate, "{action}");
    Ok(Json(ended))
}
