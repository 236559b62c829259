//! The history of every published collection: its last versions, when
//! each was published, what caused it and which sinks acknowledged or
//! rejected it.
//!
//! A version keeps only what changed since the one before it (each changed
//! resource before and after, sharing the cache's encoded bytes), so N
//! versions of a large collection with small edits cost about one. An
//! older version is rebuilt by walking back from the newest; versions are
//! content hashes, so a rebuilt version is the very version sinks were
//! served.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::resource::CachedResource;
use super::snapshot::CollectionSnapshot;
use crate::quote::quote;

/// How much history is kept per collection.
#[derive(Clone, Copy, Debug)]
pub struct HistoryLimits {
    /// The most versions kept (the newest included); 0 keeps none.
    pub versions: usize,
    /// Versions older than this are dropped (the newest is always kept).
    pub max_age: Option<Duration>,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self {
            versions: 50,
            max_age: None,
        }
    }
}

/// The most causes noted for one version (the rest are counted).
const MAX_CAUSES: usize = 8;

/// The most sinks whose answer one version records (the rest are
/// counted), so a fleet of sinks cannot grow the history without bound.
const MAX_ANSWERS: usize = 256;

/// One resource that changed from a version to the next.
#[derive(Debug)]
struct Change {
    name: Arc<str>,
    before: Option<CachedResource>,
}

/// One kept version of a collection.
#[derive(Debug)]
struct Kept {
    record: VersionRecord,
    /// How to step back to the version before: each resource that changed,
    /// as it was. Empty for the oldest kept version.
    undo: Vec<Change>,
}

/// A collection's kept versions, oldest first, and its newest state.
#[derive(Debug)]
struct Timeline {
    newest: Arc<CollectionSnapshot>,
    versions: VecDeque<Kept>,
    /// Operators' writes (a rollback, a release), newest last.
    writes: VecDeque<Write>,
}

/// One published version, as the admin API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRecord {
    /// The content-hash version.
    pub version: String,
    /// When it was published (RFC 3339).
    pub published_at: String,
    /// What caused it: the changed resources' origins (`file:line`, an
    /// etcd key, an upstream), a plugin swap, a mesh-config change.
    pub causes: Vec<String>,
    /// Causes beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_causes: usize,
    /// Resources it holds.
    pub resources: usize,
    /// Resources added, changed and removed since the version before.
    pub added: usize,
    /// See `added`.
    pub changed: usize,
    /// See `added`.
    pub removed: usize,
    /// Which sinks acknowledged or rejected it, and when.
    pub answers: Vec<Answer>,
    /// Answers beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_answers: usize,
}

/// A sink's answer to a pushed version.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// The sink's node id.
    pub node_id: String,
    /// Its stream in this process.
    pub stream: u64,
    /// `ack` or `nack`.
    pub answer: String,
    /// When (RFC 3339).
    pub at: String,
    /// A NACK's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An operator's write to what a collection serves.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Write {
    /// When (RFC 3339).
    pub at: String,
    /// Who: the admin client's address (and identity, where known).
    pub by: String,
    /// What, e.g. `rollback to 3f2a… for 10m`.
    pub action: String,
}

/// A collection's history, as `/debug/history/{collection}` shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionHistory {
    /// The snapshot group it is published in.
    pub group: String,
    /// The collection.
    pub collection: String,
    /// The kept versions, newest first.
    pub versions: Vec<VersionRecord>,
    /// Operators' writes, newest first.
    pub writes: Vec<Write>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why a version reference names no kept version.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No history of the collection.
    #[error("no history of collection {} (see /debug/history)", quote(.0))]
    UnknownCollection(String),
    /// The hub keeps no history.
    #[error(
        "no versions are kept (history.versions is 0): set it to 2 or more to diff or roll back"
    )]
    Disabled,
    /// The collection is published in several groups.
    #[error("collection {collection} is published in groups {groups}: name one")]
    AmbiguousGroup {
        /// The collection.
        collection: String,
        /// The groups, comma-separated.
        groups: String,
    },
    /// The reference matches no kept version.
    #[error(
        "{} is not a kept version of {collection} (kept: {kept}, newest first)",
        quote(reference)
    )]
    UnknownVersion {
        /// The collection.
        collection: String,
        /// What was asked for.
        reference: String,
        /// The kept versions' short forms.
        kept: String,
    },
    /// A version prefix matches several kept versions.
    #[error("{} matches several kept versions: give more of it", quote(.0))]
    AmbiguousVersion(String),
}

