//! (feature `fuzzing`) The etcd watch stream's fuzz target entry point: a
//! sequence of arbitrary watch responses (length-delimited protobuf, as
//! etcd frames them) through the resume logic and into the document set,
//! checking that the resume point never moves backwards and that a
//! `Created` answer never moves it. Not part of the API.

use std::sync::Arc;

use galleon_pipeline::diagnostics::Diagnostics;
use galleon_pipeline::registry::Registry;
use galleon_proto::etcd::WatchResponse;
use prost::Message;

use super::EtcdSource;
use super::resume::{Progress, Step, step};

/// Feeds the responses `data` holds, until one does not decode.
pub fn fuzz_watch(data: &[u8]) {
    let source = EtcdSource::new(
        vec!["http://fuzz:2379".into()],
        "/".into(),
        Arc::new(Registry::builtin()),
        Diagnostics::default(),
    );
    let mut progress = Progress {
        revision: 1,
        cluster: 7,
        synced: true,
        endpoint: 0,
    };
    let mut buf = data;
    while let Ok(response) = WatchResponse::decode_length_delimited(&mut buf) {
        let before = progress.revision;
        let created = response.created;
        match step(&mut progress, response) {
            Step::Apply { events, last } => {
                assert!(last > before, "an applied change applied again");
                let _ = source.apply(events);
                progress.revision = last;
            }
            Step::Reread(_) => progress.revision = 1,
            Step::Created | Step::Idle | Step::Cancelled(_) => {}
        }
        assert!(
            progress.revision >= before || progress.revision == 1,
            "the resume point went back"
        );
        assert!(!created || progress.revision == before || progress.revision == 1);
    }
}
