//! Employee id → slot: an open-addressing table of 8-byte buckets (a 32-bit tag of the id's
//! hash and the slot), with linear probing. The id itself lives once, in the [`Employee`].
//!
//! Why not a general hash table: a badge's employee is found at random (badges come in time
//! order), so the lookup is the ingest's costliest step, two dependent cache misses (the
//! table, then the struct to compare the id). A shell that reads ahead can hide both, but
//! only with two hints this layout allows: the bucket's address is known from the hash
//! alone ([`EmployeeIndex::prefetch_bucket`]), and the slot is read from a cached bucket
//! without comparing ids ([`EmployeeIndex::prefetch_employee`]). The tag holds the hash's
//! top 32 bits; the home bucket is their top `bits`, so a bucket's home is known without
//! the id: growing never reads an employee, and removal shifts the probe sequence back
//! instead of leaving tombstones.

use super::{hash_text, prefetch, prefetch_struct, Employee};

/// One bucket: `slot == EMPTY` when free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    tag: u32,
    slot: u32,
}

const EMPTY: u32 = u32::MAX;
const FREE: Bucket = Bucket {
    tag: 0,
    slot: EMPTY,
};

/// Buckets per id at most 4/3 (load ≤ 3/4): probes stay short, even for an id not held.
const MAX_LOAD_NUM: usize = 3;
const MAX_LOAD_DEN: usize = 4;

/// The id's hash, computed once by a shell reading ahead and given back to the two hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmployeeHint(u64);

impl EmployeeHint {
    /// The hint for `id`.
    pub(crate) fn of(id: &str) -> Self {
        Self(hash_text(id))
    }

