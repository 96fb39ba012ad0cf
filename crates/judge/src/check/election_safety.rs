//! Election Safety (Raft Figure 3): at most one leader per term.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use ballot_core::Role;
use std::collections::BTreeMap;

/// At most one leader per term (Raft Figure 3, Election Safety).
pub(crate) fn election_safety(v: &Views) -> Vec<Violation> {
    let mut leaders: BTreeMap<u64, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        if let (Some(n), EventKind::Role { role: Role::Leader, term, .. }) = (e.node, &e.kind) {
            match leaders.get(term) {
                Some(&other) if other != n => out.push(violation(
                    "election-safety",
                    e.t_ms,
                    vec![other, n],
                    format!("nodes {other} and {n} both leader in term {term}"),
                )),
                _ => {
                    leaders.insert(*term, n);
                }
            }
        }
    }
    out
}
