//! Poison pills: what the pipeline learns from aborted transactions so that no input
//! message can stop its partition.
//!
//! A transaction aborts for passing reasons (a broker restart, a rebalance: the batch is
//! simply retried) or because the broker refuses one of its records for good (larger than
//! the topic's `max.message.bytes`, an invalid record): such a record would be refused again
//! on every retry. After a refusal, the aborted batch is re-read in batches of half the size,
//! halving again on every further refusal (a bisection: a few aborts find the message among
//! thousands), until a batch of one message is refused. That message is then marked poison:
//! read again, it is not applied but dead-lettered `too_large`, its payload cut to
//! [`REFUSED_PREFIX`] bytes (with length and SHA-256, like every truncated dead letter), and
//! batches grow back to full size. If even that dead letter is refused, a second one keeps no
//! payload and no key; if that too is refused, the pipeline stops with
//! [`Escalation::Refused`] (nothing more can be written for the message without losing it).
//! Transactions that keep aborting without any commit in between stop it too
//! ([`Escalation::Stuck`]), so a broken deployment is restarted and seen rather than retried
//! silently forever.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::InputTopic;

/// Payload bytes kept in the dead letter of a message whose records were refused.
pub(super) const REFUSED_PREFIX: usize = 1024;
/// Key bytes kept in that dead letter (the key as received, cut).
pub(super) const REFUSED_KEY_PREFIX: usize = 1024;
/// Refusals of one message's dead letters before the pipeline gives up.
const MAX_REFUSALS: u32 = 2;
/// Aborts in a row without a commit, and for how long at least, before the pipeline gives up.
const MAX_ABORTS_IN_ROW: u32 = 10;
const STUCK_AFTER: Duration = Duration::from_secs(300);

/// (input, partition) of a consumed message.
type Stream = (InputTopic, i32);

/// A message whose records the broker refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Poison {
    /// The broker's answer, one line.
    pub(super) error: String,
    /// How often records made for it were refused (1: its outputs; 2: also its first
    /// dead letter).
    pub(super) refusals: u32,
}

impl Poison {
    /// Payload bytes its dead letter keeps.
    pub(super) fn payload_prefix(&self) -> usize {
        if self.refusals >= MAX_REFUSALS {
            0
        } else {
            REFUSED_PREFIX
        }
    }

    /// Key bytes its dead letter keeps.
    pub(super) fn key_prefix(&self) -> usize {
        if self.refusals >= MAX_REFUSALS {
            0
        } else {
            REFUSED_KEY_PREFIX
        }
    }
}

/// Why the pipeline must stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Escalation {
    /// Even the minimal dead letter of this message was refused.
    Refused {
        input: InputTopic,
        partition: i32,
        offset: i64,
        error: String,
    },
    /// Aborts keep coming without a commit.
    Stuck {
        aborts: u32,
        seconds: u64,
        last: String,
    },
}

/// The pipeline's memory of recent aborts.
#[derive(Debug, Default)]
pub(super) struct Quarantine {
    /// Per stream, the offset up to which (exclusive) the refused batch reached: batches
    /// are narrowed until every stream is committed past it.
    until: BTreeMap<Stream, i64>,
    /// The narrowed batch size, while searching for a refused message.
    limit: Option<usize>,
    /// Messages to dead-letter instead of applying.
    poison: BTreeMap<(InputTopic, i32, i64), Poison>,
    aborts_in_row: u32,
    first_abort: Option<Instant>,
}

impl Quarantine {
    /// Whether batches are narrowed (a refused message is being searched for).
    pub(super) fn active(&self) -> bool {
        self.limit.is_some()
    }

    /// The batch size to use when batches normally hold `max` messages.
    pub(super) fn batch_limit(&self, max: usize) -> usize {
        self.limit.map_or(max, |l| l.min(max)).max(1)
    }

    /// The poison mark of a message, if any.
    pub(super) fn poison(&self, input: InputTopic, partition: i32, offset: i64) -> Option<&Poison> {
        self.poison.get(&(input, partition, offset))
    }

