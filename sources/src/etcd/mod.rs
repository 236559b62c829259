//! The etcd source: every key under a prefix holds one or more YAML or JSON
//! documents, exactly as a file would (the key stands in for the file's
//! path in error locations and duplicates).
//!
//! A start reads the whole prefix at one revision, sends it with a
//! `FullSync` per collection, then watches from the next revision. A lost
//! connection (etcd restarted, a member gone) is retried with backoff and
//! the watch resumed from the last revision applied, so every change is
//! sent once and in order. Only events and progress notifications move that
//! revision (never the header of the watch's `Created` answer, which is the
//! store's revision before any catch-up event arrived). A resume etcd cannot
//! serve as asked re-reads the prefix and sends only the difference: one it
//! compacted away, one answered by another cluster (its id changed: a
//! snapshot restored, a cluster rebuilt at the same address), or one whose
//! revision went backwards. While etcd is out of reach the last state read
//! stays served, and the source's diagnostics say so.
//!
//! Keys are bytes: a key that is not UTF-8 cannot name a resource's origin,
//! so it is reported and ignored (never folded into another key's name),
//! and a value over `maxValueSize` is refused as an over-large file is.

mod client;
#[cfg(feature = "fuzzing")]
mod fuzzing;
mod resume;

#[cfg(feature = "fuzzing")]
pub use fuzzing::fuzz_watch;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use galleon_mcp::BackoffOptions;
use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};
use galleon_pipeline::event::{Collection, Event};
use galleon_pipeline::registry::Registry;
use galleon_proto::etcd::KeyValue;
use galleon_proto::etcd::event::EventType;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use self::client::{EtcdClient, EtcdError};
use self::resume::{Progress, Step, step};
use super::documents::{DocumentSet, parse_file};
use super::link::{Link, Retry};
use super::{EventSender, Source, SourceRun, send_all};
use crate::health::SourceHealth;

/// A source of resources held in etcd under one prefix.
pub struct EtcdSource {
    endpoints: Vec<String>,
    prefix: String,
    registry: Arc<Registry>,
    diagnostics: Diagnostics,
    backoff: BackoffOptions,
    max_value_size: usize,
    set: Mutex<DocumentSet>,
    health: SourceHealth,
    /// Where the keys that are not UTF-8 are reported.
    unnamed: Mutex<HashSet<Scope>>,
}

