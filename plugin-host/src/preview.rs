//! Plugin preview: a candidate build of a transformer run beside the
//! current one on the binding's live inputs, and what it would change.
//!
//! The host compiles the candidate off the pipeline thread and queues it on
//! the binding. The pipeline thread, on its next refresh, copies the
//! binding's live state (its inputs, which collections synced, the outputs
//! being served: shared entries, so a copy costs pointers) and hands it to a
//! thread of its own. There both builds replay the inputs, each in a fresh
//! sandbox whose `log` lines are kept aside. Nothing is served, counted in
//! the binding's stats or reported to the ledger: the report is the only
//! effect.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::warn;

use super::component::LoadedTransformer;
use super::crossing::{Key, apply, cross, replay_events};
use super::error::PluginError;
use super::instance::Instance;
use super::limits::Limits;
use super::sandbox::{CapturedLog, LogCapture, Sandbox};
use galleon_pipeline::event::{Collection, Entry, Event};
use galleon_pipeline::mesh::MeshSettings;

/// How long a preview waits for the pipeline to take it and run it.
pub(crate) const PREVIEW_WAIT: Duration = Duration::from_secs(120);

/// Why a preview could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// No binding has that name.
    #[error("no plugin binding is named {name:?}; the transformers are: {known}")]
    UnknownBinding {
        /// The name asked for.
        name: String,
        /// The transformer bindings, comma-separated.
        known: String,
    },
    /// The binding is a validator or analyzer.
    #[error(
        "plugin {name} is a {kind}; only transformers are previewed (their outputs are what sinks receive)"
    )]
    NotTransformer {
        /// The binding.
        name: String,
        /// What it is.
        kind: &'static str,
    },
    /// The candidate reads or writes other collections than the binding.
    #[error(
        "the candidate for {name} declares inputs {inputs:?} and outputs {outputs:?}, the binding {current_inputs:?} and {current_outputs:?}; a preview replays the same collections (bind it under a new name and restart to try other ones)"
    )]
    Collections {
        /// The binding.
        name: String,
        /// The candidate's inputs.
        inputs: Vec<String>,
        /// The candidate's outputs.
        outputs: Vec<String>,
        /// The current build's inputs.
        current_inputs: Vec<String>,
        /// The current build's outputs.
        current_outputs: Vec<String>,
    },
    /// The candidate did not load, start or replay.
    #[error("the candidate build failed: {0}")]
    Candidate(#[source] PluginError),
    /// The pipeline session that took it ended first, or no thread could
    /// run it.
    #[error("the preview of {name} was dropped before it ran (see the hub's log)")]
    Dropped {
        /// The binding.
        name: String,
    },
    /// No pipeline session took the preview in time.
    #[error(
        "the pipeline did not run the preview of {name} within {waited:?} (is it still loading its sources, or stopping?)"
    )]
    NotRun {
        /// The binding.
        name: String,
        /// How long it waited.
        waited: Duration,
    },
}

/// What a candidate build would change.
#[derive(Debug)]
pub struct PreviewReport {
    /// The binding.
    pub binding: String,
    /// The digest of the build serving now.
    pub current: String,
    /// The candidate's digest.
    pub candidate: String,
    /// Events each build was handed (`Reset`, every input, the syncs).
    pub replayed: usize,
    /// Every output the candidate would add, change or remove, by
    /// collection and name.
    pub changes: Vec<OutputChange>,
    /// Outputs it would leave as they are.
    pub unchanged: usize,
    /// Inputs the candidate rejected: `(collection, name, its message)`.
    pub rejections: Vec<(String, String, String)>,
    /// What the candidate logged (while loading and replaying).
    pub log: CapturedLog,
    /// What the candidate's replay cost.
    pub candidate_cost: Cost,
    /// What the current build's replay of the same events cost, or why
    /// it failed.
    pub current_cost: Result<Cost, String>,
}

/// One output a candidate would change: `before` is what is served now,
/// `after` what it would serve (`None`: absent).
#[derive(Debug)]
pub struct OutputChange {
    /// The output collection.
    pub collection: String,
    /// The resource's name.
    pub name: String,
    /// Served now.
    pub before: Option<Arc<Entry>>,
    /// What the candidate would serve.
    pub after: Option<Arc<Entry>>,
}

/// What a build's replay cost.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// Instantiating and configuring it.
    pub start: Duration,
    /// Handling every replayed event.
    pub replay: Duration,
    /// `replay` per event.
    pub per_event: Duration,
    /// The most linear memory it grew to, in bytes.
    pub peak_memory: usize,
}

/// A compiled candidate waiting for the pipeline thread.
pub(crate) struct PreviewRequest {
    pub(crate) loaded: Arc<LoadedTransformer>,
    /// The sandbox it was compiled in, whose capture holds its log.
    pub(crate) sandbox: Sandbox,
    pub(crate) capture: LogCapture,
    pub(crate) reply: oneshot::Sender<Result<PreviewReport, PreviewError>>,
}

/// A binding's waiting previews.
#[derive(Default)]
pub(crate) struct PreviewQueue(Mutex<Vec<PreviewRequest>>);

impl PreviewQueue {
    pub(crate) fn push(&self, request: PreviewRequest) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
    }

    /// Takes every waiting preview (cheap when none waits).
    pub(crate) fn take(&self) -> Vec<PreviewRequest> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A copy of a transformer's live state, for a preview to replay: its
