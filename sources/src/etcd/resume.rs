//! Where one start of the etcd source stands ([`Progress`]), and what each
//! watch response means for it ([`step`]): the one place that decides how
//! far the resume point moves and when a resume cannot be trusted.
//!
//! Only events and progress notifications move the resume point. The
//! header of the watch's `Created` answer is the store's revision at that
//! moment, not how far events were sent: a watch cut after `Created` and
//! before its catch-up events must resume where it was. That header does
//! say whose store it is: another cluster's id, or a revision below the one
//! already applied, means the history the resume point belongs to is gone,
//! and the prefix is read anew.

use galleon_proto::etcd::{Event, ResponseHeader, WatchResponse};

/// Where one start of the source stands.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// The last revision applied; 0 until the prefix has been read (and
    /// again when it must be read anew).
    pub(super) revision: i64,
    /// The id of the cluster that revision belongs to (0: not known yet).
    pub(super) cluster: u64,
    /// Whether this start has sent its full state.
    pub(super) synced: bool,
    /// Which endpoint to dial next.
    pub(super) endpoint: usize,
}

/// What to do with one watch response.
#[derive(Debug, PartialEq)]
pub(super) enum Step {
    /// The watch is established and may resume from here.
    Created,
    /// Nothing to apply (a progress notification, already accounted for).
    Idle,
    /// Apply these changes, then the resume point is `last`.
    Apply {
        /// The changes, in revision order.
        events: Vec<Event>,
        /// The newest revision among them.
        last: i64,
    },
    /// The resume point cannot be served; read the prefix again.
    Reread(String),
    /// etcd cancelled the watch.
    Cancelled(String),
}

/// What `response` means for `progress`, moving its resume point where a
/// progress notification allows.
pub(super) fn step(progress: &mut Progress, response: WatchResponse) -> Step {
    if response.compact_revision > 0 {
        return Step::Reread(format!(
            "the resume revision was compacted (resuming at {}, compacted up to {})",
            progress.revision + 1,
            response.compact_revision
        ));
    }
    if response.canceled {
        return Step::Cancelled(response.cancel_reason);
    }
    let header = response.header.unwrap_or_default();
    if response.created {
        return match resume_refused(progress, &header) {
            Some(why) => Step::Reread(why),
            None => Step::Created,
        };
    }
    if response.events.is_empty() {
        // A progress notification: everything up to here was sent.
        progress.revision = progress.revision.max(header.revision);
        return Step::Idle;
    }
    // Changes at or before the resume point are applied already (a watch
    // that starts too early, a server replaying): never twice.
    let events: Vec<Event> = response
        .events
        .into_iter()
        .filter(|e| {
            e.kv.as_ref()
                .is_some_and(|kv| kv.mod_revision > progress.revision)
        })
        .collect();
    let last = events
        .iter()
        .filter_map(|e| e.kv.as_ref())
        .map(|kv| kv.mod_revision)
        .max();
    match last {
        Some(last) => Step::Apply { events, last },
        None => Step::Idle,
    }
}

/// Why a watch cannot resume at `progress` against a store whose `Created`
/// answer carried `header`, if it cannot.
fn resume_refused(progress: &Progress, header: &ResponseHeader) -> Option<String> {
    if progress.revision == 0 {
        return None;
    }
    if progress.cluster != 0 && header.cluster_id != progress.cluster {
        return Some(format!(
            "etcd answers as another cluster (id {:x}, was {:x}: restored or rebuilt)",
            header.cluster_id, progress.cluster
        ));
    }
    (header.revision < progress.revision).then(|| {
        format!(
            "etcd's revision went back from {} to {} (a snapshot restored?)",
            progress.revision, header.revision
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use galleon_proto::etcd::KeyValue;

    fn at(revision: i64, cluster: u64) -> Progress {
        Progress {
            revision,
            cluster,
            synced: true,
            endpoint: 0,
        }
    }

    fn header(revision: i64, cluster_id: u64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            cluster_id,
            revision,
            ..ResponseHeader::default()
        })
    }

    #[test]
    fn created_never_moves_the_resume_point() {
        // Cut after Created and before the catch-up events: resuming at
        // the header's revision would skip them.
        let mut progress = at(10, 7);
        let created = WatchResponse {
            created: true,
            header: header(15, 7),
            ..WatchResponse::default()
        };
        assert_eq!(step(&mut progress, created), Step::Created);
        assert_eq!(progress.revision, 10);
    }

    #[test]
    fn progress_notifications_and_events_move_it() {
        let mut progress = at(10, 7);
        let notification = WatchResponse {
            header: header(12, 7),
            ..WatchResponse::default()
        };
        assert_eq!(step(&mut progress, notification), Step::Idle);
        assert_eq!(progress.revision, 12);
        let kv = |mod_revision| KeyValue {
            key: b"/k".to_vec(),
            mod_revision,
            ..KeyValue::default()
        };
        let changes = WatchResponse {
            header: header(14, 7),
            events: [13, 14]
                .map(|r| Event {
                    kv: Some(kv(r)),
                    ..Event::default()
                })
                .into(),
            ..WatchResponse::default()
        };
        assert!(matches!(
            step(&mut progress, changes),
            Step::Apply { last: 14, .. }
        ));
    }

    #[test]
    fn another_cluster_or_a_revision_gone_back_is_read_anew() {
        let created = |revision, cluster| WatchResponse {
            created: true,
            header: header(revision, cluster),
            ..WatchResponse::default()
        };
        let other = step(&mut at(10, 7), created(50, 8));
        assert!(
            matches!(&other, Step::Reread(why) if why.contains("another cluster")),
            "{other:?}"
        );
        let back = step(&mut at(10, 7), created(3, 7));
        assert!(
            matches!(&back, Step::Reread(why) if why.contains("went back from 10 to 3")),
            "{back:?}"
        );
        let compacted = WatchResponse {
            compact_revision: 9,
            ..WatchResponse::default()
        };
        assert!(matches!(step(&mut at(5, 7), compacted), Step::Reread(_)));
        // A first read has nothing to resume.
        assert_eq!(step(&mut at(0, 0), created(3, 8)), Step::Created);
    }
}
