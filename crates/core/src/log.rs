//! The in-memory replicated log, and the bookkeeping of which part of it is durable.

use crate::types::{LogIndex, Term};
use serde::{Deserialize, Serialize};

/// Bytes an entry is counted as beyond its payload, when AppendEntries batches are cut by
/// size: an upper bound on what any compact encoding (ballot's postcard, raft-rs's protobuf,
/// with the framing of a repeated field) adds for its index, term and payload length.
pub const ENTRY_OVERHEAD_BYTES: usize = 32;

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, from 1.
    pub index: LogIndex,
    /// Term of the leader that created it.
    pub term: Term,
    /// What it carries.
    pub payload: Payload,
}

impl Entry {
    /// The bytes this entry counts for in an AppendEntries batch: its payload plus
    /// [`ENTRY_OVERHEAD_BYTES`].
    pub fn size_bytes(&self) -> usize {
        self.payload.len() + ENTRY_OVERHEAD_BYTES
    }
}

/// The content of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// Appended by every new leader so that it can commit entries of earlier terms (§5.4.2).
    Noop,
    /// An application's proposal (encoded as one run of bytes, not a sequence of numbers:
    /// the same bytes in postcard, much less work).
    Data(#[serde(with = "serde_bytes")] Vec<u8>),
}

impl Payload {
    /// Length of the application's bytes (0 for a no-op).
    pub fn len(&self) -> usize {
        match self {
            Payload::Noop => 0,
            Payload::Data(data) => data.len(),
        }
    }

    /// Whether it carries no application bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A write the driver must make durable: drop every stored entry at or after `first_index`,
/// then store `entries` (which start at `first_index`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogWrite {
    /// First index written; stored entries from here on are replaced.
    pub first_index: LogIndex,
    /// The entries to store, contiguous from `first_index` (possibly none: a pure truncation).
    pub entries: Vec<Entry>,
}

/// Why an AppendEntries could not be applied to the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppendRejection {
    /// The entry at `prev_log_index` is missing or has another term (§5.3): the logs may not
    /// match beyond this index.
    Mismatch { hint: LogIndex },
    /// The request would remove a committed entry; only a broken leader sends that.
    WouldTruncateCommitted,
}

/// The log of one node: every entry it holds, the commit index, and what is durable.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    entries: Vec<Entry>,
    commit: LogIndex,
    /// Lowest index changed since the last `take_write`.
    dirty_from: Option<LogIndex>,
    /// Highest index known durable.
    stable: LogIndex,
    /// Highest index of the write handed to the driver and not yet reported durable.
    persisting: Option<LogIndex>,
}

impl Log {
    /// A log restored from durable storage; entries must be contiguous from 1.
    pub(crate) fn restore(entries: Vec<Entry>) -> Result<Log, String> {
        for (i, e) in entries.iter().enumerate() {
            if e.index != i as u64 + 1 {
                return Err(format!("entry at position {i} has index {}", e.index));
            }
            if i > 0 && e.term < entries[i - 1].term {
                return Err(format!("entry {} has a lower term than its predecessor", e.index));
            }
        }
        let stable = entries.len() as u64;
        Ok(Log { entries, stable, ..Log::default() })
    }

    pub(crate) fn last_index(&self) -> LogIndex {
        self.entries.len() as u64
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(Term(0), |e| e.term)
    }

    /// Term of the entry at `index`; `Term(0)` for index 0, `None` past the end.
    pub(crate) fn term_at(&self, index: LogIndex) -> Option<Term> {
        match index {
            0 => Some(Term(0)),
            i => self.entries.get(i as usize - 1).map(|e| e.term),
        }
    }

    pub(crate) fn commit(&self) -> LogIndex {
        self.commit
    }

    pub(crate) fn stable(&self) -> LogIndex {
        self.stable
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries from `from` (inclusive): at most `max_count` of them and at most `max_bytes`
    /// of [`Entry::size_bytes`] in all, but always the first one (an entry alone over the
    /// budget still has to be sent, or its follower could never catch up).
    pub(crate) fn batch_from(
        &self,
        from: LogIndex,
        max_count: usize,
        max_bytes: usize,
    ) -> Vec<Entry> {
        let start = (from.max(1) - 1) as usize;
        let mut bytes = 0;
        let batch = self.entries.iter().skip(start).take(max_count).take_while(|e| {
            bytes += e.size_bytes();
            bytes == e.size_bytes() || bytes <= max_bytes
        });
        batch.cloned().collect()
    }

    /// Entries in `(after, upto]`.
    pub(crate) fn range(&self, after: LogIndex, upto: LogIndex) -> &[Entry] {
        let end = upto.min(self.last_index()) as usize;
        &self.entries[(after as usize).min(end)..end]
    }

    /// §5.4.1: is a log ending at (`last_term`, `last_index`) at least as up to date as ours?
    /// Terms are compared first; only for equal terms does the longer log win.
    pub(crate) fn is_up_to_date(&self, last_term: Term, last_index: LogIndex) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }

