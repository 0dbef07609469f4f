//! A sorted list of per-date or per-week entries whose latest entry is held inline, in the
//! employee's struct, rather than in the list's heap block.
//!
//! An employee's badges of one date (and one week) follow each other: the `in`, the `out`,
//! a re-badge. With the entry they update held inline, only the first badge of a date
//! reaches the heap block, and then only to append (no search); the others touch only the
//! struct the id lookup already loaded (BENCHMARKS.md, issue 12).

/// An entry of a [`Recent`] list: keyed, and with a value meaning "no entry".
pub(in crate::engine) trait Entry: Copy + PartialEq {
    /// What the list is sorted and searched by.
    type Key: Ord + Copy;
    /// The value of an empty inline slot; never a real entry.
    const VACANT: Self;
    /// This entry's key.
    fn key(&self) -> Self::Key;
}

/// Entries sorted by key, each key at most once. `newest` holds the entry of the greatest key
/// (or [`Entry::VACANT`] when there is none); `older` holds the others, sorted. Time moves
/// forward, so a new key is almost always greater than every key held: the entry it replaces
/// as the newest is pushed at the end of `older`, with no search of it.
#[derive(Debug)]
pub(in crate::engine) struct Recent<T> {
    newest: T,
    older: Vec<T>,
}

/// Copies keep the heap block's spare capacity (see `Employee`'s `Clone`).
impl<T: Copy> Clone for Recent<T> {
    fn clone(&self) -> Self {
        Self {
            newest: self.newest,
            older: clone_with_capacity(&self.older),
        }
    }
}

/// Lookups of non-decreasing keys in a [`Recent`] list, each moving forward from where the
/// last stopped: a window's weeks and their dates are read oldest first, so a walk over the
/// block's entries replaces a binary search per date (each a few cache misses; BENCHMARKS.md,
/// issue 12).
#[derive(Debug, Clone)]
pub(in crate::engine) struct Cursor<'a, T> {
    /// The older entries not yet passed.
    older: &'a [T],
    newest: Option<&'a T>,
}

impl<'a, T: Entry> Cursor<'a, T> {
    /// The entry of `key`; `key` must not be below the previous lookup's (a smaller one is
    /// found only if it is the newest entry's).
    pub(in crate::engine) fn get(&mut self, key: T::Key) -> Option<&'a T> {
        while let Some((first, rest)) = self.older.split_first() {
            match first.key().cmp(&key) {
                std::cmp::Ordering::Less => self.older = rest,
                std::cmp::Ordering::Equal => return Some(first),
                std::cmp::Ordering::Greater => return None,
            }
        }
        self.newest.filter(|n| n.key() == key)
    }
}

/// A copy of `v` with the same capacity.
pub(in crate::engine) fn clone_with_capacity<T: Copy>(v: &Vec<T>) -> Vec<T> {
    let mut copy = Vec::with_capacity(v.capacity());
    copy.extend_from_slice(v);
    copy
}

impl<T: Entry> Default for Recent<T> {
    fn default() -> Self {
        Self {
            newest: T::VACANT,
            older: Vec::new(),
        }
    }
}

impl<T: Entry> Recent<T> {
    /// A list of `sorted` entries (strictly increasing keys, none vacant).
    pub(in crate::engine) fn from_sorted(mut sorted: Vec<T>) -> Self {
        let newest = sorted.pop().unwrap_or(T::VACANT);
        Self {
            newest,
            older: sorted,
        }
    }

    fn has_newest(&self) -> bool {
        self.newest != T::VACANT
    }

    /// The entry of `key`.
    pub(in crate::engine) fn get(&self, key: T::Key) -> Option<&T> {
        if !self.has_newest() || key > self.newest.key() {
            return None;
        }
        if key == self.newest.key() {
            return Some(&self.newest);
        }
        self.older
            .binary_search_by_key(&key, T::key)
            .ok()
            .map(|i| &self.older[i])
    }

