//! Election safety, vote-once and term monotonicity.

use super::{violation, CheckContext, Violation};
use crate::history::{EventKind, History};
use ballot_core::Role;
use std::collections::{BTreeMap, BTreeSet};

/// At most one leader per term (Raft Figure 3, Election Safety).
pub(crate) fn election_safety(h: &History, _: &CheckContext) -> Vec<Violation> {
    let mut leaders: BTreeMap<u64, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for e in h.events() {
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

/// No node votes for two candidates in one term, across restarts (its own candidacy is a
/// vote for itself).
pub(crate) fn vote_once(h: &History, _: &CheckContext) -> Vec<Violation> {
    let mut votes: BTreeMap<(usize, u64), BTreeSet<usize>> = BTreeMap::new();
    let mut out = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        let cast = match e.kind {
            EventKind::Vote { term, candidate, granted: true } => Some((term, candidate)),
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

/// A node's term never goes down, across restarts. (Vote answers are not counted: one batch
/// of work may answer a request of the term it had before a timeout raised it.)
pub(crate) fn term_monotonic(h: &History, _: &CheckContext) -> Vec<Violation> {
    let mut highest: BTreeMap<usize, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        let term = match e.kind {
            EventKind::Start { term, .. }
            | EventKind::Role { term, .. }
            | EventKind::Persist { term: Some(term), .. } => term,
            _ => continue,
        };
        let seen = highest.entry(n).or_default();
        if term < *seen {
            let what = if matches!(e.kind, EventKind::Start { .. }) {
                "restarted in"
            } else {
                "went back to"
            };
            out.push(violation(
                "term-monotonic",
                e.t_ms,
                vec![n],
                format!("node {n} {what} term {term} after term {seen}"),
            ));
        }
        *seen = (*seen).max(term);
    }
    out
}

/// Persist before send: a vote granted in term T was durable when announced: the disk held
/// (T, that candidate), or already a later term (in which case T can never be voted in again).
pub(crate) fn vote_durable(h: &History, _: &CheckContext) -> Vec<Violation> {
    let mut disk: BTreeMap<usize, (u64, Option<usize>)> = BTreeMap::new();
    let mut out = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        match e.kind {
            EventKind::Start { term, voted_for, .. } => {
                disk.insert(n, (term, voted_for));
            }
            EventKind::Persist { term: Some(term), voted_for, .. } => {
                disk.insert(n, (term, voted_for));
            }
            EventKind::Vote { term, candidate, granted: true } => {
                let (on_disk, vote) = disk.get(&n).copied().unwrap_or((0, None));
                if on_disk < term || (on_disk == term && vote != Some(candidate)) {
                    out.push(violation(
                        "vote-durable",
                        e.t_ms,
                        vec![n, candidate],
                        format!(
                            "node {n} granted its term-{term} vote to {candidate} while its disk \
                             held term {on_disk}, vote {vote:?}"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}
