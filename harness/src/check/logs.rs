//! Log matching and leader completeness, over each node's durable log as the history rebuilds
//! it from `persist` events.

use super::{violation, CheckContext, Violation};
use crate::history::{EventKind, History};
use ballot_core::Role;
use std::collections::BTreeMap;

/// Each node's durable log (the term of every entry), replayed event by event.
#[derive(Default)]
pub(crate) struct DurableLogs {
    logs: BTreeMap<usize, Vec<u64>>,
}

impl DurableLogs {
    /// Applies a persist event; returns the node's log after it.
    pub(crate) fn apply(&mut self, node: usize, kind: &EventKind) -> Option<&[u64]> {
        let EventKind::Persist { first_index: Some(first), terms: Some(terms), .. } = kind else {
            return None;
        };
        let log = self.logs.entry(node).or_default();
        log.truncate(first.saturating_sub(1) as usize);
        log.extend(terms);
        Some(log)
    }

    pub(crate) fn get(&self, node: usize) -> &[u64] {
        self.logs.get(&node).map_or(&[], |l| l.as_slice())
    }

    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&usize, &Vec<u64>)> {
        self.logs.iter()
    }
}

/// Where two logs first differ, if some later index has the same term in both: a
/// counterexample to Log Matching (same index and term, different prefixes).
fn mismatch(a: &[u64], b: &[u64]) -> Option<(usize, usize)> {
    let common = a.len().min(b.len());
    let first_diff = (0..common).find(|&i| a[i] != b[i])?;
    (first_diff + 1..common).rev().find(|&i| a[i] == b[i]).map(|same| (first_diff + 1, same + 1))
}

/// Raft Figure 3, Log Matching: if two logs hold an entry with the same index and term, they
/// are identical up to it.
pub(crate) fn log_matching(h: &History, _: &CheckContext) -> Vec<Violation> {
    let mut logs = DurableLogs::default();
    let mut out = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        let Some(log) = logs.apply(n, &e.kind).map(<[u64]>::to_vec) else { continue };
        for (&other, other_log) in logs.nodes().filter(|(&o, _)| o != n) {
            if let Some((differ, same)) = mismatch(&log, other_log) {
                out.push(violation(
                    "log-matching",
                    e.t_ms,
                    vec![n, other],
                    format!(
                        "nodes {n} and {other} agree on entry {same} (term {}) but differ at {differ}",
                        log[same - 1]
                    ),
                ));
            }
        }
    }
    out
}

/// Raft Figure 3, Leader Completeness: a leader of term T holds every entry committed in an
/// earlier term. An entry's commit term is bounded by the lowest term in which any node
/// reported it committed.
pub(crate) fn leader_completeness(h: &History, _: &CheckContext) -> Vec<Violation> {
    let mut commit_term: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for e in h.events() {
        if let EventKind::Commit { index, term, in_term } = e.kind {
            let t = commit_term.entry((index, term)).or_insert(in_term);
            *t = (*t).min(in_term);
        }
    }
    let mut logs = DurableLogs::default();
    let mut out = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        logs.apply(n, &e.kind);
        let EventKind::Role { role: Role::Leader, term: leader_term, .. } = e.kind else {
            continue;
        };
        let log = logs.get(n);
        for (&(index, term), &committed_in) in &commit_term {
            if committed_in < leader_term && log.get(index as usize - 1) != Some(&term) {
                out.push(violation(
                    "leader-completeness",
                    e.t_ms,
                    vec![n],
                    format!(
                        "node {n} leads term {leader_term} without entry {index} (term {term}), \
                         committed by term {committed_in}"
                    ),
                ));
            }
        }
    }
    out
}
