//! Admission of new streams: a rate limit per peer address (governor), so
//! one misbehaving client reconnecting in a loop cannot starve the others,
//! while a fleet of sinks reconnecting after a restart gets through in
//! seconds. Each refusal is logged (at most once per second per peer) and
//! counted.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};

/// How fast one peer address may open streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamRate {
    /// Streams it may open at once.
    pub burst: NonZeroU32,
    /// Streams per second after the burst.
    pub per_second: NonZeroU32,
}

/// Default [`StreamRate`]: 1,000 at once and 100 a second per peer address
/// (a node with a thousand sinks behind one address reconnects at once).
pub const DEFAULT_STREAM_RATE: StreamRate = StreamRate {
    burst: NonZeroU32::new(1_000).expect("non-zero"),
    per_second: NonZeroU32::new(100).expect("non-zero"),
};

/// Peers remembered before idle ones are forgotten.
const TRACKED_PEERS: usize = 10_000;

/// The per-peer limiter.
pub(super) struct Admission {
    streams: DefaultKeyedRateLimiter<IpAddr>,
    /// Refusals are logged at most once a second per peer.
    logs: DefaultKeyedRateLimiter<IpAddr>,
}

impl Admission {
    pub(super) fn new(rate: StreamRate) -> Self {
        let quota = Quota::per_second(rate.per_second).allow_burst(rate.burst);
        Self {
            streams: DefaultKeyedRateLimiter::keyed(quota),
            logs: DefaultKeyedRateLimiter::keyed(Quota::per_second(NonZeroU32::MIN)),
        }
    }

    /// Whether `peer` may open one more stream now.
    pub(super) fn admit(&self, peer: IpAddr) -> bool {
        if self.streams.len() > TRACKED_PEERS {
            self.streams.retain_recent();
            self.logs.retain_recent();
        }
        let admitted = self.streams.check_key(&peer).is_ok();
        if !admitted && self.logs.check_key(&peer).is_ok() {
            tracing::warn!(%peer, "refusing new streams from this peer: over its stream rate");
        }
        admitted
    }
}
