//! The one path every shell drives: raw input messages in, engine outputs and dead letters
//! out. Every message is either applied or dead-lettered (§2); nothing is dropped.
//!
//! Pure like the engine: the processing clock (`now`) is passed in by the shell.

use crate::config::Config;
use crate::domain::output::{DeadLetter, PayloadPrefix, Source};
use crate::domain::Rejection;
use crate::domain::{DeadLetterReason, EmployeeId, OutageChange, RosterChange, Timestamp};
use crate::engine::{BadgeEffect, EmployeeHint, Engine, Output, Sink};
use crate::wire::input::Validator;

/// What became of one input message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied to the state.
    Applied,
    /// Applied to a week that had closed: a correction (§3.5).
    AppliedLate,
    /// Written to the dead-letter topic with this reason.
    DeadLettered(DeadLetterReason),
}

/// Validator + engine.
#[derive(Debug, Clone)]
pub struct Processor {
    validator: Validator,
    engine: Engine,
}

impl Processor {
    /// A processor for a validated configuration.
    pub fn new(config: &Config) -> Self {
        Self {
            validator: Validator::new(
                config.sites.iter().map(|s| s.id.as_str()),
                config.processor.time.max_future_skew,
            ),
            engine: Engine::new(config),
        }
    }

    /// A processor around a restored engine (validator settings from the engine's rules).
    pub fn from_engine(engine: Engine) -> Self {
        let rules = engine.rules();
        Self {
            validator: Validator::new(
                rules.sites.iter().map(|s| s.id.as_str()),
                rules.max_future_skew,
            ),
            engine,
        }
    }

    /// Starts recording state changes for the changelog (live mode).
    pub fn track_changes(&mut self) {
        self.engine.track_changes();
    }

    /// The changelog records of everything changed since the last call.
    pub fn take_changes(&mut self) -> Vec<crate::engine::StateRecord> {
        self.engine.take_changes()
    }

