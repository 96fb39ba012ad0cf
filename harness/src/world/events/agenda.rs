//! The event world's agenda: what is due, earliest first, and of the same instant in the
//! order it was scheduled. A binary heap; a cancelled entry stays in it and its owner skips
//! it when it comes due (cheaper than removing it from an ordered map).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Where an entry stands in the agenda: its instant (ms) and its place among that instant's.
pub(crate) type Key = (u64, u64);

/// Items due at integer milliseconds.
#[derive(Debug)]
pub(crate) struct Agenda<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

#[derive(Debug)]
struct Entry<T> {
    key: Key,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    /// Reversed, so that the max-heap gives the earliest key first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

impl<T> Default for Agenda<T> {
    fn default() -> Self {
        Agenda { heap: BinaryHeap::new(), seq: 0 }
    }
}

impl<T> Agenda<T> {
    /// Schedules `item` at `at` ms, after everything already scheduled then; returns its key.
    pub(crate) fn push(&mut self, at: u64, item: T) -> Key {
        self.seq += 1;
        let key = (at, self.seq);
        self.heap.push(Entry { key, item });
        key
    }

    /// Takes the earliest entry, if it is due before `ms`.
    pub(crate) fn pop_before(&mut self, ms: u64) -> Option<(Key, T)> {
        if self.heap.peek()?.key.0 >= ms {
            return None;
        }
        self.heap.pop().map(|e| (e.key, e.item))
    }

    /// Every entry, in no particular order (cancelled ones included).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Key, &T)> {
        self.heap.iter().map(|e| (e.key, &e.item))
    }

    /// Forgets everything scheduled.
    #[cfg(test)]
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_in_the_order_scheduled() {
        let mut agenda = Agenda::default();
        for (at, item) in [(5, "c"), (3, "a"), (5, "d"), (3, "b"), (9, "e")] {
            agenda.push(at, item);
        }
        let mut taken = Vec::new();
        while let Some((_, item)) = agenda.pop_before(9) {
            taken.push(item);
        }
        assert_eq!(taken, ["a", "b", "c", "d"], "9 is not before 9");
        assert_eq!(agenda.pop_before(10).map(|(key, item)| (key.0, item)), Some((9, "e")));
    }
}
