//! Per-sink synchronisation status: which version of each collection every
//! connected sink was sent, acknowledged or rejected.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::history::{Answer, History};

/// What one connected sink has of each collection it subscribed to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkStatus {
    /// Hub-assigned id of the stream, unique in this process.
    pub stream: u64,
    /// The sink's self-declared node id.
    pub node_id: String,
    /// The sink's address, where known.
    pub peer: Option<String>,
    /// How it speaks: `mcp`, `xds-sotw` or `xds-delta`.
    pub protocol: std::borrow::Cow<'static, str>,
    /// When the stream opened (RFC 3339, as every time the admin server
    /// shows).
    pub connected_since: String,
    /// Per subscribed collection.
    pub collections: BTreeMap<String, CollectionStatus>,
}

/// One collection on one sink stream.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionStatus {
    /// Snapshot group the collection is served from.
    pub group: String,
    /// For an xDS type URL (the key), the collection behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// Whether the sink asked for incremental pushes.
    pub incremental: bool,
    /// Version of the push in flight, if any.
    pub pending_version: Option<String>,
    /// Last version the sink acknowledged.
    pub acked_version: Option<String>,
    /// Last rejection, if the sink's latest answer was a NACK.
    pub nack: Option<Nack>,
}

/// A rejected push.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Nack {
    /// The version the sink rejected.
    pub version: String,
    /// The sink's error message.
    pub message: String,
}

/// Now, as `connected_since` holds it (RFC 3339, to the second).
pub fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The status of every connected sink.
#[derive(Default)]
pub(crate) struct StatusBoard {
    sinks: Mutex<HashMap<u64, SinkStatus>>,
    /// Where each ACK and NACK is also noted, by version.
    history: Arc<History>,
}

impl StatusBoard {
    /// A board that notes every answer in `history`.
    pub(crate) fn new(history: Arc<History>) -> Self {
        Self {
            sinks: Mutex::default(),
            history,
        }
    }

    /// Registers a stream; its entry disappears when the handle is dropped.
    pub(crate) fn register(self: &Arc<Self>, status: SinkStatus) -> StatusHandle {
        let stream = status.stream;
        self.lock().insert(stream, status);
        StatusHandle {
            board: self.clone(),
            stream,
        }
    }

    pub(crate) fn all(&self) -> Vec<SinkStatus> {
        let mut all: Vec<_> = self.lock().values().cloned().collect();
        all.sort_by_key(|s| s.stream);
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, SinkStatus>> {
        // The map stays consistent even if an updater panicked mid-way.
        self.sinks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A stream's entry on the board.
pub(crate) struct StatusHandle {
    board: Arc<StatusBoard>,
    stream: u64,
}

impl StatusHandle {
    /// Updates one collection's status on this stream; a new ACK or NACK
    /// is noted in the history of the version it answers.
    pub(crate) fn collection(&self, key: &str, update: impl FnOnce(&mut CollectionStatus)) {
        let answered = {
            let mut sinks = self.board.lock();
            let Some(sink) = sinks.get_mut(&self.stream) else {
                return;
            };
            let status = sink.collections.entry(key.to_owned()).or_default();
            let before = (
                status.acked_version.clone(),
                status.nack.as_ref().map(|n| n.version.clone()),
            );
            update(status);
            let answer = match (&status.acked_version, &status.nack) {
                (_, Some(nack)) if before.1.as_ref() != Some(&nack.version) => {
                    Some((nack.version.clone(), "nack", Some(nack.message.clone())))
                }
                (Some(acked), None) if before.0.as_ref() != Some(acked) || before.1.is_some() => {
                    Some((acked.clone(), "ack", None))
                }
                _ => None,
            };
            answer.map(|(version, kind, message)| {
                let collection = status.collection.clone().unwrap_or_else(|| key.to_owned());
                let answer = Answer {
                    node_id: sink.node_id.clone(),
                    stream: self.stream,
                    answer: kind.to_owned(),
                    at: rfc3339_now(),
                    message,
                };
                (status.group.clone(), collection, version, answer)
            })
        };
        if let Some((group, collection, version, answer)) = answered {
            self.board
                .history
                .answered(&group, &collection, &version, answer);
        }
    }
}

impl Drop for StatusHandle {
    fn drop(&mut self) {
        self.board.lock().remove(&self.stream);
    }
}
