//! Vote once: no node votes for two candidates in one term, across restarts.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use ballot_core::Role;
use std::collections::{BTreeMap, BTreeSet};

/// No node votes for two candidates in one term, across restarts (its own candidacy is a
/// vote for itself).
pub(crate) fn vote_once(v: &Views) -> Vec<Violation> {
    let mut votes: BTreeMap<(usize, u64), BTreeSet<usize>> = BTreeMap::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        let cast = match e.kind {
            EventKind::Vote { term, candidate, granted: true, pre_vote: false, .. } => {
                Some((term, candidate))
            }
            EventKind::Role { role: Role::Candidate, term, .. } => Some((term, n)),
            EventKind::Persist { term: Some(term), voted_for: Some(c), .. } => Some((term, c)),
            _ => None,
        };
        let Some((term, candidate)) = cast else { continue };
        let cast_so_far = votes.entry((n, term)).or_default();
        cast_so_far.insert(candidate);
        if cast_so_far.len() == 2 {
            out.push(violation(
                "vote-once",
                e.t_ms,
                vec![n],
                format!("node {n} voted for {cast_so_far:?} in term {term}"),
            ));
        }
    }
    out
}
