//! No vote inside a lease: a node that heard from its leader refuses to help anyone else.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use std::collections::BTreeMap;

/// With check-quorum on, no node grants a vote or a pre-vote to another node within one
/// minimum election timeout (of its own clock) after it accepted an AppendEntries from a
/// leader that still holds its lease (thesis §9.6: this is what keeps a rejoining node from
/// deposing a live leader, and what the leader lease rests on). A leader whose lease is gone
/// (it lost its quorum, or a higher term reached the voter by another message) is owed
/// nothing. A leadership transfer is the one case that overrides it: a vote for the target
/// of a `transfer` step within the transfer's lifetime (one maximum election timeout) is
/// allowed; a vote for it after that (a TimeoutNow that arrived late) is not. The lease
/// that counts is the one of the term in which the voter heard that leader: an old message of
/// a node that leads again in a newer term owes nothing to its new lease (a lease of a term
/// above the vote's is never the one heard). Judged, as lease safety, wherever the clocks are
/// within the drift bound: a lease is dated by its leader's clock, and a leader whose clock
/// runs slower than the bound allows believes in a lease its followers never promised.
pub(crate) fn lease_vote(v: &Views) -> Vec<Violation> {
    let timing = v.setup().timing;
    if !timing.check_quorum {
        return Vec::new();
    }
    let judged = v.drift_in_bound();
    let in_bound = |t: f64| judged.iter().any(|(from, to)| *from <= t && t < *to);
    let min = timing.election_timeout_min_ms as f64;
    let mut out = Vec::new();
    // Per voter and leader, the term in which the voter last followed that leader.
    let mut followed: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    for e in v.history().events() {
        if let (EventKind::Role { term, leader: Some(leader), .. }, Some(n)) = (&e.kind, e.node) {
            followed.insert((n, *leader), *term);
        }
        let EventKind::Vote {
            term,
            candidate,
            granted: true,
            pre_vote,
            heard_from: Some(leader),
            since_heard_ms: Some(ago),
            ..
        } = e.kind
        else {
            continue;
        };
        let heard_term = followed.get(&(e.node.unwrap_or_default(), leader));
        let leased = v.leases().iter().any(|l| {
            l.node == leader
                && heard_term.is_none_or(|&t| t == l.term)
                // A voter's term is at least the one it heard the leader in, so a lease of a
                // term above the vote's cannot be the one (the role the voter took then may
                // have come and gone inside one batch of messages, unrecorded).
                && l.term <= term
                && l.from <= e.t_ms
                && e.t_ms < l.to
        });
        // The core counts whole milliseconds of its clock; allow for that rounding.
        if leader != candidate
            && leased
            && ago + 1.0 < min
            && !v.transfer_to(candidate, e.t_ms)
            && in_bound(e.t_ms)
        {
            let n = e.node.unwrap_or_default();
            let what = if pre_vote { "pre-vote" } else { "vote" };
            out.push(violation(
                "lease-vote",
                e.t_ms,
                vec![n, candidate],
                format!(
                    "node {n} granted its term-{term} {what} to {candidate} {ago:.0} ms (its clock) after it heard from leader {leader}, which still holds its lease"
                ),
            ));
        }
    }
    out
}

/// With check-quorum on, the time the clocks were within the drift bound; nothing without it.
pub(crate) fn judged_ms(v: &Views) -> f64 {
    if v.setup().timing.check_quorum {
        v.drift_in_bound().iter().map(|(from, to)| to - from).sum()
    } else {
        0.0
    }
}
