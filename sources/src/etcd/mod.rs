//! The etcd source: every key under a prefix holds one or more YAML or JSON
//! documents, exactly as a file would (the key stands in for the file's
//! path in error locations and duplicates).
//!
//! A start reads the whole prefix at one revision, sends it with a
//! `FullSync` per collection, then watches from the next revision. A lost
//! connection (etcd restarted, a member gone) is retried with backoff and
//! the watch resumed from the last revision applied, so every change is
//! sent once and in order; a resume that etcd has compacted away re-reads
//! the prefix and sends only the difference. While etcd is out of reach
//! the last state read stays served, and the source's diagnostics say so.

mod client;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use galleon_mcp::BackoffOptions;
use galleon_pipeline::diagnostics::{Diagnostics, Scope};
use galleon_pipeline::event::{Collection, Event};
use galleon_pipeline::registry::Registry;
use galleon_proto::etcd::KeyValue;
use galleon_proto::etcd::event::EventType;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use self::client::{EtcdClient, EtcdError};
use super::documents::{DocumentSet, parse_file};
use super::link::{Link, Retry};
use super::{EventSender, Source, SourceRun, send_all};

/// A source of resources held in etcd under one prefix.
pub struct EtcdSource {
    endpoints: Vec<String>,
    prefix: String,
    registry: Arc<Registry>,
    diagnostics: Diagnostics,
    backoff: BackoffOptions,
    set: Mutex<DocumentSet>,
}

/// Where one start of the source stands.
#[derive(Default)]
struct Progress {
    /// The last revision applied; 0 until the prefix has been read (and
    /// again after a compaction, to read it anew).
    revision: i64,
    /// Whether this start has sent its full state.
    synced: bool,
    /// Which endpoint to dial next.
    endpoint: usize,
}

/// Why a session with etcd ended.
enum Ended {
    /// The pipeline is gone.
    PipelineGone,
    /// The resume revision was compacted; read the prefix again.
    Compacted,
    /// Talking to etcd failed; retry after a delay.
    Failed(EtcdError),
}

impl From<EtcdError> for Ended {
    fn from(error: EtcdError) -> Self {
        Self::Failed(error)
    }
}

impl From<tonic::Status> for Ended {
    fn from(status: tonic::Status) -> Self {
        Self::Failed(status.into())
    }
}

impl EtcdSource {
    /// Reads the keys under `prefix` from the etcd cluster at `endpoints`
    /// (`http://host:port`; tried in turn).
    pub fn new(
        endpoints: Vec<String>,
        prefix: String,
        registry: Arc<Registry>,
        diagnostics: Diagnostics,
    ) -> Self {
        Self {
            endpoints,
            prefix,
            registry,
            diagnostics,
            backoff: crate::RECONNECT,
            set: Mutex::default(),
        }
    }

