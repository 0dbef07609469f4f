//! The processing clock: what the live shell reads as "now" (§2's `future_timestamp`, the
//! idle advance, the headers' `ce_time`). The engine never reads a clock; the shells pass
//! it the time.

use crate::domain::Timestamp;

/// The processing clock (`now` for `future_timestamp` and the idle advance).
pub trait Clock: Send + Sync {
    /// The current processing time.
    fn now(&self) -> Timestamp;
}

/// The wall clock: what `run` uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_chrono(chrono::Utc::now())
    }
}

/// A clock that always reads the same instant (the demo replays a past period "now").
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}
