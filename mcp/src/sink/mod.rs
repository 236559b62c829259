//! A sink library: subscribes to collections, hands each push to an
//! [`Updater`], and answers with an ACK — or a NACK when the push does not
//! decode or the updater rejects it. It remembers the versions it applied,
//! so a reconnect with `incremental` resumes with a delta.
//!
//! Two modes share one engine: [`SinkClient`] dials a `ResourceSource`, and
//! [`SinkServer`] implements `ResourceSink` for sources that dial out.

mod client;
mod server;
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use galleon_proto::mcp::{Resource, SinkNode};

pub use client::SinkClient;
pub use server::SinkServer;
/// What [`SinkClient::run`] stops on.
pub use tokio_util::sync::CancellationToken;
/// Where a [`SinkClient`] dials.
pub use tonic::transport::Endpoint;

/// One push, as handed to the [`Updater`].
#[derive(Clone, Debug)]
pub struct Change {
    /// The collection the push is for.
    pub collection: String,
    /// Full state (`incremental == false`) or the added and changed resources.
    pub resources: Vec<Resource>,
    /// Names removed (incremental pushes only).
    pub removed: Vec<String>,
    /// Whether this is a delta.
    pub incremental: bool,
    /// The source's version of the collection (informational).
    pub system_version_info: String,
    /// The push's nonce.
    pub nonce: String,
}

/// Why an [`Updater`] rejected a change; becomes the NACK's message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

/// Receives every push. Returning an error NACKs it; the sink keeps what it
/// had, and the source will not re-send that version.
pub trait Updater: Send + Sync + 'static {
    /// Applies one change.
    fn apply(&self, change: &Change) -> Result<(), ApplyError>;
}

impl<F> Updater for F
where
    F: Fn(&Change) -> Result<(), ApplyError> + Send + Sync + 'static,
{
    fn apply(&self, change: &Change) -> Result<(), ApplyError> {
        self(change)
    }
}

/// What to subscribe to, and as whom.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// The node identity sent with every request.
    pub node: SinkNode,
    /// Collections to subscribe to.
    pub collections: Vec<String>,
    /// Ask for incremental pushes (and resume with a delta on reconnect).
    pub incremental: bool,
    /// The largest push accepted, in bytes. A larger one ends the stream
    /// with `OutOfRange`.
    pub max_message_size: usize,
}

/// Default [`SinkOptions::max_message_size`]: 128 MiB (gRPC's own default,
/// 4 MiB, is smaller than many real collections).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 128 << 20;

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            node: SinkNode::default(),
            collections: Vec::new(),
            incremental: false,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// Why a sink stream failed, or why the sink stopped trying.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The source could not be reached.
    #[error("cannot connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// The stream failed in a way a reconnect may fix.
    #[error("stream failed ({code:?}): {message}", code = .0.code(), message = .0.message())]
    Stream(tonic::Status),
    /// The source answered with an error that retrying cannot fix (an
    /// unknown collection, an unimplemented service, a push over the size
    /// limit, a refused identity).
    #[error("the source refused the stream ({code:?}): {message}")]
    Refused {
        /// The gRPC status code.
        code: tonic::Code,
        /// The source's message.
        message: String,
    },
}

impl SinkError {
    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Refused { .. })
    }
}

impl From<tonic::Status> for SinkError {
    /// A refusal where retrying cannot help, else a failed stream.
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        let permanent = matches!(
            status.code(),
            Code::NotFound
                | Code::InvalidArgument
                | Code::Unimplemented
                | Code::OutOfRange
                | Code::PermissionDenied
                | Code::Unauthenticated
        );
        if permanent {
            Self::Refused {
                code: status.code(),
                message: status.message().to_owned(),
            }
        } else {
            Self::Stream(status)
        }
    }
}

/// Sink state that outlives a stream: options, updater and the versions of
/// every applied resource per collection.
struct Shared<U> {
    options: SinkOptions,
    updater: U,
    applied: Mutex<HashMap<String, BTreeMap<String, String>>>,
}

impl<U: Updater> Shared<U> {
    fn new(options: SinkOptions, updater: U) -> Self {
        Self {
            options,
            updater,
            applied: Mutex::default(),
        }
    }

    /// Versions of the applied resources of `collection`.
    fn applied(&self, collection: &str) -> BTreeMap<String, String> {
        self.lock().get(collection).cloned().unwrap_or_default()
    }

    fn record(&self, change: &Change) {
        let mut applied = self.lock();
        let versions = applied.entry(change.collection.clone()).or_default();
        if !change.incremental {
            versions.clear();
        }
        for name in &change.removed {
            versions.remove(name);
        }
        for metadata in change.resources.iter().filter_map(|r| r.metadata.as_ref()) {
            versions.insert(metadata.name.clone(), metadata.version.clone());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, String>>> {
        self.applied.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