    /// Reconnect delays (tests shorten them).
    pub fn with_backoff(mut self, backoff: BackoffOptions) -> Self {
        self.backoff = backoff;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DocumentSet> {
        self.set.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Follows etcd until `stop`, reconnecting as long as it takes.
    async fn follow(self: Arc<Self>, events: EventSender, stop: CancellationToken) {
        let mut progress = Progress::default();
        let link = Arc::new(Link::new(self.name(), self.diagnostics.clone()));
        let mut retry = Retry::new(link, self.backoff);
        loop {
            let session = self.session(&mut progress, &events, &mut retry);
            let ended = tokio::select! {
                () = stop.cancelled() => return,
                ended = session => ended,
            };
            match ended {
                Ended::PipelineGone => return,
                Ended::Compacted => progress.revision = 0,
                Ended::Failed(error) => {
                    let endpoint = self.endpoint(&progress).to_owned();
                    progress.endpoint += 1;
                    let served = served(progress.revision);
                    if !retry.failed(&endpoint, &error, &served, &stop).await {
                        return;
                    }
                }
            }
        }
    }

    fn endpoint(&self, progress: &Progress) -> &str {
        &self.endpoints[progress.endpoint % self.endpoints.len()]
    }

    /// One connection: read the prefix if it is not read yet, then apply
    /// the watch's changes until something ends it.
    async fn session(
        self: &Arc<Self>,
        progress: &mut Progress,
        events: &EventSender,
        retry: &mut Retry,
    ) -> Ended {
        let endpoint = self.endpoint(progress).to_owned();
        let mut client = match EtcdClient::connect(&endpoint).await {
            Ok(client) => client,
            Err(error) => return error.into(),
        };
        if progress.revision == 0 {
            let range = match client.range(self.prefix.as_bytes()).await {
                Ok(range) => range,
                Err(error) => return error.into(),
            };
            let keys = range.kvs.len();
            let full = !progress.synced;
            let source = self.clone();
            let Ok(mut batch) =
                tokio::task::spawn_blocking(move || source.replace_all(range.kvs, full)).await
            else {
                return Ended::PipelineGone;
            };
            if full {
                batch.extend(self.collections().into_iter().map(Event::FullSync));
            }
            let changed = batch.len();
            if send_all(events, batch).await.is_err() {
                return Ended::PipelineGone;
            }
            progress.synced = true;
            progress.revision = range.revision;
            info!(source = %self.name(), keys, revision = range.revision, events = changed, "read");
        }
        let mut watch = match client
            .watch(self.prefix.as_bytes(), progress.revision + 1)
            .await
        {
            Ok(watch) => watch,
            Err(error) => return error.into(),
        };
        loop {
            let response = match watch.responses.message().await {
                Ok(Some(response)) => response,
                Ok(None) => return EtcdError::WatchEnded.into(),
                Err(status) => return status.into(),
            };
            if response.compact_revision > 0 {
                warn!(
                    source = %self.name(),
                    resume = progress.revision + 1,
                    compacted = response.compact_revision,
                    "the resume revision was compacted; reading the prefix again"
                );
                return Ended::Compacted;
            }
            if response.canceled {
                let reason = response.cancel_reason;
                return tonic::Status::aborted(format!("watch cancelled: {reason}")).into();
            }
            if response.created {
                retry.up(&endpoint);
            }
            let Some(last) = response
                .events
                .iter()
                .filter_map(|e| e.kv.as_ref())
                .map(|kv| kv.mod_revision)
                .max()
            else {
                // A progress notification: everything up to here was sent.
                let revision = response.header.map_or(0, |h| h.revision);
                progress.revision = progress.revision.max(revision);
                continue;
            };
            let batch = self.apply(response.events);
            if send_all(events, batch).await.is_err() {
                return Ended::PipelineGone;
            }
            progress.revision = last;
        }
    }

    /// Makes the set hold exactly `kvs`; the events for what changed (or,
    /// with `full`, the whole state).
    fn replace_all(&self, kvs: Vec<KeyValue>, full: bool) -> Vec<Event> {
        let mut set = self.lock();
        let present: HashSet<PathBuf> = kvs.iter().map(|kv| key_path(&kv.key)).collect();
        let mut touched = Vec::new();
        for gone in set.paths().into_iter().filter(|p| !present.contains(p)) {
            self.diagnostics.clear(&Scope::File(gone.clone()));
            touched.extend(set.remove(&gone));
        }
        for kv in &kvs {
            touched.extend(self.put(&mut set, &key_path(&kv.key), &kv.value));
        }
        self.finish(&mut set, touched, full)
    }

    /// Applies one watch response's changes. A response catching up holds
    /// several revisions; each revision becomes its own events, so two
    /// changes to one key are two events, in order.
    fn apply(&self, changes: Vec<galleon_proto::etcd::Event>) -> Vec<Event> {
        let mut set = self.lock();
        let mut events = Vec::new();
        let mut touched = Vec::new();
        let mut revision = None;
        for change in changes {
            let Some(kv) = change.kv else { continue };
            if revision.is_some_and(|r| r != kv.mod_revision) {
                events.extend(self.finish(&mut set, std::mem::take(&mut touched), false));
            }
            revision = Some(kv.mod_revision);
            let path = key_path(&kv.key);
            if change.r#type == EventType::Delete as i32 {
                self.diagnostics.clear(&Scope::File(path.clone()));
                touched.extend(set.remove(&path));
            } else {
                touched.extend(self.put(&mut set, &path, &kv.value));
            }
        }
        events.extend(self.finish(&mut set, touched, false));
        events
    }

    /// Parses one key's value into the set, reporting its problems (a bad
    /// document keeps its last good version served).
    fn put(&self, set: &mut DocumentSet, path: &Path, value: &[u8]) -> Vec<(Collection, String)> {
        let parsed = parse_file(path, value, &self.registry);
        let complete = parsed.problems.is_empty();
        self.diagnostics
            .set(&Scope::File(path.to_owned()), parsed.problems.clone());
        set.update(path, parsed, complete)
    }

    fn finish(
        &self,
        set: &mut DocumentSet,
        touched: Vec<(Collection, String)>,
        full: bool,
    ) -> Vec<Event> {
        self.diagnostics
            .set(&Scope::Duplicates(self.name()), set.duplicates());
        if full {
            set.full_state()
        } else {
            set.diff(touched)
        }
    }
}

/// What stays served while etcd is away, having applied up to `revision`.
fn served(revision: i64) -> String {
    if revision == 0 {
        "nothing read yet".to_owned()
    } else {
        format!("serving what was read up to revision {revision}")
    }
}

/// The key as the path it stands in for (in origins and diagnostics).
fn key_path(key: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(key).into_owned())
}

impl Source for EtcdSource {
    fn name(&self) -> String {
        format!("etcd {} {}", self.endpoints.join(","), self.prefix)
    }

    fn collections(&self) -> Vec<Collection> {
        self.registry
            .schemas()
            .into_iter()
            .map(|s| s.collection.clone())
            .collect()
    }

    fn run(self: Arc<Self>, events: EventSender, stop: CancellationToken) -> SourceRun {
        Box::pin(self.follow(events, stop))
    }
}
