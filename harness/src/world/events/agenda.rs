//! The event world's agenda: what is due, earliest first, and of the same instant in the
//! order it was scheduled. A binary heap of keys over a slab of items (the heap moves 24
//! bytes a step, not a whole datagram); a cancelled entry stays in it and its owner skips it
//! when it comes due (cheaper than removing it from an ordered map).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Where an entry stands in the agenda: its instant (ms) and its place among that instant's.
pub(crate) type Key = (u64, u64);

/// Items due at integer milliseconds.
#[derive(Debug)]
pub(crate) struct Agenda<T> {
    /// Each entry's key and its item's slot, earliest key on top.
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    items: Vec<Option<T>>,
    free: Vec<usize>,
    seq: u64,
}

impl<T> Default for Agenda<T> {
    fn default() -> Self {
        Agenda { heap: BinaryHeap::new(), items: Vec::new(), free: Vec::new(), seq: 0 }
    }
}

impl<T> Agenda<T> {
    /// Schedules `item` at `at` ms, after everything already scheduled then; returns its key.
    pub(crate) fn push(&mut self, at: u64, item: T) -> Key {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.items[slot] = Some(item);
                slot
            }
            None => {
                self.items.push(Some(item));
                self.items.len() - 1
            }
        };
        self.heap.push(Reverse((at, self.seq, slot)));
        (at, self.seq)
    }

    /// Takes the earliest entry, if it is due before `ms`.
    pub(crate) fn pop_before(&mut self, ms: u64) -> Option<(Key, T)> {
        let &Reverse((at, seq, slot)) = self.heap.peek()?;
        if at >= ms {
            return None;
        }
        self.heap.pop();
        self.free.push(slot);
        let item = self.items[slot].take().expect("a queued slot holds its item");
        Some(((at, seq), item))
    }

    /// Every entry, in no particular order (cancelled ones included).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Key, &T)> {
        self.heap.iter().map(|&Reverse((at, seq, slot))| {
            ((at, seq), self.items[slot].as_ref().expect("a queued slot holds its item"))
        })
    }

    /// Forgets everything scheduled.
    #[cfg(test)]
    pub(crate) fn clear(&mut self) {
        *self = Agenda { seq: self.seq, ..Agenda::default() };
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
