//! Protocol counters of the MCP source, and the answers to pushes by
//! collection (Galley's label sets for `istio_mcp_request_{acks,nacks}`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Live counters, updated by every stream.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) streams_opened: AtomicU64,
    pub(super) streams_closed: AtomicU64,
    pub(super) pushes: AtomicU64,
    pub(super) resources_sent: AtomicU64,
    pub(super) acks: AtomicU64,
    pub(super) nacks: AtomicU64,
    pub(super) stale_requests: AtomicU64,
    pub(super) stalled_sinks: AtomicU64,
    pub(super) repeated_subscriptions: AtomicU64,
    pub(super) refused_streams: AtomicU64,
    pub(super) denied_streams: AtomicU64,
    pub(super) refused_connections: AtomicU64,
    pub(super) tls_failures: AtomicU64,
    answers: Mutex<BTreeMap<Answer, u64>>,
}

/// Distinct collections the answers are counted by; the rest count under
/// [`OTHER`], so sinks naming many types cannot grow the metrics.
const ANSWER_COLLECTIONS: usize = 1024;

/// The collection answers beyond [`ANSWER_COLLECTIONS`] are counted under.
const OTHER: &str = "other";

/// What a sink answered to a push of one collection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Answer {
    /// The collection (MCP) or type URL (xDS) pushed.
    pub collection: String,
    /// `None` for an ACK; a NACK's gRPC status code.
    pub nack_code: Option<i32>,
}

impl Stats {
    /// Counts one; the new count.
    pub(super) fn inc(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts an answer to a push of `collection`.
    pub(super) fn answered(&self, collection: &str, nack_code: Option<i32>) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        let known = answers.keys().any(|a| a.collection == collection);
        let distinct = || {
            let mut names: Vec<&str> = answers.keys().map(|a| a.collection.as_str()).collect();
            names.dedup();
            names.len()
        };
        let collection = if known || distinct() < ANSWER_COLLECTIONS {
            collection
        } else {
            OTHER
        };
        let answer = Answer {
            collection: collection.to_owned(),
            nack_code,
        };
        *answers.entry(answer).or_default() += 1;
    }

    /// The answers so far, by collection and code.
    pub(super) fn answers(&self) -> BTreeMap<Answer, u64> {
        self.answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn snapshot(&self) -> ServerStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            streams_opened: read(&self.streams_opened),
            streams_closed: read(&self.streams_closed),
            pushes: read(&self.pushes),
            resources_sent: read(&self.resources_sent),
            acks: read(&self.acks),
            nacks: read(&self.nacks),
            stale_requests: read(&self.stale_requests),
            stalled_sinks: read(&self.stalled_sinks),
            repeated_subscriptions: read(&self.repeated_subscriptions),
            refused_streams: read(&self.refused_streams),
            denied_streams: read(&self.denied_streams),
            refused_connections: read(&self.refused_connections),
            tls_failures: read(&self.tls_failures),
        }
    }
}

/// A reading of the source's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServerStats {
    /// Streams started (dialled in or out).
    pub streams_opened: u64,
    /// Streams ended, for any reason.
    pub streams_closed: u64,
    /// `Resources` messages sent.
    pub pushes: u64,
    /// Resources carried by those messages.
    pub resources_sent: u64,
    /// Pushes acknowledged.
    pub acks: u64,
    /// Pushes rejected.
    pub nacks: u64,
    /// Requests ignored for carrying a stale or unknown nonce.
    pub stale_requests: u64,
    /// Streams dropped for leaving a push unanswered past the stall limit.
    pub stalled_sinks: u64,
    /// Subscriptions repeated on a stream already subscribed (answered with
    /// nothing until the collection changes).
    pub repeated_subscriptions: u64,
    /// New streams refused for being over their peer's stream rate.
    pub refused_streams: u64,
    /// Streams refused because the client's identity is not on the access
    /// list.
    pub denied_streams: u64,
    /// Connections closed at once for being over the connection limit.
    pub refused_connections: u64,
    /// Connections whose TLS handshake failed or did not finish in time.
    pub tls_failures: u64,
}