    fn tag(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// Employee id → slot (see the module's text).
#[derive(Debug, Default, Clone)]
pub(in crate::engine) struct EmployeeIndex {
    /// Empty, or a power of two of buckets.
    buckets: Vec<Bucket>,
    /// log2 of `buckets.len()`.
    bits: u32,
    len: usize,
}

impl EmployeeIndex {
    /// The home bucket of a tag.
    fn home(&self, tag: u32) -> usize {
        // `bits` ≤ 32 (at most 2^32 buckets); a shift by 32 of a u64 is defined.
        (u64::from(tag) >> (32 - self.bits)) as usize
    }

    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    /// The bucket index holding `id`, if any.
    fn find(&self, employees: &[Employee], id: &str) -> Option<usize> {
        if self.buckets.is_empty() {
            return None;
        }
        let tag = EmployeeHint::of(id).tag();
        let mask = self.mask();
        let mut i = self.home(tag);
        loop {
            let b = self.buckets[i];
            if b.slot == EMPTY {
                return None;
            }
            if b.tag == tag
                && employees
                    .get(b.slot as usize)
                    .is_some_and(|e| e.id.as_str() == id)
            {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of `id`.
    pub(in crate::engine) fn get(&self, employees: &[Employee], id: &str) -> Option<u32> {
        self.find(employees, id).map(|i| self.buckets[i].slot)
    }

    /// First hint, well ahead: starts loading the home bucket of `hint`'s id.
    pub(in crate::engine) fn prefetch_bucket(&self, hint: EmployeeHint) {
        if !self.buckets.is_empty() {
            let i = self.home(hint.tag());
            prefetch(std::ptr::from_ref(&self.buckets[i]).cast());
        }
    }

    /// Second hint, once the bucket is cached: starts loading the struct of the first slot
    /// whose tag matches (without comparing ids: that would wait for this very load). A
    /// wrong guess costs a wasted prefetch; an id not held, nothing.
    pub(in crate::engine) fn prefetch_employee(&self, employees: &[Employee], hint: EmployeeHint) {
        if self.buckets.is_empty() {
            return;
        }
        let tag = hint.tag();
        let mask = self.mask();
        let mut i = self.home(tag);
        // A few buckets at most: the probe of a held id is short at this load.
        for _ in 0..8 {
            let b = self.buckets[i];
            if b.slot == EMPTY {
                return;
            }
            if b.tag == tag {
                prefetch_struct(employees, b.slot);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Records that `employees[slot]` holds its id, which the index does not hold yet.
    pub(in crate::engine) fn insert(&mut self, employees: &[Employee], slot: u32) {
        self.reserve(1);
        let id = employees.get(slot as usize).map_or("", |e| e.id.as_str());
        self.place(Bucket {
            tag: EmployeeHint::of(id).tag(),
            slot,
        });
        self.len += 1;
    }

    /// Puts `bucket` in the first free bucket of its probe sequence (there is one: the
    /// load stays under 1).
    fn place(&mut self, bucket: Bucket) {
        let mask = self.mask();
        let mut i = self.home(bucket.tag);
        while self.buckets[i].slot != EMPTY {
            i = (i + 1) & mask;
        }
        self.buckets[i] = bucket;
    }

    /// Room for `additional` more ids without growing.
    pub(in crate::engine) fn reserve(&mut self, additional: usize) {
        let needed = self.len.saturating_add(additional);
        if needed.saturating_mul(MAX_LOAD_DEN) < self.buckets.len() * MAX_LOAD_NUM {
            return;
        }
        let mut buckets = 8usize;
        while buckets * MAX_LOAD_NUM <= needed.saturating_mul(MAX_LOAD_DEN) {
            buckets *= 2;
        }
        let old = std::mem::replace(&mut self.buckets, vec![FREE; buckets]);
        self.bits = buckets.trailing_zeros();
        for bucket in old.into_iter().filter(|b| b.slot != EMPTY) {
            self.place(bucket);
        }
    }

    /// Forgets `id`; returns its slot. The buckets after it in its run move back to close
    /// the gap, so that every probe still finds what it looks for.
    pub(in crate::engine) fn remove(&mut self, employees: &[Employee], id: &str) -> Option<u32> {
        let found = self.find(employees, id)?;
        let slot = self.buckets[found].slot;
        let mask = self.mask();
        let mut hole = found;
        let mut j = found;
        loop {
            j = (j + 1) & mask;
            let b = self.buckets[j];
            if b.slot == EMPTY {
                break;
            }
            let home = self.home(b.tag);
            // `b` may stay when its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.buckets[hole] = b;
                hole = j;
            }
        }
        self.buckets[hole] = FREE;
        self.len -= 1;
        Some(slot)
    }

    /// Number of ids.
    pub(in crate::engine) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the table.
    pub(in crate::engine) fn approx_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// Employees `e-0` … `e-{n-1}` in slots 0 … n-1.
    fn employees(n: usize) -> Vec<Employee> {
        (0..n).map(|i| Employee::new(&format!("e-{i}"))).collect()
    }

    #[test]
    fn ids_are_found_until_removed_and_growing_keeps_them() {
        let employees = employees(10_000);
        let mut index = EmployeeIndex::default();
        for slot in 0..10_000u32 {
            index.insert(&employees, slot);
        }
        assert_eq!(index.len(), 10_000);
        assert!(index.buckets.len() * 3 >= 10_000 * 4, "load stays ≤ 3/4");
        for slot in 0..10_000u32 {
            assert_eq!(index.get(&employees, &format!("e-{slot}")), Some(slot));
        }
        assert_eq!(index.get(&employees, "e-10000"), None);
        for slot in (0..10_000u32).step_by(3) {
            assert_eq!(index.remove(&employees, &format!("e-{slot}")), Some(slot));
        }
        for slot in 0..10_000u32 {
            let expected = (slot % 3 != 0).then_some(slot);
            assert_eq!(index.get(&employees, &format!("e-{slot}")), expected);
        }
        assert_eq!(index.remove(&employees, "e-0"), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        Reserve(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..300).prop_map(Op::Insert),
            3 => (0u16..300).prop_map(Op::Remove),
            1 => any::<u8>().prop_map(Op::Reserve),
        ]
    }

    proptest! {
        /// Under any sequence of inserts, removals and reservations the index answers as a
        /// map would, for held and missing ids alike, and its count agrees.
        #[test]
        fn the_index_answers_as_a_map(ops in prop::collection::vec(op(), 0..600)) {
            let employees = employees(300);
            let mut index = EmployeeIndex::default();
            let mut model: HashMap<u16, u32> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k) => {
                        if let std::collections::hash_map::Entry::Vacant(e) = model.entry(k) {
                            e.insert(u32::from(k));
                            index.insert(&employees, u32::from(k));
                        }
                    }
                    Op::Remove(k) => {
                        let got = index.remove(&employees, &format!("e-{k}"));
                        prop_assert_eq!(got, model.remove(&k));
                    }
                    Op::Reserve(n) => index.reserve(usize::from(n)),
                }
                prop_assert_eq!(index.len(), model.len());
            }
            for k in 0..300u16 {
                prop_assert_eq!(index.get(&employees, &format!("e-{k}")), model.get(&k).copied());
            }
        }
    }
}