    /// A cursor over the entries from `key` on, for lookups of non-decreasing keys (see
    /// [`Cursor`]).
    ///
    /// The search gallops back from the newest entries: the keys asked are recent (this
    /// week, the window before it), and the block's last lines are the ones a sweep has
    /// asked the cache for.
    pub(in crate::engine) fn cursor_from(&self, key: T::Key) -> Cursor<'_, T> {
        let older = &self.older;
        // Every entry from `hi` on is ≥ key; every entry before `lo` is < key.
        let (mut hi, mut step) = (older.len(), 1);
        let lo = loop {
            if hi == 0 {
                break 0;
            }
            let probe = hi.saturating_sub(step);
            if older[probe].key() < key {
                break probe + 1;
            }
            hi = probe;
            step *= 2;
        };
        let start = lo + older[lo..hi].partition_point(|e| e.key() < key);
        Cursor {
            older: &self.older[start..],
            newest: self.has_newest().then_some(&self.newest),
        }
    }

    /// The entry of `key`, made with `make` when there is none.
    pub(in crate::engine) fn get_or_insert(
        &mut self,
        key: T::Key,
        make: impl FnOnce() -> T,
    ) -> &mut T {
        if !self.has_newest() {
            // No newest, so nothing at all (forgetting the newest forgets every key).
            self.newest = make();
            return &mut self.newest;
        }
        if key == self.newest.key() {
            return &mut self.newest;
        }
        if key > self.newest.key() {
            let previous = std::mem::replace(&mut self.newest, make());
            self.reserve_one();
            self.older.push(previous);
            return &mut self.newest;
        }
        let i = match self.older.binary_search_by_key(&key, T::key) {
            Ok(i) => i,
            Err(i) => {
                self.reserve_one();
                self.older.insert(i, make());
                i
            }
        };
        &mut self.older[i]
    }

    /// Makes room for one more older entry: the block holds 4, 8, 16 entries, then grows by 8
    /// at a time. An employee's lists grow by a few entries a week and forget as many once
    /// full (§8), so doubling left up to half of each block unused (a 36-date presence list
    /// took 64 entries), and those blocks are most of a large company's memory
    /// (BENCHMARKS.md). The lists are bounded by retention, so a block is reallocated at most
    /// ~10 times.
    fn reserve_one(&mut self) {
        let len = self.older.len();
        if len == self.older.capacity() {
            self.older.reserve_exact(len.clamp(4, 8));
        }
    }

    /// No entry.
    pub(in crate::engine) fn is_empty(&self) -> bool {
        !self.has_newest() && self.older.is_empty()
    }

    /// The smallest key.
    pub(in crate::engine) fn first_key(&self) -> Option<T::Key> {
        match self.older.first() {
            Some(e) => Some(e.key()),
            None => self.has_newest().then(|| self.newest.key()),
        }
    }

    /// Forgets the entries keyed before `key`; shrinks the heap block when it holds more
    /// than `slack` unused entries (steady state adds and forgets one at a time).
    pub(in crate::engine) fn forget_before(&mut self, key: T::Key, slack: usize) {
        if self.has_newest() && self.newest.key() < key {
            self.newest = T::VACANT;
        }
        let n = self.older.partition_point(|e| e.key() < key);
        self.older.drain(..n);
        if self.older.capacity() > self.older.len() + slack {
            self.older.shrink_to(self.older.len() + slack / 2);
        }
    }

    /// Every entry, sorted by key.
    pub(in crate::engine) fn sorted(&self) -> impl Iterator<Item = T> + '_ {
        let newest = self.has_newest().then_some(self.newest);
        self.older.iter().copied().chain(newest)
    }

    /// The entries in the heap block (for cache warming), in key order.
    pub(in crate::engine) fn heap_entries(&self) -> &[T] {
        &self.older
    }

    /// Bytes held on the heap.
    pub(in crate::engine) fn heap_bytes(&self) -> usize {
        self.older.capacity() * std::mem::size_of::<T>()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct E(i32, u8);

    impl Entry for E {
        type Key = i32;
        const VACANT: Self = E(i32::MIN, 0);
        fn key(&self) -> i32 {
            self.0
        }
    }

    proptest! {
        /// Whatever the order of writes and forgets, the list holds what a sorted map
        /// would: each key once, in order, with the value written last.
        #[test]
        fn a_recent_list_behaves_as_a_sorted_map(
            ops in prop::collection::vec((0u8..4, -20i32..20, 1u8..8), 0..200),
        ) {
            let mut list = Recent::<E>::default();
            let mut model = std::collections::BTreeMap::<i32, u8>::new();
            for (op, key, bit) in ops {
                if op == 0 {
                    list.forget_before(key, 4);
                    model.retain(|k, _| *k >= key);
                } else {
                    list.get_or_insert(key, || E(key, 0)).1 |= 1 << bit;
                    *model.entry(key).or_default() |= 1 << bit;
                }
                let held: Vec<(i32, u8)> = list.sorted().map(|e| (e.0, e.1)).collect();
                let want: Vec<(i32, u8)> = model.iter().map(|(k, v)| (*k, *v)).collect();
                prop_assert_eq!(&held, &want);
                prop_assert_eq!(list.is_empty(), model.is_empty());
                prop_assert_eq!(list.first_key(), model.keys().next().copied());
                for k in -21..21 {
                    prop_assert_eq!(list.get(k).map(|e| e.1), model.get(&k).copied());
                }
                let rebuilt = Recent::from_sorted(list.sorted().collect());
                prop_assert_eq!(rebuilt.sorted().collect::<Vec<_>>(), list.sorted().collect::<Vec<_>>());
            }
        }

        /// A cursor from any key, asked increasing keys (each possibly twice, with gaps),
        /// finds what `get` finds; a copy keeps the capacity.
        #[test]
        fn a_cursor_finds_what_get_finds(
            keys in prop::collection::btree_set(-20i32..20, 0..30),
            from in -22i32..22,
            asked in prop::collection::vec((0i32..4, any::<bool>()), 0..40),
        ) {
            let list = Recent::from_sorted(keys.iter().map(|&k| E(k, k as u8)).collect());
            let mut cursor = list.cursor_from(from);
            let mut key = from;
            for (step, twice) in asked {
                key += step;
                prop_assert_eq!(cursor.get(key), list.get(key), "key {}", key);
                if twice {
                    prop_assert_eq!(cursor.get(key), list.get(key), "key {} again", key);
                }
            }
            let copy = list.clone();
            prop_assert_eq!(copy.heap_bytes(), list.heap_bytes());
            prop_assert_eq!(copy.sorted().collect::<Vec<_>>(), list.sorted().collect::<Vec<_>>());
        }
    }
}
