//! Committed entries stay committed: no conflicting commits, and no node loses an entry it
//! reported committed, not even across a crash.

use super::{violation, Violation};
use crate::history::{DurableLogs, EventKind, Views};
use std::collections::{BTreeMap, BTreeSet};

/// An entry reported committed never disappears: no index is committed with two terms, and a
/// node that reported (index, term) committed keeps it in its durable log from then on.
///
/// Each node's reported entries that its durable log does not hold are kept as they change
/// (a write changes only the entries from its first index on, a commit only its own), so that
/// the check after every write costs what the write changed, not every committed entry.
pub(crate) fn committed_durable(v: &Views) -> Vec<Violation> {
    let mut committed: BTreeMap<u64, (u64, usize)> = BTreeMap::new();
    let mut reported: BTreeMap<usize, BTreeMap<u64, u64>> = BTreeMap::new();
    let mut missing: BTreeMap<usize, BTreeSet<u64>> = BTreeMap::new();
    let mut logs = DurableLogs::default();
    let mut out = Vec::new();
    // Whether node `n`'s durable `log` holds `index` with `term`, kept in `missing`.
    let judge = |missing: &mut BTreeMap<usize, BTreeSet<u64>>, n, log: &[u64], index: u64, term| {
        let missing = missing.entry(n).or_default();
        if log.get(index as usize - 1) == Some(&term) {
            missing.remove(&index);
        } else {
            missing.insert(index);
        }
    };
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        match &e.kind {
            EventKind::Commit { index, term, .. } => {
                if let Some(&(other_term, by)) = committed.get(index) {
                    if other_term != *term {
                        out.push(violation(
                            "committed-durable",
                            e.t_ms,
                            vec![by, n],
                            format!(
                                "entry {index} committed with term {other_term} (node {by}) \
                                 and term {term} (node {n})"
                            ),
                        ));
                    }
                } else {
                    committed.insert(*index, (*term, n));
                }
                reported.entry(n).or_default().insert(*index, *term);
                judge(&mut missing, n, logs.get(n), *index, *term);
            }
            kind => {
                if let EventKind::Start { log_len, .. } = kind {
                    let lost = reported.get(&n).and_then(|r| r.range(log_len + 1..).next());
                    if let Some((&index, _)) = lost {
                        out.push(violation(
                            "committed-durable",
                            e.t_ms,
                            vec![n],
                            format!(
                                "node {n} restarted with {log_len} entries, losing committed entry {index}"
                            ),
                        ));
                        continue;
                    }
                }
                // A write, or a start that says what the log holds: the entries it changes
                // are from its first index (1 for a start), or the log's end if that comes
                // first.
                let Some(first) = DurableLogs::first_changed(kind) else { continue };
                let from = first.min(logs.get(n).len() as u64 + 1);
                let Some(log) = logs.apply(n, kind) else { continue };
                for (&index, &term) in reported.get(&n).into_iter().flat_map(|r| r.range(from..)) {
                    judge(&mut missing, n, log, index, term);
                }
                if let Some(&index) = missing.get(&n).and_then(|m| m.first()) {
                    let term = reported[&n][&index];
                    let what = if matches!(kind, EventKind::Start { .. }) {
                        "restarted without"
                    } else {
                        "overwrote"
                    };
                    out.push(violation(
                        "committed-durable",
                        e.t_ms,
                        vec![n],
                        format!("node {n} {what} committed entry {index} (term {term})"),
                    ));
                }
            }
        }
    }
    out
}