    /// Records an aborted batch: `offsets` are the next offsets it had consumed, `messages`
    /// how many it held, `refusal` the broker's answer when a record was refused for good.
    /// Returns the message newly marked poison, if any.
    pub(super) fn aborted(
        &mut self,
        offsets: &BTreeMap<Stream, i64>,
        messages: usize,
        refusal: Option<String>,
        cause: &str,
        now: Instant,
    ) -> Result<Option<(InputTopic, i32, i64)>, Escalation> {
        self.aborts_in_row = self.aborts_in_row.saturating_add(1);
        let first = *self.first_abort.get_or_insert(now);
        let stuck_for = now.saturating_duration_since(first);
        if self.aborts_in_row >= MAX_ABORTS_IN_ROW && stuck_for >= STUCK_AFTER {
            return Err(Escalation::Stuck {
                aborts: self.aborts_in_row,
                seconds: stuck_for.as_secs(),
                last: cause.to_owned(),
            });
        }
        // A passing failure: the same batch again.
        let Some(error) = refusal else {
            return Ok(None);
        };
        for (stream, next) in offsets {
            let until = self.until.entry(*stream).or_insert(*next);
            *until = (*until).max(*next);
        }
        if messages > 1 {
            // Somewhere in this batch: search its halves.
            self.limit = Some((messages / 2).max(1));
            return Ok(None);
        }
        // Only a batch of exactly one message names the message whose record was refused.
        if messages != 1 || offsets.len() != 1 {
            return Ok(None);
        }
        let Some((&(input, partition), &next)) = offsets.iter().next() else {
            return Ok(None);
        };
        // Found: batches grow back (another refused message would be searched for anew).
        self.limit = None;
        let offset = next - 1;
        let poison = self
            .poison
            .entry((input, partition, offset))
            .or_insert(Poison {
                error: String::new(),
                refusals: 0,
            });
        poison.refusals += 1;
        poison.error = one_line(&error);
        if poison.refusals > MAX_REFUSALS {
            return Err(Escalation::Refused {
                input,
                partition,
                offset,
                error: poison.error.clone(),
            });
        }
        Ok(Some((input, partition, offset)))
    }

    /// Records a committed batch (`offsets`: the next offsets it consumed).
    pub(super) fn committed(&mut self, offsets: &BTreeMap<Stream, i64>) {
        self.aborts_in_row = 0;
        self.first_abort = None;
        for (stream, next) in offsets {
            if self.until.get(stream).is_some_and(|until| until <= next) {
                self.until.remove(stream);
            }
        }
        if self.until.is_empty() {
            self.limit = None;
        }
        self.poison.retain(|(input, partition, offset), _| {
            offsets
                .get(&(*input, *partition))
                .is_none_or(|next| offset >= next)
        });
    }

    /// Forgets partitions no longer owned.
    pub(super) fn forget(&mut self, partitions: &[i32]) {
        self.until.retain(|(_, p), _| !partitions.contains(p));
        self.poison.retain(|(_, p, _), _| !partitions.contains(p));
        if self.until.is_empty() {
            self.limit = None;
        }
    }
}