/// Why a session with etcd ended.
enum Ended {
    /// The pipeline is gone.
    PipelineGone,
    /// The watch cannot resume where it left off (compacted, another
    /// cluster, a revision gone back); read the prefix again.
    Reread,
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
            max_value_size: crate::file::DEFAULT_MAX_FILE_SIZE as usize,
            set: Mutex::default(),
            health: SourceHealth::default(),
            unnamed: Mutex::default(),
        }
    }

    /// Values larger than `bytes` are refused (their previous content
    /// stays served).
    pub fn with_max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Reports its link's health to `health`.
    pub fn with_health(mut self, health: SourceHealth) -> Self {
        self.health = health;
        self
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
        let link = Arc::new(Link::new(
            self.name(),
            self.name(),
            self.diagnostics.clone(),
            self.health.clone(),
        ));
        let mut retry = Retry::new(link, self.backoff);
        loop {
            let session = self.session(&mut progress, &events, &mut retry);
            let ended = tokio::select! {
                () = stop.cancelled() => return,
                ended = session => ended,
            };
            match ended {
                Ended::PipelineGone => return,
                Ended::Reread => progress.revision = 0,
                Ended::Failed(error) => {
                    let endpoint = shown(self.endpoint(&progress));
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
        let mut client = match EtcdClient::connect(self.endpoint(progress)).await {
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
            progress.cluster = range.cluster;
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
            match step(progress, response) {
                Step::Created => retry.up(&shown(self.endpoint(progress))),
                Step::Idle => {}
                Step::Apply {
                    events: changes,
                    last,
                } => {
                    let batch = self.apply(changes);
                    if send_all(events, batch).await.is_err() {
                        return Ended::PipelineGone;
                    }
                    progress.revision = last;
                }
                Step::Reread(why) => {
                    let endpoint = shown(self.endpoint(progress));
                    warn!(source = %self.name(), endpoint, "{why}; reading the prefix again");
                    return Ended::Reread;
                }
                Step::Cancelled(reason) => {
                    return tonic::Status::aborted(format!("watch cancelled: {reason}")).into();
                }
            }
        }
    }

    /// Makes the set hold exactly `kvs`; the events for what changed (or,
    /// with `full`, the whole state).
    fn replace_all(&self, kvs: Vec<KeyValue>, full: bool) -> Vec<Event> {
        let mut set = self.lock();
        let mut present = HashMap::new();
        let mut unnamed = HashSet::new();
        for kv in &kvs {
            match key_path(&kv.key) {
                Ok(path) => drop(present.insert(path, &kv.value)),
                Err(key) => drop(unnamed.insert(self.report_unnamed(&key))),
            }
        }
        for gone in self
            .unnamed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            if !unnamed.contains(&gone) {
                self.diagnostics.clear(&gone);
            }
        }
        *self.unnamed.lock().unwrap_or_else(PoisonError::into_inner) = unnamed;
        let mut touched = Vec::new();
        for gone in set.paths().into_iter().filter(|p| !present.contains_key(p)) {
            self.diagnostics.clear(&Scope::File(gone.clone()));
            touched.extend(set.remove(&gone));
        }
        for (path, value) in present {
            touched.extend(self.put(&mut set, &path, value));
        }
        self.finish(&mut set, touched, full)
    }

    /// Reports a key that is not UTF-8 (ignored: it cannot name an origin
    /// without risking another key's name); returns where.
    fn report_unnamed(&self, key: &[u8]) -> Scope {
        let scope = Scope::File(PathBuf::from(key.escape_ascii().to_string()));
        let problem = Problem::new(
            key.escape_ascii(),
            "key is not valid UTF-8; ignored (rename it)",
        );
        self.diagnostics.set(&scope, vec![problem]);
        scope
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
            let path = match key_path(&kv.key) {
                Ok(path) => path,
                Err(key) => {
                    let scope = self.report_unnamed(&key);
                    let mut unnamed = self.unnamed.lock().unwrap_or_else(PoisonError::into_inner);
                    if change.r#type == EventType::Delete as i32 {
                        self.diagnostics.clear(&scope);
                        unnamed.remove(&scope);
                    } else {
                        unnamed.insert(scope);
                    }
                    continue;
                }
            };
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
        if value.len() > self.max_value_size {
            let (size, limit) = (value.len(), self.max_value_size);
            let message = format!(
                "value is {size} bytes, over the {limit}-byte limit (maxValueSize); its previous content stays served"
            );
            let problem = Problem::new(path.display(), message);
            self.diagnostics
                .set(&Scope::File(path.to_owned()), vec![problem]);
            return set.update(path, Default::default(), false);
        }
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

/// `endpoint` as names, logs and diagnostics show it: without the
/// password it may carry.
fn shown(endpoint: &str) -> String {
    galleon_mcp::redact::url(endpoint)
}

/// What stays served while etcd is away, having applied up to `revision`.
fn served(revision: i64) -> String {
    if revision == 0 {
        "nothing read yet".to_owned()
    } else {
        format!("serving what was read up to revision {revision}")
    }
}

/// The key as the path it stands in for (in origins and diagnostics); a
/// key that is not UTF-8 comes back as it is, to report, never as a lossy
/// name another key could share.
fn key_path(key: &[u8]) -> Result<PathBuf, Vec<u8>> {
    match std::str::from_utf8(key) {
        Ok(key) => Ok(PathBuf::from(key)),
        Err(_) => Err(key.to_vec()),
    }
}

impl Source for EtcdSource {
    fn name(&self) -> String {
        let endpoints: Vec<String> = self.endpoints.iter().map(|e| shown(e)).collect();
        format!("etcd {} {}", endpoints.join(","), self.prefix)
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
