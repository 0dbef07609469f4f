//! The processor's lifecycle phase: a cloneable [`Health`] handle (one atomic) that the
//! service loop and the pipeline update and `/readyz` reads.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// The processor's lifecycle phase, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Started, not yet assigned or restoring (the initial phase).
    Starting,
    /// Restoring partition state from the changelog.
    Restoring,
    /// Restored and consuming: the only phase in which `/readyz` answers 200.
    Ready,
    /// Shutting down (SIGTERM/Ctrl-C received, draining).
    Stopping,
}

impl Phase {
    /// The word `/readyz` answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Restoring => "restoring",
            Self::Ready => "ready",
            Self::Stopping => "stopping",
        }
    }

    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Restoring,
            2 => Self::Ready,
            3 => Self::Stopping,
            _ => Self::Starting,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Starting => 0,
            Self::Restoring => 1,
            Self::Ready => 2,
            Self::Stopping => 3,
        }
    }
}

/// A cloneable handle on the processor's [`Phase`]; every clone sees the same phase.
///
/// Starts in [`Phase::Starting`]. Once [`Health::set_stopping`] has been called the phase
/// stays `Stopping`: a late `set_ready` from a draining task cannot make a stopping process
/// ready again.
#[derive(Debug, Clone, Default)]
pub struct Health {
    phase: Arc<AtomicU8>,
}

impl Health {
    /// A handle in [`Phase::Starting`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.phase() == Phase::Ready
    }

    fn set(&self, phase: Phase) {
        let stopping = Phase::Stopping.to_u8();
        // Never leave Stopping (see the type's doc).
        let _ = self
            .phase
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current != stopping).then_some(phase.to_u8())
            });
    }

    /// Back to [`Phase::Starting`] (e.g. every partition was revoked).
    pub fn set_starting(&self) {
        self.set(Phase::Starting);
    }

    /// State is being restored: `/readyz` answers `503 restoring`.
    pub fn set_restoring(&self) {
        self.set(Phase::Restoring);
    }

    /// Restored and consuming: `/readyz` answers `200 ready`.
    pub fn set_ready(&self) {
        self.set(Phase::Ready);
    }

    /// Shutting down: `/readyz` answers `503 stopping` from now on.
    pub fn set_stopping(&self) {
        self.set(Phase::Stopping);
    }
}