/// Every collection's history; shared by the cache and the streams.
#[derive(Debug, Default)]
pub struct History {
    limits: HistoryLimits,
    timelines: Mutex<HashMap<(String, String), Timeline>>,
}

impl History {
    /// A history within `limits`.
    pub fn new(limits: HistoryLimits) -> Self {
        Self {
            limits,
            timelines: Mutex::default(),
        }
    }

    /// Notes that `group` now publishes `collection`: a new version when
    /// its version differs from the newest kept, caused by `cause` (if
    /// given) and the changed resources' origins.
    pub(crate) fn publish(
        &self,
        group: &str,
        collection: &Arc<CollectionSnapshot>,
        cause: Option<&str>,
    ) {
        if self.limits.versions == 0 {
            return;
        }
        let key = (group.to_owned(), collection.collection().to_owned());
        let mut timelines = self.lock();
        let empty = Arc::new(CollectionSnapshot::empty(collection.collection()));
        let timeline = timelines.entry(key).or_insert_with(|| Timeline {
            newest: empty,
            versions: VecDeque::new(),
            writes: VecDeque::new(),
        });
        if timeline.newest.version() == collection.version() && !timeline.versions.is_empty() {
            return;
        }
        let base = timeline.newest.clone();
        let delta = collection.changes_from(&base);
        let mut undo = Vec::with_capacity(delta.changed.len() + delta.removed.len());
        let mut causes = Vec::new();
        causes.extend(cause.map(str::to_owned));
        let (mut added, mut changed) = (0, 0);
        for resource in &delta.changed {
            let before = base.get(resource.name()).cloned();
            match before {
                Some(_) => changed += 1,
                None => added += 1,
            }
            causes.push(origin_of(resource));
            undo.push(Change {
                name: resource.name().clone(),
                before,
            });
        }
        for name in &delta.removed {
            let before = base.get(name).cloned();
            causes.push(format!(
                "{} removed",
                before.as_ref().map_or_else(|| name.to_string(), origin_of)
            ));
            undo.push(Change {
                name: name.clone(),
                before,
            });
        }
        causes.dedup();
        let more_causes = causes.len().saturating_sub(MAX_CAUSES);
        causes.truncate(MAX_CAUSES);
        timeline.versions.push_back(Kept {
            record: VersionRecord {
                version: collection.version().to_string(),
                published_at: rfc3339(SystemTime::now()),
                causes,
                more_causes,
                resources: collection.len(),
                added,
                changed,
                removed: delta.removed.len(),
                answers: Vec::new(),
                more_answers: 0,
            },
            undo,
        });
        timeline.newest = collection.clone();
        self.trim(timeline);
    }

    /// Drops the versions beyond the limits (never the newest); the oldest
    /// kept one needs no way back.
    fn trim(&self, timeline: &mut Timeline) {
        let now = SystemTime::now();
        let too_old = |kept: &Kept| {
            self.limits.max_age.is_some_and(|age| {
                humantime::parse_rfc3339(&kept.record.published_at)
                    .is_ok_and(|at| now.duration_since(at).unwrap_or_default() > age)
            })
        };
        while timeline.versions.len() > 1
            && (timeline.versions.len() > self.limits.versions
                || timeline.versions.front().is_some_and(too_old))
        {
            timeline.versions.pop_front();
        }
        if let Some(oldest) = timeline.versions.front_mut() {
            oldest.undo = Vec::new();
        }
        while timeline.writes.len() > self.limits.versions.max(1) {
            timeline.writes.pop_front();
        }
    }

    /// Notes a sink's answer to `version` of `collection` in `group`.
    pub(crate) fn answered(&self, group: &str, collection: &str, version: &str, answer: Answer) {
        let mut timelines = self.lock();
        let Some(timeline) = timelines.get_mut(&(group.to_owned(), collection.to_owned())) else {
            return;
        };
        let Some(kept) = timeline
            .versions
            .iter_mut()
            .rev()
            .find(|k| k.record.version == version)
        else {
            return;
        };
        let answers = &mut kept.record.answers;
        if let Some(known) = answers.iter_mut().find(|a| a.stream == answer.stream) {
            *known = answer;
        } else if answers.len() < MAX_ANSWERS {
            answers.push(answer);
        } else {
            kept.record.more_answers += 1;
        }
    }

    /// Notes an operator's write to `collection` in `group`.
    pub fn wrote(&self, group: &str, collection: &str, by: &str, action: String) {
        let mut timelines = self.lock();
        if let Some(timeline) = timelines.get_mut(&(group.to_owned(), collection.to_owned())) {
            timeline.writes.push_back(Write {
                at: rfc3339(SystemTime::now()),
                by: by.to_owned(),
                action,
            });
            self.trim(timeline);
        }
    }

