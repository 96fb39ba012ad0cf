//! No disruption: with pre-vote and check-quorum, nobody campaigns against a leader that has
//! a working majority, and no such leader loses its leadership, however other nodes come and
//! go.

use super::{violation, Violation};
use crate::history::{EventKind, LeaderSpan, Views};
use ballot_core::Role;

/// A leader's undisturbed time: from when it had had one majority it exchanges messages with
/// reliably and in time for the settling time, to when that ended (other nodes may be cut
/// off, crashed, paused or rejoining; the same majority, not merely some majority, must
/// stay: one swapped for another in an instant leaves the leader rightly short of
/// acknowledgements for a while).
struct Undisturbed<'a> {
    span: &'a LeaderSpan,
    since: f64,
    to: f64,
}

/// Every undisturbed interval of every leader. Only with pre-vote and check-quorum on.
fn undisturbed<'a>(v: &'a Views) -> Vec<Undisturbed<'a>> {
    let timing = v.setup().timing;
    if !(timing.pre_vote && timing.check_quorum) {
        return Vec::new();
    }
    let settle = timing.settle_ms();
    let mut out = Vec::new();
    for span in v.leaders() {
        let n = span.node;
        let stable =
            |c: &ballot_schedule::faults::Conditions| c.in_majority(n) && c.timely(&timing);
        for (from, to) in v.steady_majority_intervals(n, span.from_ms, span.to_ms, stable) {
            if from + settle < to {
                out.push(Undisturbed { span, since: from + settle, to });
            }
        }
    }
    out
}

/// With pre-vote and check-quorum on, a leader that has had a majority it reaches reliably
/// and in time for three maximum election timeouts is left alone: the majority is inside
/// its lease and refuses every pre-vote, so a node rejoining from a partition (or waking
/// from a pause) can neither campaign nor carry a higher term to it in any message. Two
/// ways of breaking that are reported: a node becoming a candidate of a term above the
/// leader's (one of its term or older can neither win nor depose it), and the leader losing
/// its leadership while the conditions still hold (without crashing or pausing) to a
/// higher term that reached it any other way (an answer to its heartbeat, say), unless some
/// node held that term before the working majority began (a campaign made while the leader
/// had none, whose vote requests a partition dropped: it disrupts once when it returns, as
/// Raft with pre-vote must). The
/// target of a `transfer` may campaign within the transfer's lifetime, and its leader step
/// down then or to the term of that campaign later: the application asked for it.
pub(crate) fn no_disruption(v: &Views) -> Vec<Violation> {
    let spans = undisturbed(v);
    let mut out = campaigns(v, &spans);
    for u in &spans {
        let (leader, term, lost_at) = (u.span.node, u.span.term, u.span.to_ms);
        let campaigned = out.iter().any(|c| u.span.from_ms <= c.t_ms && c.t_ms <= lost_at);
        if u.to < lost_at || lost_at >= v.end_ms() || campaigned {
            continue; // the conditions changed first, the run ended, or already reported
        }
        let c = v.conditions_at(lost_at);
        if !c.in_majority(leader) || !c.timely(&v.setup().timing) || v.transferring(leader, lost_at)
        {
            continue; // it crashed, paused or lost its majority at that instant, or was asked
        }
        let Some(new_term) = term_after(v, leader, lost_at) else { continue };
        let carrier = (new_term > term).then(|| first_with_term(v, leader, new_term, lost_at));
        if let Some(Some((node, at))) = carrier {
            if v.transfer_to(node, at) {
                continue; // the term of a campaign the leader asked for, reaching it late
            }
            if at < u.since {
                // A term some node held before the leader's working majority began: a
                // campaign made while the leader had none (its vote requests lost to a
                // partition), carried back in later. Pre-vote cannot take a term back.
                continue;
            }
        }
        let (nodes, how) = match carrier {
            None => (vec![leader], "in its own term".to_string()),
            Some(None) => (vec![leader], format!("to term {new_term}")),
            Some(Some((node, at))) => (
                vec![node, leader],
                format!("to term {new_term}, which node {node} held from {at:.0} ms"),
            ),
        };
        out.push(violation(
            "no-disruption",
            lost_at,
            nodes,
            format!(
                "leader {leader} (term {term}) stepped down {how}, while it had a working majority since {:.0} ms",
                u.since
            ),
        ));
    }
    out.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    out
}

/// Candidacies inside an undisturbed interval, except a transfer's target's.
fn campaigns(v: &Views, spans: &[Undisturbed]) -> Vec<Violation> {
    let mut out = Vec::new();
    for e in v.history().events() {
        let EventKind::Role { role: Role::Candidate, term, .. } = e.kind else { continue };
        let Some(u) = spans.iter().find(|u| u.since <= e.t_ms && e.t_ms < u.to) else {
            continue;
        };
        let n = e.node.unwrap_or_default();
        let (leader, leader_term) = (u.span.node, u.span.term);
        // A candidacy in the leader's term or an older one cannot win (a majority voted in
        // the leader's term) and carries no term that could depose it: a node resuming from
        // a pause may count pre-vote grants of a round before its pause, harmlessly.
        if v.transfer_to(n, e.t_ms) || term <= leader_term {
            continue;
        }
        out.push(violation(
            "no-disruption",
            e.t_ms,
            vec![n, leader],
            format!(
                "node {n} started term {term} while leader {leader} (term {leader_term}) had a working majority since {:.0} ms",
                u.since
            ),
        ));
    }
    out
}

/// The term `leader` moved to when it stopped leading at `t_ms` (`None`: it kept its term,
/// or stopped without a new role, as at the end).
fn term_after(v: &Views, leader: usize, t_ms: f64) -> Option<u64> {
    v.history().events().iter().find_map(|e| match e.kind {
        EventKind::Role { role, term, .. }
            if e.node == Some(leader) && e.t_ms == t_ms && role != Role::Leader =>
        {
            Some(term)
        }
        _ => None,
    })
}

/// The first other node to hold `term` (or higher) by `t_ms`, and since when.
fn first_with_term(v: &Views, leader: usize, term: u64, t_ms: f64) -> Option<(usize, f64)> {
    v.history().events().iter().take_while(|e| e.t_ms <= t_ms).find_map(|e| match e.kind {
        EventKind::Role { term: held, .. } if held >= term && e.node != Some(leader) => {
            e.node.map(|n| (n, e.t_ms))
        }
        _ => None,
    })
}

/// Simulated milliseconds in which some leader was undisturbable.
pub(crate) fn judged_ms(v: &Views) -> f64 {
    undisturbed(v).iter().map(|u| u.to - u.since).sum()
}
