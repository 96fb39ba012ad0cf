//! The event world's agenda: what is due, earliest first, and of the same instant in the
//! order it was scheduled. A calendar of the next [`HORIZON`] milliseconds, one bucket per
//! instant, over a slab of items; what is due later waits in a heap until the calendar
//! reaches it. Almost everything (deliveries, turns, timers) is due within a few hundred
//! milliseconds, so most entries go in and out in constant time. A cancelled entry stays and
//! its owner skips it when it comes due (cheaper than removing it).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Where an entry stands in the agenda: its instant (ms) and its place among that instant's.
pub(crate) type Key = (u64, u64);

/// Milliseconds the calendar spans (a power of two).
const HORIZON: u64 = 1024;

/// Items due at integer milliseconds.
#[derive(Debug)]
pub(crate) struct Agenda<T> {
    /// The earliest instant not yet passed: every entry is due at it or later.
    base: u64,
    /// Entries due in `[base, base + HORIZON)`, by instant modulo [`HORIZON`], each bucket in
    /// the order scheduled: (sequence number, slot).
    calendar: Vec<VecDeque<(u64, usize)>>,
    /// Entries in the calendar.
    on_calendar: usize,
    /// Entries due at `base + HORIZON` or later, earliest key on top.
    later: BinaryHeap<Reverse<(u64, u64, usize)>>,
    items: Vec<Option<T>>,
    free: Vec<usize>,
    seq: u64,
}

impl<T> Default for Agenda<T> {
    fn default() -> Self {
        Agenda {
            base: 0,
            calendar: (0..HORIZON).map(|_| VecDeque::new()).collect(),
            on_calendar: 0,
            later: BinaryHeap::new(),
            items: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<T> Agenda<T> {
    /// Schedules `item` at `at` ms (an instant already passed counts as the earliest still to
    /// come), after everything already scheduled then; returns its key.
    pub(crate) fn push(&mut self, at: u64, item: T) -> Key {
        let at = at.max(self.base);
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
        self.file(at, self.seq, slot);
        (at, self.seq)
    }

    /// Puts an entry on the calendar if it is due within its span, else in `later`.
    fn file(&mut self, at: u64, seq: u64, slot: usize) {
        if at < self.base.saturating_add(HORIZON) {
            self.calendar[(at % HORIZON) as usize].push_back((seq, slot));
            self.on_calendar += 1;
        } else {
            self.later.push(Reverse((at, seq, slot)));
        }
    }

    /// Moves the calendar on to `base`, bringing onto it what is now within its span (before
    /// anything can be scheduled there directly, so each bucket stays in sequence order).
    fn advance(&mut self, base: u64) {
        self.base = base;
        while let Some(&Reverse((at, seq, slot))) = self.later.peek() {
            if at >= base.saturating_add(HORIZON) {
                break;
            }
            self.later.pop();
            self.file(at, seq, slot);
        }
    }

    /// Takes the earliest entry, if it is due before `ms`.
    pub(crate) fn pop_before(&mut self, ms: u64) -> Option<(Key, T)> {
        while self.base < ms && self.calendar[(self.base % HORIZON) as usize].is_empty() {
            let next = match (self.on_calendar, self.later.peek()) {
                (0, None) => ms,
                (0, Some(&Reverse((at, _, _)))) => at.min(ms),
                _ => self.base + 1,
            };
            self.advance(next);
        }
        if self.base >= ms {
            return None;
        }
        let (seq, slot) = self.calendar[(self.base % HORIZON) as usize]
            .pop_front()
            .expect("the calendar stopped at a filled bucket");
        self.on_calendar -= 1;
        self.free.push(slot);
        let item = self.items[slot].take().expect("a queued slot holds its item");
        Some(((self.base, seq), item))
    }

    /// Every entry, in no particular order (cancelled ones included).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Key, &T)> {
        let on_calendar = (0..HORIZON).flat_map(move |offset| {
            let at = self.base + offset;
            self.calendar[(at % HORIZON) as usize].iter().map(move |&(seq, slot)| (at, seq, slot))
        });
        let later = self.later.iter().map(|&Reverse(entry)| entry);
        on_calendar.chain(later).map(|(at, seq, slot)| {
            ((at, seq), self.items[slot].as_ref().expect("a queued slot holds its item"))
        })
    }

    /// Forgets everything scheduled.
    #[cfg(test)]
    pub(crate) fn clear(&mut self) {
        *self = Agenda { seq: self.seq, base: self.base, ..Agenda::default() };
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

    /// An entry scheduled beyond the calendar's span still comes before one scheduled at the
    /// same instant later, once the calendar has moved on.
    #[test]
    fn an_entry_from_beyond_the_calendar_keeps_its_place() {
        let mut agenda = Agenda::default();
        let far = 3 * HORIZON + 5;
        agenda.push(far, "first");
        agenda.push(far - 10, "before");
        assert_eq!(
            agenda.pop_before(far).map(|(key, item)| (key.0, item)),
            Some((far - 10, "before"))
        );
        agenda.push(far, "second");
        let taken: Vec<_> = std::iter::from_fn(|| agenda.pop_before(u64::MAX)).collect();
        assert_eq!(taken.iter().map(|&(_, item)| item).collect::<Vec<_>>(), ["first", "second"]);
        assert!(taken[0].0 < taken[1].0);
    }

    proptest::proptest! {
        /// The calendar hands out entries exactly as an ordered heap of (instant, sequence)
        /// would, whatever mix of near and far instants is scheduled and taken.
        #[test]
        fn takes_entries_in_key_order(ops in proptest::collection::vec((0u64..3 * HORIZON, 0u64..600), 1..300)) {
            let mut agenda = Agenda::default();
            let mut model = BinaryHeap::new();
            let mut now = 0;
            for (i, (ahead, step)) in ops.into_iter().enumerate() {
                let key = agenda.push(now + ahead, i);
                model.push(Reverse((key, i)));
                now += step;
                loop {
                    let expected = match model.peek() {
                        Some(&Reverse(((at, _), _))) if at < now => model.pop().map(|Reverse(e)| e),
                        _ => None,
                    };
                    let taken = agenda.pop_before(now);
                    proptest::prop_assert_eq!(taken, expected);
                    if taken.is_none() {
                        break;
                    }
                }
            }
            let rest: Vec<_> = std::iter::from_fn(|| agenda.pop_before(u64::MAX)).collect();
            let expected: Vec<_> = std::iter::from_fn(|| model.pop().map(|Reverse(e)| e)).collect();
            proptest::prop_assert_eq!(rest, expected);
        }
    }
}
