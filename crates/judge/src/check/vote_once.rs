//! Vote once: no node votes for two candidates in one term, across restarts.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use ballot_core::Role;
use std::collections::{BTreeMap, BTreeSet};

/// No node votes for two candidates in one term, across restarts. A vote counts once it
/// was announced or made durable; a node's own candidacy counts as a vote for itself while
/// that run of the node lasts, and across a restart only if it reached the disk (a crash
/// before the write completed loses a candidacy no message carried: persist before send).
pub(crate) fn vote_once(v: &Views) -> Vec<Violation> {
    let mut durable: BTreeMap<(usize, u64), BTreeSet<usize>> = BTreeMap::new();
    let mut candidacies: BTreeSet<(usize, u64)> = BTreeSet::new();
    let cast = |durable: &BTreeMap<(usize, u64), BTreeSet<usize>>,
                candidacies: &BTreeSet<(usize, u64)>,
                n: usize,
                term: u64| {
        let mut cast = durable.get(&(n, term)).cloned().unwrap_or_default();
        if candidacies.contains(&(n, term)) {
            cast.insert(n);
        }
        cast
    };
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        let (term, candidate, lasting) = match e.kind {
            EventKind::Vote { term, candidate, granted: true, pre_vote: false, .. } => {
                (term, candidate, true)
            }
            EventKind::Persist { term: Some(term), voted_for: Some(c), .. } => (term, c, true),
            EventKind::Role { role: Role::Candidate, term, .. } => (term, n, false),
            EventKind::Start { .. } => {
                candidacies.retain(|&(node, _)| node != n);
                continue;
            }
            _ => continue,
        };
        let before = cast(&durable, &candidacies, n, term).len();
        if lasting {
            durable.entry((n, term)).or_default().insert(candidate);
        } else {
            candidacies.insert((n, term));
        }
        let after = cast(&durable, &candidacies, n, term);
        if before < 2 && after.len() >= 2 {
            out.push(violation(
                "vote-once",
                e.t_ms,
                vec![n],
                format!("node {n} voted for {after:?} in term {term}"),
            ));
        }
    }
    out
}
