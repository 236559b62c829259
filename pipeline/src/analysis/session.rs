//! One analysis session: the analyzers built for one mesh configuration,
//! each handed the events of the collections it reads as one batch, their
//! answers applied to the findings.

use std::collections::HashSet;
use std::sync::Arc;

use super::analyzer::{Analyzer, AnalyzerFactory};
use super::findings::Findings;
use crate::event::{Collection, Event};
use crate::mesh::MeshSettings;

/// The analyzers of one session.
pub struct AnalysisSession {
    analyzers: Vec<(Box<dyn Analyzer>, HashSet<Collection>)>,
    findings: Findings,
}

impl AnalysisSession {
    /// Builds every analyzer for `mesh`, reporting into `findings`.
    pub fn new(
        factories: &[Arc<dyn AnalyzerFactory>],
        mesh: &MeshSettings,
        findings: Findings,
    ) -> Self {
        let analyzers = factories
            .iter()
            .map(|factory| {
                let analyzer = factory.build(mesh);
                let inputs = analyzer.inputs().into_iter().collect();
                (analyzer, inputs)
            })
            .collect();
        Self {
            analyzers,
            findings,
        }
    }

    /// Hands each analyzer the events of its inputs (and `Reset`), in
    /// order, as one batch.
    pub fn feed(&mut self, events: &[Event]) {
        for (analyzer, inputs) in &mut self.analyzers {
            let batch: Vec<Event> = events
                .iter()
                .filter(|e| e.collection().is_none_or(|c| inputs.contains(c)))
                .cloned()
                .collect();
            if batch.is_empty() {
                continue;
            }
            let answer = analyzer.handle(&batch);
            apply(&self.findings, analyzer.name(), answer);
        }
    }

    /// Lets every analyzer react to what changed outside the events (a new
    /// plugin version, a retry that is due).
    pub fn refresh(&mut self) {
        for (analyzer, _) in &mut self.analyzers {
            if let Some(answer) = analyzer.refresh() {
                apply(&self.findings, analyzer.name(), answer);
            }
        }
    }
}

fn apply(findings: &Findings, name: &str, answer: Result<super::Analyzed, String>) {
    match answer {
        Ok(analyzed) => findings.apply(name, analyzed),
        Err(why) => findings.stale(name, &why),
    }
}
