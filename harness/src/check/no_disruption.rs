//! No disruption: with pre-vote and check-quorum, nobody campaigns against a leader that has
//! a working majority, however other nodes come and go.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use ballot_core::Role;

/// The spans in which a leader has had, for the settling time, a majority it exchanges
/// messages with reliably and in time (other nodes may be cut off, crashed, paused or
/// rejoining): `(leader, term, from, to)`. Only with pre-vote and check-quorum on.
fn undisturbed(v: &Views) -> Vec<(usize, u64, f64, f64)> {
    let timing = v.setup().timing;
    if !(timing.pre_vote && timing.check_quorum) {
        return Vec::new();
    }
    let settle = timing.settle_ms();
    let mut out = Vec::new();
    for span in v.leaders() {
        let n = span.node;
        let stable = |c: &crate::faults::Conditions| c.in_majority(n) && c.timely(&timing);
        for (from, to) in v.intervals_where(span.from_ms, span.to_ms, stable) {
            if from + settle < to {
                out.push((n, span.term, from + settle, to));
            }
        }
    }
    out
}

/// With pre-vote and check-quorum on, no node becomes a candidate while a leader has had a
/// majority it reaches reliably and in time for three maximum election timeouts: the
/// majority is inside the leader's lease and refuses every pre-vote, so a node rejoining
/// from a partition (or waking from a pause) cannot raise the term. The target of a
/// `transfer` may campaign within the transfer's lifetime: the leader asked it to.
pub(crate) fn no_disruption(v: &Views) -> Vec<Violation> {
    let spans = undisturbed(v);
    let mut out = Vec::new();
    for e in v.history().events() {
        let EventKind::Role { role: Role::Candidate, term, .. } = e.kind else { continue };
        let Some(&(leader, leader_term, since, _)) =
            spans.iter().find(|(_, _, from, to)| *from <= e.t_ms && e.t_ms < *to)
        else {
            continue;
        };
        let n = e.node.unwrap_or_default();
        if v.transfer_to(n, e.t_ms) {
            continue;
        }
        out.push(violation(
            "no-disruption",
            e.t_ms,
            vec![n, leader],
            format!(
                "node {n} started term {term} while leader {leader} (term {leader_term}) had a working majority since {since:.0} ms"
            ),
        ));
    }
    out
}

/// Simulated milliseconds in which some leader was undisturbable.
pub(crate) fn judged_ms(v: &Views) -> f64 {
    undisturbed(v).iter().map(|(_, _, from, to)| to - from).sum()
}