    /// Every collection with a history, as (group, collection), sorted.
    pub fn collections(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The group that publishes `collection`: `group` if given, else the
    /// only one.
    pub fn group_of(&self, collection: &str, group: Option<&str>) -> Result<String, HistoryError> {
        if self.limits.versions == 0 {
            return Err(HistoryError::Disabled);
        }
        let groups: Vec<String> = self
            .collections()
            .into_iter()
            .filter(|(g, c)| c == collection && group.is_none_or(|wanted| wanted == g))
            .map(|(g, _)| g)
            .collect();
        // A group whose twins (a canary's: its name and a suffix) are the
        // only other matches is the one meant.
        let main = groups
            .iter()
            .find(|g| groups.iter().all(|other| other.starts_with(g.as_str())));
        match (groups.as_slice(), main) {
            ([], _) => Err(HistoryError::UnknownCollection(collection.to_owned())),
            (_, Some(main)) => Ok(main.clone()),
            _ => Err(HistoryError::AmbiguousGroup {
                collection: collection.to_owned(),
                groups: groups.join(", "),
            }),
        }
    }

    /// `collection`'s history in `group`, newest first.
    pub fn of(&self, group: &str, collection: &str) -> Option<CollectionHistory> {
        let timelines = self.lock();
        let timeline = timelines.get(&(group.to_owned(), collection.to_owned()))?;
        Some(CollectionHistory {
            group: group.to_owned(),
            collection: collection.to_owned(),
            versions: timeline
                .versions
                .iter()
                .rev()
                .map(|k| k.record.clone())
                .collect(),
            writes: timeline.writes.iter().rev().cloned().collect(),
        })
    }

    /// The kept version `reference` names: a version or a unique prefix of
    /// one, `@0` (the newest), `@-N` (N versions before it), or an RFC 3339
    /// time (the version published then).
    pub fn resolve(
        &self,
        group: &str,
        collection: &str,
        reference: &str,
    ) -> Result<String, HistoryError> {
        let timelines = self.lock();
        let timeline = timelines
            .get(&(group.to_owned(), collection.to_owned()))
            .ok_or_else(|| HistoryError::UnknownCollection(collection.to_owned()))?;
        let newest_first: Vec<&VersionRecord> =
            timeline.versions.iter().rev().map(|k| &k.record).collect();
        let unknown = || HistoryError::UnknownVersion {
            collection: collection.to_owned(),
            reference: reference.to_owned(),
            kept: newest_first
                .iter()
                .enumerate()
                .map(|(back, r)| format!("@-{back} {}", short(&r.version)))
                .collect::<Vec<_>>()
                .join(", "),
        };
        if let Some(back) = reference.strip_prefix('@') {
            let back: usize = back
                .trim_start_matches('-')
                .parse()
                .map_err(|_| unknown())?;
            return newest_first
                .get(back)
                .map(|r| r.version.clone())
                .ok_or_else(unknown);
        }
        if let Ok(at) = humantime::parse_rfc3339_weak(reference) {
            return newest_first
                .iter()
                .find(|r| humantime::parse_rfc3339(&r.published_at).is_ok_and(|p| p <= at))
                .map(|r| r.version.clone())
                .ok_or_else(unknown);
        }
        let matching: Vec<&&VersionRecord> = newest_first
            .iter()
            .filter(|r| !reference.is_empty() && r.version.starts_with(reference))
            .collect();
        match matching.as_slice() {
            [] => Err(unknown()),
            [only] => Ok(only.version.clone()),
            _ => Err(HistoryError::AmbiguousVersion(reference.to_owned())),
        }
    }

    /// The newest kept state of `collection` in `group`.
    pub fn newest(&self, group: &str, collection: &str) -> Option<Arc<CollectionSnapshot>> {
        let timelines = self.lock();
        let timeline = timelines.get(&(group.to_owned(), collection.to_owned()))?;
        Some(timeline.newest.clone())
    }

    /// `collection` in `group` as it was at kept `version`: rebuilt from
    /// the newest by undoing the changes of every version after it.
    pub fn at(
        &self,
        group: &str,
        collection: &str,
        version: &str,
    ) -> Option<Arc<CollectionSnapshot>> {
        let timelines = self.lock();
        let timeline = timelines.get(&(group.to_owned(), collection.to_owned()))?;
        if &**timeline.newest.version() == version {
            return Some(timeline.newest.clone());
        }
        let position = timeline
            .versions
            .iter()
            .position(|k| k.record.version == version)?;
        let mut resources: BTreeMap<Arc<str>, CachedResource> = timeline
            .newest
            .resources()
            .map(|r| (r.name().clone(), r.clone()))
            .collect();
        for kept in timeline.versions.iter().skip(position + 1).rev() {
            for change in &kept.undo {
                match &change.before {
                    Some(before) => resources.insert(change.name.clone(), before.clone()),
                    None => resources.remove(&change.name),
                };
            }
        }
        let rebuilt = CollectionSnapshot::new(collection, resources.into_values());
        debug_assert_eq!(
            &**rebuilt.version(),
            version,
            "the undo log rebuilds the version"
        );
        Some(Arc::new(rebuilt))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(String, String), Timeline>> {
        self.timelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where a resource came from, or its name when unknown.
fn origin_of(resource: &CachedResource) -> String {
    resource
        .origin()
        .map_or_else(|| resource.name().to_string(), str::to_owned)
}

/// A version's first 12 characters, as lists show it.
pub fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::test_support::resource;

    fn collection(bodies: &[(&str, &str)]) -> Arc<CollectionSnapshot> {
        Arc::new(CollectionSnapshot::new(
            "c",
            bodies
                .iter()
                .map(|(n, b)| CachedResource::new(resource(n, b))),
        ))
    }

    #[test]
    fn every_kept_version_is_rebuilt_exactly() {
        let history = History::new(HistoryLimits::default());
        let states = [
            collection(&[("ns/a", "1")]),
            collection(&[("ns/a", "2"), ("ns/b", "1")]),
            collection(&[("ns/b", "1"), ("ns/c", "1")]),
            collection(&[("ns/b", "2"), ("ns/c", "1")]),
        ];
        for state in &states {
            history.publish("default", state, None);
        }
        for state in &states {
            let rebuilt = history.at("default", "c", state.version()).unwrap();
            assert_eq!(*rebuilt, **state);
        }
        let kept = history.of("default", "c").unwrap();
        let counts: Vec<_> = kept
            .versions
            .iter()
            .map(|v| (v.added, v.changed, v.removed))
            .collect();
        assert_eq!(counts, [(0, 1, 0), (1, 0, 1), (1, 1, 0), (1, 0, 0)]);
        assert_eq!(
            history.resolve("default", "c", "@-3").unwrap(),
            &**states[0].version()
        );
        assert_eq!(
            history.resolve("default", "c", "@0").unwrap(),
            &**states[3].version()
        );
        assert!(matches!(
            history.resolve("default", "c", "@-4"),
            Err(HistoryError::UnknownVersion { .. })
        ));
    }

    #[test]
    fn the_same_content_again_is_no_new_version_and_limits_hold() {
        let history = History::new(HistoryLimits {
            versions: 3,
            max_age: None,
        });
        let same = collection(&[("ns/a", "1")]);
        history.publish("default", &same, None);
        history.publish("default", &collection(&[("ns/a", "1")]), None);
        assert_eq!(history.of("default", "c").unwrap().versions.len(), 1);
        let states: Vec<_> = (0..6)
            .map(|i| collection(&[("ns/a", &i.to_string())]))
            .collect();
        for state in &states {
            history.publish("default", state, Some("edit"));
        }
        let kept = history.of("default", "c").unwrap();
        assert_eq!(kept.versions.len(), 3);
        assert_eq!(kept.versions[0].causes, ["edit", "ns/a"]);
        let oldest = history.at("default", "c", states[3].version()).unwrap();
        assert_eq!(*oldest, *states[3]);
        assert!(
            history.at("default", "c", states[2].version()).is_none(),
            "dropped"
        );
    }

    #[test]
    fn answers_are_kept_per_stream() {
        let history = History::new(HistoryLimits::default());
        let state = collection(&[("ns/a", "1")]);
        history.publish("default", &state, None);
        let answer = |stream, kind: &str| Answer {
            node_id: "pilot".into(),
            stream,
            answer: kind.into(),
            at: rfc3339(SystemTime::now()),
            message: None,
        };
        history.answered("default", "c", state.version(), answer(1, "nack"));
        history.answered("default", "c", state.version(), answer(1, "ack"));
        history.answered("default", "c", state.version(), answer(2, "ack"));
        let answers = &history.of("default", "c").unwrap().versions[0].answers;
        let kinds: Vec<_> = answers
            .iter()
            .map(|a| (a.stream, a.answer.as_str()))
            .collect();
        assert_eq!(kinds, [(1, "ack"), (2, "ack")]);
    }
}
