//! The current findings of every analyzer binding: what `/debug/analysis`,
//! the status page, the metrics and `galleon analyze` read. Shared, cheap to
//! clone; written only by analysis sessions.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::analyzer::{Analyzed, Message, ResourceKey};
use crate::event::Origin;

/// One message about one resource, with where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The analyzer binding that reported it.
    pub binding: String,
    /// The resource it is about.
    pub subject: ResourceKey,
    /// Where that resource was read from.
    pub origin: Option<Arc<Origin>>,
    /// The message.
    pub message: Message,
    /// Its analyzer failed since: the message may no longer hold.
    pub stale: bool,
}

#[derive(Default)]
struct Binding {
    reports: BTreeMap<ResourceKey, (Option<Arc<Origin>>, Vec<Message>)>,
    /// Why its messages are stale, when they are.
    stale: Option<String>,
}

#[derive(Default)]
struct State {
    bindings: BTreeMap<String, Binding>,
    /// Bumped on every change (tests and watchers wait on it).
    generation: u64,
}

/// Every binding's current messages.
#[derive(Clone, Default)]
pub struct Findings(Arc<RwLock<State>>);

impl Findings {
    /// Applies what `binding` answered.
    pub fn apply(&self, binding: &str, analyzed: Analyzed) {
        let mut state = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let entry = state.bindings.entry(binding.to_owned()).or_default();
        if analyzed.complete {
            entry.reports.clear();
            entry.stale = None;
        }
        for report in analyzed.reports {
            if report.messages.is_empty() {
                entry.reports.remove(&report.subject);
            } else {
                entry
                    .reports
                    .insert(report.subject, (report.origin, report.messages));
            }
        }
        state.generation += 1;
    }

    /// Marks `binding`'s messages stale: it failed, saying `why`.
    pub fn stale(&self, binding: &str, why: &str) {
        let mut state = self.0.write().unwrap_or_else(PoisonError::into_inner);
        state.bindings.entry(binding.to_owned()).or_default().stale = Some(why.to_owned());
        state.generation += 1;
    }

    /// Why `binding`'s messages are stale, if they are.
    pub fn stale_reason(&self, binding: &str) -> Option<String> {
        let state = self.0.read().unwrap_or_else(PoisonError::into_inner);
        state.bindings.get(binding).and_then(|b| b.stale.clone())
    }

    /// Every current finding, by binding, then resource.
    pub fn all(&self) -> Vec<Finding> {
        let state = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let mut all = Vec::new();
        for (binding, b) in &state.bindings {
            for (subject, (origin, messages)) in &b.reports {
                all.extend(messages.iter().map(|message| Finding {
                    binding: binding.clone(),
                    subject: subject.clone(),
                    origin: origin.clone(),
                    message: message.clone(),
                    stale: b.stale.is_some(),
                }));
            }
        }
        all
    }

    /// How many changes were applied so far.
    pub fn generation(&self) -> u64 {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Level, Report};

    fn message(code: &str) -> Message {
        Message {
            analyzer: "a".into(),
            code: code.into(),
            name: "N".into(),
            level: Level::Error,
            field: None,
            text: "t".into(),
            references: Vec::new(),
        }
    }

    fn report(name: &str, codes: &[&str]) -> Report {
        Report {
            subject: ("c".into(), name.into()),
            origin: None,
            messages: codes.iter().map(|c| message(c)).collect(),
        }
    }

    #[test]
    fn reports_replace_clear_and_a_complete_answer_drops_the_rest() {
        let findings = Findings::default();
        let analyzed = |reports, complete| Analyzed { reports, complete };
        findings.apply(
            "b",
            analyzed(vec![report("x", &["IST1"]), report("y", &["IST2"])], true),
        );
        assert_eq!(findings.all().len(), 2);
        findings.apply("b", analyzed(vec![report("x", &[])], false));
        let codes: Vec<_> = findings.all().into_iter().map(|f| f.message.code).collect();
        assert_eq!(codes, ["IST2"]);
        findings.stale("b", "trapped");
        assert!(findings.all().iter().all(|f| f.stale));
        findings.apply("b", analyzed(vec![report("z", &["IST3"])], true));
        let all = findings.all();
        assert_eq!(all.len(), 1);
        assert!(!all[0].stale && all[0].subject.1 == "z");
    }
}
