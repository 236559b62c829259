//! The analysis thread of `serve`: sessions follow the pipeline's (a new
//! mesh configuration builds new analyzers), events arrive through an
//! unbounded channel and are handled in batches of whatever queued up
//! meanwhile, so a burst of changes is one call per analyzer.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use tracing::warn;

use super::analyzer::AnalyzerFactory;
use super::findings::Findings;
use super::session::AnalysisSession;
use crate::event::{Collection, Event};
use crate::mesh::MeshSettings;

enum Feed {
    Session(MeshSettings),
    Event(Event),
    Refresh,
}

/// The pipeline's end of the analysis thread (cheap to clone). The thread
/// ends when every clone is dropped.
#[derive(Clone)]
pub struct AnalysisFeed {
    sender: Sender<Feed>,
    inputs: Arc<HashSet<Collection>>,
}

impl AnalysisFeed {
    /// Starts the analysis thread over `factories`, reporting into
    /// `findings`. `None` when there is no analyzer.
    pub fn start(factories: Vec<Arc<dyn AnalyzerFactory>>, findings: Findings) -> Option<Self> {
        if factories.is_empty() {
            return None;
        }
        let inputs = factories.iter().flat_map(|f| f.inputs()).collect();
        let (sender, receiver) = channel();
        let spawned = std::thread::Builder::new()
            .name("galleon-analysis".into())
            .spawn(move || run(&factories, &findings, &receiver));
        if let Err(error) = spawned {
            warn!("analysis not started: cannot spawn its thread: {error}");
            return None;
        }
        Some(Self {
            sender,
            inputs: Arc::new(inputs),
        })
    }

    /// The collections some analyzer reads.
    pub fn reads(&self, collection: &Collection) -> bool {
        self.inputs.contains(collection)
    }

    /// Every collection some analyzer reads.
    pub fn inputs(&self) -> impl Iterator<Item = &Collection> {
        self.inputs.iter()
    }

    /// A new session, with the mesh configuration it runs with: the
    /// analyzers are built afresh and the sources' replay follows.
    pub fn session(&self, mesh: &MeshSettings) {
        let _ = self.sender.send(Feed::Session(mesh.clone()));
    }

    /// An admitted event; ignored unless some analyzer reads its collection.
    pub fn event(&self, event: &Event) {
        if event.collection().is_some_and(|c| self.reads(c)) {
            let _ = self.sender.send(Feed::Event(event.clone()));
        }
    }

    /// Something outside the events changed (a plugin file).
    pub fn refresh(&self) {
        let _ = self.sender.send(Feed::Refresh);
    }
}

fn run(factories: &[Arc<dyn AnalyzerFactory>], findings: &Findings, receiver: &Receiver<Feed>) {
    let mut session: Option<AnalysisSession> = None;
    let mut batch = Vec::new();
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(feed) = next.take().or_else(|| receiver.try_recv().ok()) {
            match feed {
                Feed::Event(event) => batch.push(event),
                Feed::Session(mesh) => {
                    batch.clear();
                    session = Some(AnalysisSession::new(factories, &mesh, findings.clone()));
                }
                Feed::Refresh => {
                    flush(&mut session, &mut batch);
                    if let Some(s) = session.as_mut() {
                        s.refresh();
                    }
                }
            }
        }
        flush(&mut session, &mut batch);
    }
}

fn flush(session: &mut Option<AnalysisSession>, batch: &mut Vec<Event>) {
    if let Some(session) = session.as_mut()
        && !batch.is_empty()
    {
        session.feed(batch);
    }
    batch.clear();
}