/// binding's name, sandbox, limits and settings, and what it holds.
pub(crate) struct LiveState {
    pub(crate) name: String,
    pub(crate) sandbox: Sandbox,
    pub(crate) limits: Limits,
    pub(crate) settings: String,
    pub(crate) inputs: BTreeMap<Key, Arc<Entry>>,
    pub(crate) synced: BTreeSet<Collection>,
    pub(crate) outputs: BTreeMap<Key, Arc<Entry>>,
    pub(crate) mesh: MeshSettings,
    pub(crate) current: Arc<LoadedTransformer>,
}

/// Runs `request` over `live` on a thread of its own and answers it there.
pub(crate) fn serve(request: PreviewRequest, live: LiveState) {
    let spawned = std::thread::Builder::new()
        .name("plugin-preview".into())
        .spawn(move || {
            let report = run(&request, live);
            let _ = request.reply.send(report);
        });
    if let Err(error) = spawned {
        warn!("cannot start a preview thread, the preview is dropped: {error}");
    }
}

fn run(request: &PreviewRequest, live: LiveState) -> Result<PreviewReport, PreviewError> {
    let events = replay_events(&live.inputs, &live.synced);
    let candidate = &request.loaded;
    let replayed = replay(&request.sandbox, candidate.clone(), &live, &events)
        .map_err(PreviewError::Candidate)?;
    let (quiet, _) = live.sandbox.capturing();
    let current_cost = replay(&quiet, live.current.clone(), &live, &events)
        .map(|r| r.cost)
        .map_err(|e| e.to_string());
    let (changes, unchanged) = compare(&live.outputs, &replayed.outputs);
    Ok(PreviewReport {
        binding: live.name.clone(),
        current: live.current.digest.clone(),
        candidate: candidate.digest.clone(),
        replayed: events.len(),
        changes,
        unchanged,
        rejections: replayed.rejections,
        log: request.capture.taken(),
        candidate_cost: replayed.cost,
        current_cost,
    })
}

/// What one build's replay produced.
struct Replayed {
    outputs: BTreeMap<Key, Arc<Entry>>,
    rejections: Vec<(String, String, String)>,
    cost: Cost,
}

/// Starts `loaded` in `sandbox` under the binding's limits and settings
/// and replays `events` into it in one crossing.
fn replay(
    sandbox: &Sandbox,
    loaded: Arc<LoadedTransformer>,
    live: &LiveState,
    events: &[Event],
) -> Result<Replayed, PluginError> {
    let started = Instant::now();
    let declared = loaded.description.outputs.clone();
    let mut instance = Instance::start(
        sandbox,
        &live.name,
        (0, loaded),
        live.limits,
        &live.settings,
        &live.mesh,
    )?;
    let start = started.elapsed();
    let crossing = Instant::now();
    let answers = cross(&mut instance, events, &live.inputs, &declared)?;
    let replay = crossing.elapsed();
    let mut outputs = BTreeMap::new();
    let mut rejections = Vec::new();
    for (event, answer) in events.iter().zip(answers) {
        match answer {
            Ok(produced) => apply(&mut outputs, produced),
            Err(message) => rejections.push((
                event
                    .collection()
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                event.name().unwrap_or_default().to_owned(),
                message,
            )),
        }
    }
    let per_event = replay / u32::try_from(events.len().max(1)).unwrap_or(u32::MAX);
    Ok(Replayed {
        outputs,
        rejections,
        cost: Cost {
            start,
            replay,
            per_event,
            peak_memory: instance.peak_memory(),
        },
    })
}

/// The outputs that differ between what is served and what the candidate
/// produced, and how many are the same.
fn compare(
    served: &BTreeMap<Key, Arc<Entry>>,
    candidate: &BTreeMap<Key, Arc<Entry>>,
) -> (Vec<OutputChange>, usize) {
    let keys: BTreeSet<&Key> = served.keys().chain(candidate.keys()).collect();
    let mut unchanged = 0;
    let mut changes = Vec::new();
    for key in keys {
        let (before, after) = (served.get(key), candidate.get(key));
        if before == after {
            unchanged += 1;
            continue;
        }
        changes.push(OutputChange {
            collection: key.0.to_string(),
            name: key.1.clone(),
            before: before.cloned(),
            after: after.cloned(),
        });
    }
    (changes, unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use galleon_pipeline::event::Body;

    fn entry(name: &str, body: serde_json::Value) -> Arc<Entry> {
        Arc::new(Entry {
            name: name.into(),
            labels: Default::default(),
            annotations: Default::default(),
            create_time: None,
            version: "1".into(),
            body: Body::new(&body),
            origin: None,
        })
    }

    #[test]
    fn compare_names_every_added_changed_and_removed_output() {
        let c = Collection::from("out");
        let key = |n: &str| (c.clone(), n.to_owned());
        let served = BTreeMap::from([
            (key("same"), entry("same", serde_json::json!({"a": 1}))),
            (key("edited"), entry("edited", serde_json::json!({"a": 1}))),
            (key("gone"), entry("gone", serde_json::json!({}))),
        ]);
        let candidate = BTreeMap::from([
            (key("same"), entry("same", serde_json::json!({"a": 1}))),
            (key("edited"), entry("edited", serde_json::json!({"a": 2}))),
            (key("new"), entry("new", serde_json::json!({}))),
        ]);
        let (changes, unchanged) = compare(&served, &candidate);
        assert_eq!(unchanged, 1);
        let shown: Vec<_> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.before.is_some(), c.after.is_some()))
            .collect();
        assert_eq!(
            shown,
            [
                ("edited", true, true),
                ("gone", true, false),
                ("new", false, true)
            ]
        );
    }
}
