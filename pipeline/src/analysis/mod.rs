//! Analysis: analyzers judge the validated source resources against each
//! other, beside the pipeline, and report findings (messages with Istio's
//! codes about resources) into [`Findings`], which the admin server, the
//! metrics and `galleon analyze` read.
//!
//! In `serve` they run on a thread of their own ([`AnalysisFeed`]): the
//! processor hands each admitted event of a collection an analyzer reads to
//! the feed and goes on, so analysis never delays serving. `galleon
//! analyze` drives the same [`AnalysisSession`] over a file set in one call.

mod analyzer;
mod feed;
mod findings;
mod session;

pub use analyzer::{Analyzed, Analyzer, AnalyzerFactory, Level, Message, Report, ResourceKey};
pub use feed::AnalysisFeed;
pub use findings::{Finding, Findings};
pub use session::AnalysisSession;
