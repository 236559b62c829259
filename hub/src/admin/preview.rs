//! `POST /debug/plugins/preview?binding=NAME`: a candidate build of a
//! transformer (the request body, a `.wasm` component) run on the binding's
//! live inputs beside the current build, in a sandbox of its own, never
//! serving; answers with the output diff it would cause, what it logged
//! and its cost per event against the current build's. A privileged
//! request, as rollbacks are.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use galleon_mcp::quote::quote;
use galleon_pipeline::event::Entry;
use galleon_plugin_host::{Cost, OutputChange, PreviewError, PreviewReport};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::info;

use super::AdminState;
use super::api::{BuildCost, LoggedLine, PluginPreview, PreviewChange, PreviewRejection};
use super::resource_diff::{Refusal, readable_form, refusal, resource_diff};
use super::writer::Writer;

/// The largest component a preview takes (a Python component, interpreter
/// included, is about 40 MiB).
const MAX_COMPONENT_BYTES: usize = 128 << 20;

/// The query of a preview.
#[derive(Deserialize)]
pub(super) struct PreviewQuery {
    binding: String,
}

pub(super) async fn preview(
    State(state): State<AdminState>,
    // Privilege first: a refused client's upload is never read.
    Writer(by): Writer,
    Query(query): Query<PreviewQuery>,
    body: Body,
) -> Result<Json<PluginPreview>, Refusal> {
    let Some(plugins) = state.plugins.clone() else {
        let message = "no plugin is bound: there is nothing to preview";
        return Err(refusal(StatusCode::NOT_FOUND, message));
    };
    let bytes = axum::body::to_bytes(body, MAX_COMPONENT_BYTES)
        .await
        .map_err(|e| {
            let message = format!(
                "cannot read the component (at most {} MiB): {e}",
                MAX_COMPONENT_BYTES >> 20
            );
            refusal(StatusCode::PAYLOAD_TOO_LARGE, message)
        })?;
    if bytes.is_empty() {
        let message = "send the candidate .wasm component as the request body";
        return Err(refusal(StatusCode::BAD_REQUEST, message));
    }
    info!(binding = %quote(&query.binding), %by, bytes = bytes.len(), "plugin preview requested");
    let report = plugins
        .preview(&query.binding, bytes.to_vec())
        .await
        .map_err(|error| refusal(status(&error), error))?;
    info!(binding = %report.binding, %by, candidate = %report.candidate, changes = report.changes.len(), "plugin preview run; nothing served changed");
    let shown = tokio::task::spawn_blocking(move || shown(report))
        .await
        .map_err(|e| refusal(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(Json(shown))
}

fn status(error: &PreviewError) -> StatusCode {
    match error {
        PreviewError::UnknownBinding { .. } => StatusCode::NOT_FOUND,
        PreviewError::NotTransformer { .. } => StatusCode::BAD_REQUEST,
        PreviewError::Collections { .. } | PreviewError::Candidate(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        PreviewError::Dropped { .. } | PreviewError::NotRun { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// The report as the API shows it: each change diffed field by field.
fn shown(report: PreviewReport) -> PluginPreview {
    let (current_cost, current_failure) = match report.current_cost {
        Ok(cost) => (Some(build_cost(cost)), None),
        Err(why) => (None, Some(why)),
    };
    PluginPreview {
        binding: report.binding,
        current: report.current,
        candidate: report.candidate,
        replayed: report.replayed,
        unchanged: report.unchanged,
        changes: report.changes.into_iter().map(change).collect(),
        rejections: report
            .rejections
            .into_iter()
            .map(|(collection, name, message)| PreviewRejection {
                collection,
                name,
                message,
            })
            .collect(),
        log: report
            .log
            .lines
            .into_iter()
            .map(|(level, message)| LoggedLine { level, message })
            .collect(),
        log_dropped: report.log.dropped,
        candidate_cost: build_cost(report.candidate_cost),
        current_cost,
        current_failure,
    }
}

fn change(change: OutputChange) -> PreviewChange {
    let (before, after) = (change.before.as_deref(), change.after.as_deref());
    let origin = after
        .or(before)
        .and_then(|e| e.origin.as_ref())
        .map(|o| o.to_string());
    let readable = |entry: Option<&Entry>| entry.map_or(Value::Null, readable);
    PreviewChange {
        collection: change.collection,
        diff: resource_diff(change.name, origin, &readable(before), &readable(after)),
    }
}

fn readable(entry: &Entry) -> Value {
    readable_form(
        &entry.name,
        json!(entry.labels),
        json!(entry.annotations),
        entry.body.value(),
    )
}

fn build_cost(cost: Cost) -> BuildCost {
    let micros = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    BuildCost {
        start_us: micros(cost.start),
        replay_us: micros(cost.replay),
        per_event_ns: u64::try_from(cost.per_event.as_nanos()).unwrap_or(u64::MAX),
        peak_memory: cost.peak_memory,
    }
}
