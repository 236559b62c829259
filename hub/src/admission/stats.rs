//! The webhook's metrics, by kind: reviews answered (allowed or denied)
//! and how long each took. Read by `/metrics` on the admin server.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A review's labels: the kind judged and what was answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answered {
    kind: String,
    allowed: String,
}

/// A latency's label: the kind judged.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: String,
}

/// Latency buckets from 100 µs to about 13 s.
#[derive(Clone, Copy)]
struct Buckets;

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.0001, 2.0, 18))
    }
}

/// The webhook's counters. Cheap to clone; clones share them.
#[derive(Clone)]
pub struct AdmissionStats {
    reviews: Family<Answered, Counter>,
    latency: Family<Kind, Histogram, Buckets>,
    refused: Counter,
}

impl Default for AdmissionStats {
    fn default() -> Self {
        Self {
            reviews: Family::default(),
            latency: Family::new_with_constructor(Buckets),
            refused: Counter::default(),
        }
    }
}

impl AdmissionStats {
    /// Counts a review of `kind`, answered `allowed` or not, after `took`.
    pub(super) fn answered(&self, kind: &str, allowed: bool, took: Duration) {
        let kind = kind.to_owned();
        self.latency
            .get_or_create(&Kind { kind: kind.clone() })
            .observe(took.as_secs_f64());
        let allowed = allowed.to_string();
        self.reviews
            .get_or_create(&Answered { kind, allowed })
            .inc();
    }

    /// Counts a request that was not a review (malformed, too large).
    pub(super) fn refused(&self) {
        self.refused.inc();
    }

    /// Adds the metrics to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "galleon_admission_reviews",
            "AdmissionReviews answered by the webhook, by kind and whether allowed.",
            self.reviews.clone(),
        );
        registry.register(
            "galleon_admission_review_duration_seconds",
            "Time to answer an AdmissionReview, by kind.",
            self.latency.clone(),
        );
        registry.register(
            "galleon_admission_bad_requests",
            "Requests to the webhook that were not an AdmissionReview it could read.",
            self.refused.clone(),
        );
    }
}