    /// The engine, mutably (restore).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The engine, for inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn dead_letter(
        rejection: Rejection,
        source: Source,
        bytes: &[u8],
        out: &mut dyn Sink,
    ) -> Outcome {
        let reason = rejection.reason;
        out.emit(Output::DeadLetter(DeadLetter::new(
            reason,
            rejection.detail,
            source,
            bytes,
        )));
        Outcome::DeadLettered(reason)
    }

    /// A badge message (§1.1); `now` is the processing clock for `future_timestamp`.
    pub fn badge(
        &mut self,
        bytes: &[u8],
        source: Source,
        now: Timestamp,
        out: &mut dyn Sink,
    ) -> Outcome {
        let result = self
            .validator
            .decode_badge(bytes, now)
            .and_then(|badge| self.engine.apply_badge(&badge, out));
        match result {
            Ok(BadgeEffect::OnTime) => Outcome::Applied,
            Ok(BadgeEffect::Correction) => Outcome::AppliedLate,
            Err(rejection) => Self::dead_letter(rejection, source, bytes, out),
        }
    }

    /// First hint that the badge line `bytes` is applied some lines from now
    /// ([`Engine::employee_hint`]); `None` when no employee id is seen without decoding.
    /// Decodes nothing and changes nothing.
    pub fn badge_hint(&self, bytes: &[u8]) -> Option<EmployeeHint> {
        crate::wire::input::badge_employee_id_hint(bytes).map(|id| self.engine.employee_hint(id))
    }

    /// [`Processor::badge_hint`] for a hint already made by another processor.
    pub fn prefetch_bucket(&self, hint: EmployeeHint) {
        self.engine.prefetch_bucket(hint);
    }

    /// Second hint, a few lines before the badge is applied ([`Engine::prefetch_employee`]).
    pub fn prefetch_badge(&self, hint: EmployeeHint) {
        self.engine.prefetch_employee(hint);
    }

    /// A roster message (§1.2). `value = None` is a tombstone for the employee in `key`.
    pub fn roster(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        source: Source,
        out: &mut dyn Sink,
    ) -> Outcome {
        let change = match value {
            Some(bytes) => self
                .validator
                .decode_roster(bytes)
                .map(RosterChange::Upsert),
            None => match key
                .and_then(|k| std::str::from_utf8(k).ok())
                .and_then(EmployeeId::parse)
            {
                Some(employee_id) => Ok(RosterChange::Remove { employee_id }),
                _ => Err(Rejection::new(
                    DeadLetterReason::InvalidField,
                    "tombstone key is not a valid employee_id",
                )),
            },
        };
        match change {
            Ok(change) => {
                self.engine.apply_roster(change);
                Outcome::Applied
            }
            Err(rejection) => Self::dead_letter(rejection, source, value.unwrap_or_default(), out),
        }
    }

    /// An absence message (§1.3).
    pub fn absence(&mut self, bytes: &[u8], source: Source, out: &mut dyn Sink) -> Outcome {
        match self.validator.decode_absence(bytes) {
            Ok(absence) => match self.engine.apply_absence(absence, out) {
                Ok(()) => Outcome::Applied,
                Err(rejection) => Self::dead_letter(rejection, source, bytes, out),
            },
            Err(rejection) => Self::dead_letter(rejection, source, bytes, out),
        }
    }

    /// A site-outage message (§1.5, v2). `value = None` is a tombstone withdrawing the
    /// outage whose id is the key.
    pub fn outage(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        source: Source,
        out: &mut dyn Sink,
    ) -> Outcome {
        let change = match value {
            Some(bytes) => self
                .validator
                .decode_outage(bytes)
                .map(OutageChange::Upsert),
            None => match key
                .and_then(|k| std::str::from_utf8(k).ok())
                .filter(|k| (1..=128).contains(&k.len()))
            {
                Some(id) => Ok(OutageChange::Remove {
                    outage_id: id.to_owned(),
                }),
                None => Err(Rejection::new(
                    DeadLetterReason::InvalidField,
                    "tombstone key is not a valid outage_id (1 to 128 bytes of UTF-8)",
                )),
            },
        };
        match change.and_then(|change| self.engine.apply_outage(change, out)) {
            Ok(()) => Outcome::Applied,
            Err(rejection) => Self::dead_letter(rejection, source, value.unwrap_or_default(), out),
        }
    }

    /// Loads a site-outage record into a restored engine without re-evaluating anything
    /// (see `Engine::load_outage`); returns whether it was stored. An invalid record changes
    /// nothing here: its dead letter is written once, by the path that follows the topic.
    pub fn load_outage(&mut self, value: &[u8]) -> bool {
        self.validator
            .decode_outage(value)
            .and_then(|r| self.engine.load_outage(OutageChange::Upsert(r)))
            .is_ok()
    }

    /// An attendance-adjustment message (§1.6, v2).
    pub fn adjustment(&mut self, bytes: &[u8], source: Source, out: &mut dyn Sink) -> Outcome {
        let result = self
            .validator
            .decode_adjustment(bytes)
            .and_then(|a| self.engine.apply_adjustment(a, out));
        match result {
            Ok(()) => Outcome::Applied,
            Err(rejection) => Self::dead_letter(rejection, source, bytes, out),
        }
    }

    /// A message known only by its prefix, length and digest because it is far over the
    /// 64 KiB limit (replay's over-long lines, never read whole): dead-lettered `too_large`
    /// with a truncated payload, whatever the input kind.
    pub fn too_large(
        &mut self,
        seen: PayloadPrefix,
        source: Source,
        out: &mut dyn Sink,
    ) -> Outcome {
        let rejection = crate::wire::input::too_large(seen.len);
        let reason = rejection.reason;
        out.emit(Output::DeadLetter(DeadLetter::truncated(
            reason,
            rejection.detail,
            source,
            seen,
        )));
        Outcome::DeadLettered(reason)
    }

    /// Advances the watermark (idle advance, end of replay).
    pub fn advance_watermark(&mut self, to: Timestamp, out: &mut dyn Sink) {
        self.engine.advance_watermark(to, out);
    }
}