/// `text` on one line (control characters escaped), at most 500 bytes.
fn one_line(text: &str) -> String {
    crate::wire::input::printable_within(text, 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(entries: &[(InputTopic, i32, i64)]) -> BTreeMap<Stream, i64> {
        entries.iter().map(|(i, p, o)| ((*i, *p), *o)).collect()
    }

    const B: InputTopic = InputTopic::Badges;
    const A: InputTopic = InputTopic::Absences;

    fn refused() -> Option<String> {
        Some("Broker: Message size too large\n(topic dl)".to_owned())
    }

    #[test]
    fn a_passing_abort_retries_the_same_batch() {
        let mut q = Quarantine::default();
        let r = q.aborted(
            &offsets(&[(B, 0, 500)]),
            500,
            None,
            "timeout",
            Instant::now(),
        );
        assert_eq!(r, Ok(None));
        assert!(!q.active());
        assert_eq!(q.batch_limit(1000), 1000);
    }

    #[test]
    fn refusals_halve_the_batch_until_one_message_is_named_then_batches_grow_back() {
        let mut q = Quarantine::default();
        let t = Instant::now();
        // 1000 messages of badges 0 and 24 of absences 0 in one batch; badge 700 is refused.
        let mut from = 0i64;
        let mut size = 1024usize;
        assert_eq!(
            q.aborted(
                &offsets(&[(B, 0, 1000), (A, 0, 24)]),
                size,
                refused(),
                "x",
                t
            ),
            Ok(None)
        );
        let mut aborts = 1;
        loop {
            size = q.batch_limit(1024);
            let next = from + size as i64;
            if next <= 700 {
                q.committed(&offsets(&[(B, 0, next)]));
                from = next;
                continue;
            }
            aborts += 1;
            match q.aborted(&offsets(&[(B, 0, next)]), size, refused(), "x", t) {
                Ok(Some(found)) => {
                    assert_eq!(found, (B, 0, 700));
                    break;
                }
                Ok(None) => assert!(q.batch_limit(1024) < size, "the batch narrows"),
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(
            aborts <= 12,
            "{aborts} aborts to find one message among 1024"
        );
        assert!(!q.active(), "batches grow back once the message is named");
        let poison = q.poison(B, 0, 700).cloned();
        assert_eq!(
            poison.as_ref().map(Poison::payload_prefix),
            Some(REFUSED_PREFIX)
        );
        assert!(poison.is_some_and(|p| !p.error.contains('\n')), "one line");
        // Committing past everything forgets the mark and the range.
        q.committed(&offsets(&[(B, 0, 1024), (A, 0, 24)]));
        assert!(q.poison(B, 0, 700).is_none());
        assert!(q.until.is_empty());
    }

    #[test]
    fn a_poisoned_message_whose_dead_letters_are_refused_escalates_on_the_third_refusal() {
        let mut q = Quarantine::default();
        let t = Instant::now();
        let one = offsets(&[(B, 3, 1882)]);
        assert_eq!(
            q.aborted(&one, 1, refused(), "x", t),
            Ok(Some((B, 3, 1881)))
        );
        // Its first dead letter is refused too: the second keeps nothing.
        assert_eq!(
            q.aborted(&one, 1, refused(), "x", t),
            Ok(Some((B, 3, 1881)))
        );
        assert_eq!(q.poison(B, 3, 1881).map(Poison::payload_prefix), Some(0));
        assert_eq!(q.poison(B, 3, 1881).map(Poison::key_prefix), Some(0));
        // And that as well: nothing more can be written for it.
        assert!(matches!(
            q.aborted(&one, 1, refused(), "x", t),
            Err(Escalation::Refused {
                partition: 3,
                offset: 1881,
                ..
            })
        ));
    }

    #[test]
    fn a_commit_short_of_a_poisoned_message_keeps_it() {
        let mut q = Quarantine::default();
        let t = Instant::now();
        let one = offsets(&[(A, 1, 8)]);
        assert_eq!(q.aborted(&one, 1, refused(), "x", t), Ok(Some((A, 1, 7))));
        q.committed(&offsets(&[(A, 1, 7)]));
        assert!(q.poison(A, 1, 7).is_some(), "not past it yet");
        q.committed(&one);
        assert!(q.poison(A, 1, 7).is_none());
    }

    #[test]
    fn aborts_without_any_commit_for_long_escalate_and_a_commit_resets_the_count() {
        let mut q = Quarantine::default();
        let t = Instant::now();
        let batch = offsets(&[(B, 0, 10)]);
        for i in 0..MAX_ABORTS_IN_ROW - 1 {
            let at = t + STUCK_AFTER * i / MAX_ABORTS_IN_ROW;
            assert_eq!(q.aborted(&batch, 5, None, "timeout", at), Ok(None));
        }
        q.committed(&batch);
        for _ in 0..MAX_ABORTS_IN_ROW - 1 {
            assert_eq!(q.aborted(&batch, 5, None, "timeout", t), Ok(None));
        }
        // Many aborts in a short time are not yet "stuck" (a broker restart does that).
        assert_eq!(q.aborted(&batch, 5, None, "timeout", t), Ok(None));
        assert!(matches!(
            q.aborted(&batch, 5, None, "timeout", t + STUCK_AFTER),
            Err(Escalation::Stuck { .. })
        ));
    }

    #[test]
    fn forgetting_a_partition_drops_its_marks() {
        let mut q = Quarantine::default();
        let t = Instant::now();
        let _ = q.aborted(&offsets(&[(B, 2, 5)]), 1, refused(), "x", t);
        let _ = q.aborted(&offsets(&[(B, 1, 9)]), 3, refused(), "x", t);
        assert!(q.active());
        q.forget(&[2]);
        assert!(q.poison(B, 2, 4).is_none());
        assert!(q.active(), "partition 1 still owned");
        q.forget(&[1]);
        assert!(!q.active());
    }
}