    /// Appends a new entry at the end (leader only) and returns its index.
    pub(crate) fn append(&mut self, term: Term, payload: Payload) -> LogIndex {
        let index = self.last_index() + 1;
        self.entries.push(Entry { index, term, payload });
        self.mark_dirty(index);
        index
    }

    /// §5.3: applies an AppendEntries. Returns the index of the last entry the request
    /// covered, which now matches the leader's log.
    pub(crate) fn try_append(
        &mut self,
        prev_index: LogIndex,
        prev_term: Term,
        entries: &[Entry],
    ) -> Result<LogIndex, AppendRejection> {
        if self.term_at(prev_index) != Some(prev_term) {
            let hint = prev_index.saturating_sub(1).min(self.last_index());
            return Err(AppendRejection::Mismatch { hint });
        }
        let first_new = entries.iter().position(|e| self.term_at(e.index) != Some(e.term));
        if let Some(pos) = first_new {
            let from = entries[pos].index;
            if from <= self.commit {
                return Err(AppendRejection::WouldTruncateCommitted);
            }
            self.truncate_from(from);
            self.entries.extend_from_slice(&entries[pos..]);
            self.mark_dirty(from);
        }
        Ok(prev_index + entries.len() as u64)
    }

    fn truncate_from(&mut self, from: LogIndex) {
        if from <= self.last_index() {
            self.entries.truncate(from as usize - 1);
            self.stable = self.stable.min(from - 1);
            self.persisting = self.persisting.map(|p| p.min(from - 1));
            self.mark_dirty(from);
        }
    }

    fn mark_dirty(&mut self, from: LogIndex) {
        self.dirty_from = Some(self.dirty_from.map_or(from, |d| d.min(from)));
    }

    /// Raises the commit index (never lowers it) to at most the last index.
    pub(crate) fn commit_to(&mut self, index: LogIndex) -> bool {
        let index = index.min(self.last_index());
        if index > self.commit {
            self.commit = index;
            true
        } else {
            false
        }
    }

    pub(crate) fn has_unpersisted(&self) -> bool {
        self.dirty_from.is_some() || self.persisting.is_some()
    }

    /// Takes the pending write for the driver; it becomes durable at `persisted`.
    pub(crate) fn take_write(&mut self) -> Option<LogWrite> {
        let first_index = self.dirty_from.take()?;
        self.persisting = Some(self.last_index());
        let entries = self.entries[(first_index - 1) as usize..].to_vec();
        Some(LogWrite { first_index, entries })
    }

