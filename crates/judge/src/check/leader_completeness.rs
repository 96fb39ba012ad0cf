//! Leader Completeness (Raft Figure 3): a leader holds every entry committed before its term.

use super::{violation, Violation};
use crate::history::{DurableLogs, EventKind, Views};
use ballot_core::Role;
use std::collections::BTreeMap;

/// Raft Figure 3, Leader Completeness: a leader of term T holds every entry committed in an
/// earlier term. An entry's commit term is bounded by the lowest term in which any node
/// reported it committed.
pub(crate) fn leader_completeness(v: &Views) -> Vec<Violation> {
    let mut commit_term: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for e in v.history().events() {
        if let EventKind::Commit { index, term, in_term } = e.kind {
            let t = commit_term.entry((index, term)).or_insert(in_term);
            *t = (*t).min(in_term);
        }
    }
    let mut logs = DurableLogs::default();
    let mut out = Vec::new();
    for e in v.history().events() {
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
