//! The validator seam: a stage that judges each added or updated resource of
//! its collections before any transformer sees it. A rejected change does not
//! enter the pipeline, so the previous valid version stays served.

use crate::diagnostics::Problem;
use crate::event::{Collection, Entry};

/// The verdict on one resource.
#[derive(Debug, Default, PartialEq)]
pub struct Verdict {
    /// Problems that reject the change.
    pub errors: Vec<Problem>,
    /// Problems reported while the change is accepted.
    pub warnings: Vec<Problem>,
}

/// Judges resources of some collections.
pub trait Validator: Send {
    /// A short name for logs and status pages.
    fn name(&self) -> &str;
    /// The collections it judges.
    fn collections(&self) -> Vec<Collection>;
    /// Judges `entry` of `collection`.
    fn validate(&mut self, collection: &Collection, entry: &Entry) -> Verdict;
}

/// Builds a session's validator.
pub trait ValidatorFactory: Send + Sync + 'static {
    /// A fresh validator.
    fn build(&self) -> Box<dyn Validator>;
}