    /// The driver made the last taken write durable.
    pub(crate) fn persisted(&mut self) {
        if let Some(p) = self.persisting.take() {
            self.stable = self.stable.max(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(terms: &[u64]) -> Log {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(i, &t)| Entry { index: i as u64 + 1, term: Term(t), payload: Payload::Noop })
            .collect();
        Log::restore(entries).unwrap()
    }

    fn terms(log: &Log) -> Vec<u64> {
        log.entries().iter().map(|e| e.term.0).collect()
    }

    fn entries(first: LogIndex, terms: &[u64]) -> Vec<Entry> {
        terms
            .iter()
            .enumerate()
            .map(|(i, &t)| Entry { index: first + i as u64, term: Term(t), payload: Payload::Noop })
            .collect()
    }

    #[test]
    fn a_payload_is_empty_when_it_carries_no_bytes() {
        assert!(Payload::Noop.is_empty());
        assert!(Payload::Data(Vec::new()).is_empty());
        assert!(!Payload::Data(vec![7]).is_empty());
        assert_eq!(Payload::Data(vec![7, 8]).len(), 2);
    }

    /// §5.4.1: "If the logs have last entries with different terms, then the log with the
    /// later term is more up-to-date. If the logs end with the same term, then whichever log
    /// is longer is more up-to-date."
    #[test]
    fn up_to_date_rule_compares_terms_before_indexes() {
        let ours = log_of(&[1, 1, 2]);
        let cases = [
            // (candidate last term, candidate last index, granted)
            (2, 3, true),  // identical
            (2, 4, true),  // same term, longer
            (2, 2, false), // same term, shorter
            (3, 1, true),  // later term wins although much shorter
            (1, 9, false), // earlier term loses although much longer
            (0, 0, false), // empty log loses
        ];
        for (term, index, want) in cases {
            assert_eq!(ours.is_up_to_date(Term(term), index), want, "({term}, {index})");
        }
        assert!(log_of(&[]).is_up_to_date(Term(0), 0), "empty vs empty");
    }

    /// §5.3: consistency check on prev index/term, truncation of conflicting suffixes only.
    #[test]
    fn append_entries_consistency_check_and_truncation() {
        struct Case {
            ours: &'static [u64],
            prev: (u64, u64),
            new: &'static [u64],
            want: Result<LogIndex, AppendRejection>,
            after: &'static [u64],
        }
        let m = |hint| Err(AppendRejection::Mismatch { hint });
        let cases = [
            // heartbeat on a matching log changes nothing
            Case { ours: &[1, 1], prev: (2, 1), new: &[], want: Ok(2), after: &[1, 1] },
            // append at the end
            Case { ours: &[1, 1], prev: (2, 1), new: &[2, 2], want: Ok(4), after: &[1, 1, 2, 2] },
            // missing prev entry: reject, hint at our last index
            Case { ours: &[1], prev: (3, 1), new: &[1], want: m(1), after: &[1] },
            // prev term differs: reject, hint before prev
            Case { ours: &[1, 1, 2], prev: (3, 3), new: &[], want: m(2), after: &[1, 1, 2] },
            // conflicting suffix is truncated and replaced
            Case { ours: &[1, 2, 2], prev: (1, 1), new: &[3], want: Ok(2), after: &[1, 3] },
            // a stale, shorter request does not truncate matching entries after it
            Case { ours: &[1, 1, 1], prev: (0, 0), new: &[1], want: Ok(1), after: &[1, 1, 1] },
        ];
        for (i, c) in cases.iter().enumerate() {
            let mut log = log_of(c.ours);
            let got = log.try_append(c.prev.0, Term(c.prev.1), &entries(c.prev.0 + 1, c.new));
            assert_eq!(got, c.want, "case {i}");
            assert_eq!(terms(&log), c.after, "case {i}");
        }
    }

    #[test]
    fn committed_entries_are_never_truncated() {
        let mut log = log_of(&[1, 1]);
        log.commit_to(2);
        let got = log.try_append(1, Term(1), &entries(2, &[2]));
        assert_eq!(got, Err(AppendRejection::WouldTruncateCommitted));
        assert_eq!(terms(&log), [1, 1]);
    }

    #[test]
    fn writes_cover_truncation_and_durability_follows_persisted() {
        let mut log = log_of(&[1, 1, 1]);
        assert_eq!(log.stable(), 3);
        log.try_append(1, Term(1), &entries(2, &[2])).unwrap();
        assert_eq!(log.stable(), 1, "truncated entries are no longer durable");
        let w = log.take_write().unwrap();
        assert_eq!((w.first_index, w.entries.len()), (2, 1));
        assert!(log.has_unpersisted());
        log.persisted();
        assert_eq!(log.stable(), 2);
        assert!(!log.has_unpersisted());
        assert!(log.take_write().is_none());
    }

    fn data_entries(sizes: &[usize]) -> Log {
        let entries = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| Entry {
                index: i as u64 + 1,
                term: Term(1),
                payload: Payload::Data(vec![7; n]),
            })
            .collect();
        Log::restore(entries).unwrap()
    }

    fn indexes(batch: &[Entry]) -> Vec<u64> {
        batch.iter().map(|e| e.index).collect()
    }

    /// Batches are cut by count and by bytes, whichever comes first; an entry alone over the
    /// byte budget still goes (alone), so that a follower behind it can catch up.
    #[test]
    fn batches_are_cut_by_count_and_by_bytes() {
        let o = ENTRY_OVERHEAD_BYTES;
        let log = data_entries(&[100, 100, 100, 5000, 100]);
        let cases = [
            // (from, max count, max bytes, indexes sent)
            (1, 64, usize::MAX, vec![1, 2, 3, 4, 5]),
            (1, 2, usize::MAX, vec![1, 2]),
            (1, 64, 2 * (100 + o), vec![1, 2]),
            (1, 64, 2 * (100 + o) + 1, vec![1, 2]),
            (1, 64, 3 * (100 + o), vec![1, 2, 3]),
            (4, 64, 1000, vec![4]),
            (3, 64, 1000, vec![3]),
            (5, 64, 0, vec![5]),
            (6, 64, 1000, vec![]),
        ];
        for (from, count, bytes, want) in cases {
            assert_eq!(
                indexes(&log.batch_from(from, count, bytes)),
                want,
                "{from} {count} {bytes}"
            );
        }
    }

    /// A thousand entries of 1 KB, the user's scenario that once wedged a cluster, leave in
    /// batches that each stay within the budget.
    #[test]
    fn a_long_log_of_large_entries_goes_in_batches_within_the_budget() {
        let log = data_entries(&[1024; 1000]);
        let budget = 48 * 1024;
        let mut next = 1;
        let mut batches = 0;
        while next <= log.last_index() {
            let batch = log.batch_from(next, 64, budget);
            let bytes: usize = batch.iter().map(Entry::size_bytes).sum();
            assert!(bytes <= budget && !batch.is_empty(), "batch from {next}: {bytes} bytes");
            next += batch.len() as u64;
            batches += 1;
        }
        assert_eq!(batches, 1000_usize.div_ceil(budget / (1024 + ENTRY_OVERHEAD_BYTES)));
    }

    #[test]
    fn restore_rejects_gaps_and_falling_terms() {
        let gap = vec![Entry { index: 2, term: Term(1), payload: Payload::Noop }];
        assert!(Log::restore(gap).is_err());
        assert!(Log::restore(entries(1, &[2, 1])).is_err());
    }

    #[test]
    fn commit_never_goes_back_or_past_the_end() {
        let mut log = log_of(&[1, 1]);
        assert!(log.commit_to(5));
        assert_eq!(log.commit(), 2);
        assert!(!log.commit_to(1));
        assert_eq!(log.commit(), 2);
    }
}
